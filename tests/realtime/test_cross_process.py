"""Two app processes on one database: a change committed elsewhere reaches the subscribers
of process B (a real uvicorn subprocess) and invalidates B's cache, also after B's
listening connection is killed; and B ends its streams and exits promptly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from slotwise.db.urls import DatabaseUrls
from tests.conftest import ROOT, TEST_DATA_DIR
from tests.factories import TenantRows, make_customer, make_tenant
from tests.realtime.conftest import END, BookAsApp, EventStream

MONDAY = datetime.fromisoformat("2030-06-03T14:00:00+00:00")


@dataclass
class ProcessB:
    url: str
    process: asyncio.subprocess.Process


async def _startup_complete(stderr: asyncio.StreamReader, lines: list[str]) -> None:
    async with asyncio.timeout(60):
        while True:
            line = (await stderr.readline()).decode(errors="replace")
            if not line:
                raise AssertionError("process B ended:\n" + "".join(lines))
            lines.append(line)
            if "Application startup complete" in line:
                return


@pytest.fixture
async def tenant(owner_conn: asyncpg.Connection) -> TenantRows:
    """Created before process B starts; its creation's changes dropped (no relay runs yet),
    so B's stream starts quiet."""
    rows = await make_tenant(owner_conn)
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    await owner_conn.execute("DELETE FROM live_changes")
    return rows


@pytest.fixture
async def process_b(database_urls: DatabaseUrls, tenant: TenantRows) -> AsyncIterator[ProcessB]:
    """The app as its own uvicorn process on the test database (it migrates, finds the
    database already at head, applies the live-updates mode and starts listening)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "SLOTWISE_DATABASE_URL": database_urls.owner,
        "SLOTWISE_ENVIRONMENT": "test",
        "SLOTWISE_SECRET_KEY": "test-secret-key-with-enough-length-0123456789",
        "SLOTWISE_DATA_DIR": str(TEST_DATA_DIR),
        "SLOTWISE_LOG_LEVEL": "WARNING",
        "SLOTWISE_RUN_WORKER_IN_PROCESS": "false",
        # No re-warming: a warmed entry would hide the invalidation this test looks for.
        "SLOTWISE_CACHE_WARM_TENANTS": "0",
        "PYTHONPATH": str(ROOT / "src"),
    }
    env.pop("DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "slotwise.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
        "--timeout-graceful-shutdown", "10",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    try:
        await _startup_complete(process.stderr, lines)
        drain = asyncio.create_task(process.stderr.read())
        yield ProcessB(f"http://127.0.0.1:{port}", process)
        drain.cancel()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_commit_reaches_process_b_subscribers_within_a_second(
    process_b: ProcessB,
    tenant: TenantRows,
    book_as_app: BookAsApp,
    owner_conn: asyncpg.Connection,
) -> None:
    path = f"/api/v1/public/businesses/{tenant.slug}/events"
    availability = f"/api/v1/public/businesses/{tenant.slug}/availability"
    day = {
        "service_id": str(tenant.service_ids[0]),
        "professional_id": str(tenant.professional_ids[0]),
        "date_from": "2030-06-03",
        "date_to": "2030-06-03",
    }
    async with (
        httpx.AsyncClient(base_url=process_b.url, timeout=10) as client,
        EventStream(client, path, {}) as stream,
    ):
        assert stream.response is not None and stream.response.status_code == 200
        await stream.next()  # the retry hint: B has subscribed us
        cached = [await client.get(availability, params=day) for _ in range(2)]
        assert [r.headers["x-slotwise-cache"] for r in cached] == ["miss", "hit"]

        await book_as_app(tenant, MONDAY)
        committed = time.monotonic()
        event = await stream.next("availability", seconds=1.0)
        assert time.monotonic() - committed < 1.0
        assert json.loads(event.data) == {
            "date": "2030-06-03",
            "professional_id": str(tenant.professional_ids[0]),
        }
        # B's cache saw the change before its subscribers did.
        assert (await client.get(availability, params=day)).headers["x-slotwise-cache"] == "miss"

        # B's listening connection dies (as in a database restart): B reconnects, tells
        # its subscribers to refetch, and later changes flow again.
        pid = process_b.process.pid
        killed = await owner_conn.fetchval(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = $1",
            f"slotwise_listener:{pid}",
        )
        assert killed
        assert (await stream.next("resync", "availability", seconds=10)).name == "resync"
        await book_as_app(tenant, MONDAY + timedelta(days=1))
        later = await stream.next("availability", seconds=5)
        assert json.loads(later.data)["date"] == "2030-06-04"

        # SIGTERM: B ends the open stream itself instead of waiting out its grace period.
        stopping = time.monotonic()
        process_b.process.send_signal(signal.SIGTERM)
        assert (await stream.next("availability", seconds=5)).name == END
    async with asyncio.timeout(10):
        # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly
        assert await process_b.process.wait() in (0, -signal.SIGTERM)
    assert time.monotonic() - stopping < 5
