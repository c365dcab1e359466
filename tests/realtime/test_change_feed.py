"""The change feed in the database (migration 0004): what each kind of write records, in
each publication mode, and the relay's batches. Ids only, never personal data."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import asyncpg
import pytest

from slotwise.db.urls import DatabaseUrls, to_libpq
from slotwise.realtime import repository
from slotwise.realtime.changes import CHANNEL, Change, parse_payload
from tests.factories import TenantRows, make_appointment, make_tenant

# 2030-06-03 is a Monday; 10:00 UTC is 06:00 in New York.
MONDAY = datetime.fromisoformat("2030-06-03T14:00:00+00:00")


async def _scope(conn: asyncpg.Connection, tenant: TenantRows) -> None:
    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id))


async def _drain(owner_conn: asyncpg.Connection) -> list[Change]:
    """Everything the outbox holds, as the relay would publish it (and empties it)."""
    rows = await owner_conn.fetch(
        "DELETE FROM live_changes RETURNING live_change_json(tenant_id, kind, professional_id,"
        " appointment_id, dates, op, affects_availability) AS item, id"
    )
    return parse_payload(
        "[" + ",".join(r["item"] for r in sorted(rows, key=lambda r: r["id"])) + "]"
    )


@pytest.fixture
async def tenant(owner_conn: asyncpg.Connection) -> TenantRows:
    rows = await make_tenant(owner_conn, professionals=2)
    await owner_conn.execute("DELETE FROM live_changes")
    return rows


async def test_a_booking_records_its_professional_and_local_date(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    customer = await owner_conn.fetchval(
        "INSERT INTO customers (tenant_id, name, email) VALUES ($1, 'Ana Secret',"
        " 'ana.secret@example.com') RETURNING id",
        tenant.tenant_id,
    )
    async with app_conn.transaction():
        await _scope(app_conn, tenant)
        appointment = await app_conn.fetchval(
            "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
            " starts_at, ends_at, occupied, notes) VALUES ($1, $2, $3, $4, $5, $6, 'empty',"
            " 'private note') RETURNING id",
            tenant.tenant_id,
            tenant.professional_ids[0],
            tenant.service_ids[0],
            customer,
            MONDAY,
            MONDAY + timedelta(minutes=30),
        )
    raw = await owner_conn.fetch("SELECT * FROM live_changes")
    assert "secret" not in str([dict(r) for r in raw]).lower()
    assert "private" not in str([dict(r) for r in raw])
    [change] = await _drain(owner_conn)
    assert change == Change(
        tenant_id=tenant.tenant_id,
        kind="appointment",
        professional_id=tenant.professional_ids[0],
        dates=(date(2030, 6, 3),),
        appointment_id=appointment,
        operation="insert",
        affects_availability=True,
    )


async def test_dates_are_local_and_widened_by_what_the_professional_offers(
    owner_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    """01:00 UTC on June 4th is 21:00 on June 3rd in New York; a 3-hour service offered by
    the professional can start on June 3rd and still overlap a booking at 00:30 on June 4th."""
    await make_appointment(owner_conn, tenant, datetime.fromisoformat("2030-06-04T01:00:00+00:00"))
    [evening] = await _drain(owner_conn)
    assert evening.dates == (date(2030, 6, 3),)

    long_service = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, 'Long', 180)",
        tenant.tenant_id,
        long_service,
    )
    await owner_conn.execute(
        "INSERT INTO offerings (tenant_id, professional_id, service_id) VALUES ($1, $2, $3)",
        tenant.tenant_id,
        tenant.professional_ids[0],
        long_service,
    )
    await _drain(owner_conn)
    await make_appointment(owner_conn, tenant, datetime.fromisoformat("2030-06-05T04:30:00+00:00"))
    [after_midnight] = await _drain(owner_conn)
    assert after_midnight.dates == (date(2030, 6, 4), date(2030, 6, 5))


async def test_a_reschedule_touches_old_and_new_dates_and_a_reassignment_both_professionals(
    owner_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    appointment = await make_appointment(owner_conn, tenant, MONDAY)
    await _drain(owner_conn)
    await owner_conn.execute(
        "UPDATE appointments SET starts_at = starts_at + interval '2 days',"
        " ends_at = ends_at + interval '2 days' WHERE id = $1",
        appointment,
    )
    [moved] = await _drain(owner_conn)
    assert moved.dates == (date(2030, 6, 3), date(2030, 6, 5))
    assert moved.operation == "update" and moved.affects_availability

    await owner_conn.execute(
        "UPDATE appointments SET professional_id = $2 WHERE id = $1",
        appointment,
        tenant.professional_ids[1],
    )
    changes = await _drain(owner_conn)
    assert {c.professional_id for c in changes} == set(tenant.professional_ids)
    assert {c.appointment_id for c in changes} == {appointment}


async def test_cancel_and_status_changes_say_whether_availability_changed(
    owner_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    appointment = await make_appointment(owner_conn, tenant, MONDAY)
    await _drain(owner_conn)
    await owner_conn.execute(
        "UPDATE appointments SET status = 'completed' WHERE id = $1", appointment
    )
    [completed] = await _drain(owner_conn)
    assert not completed.affects_availability
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", appointment
    )
    [cancelled] = await _drain(owner_conn)
    assert cancelled.affects_availability and cancelled.dates == (date(2030, 6, 3),)
    await owner_conn.execute("UPDATE appointments SET notes = 'x' WHERE id = $1", appointment)
    assert await _drain(owner_conn) == []
    await owner_conn.execute("DELETE FROM appointments WHERE id = $1", appointment)
    [deleted] = await _drain(owner_conn)
    assert deleted.operation == "delete" and not deleted.affects_availability


@pytest.mark.parametrize(
    ("statement", "kind", "professional", "dates"),
    [
        (
            "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
            " VALUES ($1, 0, 1200, 1300)",
            "availability",
            None,
            None,
        ),
        (
            "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
            " end_minute) VALUES ($1, $2, 0, 600, 900)",
            "availability",
            0,
            None,
        ),
        (
            "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute)"
            " VALUES ($1, 1, 720, 780)",
            "availability",
            None,
            None,
        ),
        (
            "INSERT INTO breaks (tenant_id, professional_id, weekday, start_minute, end_minute)"
            " VALUES ($1, $2, 1, 720, 780)",
            "availability",
            0,
            None,
        ),
        (
            "INSERT INTO closures (tenant_id, date) VALUES ($1, '2030-12-25')",
            "availability",
            None,
            (date(2030, 12, 25),),
        ),
        (
            "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
            " VALUES ($1, '2030-12-24', 600, 720)",
            "availability",
            None,
            (date(2030, 12, 24),),
        ),
        (
            "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
            " VALUES ($1, $2, '2030-07-01T14:00Z', '2030-07-02T20:00Z')",
            "availability",
            0,
            (date(2030, 7, 1), date(2030, 7, 2)),
        ),
        (
            "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
            " VALUES ($1, $2, '2030-07-01T14:00Z', '2031-07-01T14:00Z')",
            "availability",
            0,
            None,  # a year away: every date
        ),
        ("UPDATE services SET name = 'Cut & wash' WHERE tenant_id = $1", "catalog", None, None),
        (
            "DELETE FROM offerings WHERE tenant_id = $1 AND professional_id = $2",
            "catalog",
            0,
            None,
        ),
        (
            "UPDATE professionals SET active = false WHERE tenant_id = $1 AND id = $2",
            "catalog",
            0,
            None,
        ),
        ("UPDATE tenants SET min_notice_minutes = 30 WHERE id = $1", "catalog", None, None),
        ("UPDATE tenants SET name = 'Renamed' WHERE id = $1", "catalog", None, None),
    ],
)
async def test_each_kind_of_rule_change_records_what_it_touches(
    owner_conn: asyncpg.Connection,
    tenant: TenantRows,
    statement: str,
    kind: str,
    professional: int | None,
    dates: tuple[date, ...] | None,
) -> None:
    args: list[object] = [tenant.tenant_id]
    if "$2" in statement:
        args.append(tenant.professional_ids[0])
    await owner_conn.execute(statement, *args)
    [change] = await _drain(owner_conn)
    assert change.tenant_id == tenant.tenant_id
    assert change.kind == kind
    expected = None if professional is None else tenant.professional_ids[professional]
    assert change.professional_id == expected
    assert change.dates == dates
    assert change.affects_availability


async def test_bookkeeping_updates_record_nothing(
    owner_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    await owner_conn.execute(
        "UPDATE tenants SET updated_at = now() WHERE id = $1", tenant.tenant_id
    )
    await owner_conn.execute("UPDATE tenants SET name = name WHERE id = $1", tenant.tenant_id)
    assert await _drain(owner_conn) == []


async def test_a_tenant_can_neither_read_nor_write_another_tenants_changes(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    other = await make_tenant(owner_conn)
    await make_appointment(owner_conn, other, MONDAY)
    async with app_conn.transaction():
        await _scope(app_conn, tenant)
        assert await app_conn.fetchval("SELECT count(*) FROM live_changes") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(
                "INSERT INTO live_changes (tenant_id, kind, op, affects_availability)"
                " VALUES ($1, 'catalog', 'update', true)",
                other.tenant_id,
            )


@pytest.fixture
async def listening(database_urls: DatabaseUrls) -> AsyncIterator[asyncio.Queue[str]]:
    """A LISTEN session on the channel: the payloads, in order."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(to_libpq(database_urls.app))
    await conn.add_listener(CHANNEL, lambda _c, _p, _ch, payload: queue.put_nowait(payload))
    yield queue
    await conn.close()


