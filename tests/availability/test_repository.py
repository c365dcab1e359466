"""``load_rules``: one statement, whatever the days and professionals, reading exactly the
rows the dates need, mapped into the engine's shapes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from slotwise.availability.engine import LocalRange, Span
from slotwise.availability.repository import load_rules
from slotwise.db.database import Database
from slotwise.errors import NotFound, ServiceNotOffered
from tests.factories import TenantRows, make_appointment, make_history, make_tenant

TZ = "America/Sao_Paulo"  # UTC-03:00 all year
FIRST = date(2030, 6, 3)  # a Monday
LAST = date(2030, 6, 9)


def at(d: date, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(d, time(int(hours), int(minutes)), tzinfo=UTC) + timedelta(hours=3)


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)


async def load(database: Database, rows: TenantRows, **kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "service_id": rows.service_ids[0],
        "date_from": FIRST,
        "date_to": LAST,
    }
    values.update(kwargs)
    async with database.transaction(rows.tenant_id) as conn:
        return await load_rules(conn, rows.tenant_id, **values)


@pytest.fixture
async def rows(owner_conn: asyncpg.Connection) -> TenantRows:
    """Three professionals offering the 30-minute service (the second one inactive), one
    more who does not offer it; rows of every kind inside and outside the week loaded."""
    rows = await make_tenant(owner_conn, timezone=TZ, professionals=3, weekdays=range(6))
    tid = rows.tenant_id
    first, second, third = rows.professional_ids
    await owner_conn.execute("UPDATE professionals SET active = false WHERE id = $1", second)
    outsider = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO professionals (tenant_id, id, name, display_order) VALUES ($1, $2, 'Out', 9)",
        tid,
        outsider,
    )
    rows.professional_ids.append(outsider)
    await owner_conn.executemany(
        "INSERT INTO breaks (tenant_id, professional_id, weekday, start_minute, end_minute)"
        " VALUES ($1, $2, $3, $4, $5)",
        [
            (tid, None, 0, 720, 780),
            (tid, None, 0, 750, 800),  # overlapping breaks are legal
            (tid, first, 2, 600, 630),
            (tid, outsider, 2, 600, 630),  # not read: he does not offer the service
        ],
    )
    await owner_conn.executemany(
        "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
        " end_minute) VALUES ($1, $2, $3, $4, $5)",
        [(tid, first, 1, 780, 1020), (tid, first, 1, 600, 720), (tid, third, 4, 540, 600)],
    )
    await owner_conn.executemany(
        "INSERT INTO closures (tenant_id, date) VALUES ($1, $2)",
        [(tid, date(2030, 6, 5)), (tid, date(2030, 6, 20))],
    )
    await owner_conn.executemany(
        "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
        " VALUES ($1, $2, $3, $4)",
        [
            (tid, date(2030, 6, 6), 900, 960),
            (tid, date(2030, 6, 6), 600, 660),
            (tid, date(2030, 5, 30), 600, 660),
        ],
    )
    await owner_conn.executemany(
        "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4)",
        [
            (tid, first, at(FIRST, "22:00"), at(FIRST + timedelta(days=1), "10:00")),
            (tid, first, at(date(2030, 7, 1), "09:00"), at(date(2030, 7, 2), "09:00")),
        ],
    )
    return rows


async def test_every_kind_of_row_is_mapped(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    first, second, third, _outsider = rows.professional_ids
    await make_appointment(owner_conn, rows, at(FIRST, "10:00"), buffer_before=10)
    rules = await load(database, rows)
    assert rules.timezone == TZ
    assert (rules.slot_step_minutes, rules.min_notice_minutes, rules.horizon_days) == (15, 60, 60)
    assert rules.weekly_hours == {wd: (LocalRange(540, 1020),) for wd in range(6)}
    assert rules.breaks == {0: (LocalRange(720, 780), LocalRange(750, 800))}
    assert rules.closures == frozenset({date(2030, 6, 5)})
    assert rules.special_hours == {date(2030, 6, 6): (LocalRange(600, 660), LocalRange(900, 960))}
    (service,) = rules.services.values()
    assert (service.id, service.duration_minutes, service.active) == (rows.service_ids[0], 30, True)
    assert [p.id for p in rules.professionals] == [first, second, third]
    assert [p.active for p in rules.professionals] == [True, False, True]
    pro = rules.professionals[0]
    assert pro.service_ids == frozenset({rows.service_ids[0]})
    assert pro.weekly_hours == {1: (LocalRange(600, 720), LocalRange(780, 1020))}
    assert pro.breaks == {2: (LocalRange(600, 630),)}
    assert pro.time_off == (Span(at(FIRST, "22:00"), at(FIRST + timedelta(days=1), "10:00")),)
    (busy,) = pro.busy.items()
    assert busy.appointment_start == at(FIRST, "10:00")
    assert busy.occupied == Span(at(FIRST, "09:50"), at(FIRST, "10:30"))
    assert rules.professionals[1].weekly_hours == {}
    assert rules.professionals[2].weekly_hours == {4: (LocalRange(540, 600),)}


async def test_busy_ranges_are_the_non_cancelled_ones_near_the_dates_sorted(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    for d, hhmm in [
        (FIRST, "15:00"),
        (FIRST, "09:00"),
        (LAST, "23:30"),  # ends after midnight: still near the range
        (FIRST - timedelta(days=1), "22:00"),  # the evening before: within the margin
        (FIRST - timedelta(days=5), "10:00"),  # far before
        (LAST + timedelta(days=5), "10:00"),  # far after
    ]:
        await make_appointment(owner_conn, rows, at(d, hhmm))
    await make_appointment(owner_conn, rows, at(FIRST, "11:00"), status="cancelled")
    await make_appointment(owner_conn, rows, at(FIRST, "11:00"), status="no_show")
    rules = await load(database, rows)
    starts = [b.appointment_start for b in rules.professionals[0].busy.items()]
    assert starts == [
        at(FIRST - timedelta(days=1), "22:00"),
        at(FIRST, "09:00"),
        at(FIRST, "11:00"),
        at(FIRST, "15:00"),
        at(LAST, "23:30"),
    ]


async def test_a_busy_range_reaching_in_from_long_before_is_read(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    """Busy ranges starting before the read range are found as "the last one before it"
    (they never overlap): a long one reaching in is read, one ending before is not, and
    a cancelled one in between hides nothing."""
    reaching = at(FIRST - timedelta(days=4), "10:00")
    await make_appointment(owner_conn, rows, reaching - timedelta(days=1))  # ends before
    await make_appointment(owner_conn, rows, reaching, minutes=4 * 24 * 60)
    await make_appointment(owner_conn, rows, at(FIRST, "08:00"), status="cancelled")
    rules = await load(database, rows)
    busy = rules.professionals[0].busy.items()
    assert [b.appointment_start for b in busy] == [reaching]
    assert busy[0].occupied == Span(reaching, reaching + timedelta(days=4))


async def _blocks_read(database: Database, rows: TenantRows) -> int:
    """Shared buffers the loader's statement touches, as the app role."""
    sent: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    try:
        await load(database, rows)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", before)
    statement, parameters = sent[-1]
    async with database.transaction(rows.tenant_id) as conn:
        result = await conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters
        )
        explained = result.scalar_one()
        plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


