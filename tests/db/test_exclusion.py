"""No double booking is the database's job: the exclusion constraint, tried directly."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import pytest

from tests.factories import TenantRows, make_appointment, make_tenant

T0 = datetime.fromisoformat("2030-06-03T14:00:00+00:00")


@pytest.fixture
async def rows(owner_conn: asyncpg.Connection) -> TenantRows:
    return await make_tenant(owner_conn, professionals=2)


async def test_overlapping_appointments_of_one_professional_are_rejected(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, T0)
    with pytest.raises(asyncpg.ExclusionViolationError):
        await make_appointment(owner_conn, rows, T0 + timedelta(minutes=15))


async def test_buffer_after_blocks_the_next_start(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, T0, buffer_after=10)
    with pytest.raises(asyncpg.ExclusionViolationError):
        await make_appointment(owner_conn, rows, T0 + timedelta(minutes=35))


async def test_buffer_before_blocks_the_previous_end(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, T0)
    with pytest.raises(asyncpg.ExclusionViolationError):
        await make_appointment(owner_conn, rows, T0 + timedelta(minutes=35), buffer_before=10)


async def test_back_to_back_appointments_are_fine(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, T0, buffer_after=5)
    await make_appointment(owner_conn, rows, T0 + timedelta(minutes=35))
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 2


async def test_other_professional_may_overlap(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, T0)
    await make_appointment(owner_conn, rows, T0, professional_index=1)
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 2


async def test_cancelled_appointments_do_not_block(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, T0, status="cancelled")
    await make_appointment(owner_conn, rows, T0)
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 2


async def test_reviving_a_cancelled_appointment_over_a_new_one_is_rejected(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    old = await make_appointment(owner_conn, rows, T0, status="cancelled")
    await make_appointment(owner_conn, rows, T0)
    with pytest.raises(asyncpg.ExclusionViolationError):
        await owner_conn.execute("UPDATE appointments SET status = 'confirmed' WHERE id = $1", old)


async def test_occupied_range_is_computed_by_the_database(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    appointment = await make_appointment(owner_conn, rows, T0, buffer_before=5, buffer_after=10)
    occupied = await owner_conn.fetchval(
        "SELECT occupied FROM appointments WHERE id = $1", appointment
    )
    assert occupied.lower == T0 - timedelta(minutes=5)
    assert occupied.upper == T0 + timedelta(minutes=40)


async def test_updates_bump_the_version_and_write_the_audit_log(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    appointment = await make_appointment(owner_conn, rows, T0)
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", appointment
    )
    assert (
        await owner_conn.fetchval("SELECT version FROM appointments WHERE id = $1", appointment)
        == 2
    )
    actions = await owner_conn.fetch(
        "SELECT action FROM appointment_events WHERE appointment_id = $1 ORDER BY id", appointment
    )
    assert [a["action"] for a in actions] == ["created", "status_changed"]


async def test_foreign_keys_include_the_tenant(owner_conn: asyncpg.Connection) -> None:
    a = await make_tenant(owner_conn)
    b = await make_tenant(owner_conn)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await owner_conn.execute(
            "INSERT INTO offerings (tenant_id, professional_id, service_id) VALUES ($1, $2, $3)",
            a.tenant_id,
            a.professional_ids[0],
            b.service_ids[0],
        )


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("UPDATE services SET duration_minutes = 0", asyncpg.CheckViolationError),
        ("UPDATE services SET buffer_before_minutes = -5", asyncpg.CheckViolationError),
        ("UPDATE business_hours SET end_minute = start_minute", asyncpg.CheckViolationError),
        ("UPDATE business_hours SET weekday = 7", asyncpg.CheckViolationError),
        ("UPDATE tenants SET slug = 'Bad Slug'", asyncpg.CheckViolationError),
    ],
)
async def test_check_constraints_refuse_nonsense(
    owner_conn: asyncpg.Connection, rows: TenantRows, sql: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await owner_conn.execute(sql)


async def test_overlapping_weekly_hours_are_refused(
    owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    with pytest.raises(asyncpg.ExclusionViolationError):
        await owner_conn.execute(
            "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
            " VALUES ($1, 0, 600, 1200)",
            rows.tenant_id,
        )