async def _next(queue: asyncio.Queue[str]) -> str:
    async with asyncio.timeout(5):
        return await queue.get()


async def test_the_relay_publishes_batches_under_8000_bytes_and_deletes_them(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    tenant: TenantRows,
    listening: asyncio.Queue[str],
) -> None:
    for day in range(60):
        await make_appointment(owner_conn, tenant, MONDAY + timedelta(days=day))
    assert await owner_conn.fetchval("SELECT count(*) FROM live_changes") == 60

    assert await repository.relay_batch(app_conn, 500) == 60
    payloads = [await _next(listening)]
    received = parse_payload(payloads[0])
    while len(received) < 60:
        payloads.append(await _next(listening))
        received += parse_payload(payloads[-1])
    assert len(payloads) > 1  # 60 changes do not fit one notification
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert sorted(c.dates for c in received if c.dates) == [
        (date(2030, 6, 3) + timedelta(days=d),) for d in range(60)
    ]
    assert await owner_conn.fetchval("SELECT count(*) FROM live_changes") == 0
    assert await repository.relay_batch(app_conn, 500) == 0


async def test_notify_mode_publishes_from_the_writing_transaction_at_commit(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    tenant: TenantRows,
    listening: asyncio.Queue[str],
) -> None:
    async with app_conn.transaction():
        await app_conn.execute("SET LOCAL slotwise.live_updates_mode = 'notify'")
        await _scope(app_conn, tenant)
        await app_conn.execute(
            "INSERT INTO closures (tenant_id, date) VALUES ($1, '2030-12-25')", tenant.tenant_id
        )
        assert listening.empty()  # nothing before the commit
    [change] = parse_payload(await _next(listening))
    assert change.dates == (date(2030, 12, 25),) and change.tenant_id == tenant.tenant_id
    assert await owner_conn.fetchval("SELECT count(*) FROM live_changes") == 0