async def test_years_of_history_are_not_read(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    """Row level security keeps ``&&`` away from indexes; the busy ranges must still be
    found by index, not by reading each professional's whole past."""
    before = await _blocks_read(database, rows)
    await make_history(owner_conn, rows, at(FIRST - timedelta(days=2), "09:00"), 3000)
    await owner_conn.execute("ANALYZE appointments")
    after = await _blocks_read(database, rows)
    assert after - before <= 10, (before, after)


async def test_one_professional_only(database: Database, rows: TenantRows) -> None:
    second = rows.professional_ids[1]
    rules = await load(database, rows, professional_id=second)
    assert [p.id for p in rules.professionals] == [second]


async def test_unknown_or_foreign_ids_are_not_found(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other = await make_tenant(owner_conn, timezone=TZ)
    with pytest.raises(NotFound):
        await load(database, rows, service_id=uuid.uuid4())
    with pytest.raises(NotFound):
        await load(database, rows, service_id=other.service_ids[0])  # RLS hides it
    with pytest.raises(NotFound):
        await load(database, rows, professional_id=uuid.uuid4())
    with pytest.raises(NotFound):
        await load(database, rows, professional_id=other.professional_ids[0])


async def test_a_professional_who_does_not_offer_the_service(
    database: Database, rows: TenantRows
) -> None:
    with pytest.raises(ServiceNotOffered):
        await load(database, rows, professional_id=rows.professional_ids[3])


async def test_with_now_past_dates_are_not_read(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, at(FIRST, "09:00"))
    await make_appointment(owner_conn, rows, at(LAST, "09:00"))
    now = at(LAST, "08:00")
    rules = await load(database, rows, now=now)
    assert [b.appointment_start for b in rules.professionals[0].busy.items()] == [at(LAST, "09:00")]
    assert rules.closures == frozenset()  # June 5th is past
    everything_past = await load(database, rows, now=at(LAST + timedelta(days=9), "08:00"))
    assert all(len(p.busy) == 0 for p in everything_past.professionals)


@pytest.mark.parametrize(("professionals", "days"), [(1, 1), (12, 62)])
async def test_one_statement_whatever_the_days_and_professionals(
    database: Database, owner_conn: asyncpg.Connection, professionals: int, days: int
) -> None:
    rows = await make_tenant(owner_conn, timezone=TZ, professionals=professionals)
    for index in range(professionals):
        await owner_conn.execute(
            "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
            " end_minute) VALUES ($1, $2, 0, 600, 900)",
            rows.tenant_id,
            rows.professional_ids[index],
        )
        for day in range(0, days, 3):
            await make_appointment(
                owner_conn, rows, at(FIRST + timedelta(days=day), "10:00"), professional_index=index
            )
    async with database.transaction(rows.tenant_id) as conn:
        with counted(database) as statements:
            rules = await load_rules(
                conn,
                rows.tenant_id,
                service_id=rows.service_ids[0],
                date_from=FIRST,
                date_to=FIRST + timedelta(days=days - 1),
            )
    assert len(statements) == 1
    assert len(rules.professionals) == professionals
    assert sum(len(p.busy) for p in rules.professionals) == professionals * len(range(0, days, 3))


async def test_dates_at_the_ends_of_the_calendar(database: Database, rows: TenantRows) -> None:
    """Staff pages pass any date they are given: no overflow, nothing to read."""
    for day in (date.min, date.max):
        rules = await load(database, rows, date_from=day, date_to=day)
        assert all(len(p.busy) == 0 and p.time_off == () for p in rules.professionals)
