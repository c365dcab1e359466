"""One relay per deployment: candidates of several processes share one database, exactly one
holds the advisory lock and relays; when its session ends, a standby takes over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest

from slotwise.db.urls import DatabaseUrls, to_libpq
from slotwise.realtime.changes import Change
from slotwise.realtime.listener import Listener
from slotwise.realtime.relay import Relay
from tests.factories import make_appointment, make_tenant


async def _wait(event: asyncio.Event, seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        await event.wait()


@pytest.fixture
async def received(database_urls: DatabaseUrls) -> AsyncIterator[asyncio.Queue[Change]]:
    queue: asyncio.Queue[Change] = asyncio.Queue()
    ready = asyncio.Event()
    listener = Listener(
        to_libpq(database_urls.app),
        on_changes=lambda changes: [queue.put_nowait(c) for c in changes] and None,
        on_connected=lambda _gap: ready.set(),
        on_lost=lambda: None,
    )
    await listener.start()
    await _wait(ready)
    yield queue
    await listener.stop()


async def _next_change(queue: asyncio.Queue[Change], kind: str) -> Change:
    """The next change of ``kind`` (creating a tenant records catalog changes first)."""
    async with asyncio.timeout(10):
        while True:
            change = await queue.get()
            if change.kind == kind:
                return change


async def test_one_relay_relays_and_a_standby_takes_over(
    database_urls: DatabaseUrls,
    owner_conn: asyncpg.Connection,
    received: asyncio.Queue[Change],
) -> None:
    dsn = to_libpq(database_urls.app)
    first = Relay(dsn, interval_seconds=0.01, standby_seconds=0.05)
    second = Relay(dsn, interval_seconds=0.01, standby_seconds=0.05)
    first.start()
    try:
        await _relay_then_fail_over(first, second, owner_conn, received)
    finally:
        await first.stop()
        await second.stop()
    assert await owner_conn.fetchval("SELECT count(*) FROM live_changes") == 0


async def _relay_then_fail_over(
    first: Relay,
    second: Relay,
    owner_conn: asyncpg.Connection,
    received: asyncio.Queue[Change],
) -> None:
    await _wait(first.became_active)
    second.start()
    await _wait(second.standing_by)
    assert first.active and not second.active

    rows = await make_tenant(owner_conn)
    appointment = await make_appointment(
        owner_conn, rows, datetime.fromisoformat("2030-06-03T14:00:00+00:00")
    )
    change = await _next_change(received, "appointment")
    assert change.appointment_id == appointment
    # Listeners hear the NOTIFY at commit, before the relay's own call returns: wait for it.
    await _wait(first.relayed_some)
    assert first.relayed >= 1 and second.relayed == 0 and not second.relayed_some.is_set()

    await first.stop()  # its session ends: the lock is free
    relayed_by_first = first.relayed
    await _wait(second.became_active)
    await owner_conn.execute(
        "INSERT INTO closures (tenant_id, date) VALUES ($1, '2030-12-25')", rows.tenant_id
    )
    change = await _next_change(received, "availability")
    assert change.dates is not None and change.tenant_id == rows.tenant_id
    assert first.relayed == relayed_by_first  # so the standby relayed it