async def test_off_mode_records_nothing(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, tenant: TenantRows
) -> None:
    async with app_conn.transaction():
        await app_conn.execute("SET LOCAL slotwise.live_updates_mode = 'off'")
        await _scope(app_conn, tenant)
        await app_conn.execute(
            "INSERT INTO closures (tenant_id, date) VALUES ($1, '2030-12-25')", tenant.tenant_id
        )
    assert await owner_conn.fetchval("SELECT count(*) FROM live_changes") == 0


async def test_the_mode_is_applied_to_the_database_for_new_sessions(
    owner_conn: asyncpg.Connection, database_urls: DatabaseUrls
) -> None:
    await repository.apply_mode(owner_conn, "notify")
    fresh = await asyncpg.connect(to_libpq(database_urls.app))
    try:
        assert await repository.effective_mode(fresh) == "notify"
    finally:
        await fresh.close()
    with pytest.raises(ValueError, match="unknown"):
        await repository.apply_mode(owner_conn, "loud")  # type: ignore[arg-type]


def test_payloads_are_parsed_tolerantly() -> None:
    tenant = uuid.uuid4()
    good = {"t": str(tenant), "k": "av", "p": None, "a": None, "d": None, "o": "u", "x": True}
    changes = parse_payload(json.dumps([good, {"t": "nope"}, "junk"]))
    assert [c.tenant_id for c in changes] == [tenant]
    assert parse_payload("not json") == []
