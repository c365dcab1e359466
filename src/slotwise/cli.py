"""The ``slotwise`` command: serve, migrate, demo, worker, db url.

Bad configuration ends with one line on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import errno
import socket
import sys
from collections.abc import Sequence

from slotwise.errors import ConfigurationError
from slotwise.settings import Settings


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise ConfigurationError(f"{field + ': ' if field else ''}{message}") from exc


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(f"port {port} on {host} is already in use") from exc
            raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _prepare_database(settings: Settings) -> object:
    from slotwise.db.embedded import exit_normally_on_sigterm
    from slotwise.db.server import locate, prepare

    exit_normally_on_sigterm()
    server = locate(settings)
    asyncio.run(prepare(settings, server))
    return server


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    _prepare_database(settings)
    print("migrations applied")
    return 0


def cmd_db_url(settings: Settings, args: argparse.Namespace) -> int:
    from slotwise.db.server import DatabaseServer

    server = _prepare_database(settings)
    assert isinstance(server, DatabaseServer)
    print(server.urls.owner)
    return 0


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "slotwise.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=settings.trusted_proxies > 0,
        forwarded_allow_ips="*" if settings.trusted_proxies > 0 else None,
        timeout_graceful_shutdown=5,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    _check_port_free(args.host, args.port)
    server = _prepare_database(settings)
    print(f"Slotwise is serving on http://{args.host}:{args.port}", flush=True)
    _serve(settings, args.host, args.port, args.workers)
    del server
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from slotwise.db.server import DatabaseServer
    from slotwise.demo.seed import seed_demo

    if not args.no_serve:
        _check_port_free(args.host, args.port)
    server = _prepare_database(settings)
    assert isinstance(server, DatabaseServer)
    login = asyncio.run(seed_demo(server.urls.app))
    print(f"Demo business ready: http://{args.host}:{args.port}/b/demo", flush=True)
    print(f"Staff dashboard:     http://{args.host}:{args.port}/app", flush=True)
    print(f"Owner login:         {login.email} / {login.password}", flush=True)
    if args.no_serve:
        return 0
    _serve(settings, args.host, args.port, args.workers)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Deliver the notifications outbox until SIGINT/SIGTERM (any number may run at once)."""
    from slotwise.db.server import DatabaseServer
    from slotwise.notifications.worker import run_worker

    server = _prepare_database(settings)
    assert isinstance(server, DatabaseServer)
    print("Slotwise worker is delivering notifications", flush=True)
    asyncio.run(run_worker(settings, server))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slotwise", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add_serve_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=None)
        p.add_argument("--port", type=int, default=None)
        p.add_argument("--workers", type=int, default=1)

    serve = sub.add_parser("serve", help="run the web app under uvicorn")
    add_serve_options(serve)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="create/refresh the demo business and serve it")
    add_serve_options(demo)
    demo.add_argument("--no-serve", action="store_true")
    demo.set_defaults(func=cmd_demo)

    worker = sub.add_parser("worker", help="deliver notifications (emails, webhooks)")
    worker.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database helpers")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("url", help="print the connection URL in use").set_defaults(func=cmd_db_url)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings()
        if getattr(args, "host", None) is None and hasattr(args, "host"):
            args.host = settings.host
        if getattr(args, "port", None) is None and hasattr(args, "port"):
            args.port = settings.port
        result: int = args.func(settings, args)
        return result
    except ConfigurationError as exc:
        print(f"slotwise: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
