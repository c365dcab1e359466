"""Cache warming: after a start, the busiest businesses' coming week is computed before
anyone asks; after an invalidation, the most asked answers of the most viewed businesses
are computed again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from slotwise.app import create_app
from slotwise.db.database import Database
from slotwise.settings import Settings
from tests.caching.conftest import (
    ZONE,
    Recorder,
    Statements,
    get_availability,
    local_day,
    local_time,
    outcome,
    starts,
)
from tests.conftest import _test_settings
from tests.factories import TenantRows, make_appointment, make_tenant


@pytest.fixture
def settings() -> Settings:
    return _test_settings(cache_warm_tenants=5)


async def test_after_a_start_the_busiest_businesses_coming_week_is_cached(
    database: Database,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    statements: Statements,
) -> None:
    busy = await make_tenant(owner_conn, timezone=ZONE)
    await make_appointment(owner_conn, busy, local_time(2, 10))
    quiet = await make_tenant(owner_conn, timezone=ZONE)
    # The arrangement above is in the change feed; relayed after the warm-up it would
    # (rightly) invalidate what was warmed. Start from a feed with nothing pending.
    await owner_conn.execute("DELETE FROM live_changes")
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        async with asyncio.timeout(10):
            await app.state.warmer.wait_for_round(0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            statements.count = 0
            profile = await client.get(f"/api/v1/public/businesses/{busy.slug}")
            week = await client.get(
                f"/api/v1/public/businesses/{busy.slug}/availability",
                params={
                    "service_id": str(busy.service_ids[0]),
                    "date_from": local_day(0).isoformat(),
                    "date_to": local_day(6).isoformat(),
                },
            )
            assert statements.count == 0
            assert outcome(profile) == outcome(week) == "hit"
            assert len(week.json()["days"]) == 7
            unvisited = await client.get(f"/api/v1/public/businesses/{quiet.slug}")
            assert outcome(unvisited) == "miss"


async def test_after_an_invalidation_the_most_asked_answers_are_computed_again(
    client: httpx.AsyncClient,
    business: TenantRows,
    owner_conn: asyncpg.Connection,
    recorder: Recorder,
    statements: Statements,
    app: Any,
) -> None:
    await get_availability(client, business, 3, 4)
    assert outcome(await get_availability(client, business, 3, 4)) == "hit"
    warmer = app.state.warmer
    rounds = warmer.rounds
    start = local_time(3, 10)
    await make_appointment(owner_conn, business, start, minutes=30)
    async with asyncio.timeout(10):
        await warmer.wait_for_round(rounds)
    statements.count = 0
    rewarmed = await get_availability(client, business, 3, 4)
    assert statements.count == 0 and outcome(rewarmed) == "hit"
    professional = business.professional_ids[0]
    assert start.isoformat() not in starts(rewarmed, professional)
    assert (start + timedelta(minutes=30)).isoformat() in starts(rewarmed, professional)


async def test_stop_ends_a_warmer_that_swallowed_a_cancellation(database: Database) -> None:
    app = create_app(_test_settings(), database=database)
    async with app.router.lifespan_context(app):
        warmer = app.state.warmer
        await warmer.stop()  # the real task ends at the first cancellation
        waiting, ignored = asyncio.Event(), asyncio.Event()

        async def stubborn() -> None:
            # Like a request path that catches the CancelledError and carries on.
            try:
                waiting.set()
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                ignored.set()
            await asyncio.Event().wait()

        warmer._task = asyncio.create_task(stubborn())
        await waiting.wait()
        async with asyncio.timeout(10):
            await warmer.stop()
        assert ignored.is_set()
        assert warmer._task is None
