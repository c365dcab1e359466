"""Starting and stopping live updates with the app: the mode applied to the database, and
no half-working feed behind PgBouncer."""

from __future__ import annotations

import asyncpg

from slotwise.db.database import Database
from slotwise.db.urls import DatabaseUrls, to_libpq
from slotwise.realtime import repository
from slotwise.realtime.lifecycle import start_live_updates
from tests.conftest import _test_settings


async def test_a_process_with_the_owner_at_hand_applies_its_mode(
    database: Database, database_urls: DatabaseUrls
) -> None:
    settings = _test_settings(live_updates_mode="notify")
    live = await start_live_updates(settings, database, database_urls.owner)
    try:
        assert live.listener is not None and live.listener.connected
        fresh = await asyncpg.connect(to_libpq(database_urls.app))
        try:
            assert await repository.effective_mode(fresh) == "notify"
        finally:
            await fresh.close()
    finally:
        await live.stop()
    off = await start_live_updates(
        _test_settings(live_updates=False), database, database_urls.owner
    )
    await off.stop()
    fresh = await asyncpg.connect(to_libpq(database_urls.app))
    try:
        assert await repository.effective_mode(fresh) == "off"
    finally:
        await fresh.close()


async def test_behind_pgbouncer_without_a_direct_url_live_updates_stay_off(
    database: Database,
) -> None:
    live = await start_live_updates(_test_settings(db_pgbouncer=True), database, None)
    try:
        assert not live.enabled and live.listener is None and live.relay is None
    finally:
        await live.stop()
