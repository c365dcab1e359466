"""The booking statements on the real database: one statement checks and inserts, a lost
race is "no row" (the transaction survives), and the reschedule check leaves no trace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from slotwise.booking import repository
from slotwise.db.database import Database
from tests.booking.conftest import local
from tests.factories import TenantRows, make_appointment, make_customer


async def _book(database: Database, rows: TenantRows, start: datetime, pro: int = 0, **kw):
    assert rows.customer_id is not None
    customer = rows.customer_id

    async def work(conn):
        return await repository.book(
            conn,
            professional_id=rows.professional_ids[pro],
            service_id=rows.service_ids[0],
            customer=customer,
            start=start,
            now=datetime.now(UTC),
            notes="",
            source="public",
            **kw,
        )

    return await database.run(work, rows.tenant_id)


async def test_book_inserts_with_the_service_facts(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    await owner_conn.execute(
        "UPDATE services SET buffer_after_minutes = 10, price_minor = 4500, currency = 'BRL'"
    )
    start = local(hour=10)
    attempt = await _book(database, rows, start)
    assert attempt.rejection is None and attempt.booked is not None
    assert attempt.booked.ends_at == start + timedelta(minutes=30)
    assert attempt.booked.status == "confirmed"
    assert attempt.booked.timezone == "America/New_York"
    row = await owner_conn.fetchrow("SELECT * FROM appointments")
    assert row["price_minor"] == 4500 and row["currency"] == "BRL"
    assert row["buffer_after_minutes"] == 10
    assert row["occupied"].upper == start + timedelta(minutes=40)


async def test_book_finds_or_creates_the_customer_in_the_same_statement(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    async def book(start: datetime, name: str, email: str | None, phone: str | None):
        async def work(conn):
            return await repository.book(
                conn,
                professional_id=rows.professional_ids[0],
                service_id=rows.service_ids[0],
                customer=repository.CustomerFields(name, email, phone),
                start=start,
                now=datetime.now(UTC),
                notes="",
                source="public",
            )

        return await database.run(work, rows.tenant_id)

    first = await book(local(hour=10), "Ana", "ana@example.com", None)
    again = await book(local(hour=11), "Ana Souza", "ana@example.com", "+5511912345678")
    phone_only = await book(local(hour=12), "Bia", None, "+5511987654321")
    assert first.customer_id == again.customer_id != phone_only.customer_id
    customer = await owner_conn.fetchrow(
        "SELECT name, phone FROM customers WHERE id = $1", first.customer_id
    )
    assert (customer["name"], customer["phone"]) == ("Ana Souza", "+5511912345678")
    assert await owner_conn.fetchval("SELECT count(*) FROM customers") == 2
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 3


async def test_book_is_pending_without_auto_confirm(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    await owner_conn.execute("UPDATE tenants SET auto_confirm = false")
    attempt = await _book(database, rows, local(hour=11))
    assert attempt.booked is not None and attempt.booked.status == "pending"


async def test_book_reports_the_rule_that_refused(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    attempt = await _book(database, rows, local(hour=20))
    assert attempt.booked is None
    assert attempt.rejection == "outside_working_hours"
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 0


async def test_a_taken_slot_is_no_row_and_the_transaction_goes_on(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    await make_appointment(owner_conn, rows, start)
    # Without the rule check only the exclusion constraint refuses: still no exception.
    attempt = await _book(database, rows, start + timedelta(minutes=15), check_rules=False)
    assert attempt.booked is None and attempt.rejection is None and attempt.service_found
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 1


async def test_reschedule_rejection_sets_the_own_time_aside_and_leaves_no_trace(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    appointment = await make_appointment(owner_conn, rows, start)
    await make_appointment(owner_conn, rows, start + timedelta(hours=2))
    events_before = await owner_conn.fetchval("SELECT count(*) FROM appointment_events")

    async def check(conn, new_start):
        return await repository.reschedule_rejection(
            conn,
            appointment_id=appointment,
            professional_id=rows.professional_ids[0],
            service_id=rows.service_ids[0],
            start=new_start,
            now=datetime.now(UTC),
        )

    async def checks(conn):
        return (
            await check(conn, start + timedelta(minutes=15)),  # overlaps only itself
            await check(conn, start + timedelta(hours=2)),  # overlaps the other one
        )

    assert await database.run(checks, rows.tenant_id) == (None, "slot_unavailable")
    row = await owner_conn.fetchrow(
        "SELECT status, version FROM appointments WHERE id = $1", appointment
    )
    assert (row["status"], row["version"]) == ("confirmed", 1)
    assert await owner_conn.fetchval("SELECT count(*) FROM appointment_events") == events_before


async def test_purge_removes_only_expired_keys_of_every_tenant(
    database: Database, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, expires_at)"
        " VALUES ($1, 'old', 'h', now() - interval '1 minute'),"
        " ($1, 'live', 'h', now() + interval '1 hour')",
        rows.tenant_id,
    )

    async def purge(conn):
        return await repository.purge_expired_keys(conn, 100)

    assert await database.run(purge, None) == 1
    keys = await owner_conn.fetch("SELECT key FROM idempotency_keys")
    assert [k["key"] for k in keys] == ["live"]
