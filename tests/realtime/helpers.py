"""Helpers of the live-update and cache tests: a recorder of the change feed, and waiting
until a new business's creation has gone through the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg

from slotwise.realtime.changes import Change
from tests.factories import TenantRows


class Recorder:
    """Appended after the cache to the live-update observers."""

    def __init__(self) -> None:
        self.changes: asyncio.Queue[Change] = asyncio.Queue()
        self.connections: asyncio.Queue[bool] = asyncio.Queue()
        self.lost = asyncio.Event()

    def apply_changes(self, changes: Sequence[Change]) -> None:
        for change in changes:
            self.changes.put_nowait(change)

    def feed_connected(self, gap: bool) -> None:
        self.connections.put_nowait(gap)

    def feed_lost(self) -> None:
        self.lost.set()

    async def wait(self, predicate: Callable[[Change], bool], seconds: float = 5.0) -> Change:
        """The next change matching ``predicate`` (earlier ones are skipped)."""
        async with asyncio.timeout(seconds):
            while True:
                change = await self.changes.get()
                if predicate(change):
                    return change

    def clear(self) -> None:
        while not self.changes.empty():
            self.changes.get_nowait()


async def settle(owner_conn: asyncpg.Connection, recorder: Recorder, rows: TenantRows) -> None:
    """Until the changes of creating ``rows`` have gone through the app (cache and hub):
    a stream opened afterwards starts quiet."""
    await owner_conn.execute(
        "UPDATE tenants SET phone = '+1 555 0100' WHERE id = $1", rows.tenant_id
    )
    # Changes arrive in commit order: once this update's arrives, the inserts' have too.
    await recorder.wait(lambda c: c.tenant_id == rows.tenant_id and c.operation == "update")
    recorder.clear()
