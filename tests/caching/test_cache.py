"""The public GET cache on the real app and database: hits without SQL, HTTP validators,
exact invalidation by each kind of change, read-your-writes, and a stale entry that still
cannot book an invalid slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.caching.conftest import (
    Recorder,
    Statements,
    availability_params,
    availability_path,
    get_availability,
    local_day,
    local_time,
    outcome,
    starts,
)
from tests.factories import TenantRows


async def test_a_second_read_is_a_hit_without_sql(
    client: httpx.AsyncClient, business: TenantRows, statements: Statements
) -> None:
    first = await get_availability(client, business, 3, 9)
    assert outcome(first) == "miss"
    assert first.headers["cache-control"] == "public, max-age=5, stale-while-revalidate=30"
    statements.count = 0
    second = await get_availability(client, business, 3, 9)
    assert statements.count == 0
    assert outcome(second) == "hit"
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["content-type"] == "application/json"
    assert len(second.json()["days"]) == 7


async def test_a_matching_if_none_match_gets_304(
    client: httpx.AsyncClient, business: TenantRows, statements: Statements
) -> None:
    etag = (await get_availability(client, business, 3)).headers["etag"]
    statements.count = 0
    not_modified = await get_availability(client, business, 3, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert statements.count == 0
    listed = f'"stale", W/{etag}'
    assert (
        await get_availability(client, business, 3, headers={"If-None-Match": listed})
    ).status_code == 304
    changed = await get_availability(client, business, 3, headers={"If-None-Match": '"stale"'})
    assert changed.status_code == 200 and changed.headers["etag"] == etag
    other_day = await get_availability(client, business, 4, headers={"If-None-Match": etag})
    assert other_day.status_code == 200  # a miss is validated too: another body, another tag


async def test_the_profile_is_cached_long_and_follows_catalog_changes(
    client: httpx.AsyncClient,
    business: TenantRows,
    owner_conn: asyncpg.Connection,
    recorder: Recorder,
    statements: Statements,
) -> None:
    path = f"/api/v1/public/businesses/{business.slug}"
    first = await client.get(path)
    assert first.status_code == 200 and outcome(first) == "miss"
    assert first.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=600"
    statements.count = 0
    assert outcome(await client.get(path)) == "hit" and statements.count == 0

    # Opening hours are not in the profile: it stays cached.
    await owner_conn.execute(
        "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute)"
        " VALUES ($1, 2, 720, 780)",
        business.tenant_id,
    )
    await recorder.wait(lambda c: c.tenant_id == business.tenant_id)
    assert outcome(await client.get(path)) == "hit"

    await owner_conn.execute(
        "UPDATE services SET name = 'Cut & wash' WHERE tenant_id = $1", business.tenant_id
    )
    await recorder.wait(lambda c: c.kind == "catalog")
    renamed = await client.get(path)
    assert outcome(renamed) == "miss"
    assert renamed.json()["services"][0]["name"] == "Cut & wash"


# Entries every invalidation case starts from (professional index or None for "any";
# days ahead, inclusive).
ENTRIES: dict[str, tuple[int | None, int, int]] = {
    "pro0-day3": (0, 3, 3),
    "pro0-day4": (0, 4, 4),
    "pro1-day3": (1, 3, 3),
    "any-day3": (None, 3, 3),
    "any-day4": (None, 4, 4),
    "any-days5to6": (None, 5, 6),
}

Change = Callable[[asyncpg.Connection, TenantRows], Awaitable[Any]]


async def _book(conn: asyncpg.Connection, rows: TenantRows, *, pro: int = 0) -> Any:
    return await conn.fetchval(
        "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
        " starts_at, ends_at, occupied) VALUES ($1, $2, $3, $4, $5, $6, 'empty') RETURNING id",
        rows.tenant_id,
        rows.professional_ids[pro],
        rows.service_ids[0],
        rows.customer_id,
        local_time(3, 10),
        local_time(3, 10, 30),
    )


async def _cancel(conn: asyncpg.Connection, rows: TenantRows) -> None:
    await conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE tenant_id = $1", rows.tenant_id
    )


CASES: dict[str, tuple[Change, set[str]]] = {
    "booking": (_book, {"pro0-day3", "any-day3"}),
    "cancel": (_cancel, {"pro0-day3", "any-day3"}),
    "business hours": (
        lambda c, r: c.execute(
            "UPDATE business_hours SET end_minute = 18 * 60 WHERE tenant_id = $1", r.tenant_id
        ),
        set(ENTRIES),
    ),
    "business break": (
        lambda c, r: c.execute(
            "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute)"
            " VALUES ($1, 0, 720, 780)",
            r.tenant_id,
        ),
        set(ENTRIES),
    ),
    "professional break": (
        lambda c, r: c.execute(
            "INSERT INTO breaks (tenant_id, professional_id, weekday, start_minute, end_minute)"
            " VALUES ($1, $2, 0, 720, 780)",
            r.tenant_id,
            r.professional_ids[1],
        ),
        {"pro1-day3", "any-day3", "any-day4", "any-days5to6"},
    ),
    "professional hours": (
        lambda c, r: c.execute(
            "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
            " end_minute) VALUES ($1, $2, 0, 600, 900)",
            r.tenant_id,
            r.professional_ids[0],
        ),
        {"pro0-day3", "pro0-day4", "any-day3", "any-day4", "any-days5to6"},
    ),
    "closure": (
        lambda c, r: c.execute(
            "INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", r.tenant_id, local_day(4)
        ),
        {"pro0-day4", "any-day4"},
    ),
    "special hours": (
        lambda c, r: c.execute(
            "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
            " VALUES ($1, $2, 600, 720)",
            r.tenant_id,
            local_day(3),
        ),
        {"pro0-day3", "pro1-day3", "any-day3"},
    ),
    "time off": (
        lambda c, r: c.execute(
            "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
            " VALUES ($1, $2, $3, $4)",
            r.tenant_id,
            r.professional_ids[1],
            local_time(6, 9),
            local_time(6, 12),
        ),
        {"any-days5to6"},
    ),
    "service": (
        lambda c, r: c.execute(
            "UPDATE services SET duration_minutes = 45 WHERE tenant_id = $1", r.tenant_id
        ),
        set(ENTRIES),
    ),
    "offering": (
        lambda c, r: c.execute(
            "DELETE FROM offerings WHERE tenant_id = $1 AND professional_id = $2",
            r.tenant_id,
            r.professional_ids[1],
        ),
        {"pro1-day3", "any-day3", "any-day4", "any-days5to6"},
    ),
}


async def _entry(client: httpx.AsyncClient, rows: TenantRows, name: str) -> httpx.Response:
    professional, first, last = ENTRIES[name]
    return await client.get(
        availability_path(rows), params=availability_params(rows, first, last, professional)
    )


@pytest.mark.parametrize("case", list(CASES))
async def test_each_kind_of_change_invalidates_exactly_what_it_touches(
    case: str,
    client: httpx.AsyncClient,
    business: TenantRows,
    owner_conn: asyncpg.Connection,
    recorder: Recorder,
) -> None:
    change, touched = CASES[case]
    if case == "cancel":
        await _book(owner_conn, business)
        await recorder.wait(lambda c: c.kind == "appointment")
    before = {name: await _entry(client, business, name) for name in ENTRIES}
    assert {outcome(r) for r in before.values()} == {"miss"}
    assert [outcome(await _entry(client, business, n)) for n in ENTRIES] == ["hit"] * len(ENTRIES)

    await change(owner_conn, business)
    await recorder.wait(lambda c: c.tenant_id == business.tenant_id)
    after = {name: await _entry(client, business, name) for name in ENTRIES}
    # A miss, or (offering removed) an error answer that is never cached.
    invalidated = {name for name, response in after.items() if outcome(response) != "hit"}
    assert invalidated == touched
    for name in set(ENTRIES) - touched:
        assert after[name].content == before[name].content
    if case == "booking":
        booked = local_time(3, 10).isoformat()
        assert booked in starts(before["pro0-day3"]) and booked not in starts(after["pro0-day3"])


async def test_the_statements_of_a_miss_are_few_and_do_not_grow_with_days(
    client: httpx.AsyncClient, business: TenantRows, statements: Statements
) -> None:
    await get_availability(client, business, 1)  # the slug is resolved once per process
    counts = []
    for last in (2, 9, 40):
        statements.count = 0
        response = await get_availability(client, business, 2, last)
        assert outcome(response) == "miss"
        counts.append(statements.count)
    assert counts[0] == counts[1] == counts[2] <= 3


async def test_read_your_writes_after_a_booking_and_a_cancellation_through_this_process(
    client: httpx.AsyncClient, business: TenantRows, recorder: Recorder
) -> None:
    await get_availability(client, business, 3, professional=0)
    cached = await get_availability(client, business, 3, professional=0)
    assert outcome(cached) == "hit"
    start = local_time(3, 11)
    assert start.isoformat() in starts(cached)
    booked = await client.post(
        f"/api/v1/public/businesses/{business.slug}/bookings",
        json={
            "service_id": str(business.service_ids[0]),
            "professional_id": str(business.professional_ids[0]),
            "start": start.isoformat(),
            "customer": {"name": "Ana Souza", "email": "ana@example.com", "phone": None},
            "notes": "",
        },
    )
    assert booked.status_code == 201, booked.text
    # Whether or not the change has arrived yet, the next read is fresh.
    fresh = await get_availability(client, business, 3, professional=0)
    assert outcome(fresh) != "hit"
    assert start.isoformat() not in starts(fresh)

    token = booked.json()["manage_token"]
    appointment = booked.json()["id"]
    await recorder.wait(lambda c: str(c.appointment_id) == appointment)
    await get_availability(client, business, 3, professional=0)  # cached again
    etag = (
        await client.get(f"/api/v1/public/bookings/{appointment}", params={"token": token})
    ).headers["etag"]
    cancelled = await client.post(
        f"/api/v1/public/bookings/{appointment}/cancel",
        params={"token": token},
        headers={"If-Match": etag},
    )
    assert cancelled.status_code == 200, cancelled.text
    reopened = await get_availability(client, business, 3, professional=0)
    assert outcome(reopened) != "hit"
    assert start.isoformat() in starts(reopened)


async def test_a_stale_entry_cannot_book_an_invalid_slot(
    client: httpx.AsyncClient, business: TenantRows, app_conn: asyncpg.Connection
) -> None:
    await get_availability(client, business, 3, professional=0)
    start = local_time(3, 14)
    # Poison the cache: the slot is taken by a write that publishes no change, so the
    # cached answer keeps offering it.
    async with app_conn.transaction():
        await app_conn.execute("SET LOCAL slotwise.live_updates_mode = 'off'")
        await app_conn.execute(
            "SELECT set_config('app.tenant_id', $1, true)", str(business.tenant_id)
        )
        await app_conn.execute(
            "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
            " starts_at, ends_at, occupied) VALUES ($1, $2, $3, $4, $5, $6, 'empty')",
            business.tenant_id,
            business.professional_ids[0],
            business.service_ids[0],
            business.customer_id,
            start,
            start + timedelta(minutes=30),
        )
    stale = await get_availability(client, business, 3, professional=0)
    assert outcome(stale) == "hit" and start.isoformat() in starts(stale)

    refused = await client.post(
        f"/api/v1/public/businesses/{business.slug}/bookings",
        json={
            "service_id": str(business.service_ids[0]),
            "professional_id": str(business.professional_ids[0]),
            "start": start.isoformat(),
            "customer": {"name": "Bea Lima", "email": "bea@example.com", "phone": None},
        },
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "slot_unavailable"


async def test_while_the_feed_is_down_nothing_is_served_from_the_cache(
    client: httpx.AsyncClient,
    business: TenantRows,
    owner_conn: asyncpg.Connection,
    recorder: Recorder,
    app: Any,
) -> None:
    await get_availability(client, business, 3)
    assert outcome(await get_availability(client, business, 3)) == "hit"
    app.state.cache.feed_lost()  # what the listener reports when its connection drops
    assert outcome(await get_availability(client, business, 3)) == "bypass"
    await owner_conn.execute("SELECT pg_terminate_backend($1)", app.state.live.listener.backend_pid)
    await recorder.lost.wait()
    async with asyncio.timeout(10):
        assert await recorder.connections.get() is True  # back, with a possible gap
    assert outcome(await get_availability(client, business, 3)) == "miss"
    assert outcome(await get_availability(client, business, 3)) == "hit"


async def test_unexpected_queries_and_errors_are_not_cached(
    client: httpx.AsyncClient, business: TenantRows
) -> None:
    params = availability_params(business, 3)
    for query in ({**params, "extra": "1"}, {**params, "date_to": "2020-01-01"}):
        response = await client.get(availability_path(business), params=query)
        assert outcome(response) == "none"
    unknown = await client.get(
        "/api/v1/public/businesses/no-such-business/availability", params=params
    )
    assert unknown.status_code == 404 and outcome(unknown) == "none"
