"""The helpers other domains call inside their own transaction: ``choose_professional``,
``alternatives``, ``rejections_at``, ``open_windows``: on rules loaded from the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest

from slotwise.availability import service
from slotwise.availability.engine import Rejection
from slotwise.db.database import Database
from slotwise.errors import NotFound
from tests.factories import TenantRows, make_appointment, make_tenant

TZ = "America/Sao_Paulo"  # UTC-03:00 all year
DAY = date(2030, 6, 4)  # a Tuesday
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def at(hhmm: str, d: date = DAY) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(d, time(int(hours), int(minutes)), tzinfo=UTC) + timedelta(hours=3)


@pytest.fixture
async def rows(owner_conn: asyncpg.Connection) -> TenantRows:
    """Open 09:00-12:00 every day; three professionals offering a 30-minute service on a
    15-minute grid."""
    return await make_tenant(owner_conn, timezone=TZ, hours=(540, 720), professionals=3)


async def choose(database: Database, rows: TenantRows, start: datetime) -> object:
    async with database.transaction(rows.tenant_id) as conn:
        return await service.choose_professional(
            conn, rows.tenant_id, service_id=rows.service_ids[0], start=start, now=NOW
        )


async def test_the_free_professional_with_fewest_appointments_that_day(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    first, _second, third = rows.professional_ids
    assert await choose(database, rows, at("10:00")) == first  # a tie: display order
    await make_appointment(owner_conn, rows, at("09:00"), professional_index=0)
    await make_appointment(owner_conn, rows, at("11:00"), professional_index=1)
    await make_appointment(owner_conn, rows, at("11:30"), professional_index=1)
    # Appointments of other days do not count.
    for d in (DAY - timedelta(days=1), DAY + timedelta(days=1)):
        for hhmm in ("09:00", "09:30", "10:00"):
            await make_appointment(owner_conn, rows, at(hhmm, d), professional_index=2)
    assert await choose(database, rows, at("10:00")) == third
    await make_appointment(owner_conn, rows, at("10:00"), professional_index=2)
    assert await choose(database, rows, at("10:00")) == first


async def test_nobody_free_or_not_a_slot(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    for index in range(3):
        await make_appointment(owner_conn, rows, at("10:00"), professional_index=index)
    assert await choose(database, rows, at("10:00")) is None
    assert await choose(database, rows, at("13:00")) is None  # closed
    assert await choose(database, rows, at("09:05")) is None  # off the grid


async def test_alternatives_nearest_first_same_professional_first(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    first = rows.professional_ids[0]
    await make_appointment(owner_conn, rows, at("10:00"), professional_index=0)
    async with database.transaction(rows.tenant_id) as conn:
        alternatives = await service.alternatives(
            conn,
            rows.tenant_id,
            service_id=rows.service_ids[0],
            professional_id=first,
            around=at("10:00"),
            now=NOW,
            exclude=at("10:00"),
        )
    assert alternatives.timezone == TZ
    found = alternatives.slots
    assert len(found) == 5
    assert [s.start for s in found[:4]] == [at("09:30"), at("10:30"), at("09:15"), at("10:45")]
    assert all(first in s.professional_ids for s in found[:4])
    assert at("10:00") not in [s.start for s in found]


async def test_alternatives_reach_the_next_open_days(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    """Closed the whole day asked for: the nearest slots are on the days around it."""
    await owner_conn.execute(
        "INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", rows.tenant_id, DAY
    )
    async with database.transaction(rows.tenant_id) as conn:
        alternatives = await service.alternatives(
            conn,
            rows.tenant_id,
            service_id=rows.service_ids[0],
            professional_id=None,
            around=at("10:00"),
            now=NOW,
            limit=4,
        )
    found = alternatives.slots
    assert [s.start for s in found] == [
        at("11:30", DAY - timedelta(days=1)),  # 22 h 30 min before
        at("11:15", DAY - timedelta(days=1)),  # 22 h 45 min before
        at("11:00", DAY - timedelta(days=1)),  # 23 h before: ties go to the earlier
        at("09:00", DAY + timedelta(days=1)),  # 23 h after
    ]
    assert all(len(s.professional_ids) == 3 for s in found)


async def test_unknown_service(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other = await make_tenant(owner_conn, timezone=TZ)
    async with database.transaction(rows.tenant_id) as conn:
        with pytest.raises(NotFound):
            await service.choose_professional(
                conn, rows.tenant_id, service_id=other.service_ids[0], start=at("10:00"), now=NOW
            )


async def test_rejections_at_say_why_each_professional_cannot_take_a_start(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, at("10:00"), professional_index=1)

    async def rejections(start: datetime) -> list[object]:
        async with database.transaction(rows.tenant_id) as conn:
            return list(
                await service.rejections_at(
                    conn, rows.tenant_id, service_id=rows.service_ids[0], start=start, now=NOW
                )
            )

    assert await rejections(at("10:00")) == [None, Rejection.SLOT_UNAVAILABLE, None]
    assert await rejections(at("13:00")) == [Rejection.OUTSIDE_WORKING_HOURS] * 3


async def test_open_windows_of_each_professional_for_a_day_view(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4)",
        rows.tenant_id,
        rows.professional_ids[0],
        at("10:00"),
        at("11:00"),
    )
    async with database.transaction(rows.tenant_id) as conn:
        windows = await service.open_windows(
            conn, rows.tenant_id, service_ids=rows.service_ids, day=DAY
        )
    first, second, _third = rows.professional_ids
    assert [(s.start, s.end) for s in windows[first]] == [
        (at("09:00"), at("10:00")),
        (at("11:00"), at("12:00")),
    ]
    assert [(s.start, s.end) for s in windows[second]] == [(at("09:00"), at("12:00"))]
