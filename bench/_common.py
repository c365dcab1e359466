"""What the bench scripts share: the machine line they print, the server they run on
(``DATABASE_URL`` or a temporary embedded PostgreSQL), a fresh migrated database on it, and
the app under uvicorn in a process of its own.

A script imports this after putting ``src/`` on ``sys.path``, as it does for ``slotwise``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from slotwise.db import migrate
from slotwise.db.embedded import start_embedded
from slotwise.db.urls import to_libpq, with_database

LOOPBACK = "127.0.0.1"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """The facts a figure needs beside it; the load average says how shared the CPUs were."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {load}"
    )


@contextlib.contextmanager
def database_server(keep: bool = False) -> Iterator[tuple[str, Path]]:
    """(owner URL of the server to run on, a temporary folder). The server is
    ``DATABASE_URL`` (or ``SLOTWISE_DATABASE_URL``) when set, else an embedded PostgreSQL
    under ``folder/db``, stopped at the end; the folder goes at the end unless ``keep``."""
    folder = Path(tempfile.mkdtemp(prefix="slotwise-bench-"))
    try:
        url = os.environ.get("DATABASE_URL") or os.environ.get("SLOTWISE_DATABASE_URL")
        if url:
            yield url, folder
            return
        handle = start_embedded(folder / "db")
        try:
            yield handle.get_uri(), folder
        finally:
            handle.cleanup()  # stops the server before its folder goes
    finally:
        if keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


async def prepare_database(server_url: str, name: str) -> str:
    """The owner URL of a fresh database ``name`` migrated to head (dropped first if it
    exists: a bench always starts from the same state)."""
    admin = await asyncpg.connect(to_libpq(with_database(server_url, "postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    owner = with_database(server_url, name)
    await migrate.upgrade(owner)
    return owner


async def postgres(url: str) -> str:
    """One line: the server's version and the settings that move write figures the most."""
    conn = await asyncpg.connect(to_libpq(url))
    try:
        row = await conn.fetchrow(
            "SELECT current_setting('server_version') AS version,"
            " current_setting('fsync') AS fsync,"
            " current_setting('synchronous_commit') AS synchronous_commit,"
            " current_setting('shared_buffers') AS shared_buffers"
        )
    finally:
        await conn.close()
    assert row is not None
    return (
        f"PostgreSQL {row['version']} (fsync={row['fsync']}, synchronous_commit="
        f"{row['synchronous_commit']}, shared_buffers={row['shared_buffers']})"
    )


def free_port() -> int:
    """A loopback port that was free a moment ago (the kernel's pick for a probe socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Served:
    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


@contextlib.asynccontextmanager
async def serving(
    owner_url: str,
    folder: Path,
    settings: Mapping[str, str] | None = None,
    profile: str | None = None,
    workers: int = 1,
) -> AsyncIterator[Served]:
    """The app under uvicorn in a process of its own (``workers`` worker processes,
    production settings, rate limits out of the way, ``settings``: more ``SLOTWISE_*``
    variables), once it answers
    ``/readyz``; stopped at the end with SIGINT, a clean shutdown after which cProfile
    (``profile``: its stats file) writes its stats.

    ``--host``/``--port``, not ``--fd``: uvicorn takes an inherited socket for a Unix one
    and then leaves Nagle's algorithm on for TCP clients, which adds the peer's 40 ms
    delayed ACK to every keep-alive answer."""
    port = free_port()
    env = {
        **os.environ,
        "SLOTWISE_DATABASE_URL": owner_url,
        "SLOTWISE_ENVIRONMENT": "production",
        "SLOTWISE_SECRET_KEY": uuid.uuid4().hex * 2,
        "SLOTWISE_LOG_LEVEL": "WARNING",
        "SLOTWISE_DATA_DIR": str(folder),
        "SLOTWISE_BASE_URL": f"http://{LOOPBACK}:{port}",
        "SLOTWISE_RATE_LIMIT_PUBLIC": "100000000/minute",
        "SLOTWISE_RATE_LIMIT_TENANT": "100000000/minute",
        "SLOTWISE_RATE_LIMIT_LOGIN": "100000000/minute",
        **(settings or {}),
    }
    profiler = ["-m", "cProfile", "-o", profile] if profile else []
    process = await asyncio.create_subprocess_exec(
        sys.executable, *profiler, "-m", "uvicorn", "slotwise.app:create_app", "--factory",
        "--host", LOOPBACK, "--port", str(port), "--log-level", "warning", "--no-access-log",
        # bench/realtime.py opens 1,000 event streams at once
        "--backlog", "4096", "--workers", str(workers),
        env=env, cwd=folder,
    )  # fmt: skip
    try:
        served = Served(process, port)
        await _wait_until_ready(served)
        yield served
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(60):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_until_ready(served: Served) -> None:
    """Until ``/readyz`` answers 200 (two minutes at most)."""
    async with (
        asyncio.timeout(120),
        httpx.AsyncClient(base_url=served.url, trust_env=False) as client,
    ):
        while True:
            if served.process.returncode is not None:
                raise SystemExit(f"the server exited with {served.process.returncode}")
            try:
                response = await client.get("/readyz")
            except httpx.TransportError:
                await asyncio.sleep(0.1)  # polling a child process that is still starting
                continue
            if response.status_code != 200:
                raise SystemExit(f"the server is not ready: {response.text}")
            return
