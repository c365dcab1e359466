"""The outbox is written by the database, in the transaction that changes the appointment,
and claimed across tenants only through ``outbox_claim``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from slotwise.db.urls import DatabaseUrls, to_libpq
from tests.factories import make_appointment, make_customer, make_member, make_tenant, make_webhook
from tests.notifications.conftest import future_start, outbox_rows, payload_of


async def test_a_booking_queues_confirmation_notice_and_reminder(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn, email="desk@salon.example.com", reminder_hours=24)
    start = future_start(days=3)
    appointment_id = await make_appointment(owner_conn, rows, start)

    queued = {r["kind"]: r for r in await outbox_rows(owner_conn, appointment_id)}
    assert set(queued) == {"customer_confirmation", "business_booking", "customer_reminder"}
    assert queued["business_booking"]["recipient"] == "desk@salon.example.com"
    assert queued["customer_reminder"]["next_attempt_at"] == start - timedelta(hours=24)
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in queued.values())
    payload = payload_of(queued["customer_confirmation"])
    assert payload["appointment_id"] == str(appointment_id)
    assert payload["version"] == 1
    assert datetime.fromisoformat(payload["starts_at"]) == start
    # Ids and times only: no name, no address in the payload.
    assert "@" not in str(payload)


async def test_nothing_is_queued_when_the_booking_rolls_back(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn)
    with pytest.raises(RuntimeError):
        async with owner_conn.transaction():
            await make_appointment(owner_conn, rows, future_start())
            assert len(await outbox_rows(owner_conn)) == 2  # confirmation, reminder
            raise RuntimeError("roll back")
    assert await outbox_rows(owner_conn) == []


async def test_business_notice_goes_to_owners_and_the_professional_without_a_tenant_email(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn)
    _, first = await make_member(owner_conn, rows.tenant_id, "owner")
    _, second = await make_member(owner_conn, rows.tenant_id, "owner")
    await make_member(owner_conn, rows.tenant_id, "manager")
    await owner_conn.execute(
        "UPDATE professionals SET email = 'pro@salon.example.com' WHERE id = $1",
        rows.professional_ids[0],
    )
    appointment_id = await make_appointment(owner_conn, rows, future_start())

    notices = [
        r["recipient"]
        for r in await outbox_rows(owner_conn, appointment_id)
        if r["kind"] == "business_booking"
    ]
    assert sorted(notices) == sorted([first, second, "pro@salon.example.com"])


async def test_reschedule_queues_a_mail_and_moves_the_reminder(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn, reminder_hours=2)
    start = future_start(days=2)
    appointment_id = await make_appointment(owner_conn, rows, start)
    old_reminder = next(
        r for r in await outbox_rows(owner_conn, appointment_id) if r["kind"] == "customer_reminder"
    )
    new_start = start + timedelta(days=1, hours=1)
    await owner_conn.execute(
        "UPDATE appointments SET starts_at = $2, ends_at = $3 WHERE id = $1",
        appointment_id,
        new_start,
        new_start + timedelta(minutes=30),
    )

    queued = await outbox_rows(owner_conn, appointment_id)
    kinds = [r["kind"] for r in queued]
    assert kinds.count("customer_reschedule") == 1
    reminders = [r for r in queued if r["kind"] == "customer_reminder"]
    assert [r["id"] for r in reminders] != [old_reminder["id"]]
    assert [r["next_attempt_at"] for r in reminders] == [new_start - timedelta(hours=2)]
    moved = payload_of(next(r for r in queued if r["kind"] == "customer_reschedule"))
    assert moved["version"] == 2
    assert datetime.fromisoformat(moved["previous_starts_at"]) == start
    assert "business_cancellation" not in kinds


async def test_cancel_queues_customer_and_business_mails_and_drops_the_reminder(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn, email="desk@salon.example.com")
    appointment_id = await make_appointment(owner_conn, rows, future_start())
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", appointment_id
    )
    # Cancelling twice (or editing a cancelled appointment) announces nothing more.
    await owner_conn.execute("UPDATE appointments SET notes = 'late' WHERE id = $1", appointment_id)

    kinds = sorted(r["kind"] for r in await outbox_rows(owner_conn, appointment_id))
    assert kinds == [
        "business_booking",
        "business_cancellation",
        "customer_cancellation",
        "customer_confirmation",
    ]


async def test_no_reminder_when_it_would_be_in_the_past_or_is_disabled(
    owner_conn: asyncpg.Connection,
) -> None:
    soon = await make_tenant(owner_conn, reminder_hours=24, email="a@salon.example.com")
    soon_id = await make_appointment(owner_conn, soon, datetime.now(UTC) + timedelta(hours=5))
    off = await make_tenant(owner_conn, reminder_hours=0, email="b@salon.example.com")
    off_id = await make_appointment(owner_conn, off, future_start(days=5))
    for appointment_id in (soon_id, off_id):
        kinds = {r["kind"] for r in await outbox_rows(owner_conn, appointment_id)}
        assert kinds == {"customer_confirmation", "business_booking"}


async def test_phone_only_customer_gets_no_mail_but_the_business_does(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn, email="desk@salon.example.com")
    customer_id = await make_customer(owner_conn, rows.tenant_id)
    await owner_conn.execute(
        "UPDATE customers SET email = NULL, phone = '+15550100' WHERE id = $1", customer_id
    )
    rows.customer_id = customer_id
    appointment_id = await make_appointment(owner_conn, rows, future_start())
    kinds = [r["kind"] for r in await outbox_rows(owner_conn, appointment_id)]
    assert kinds == ["business_booking"]


async def test_pending_then_confirmed_sends_a_confirmation_each_time(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn)
    appointment_id = await make_appointment(owner_conn, rows, future_start(), status="pending")
    await owner_conn.execute(
        "UPDATE appointments SET status = 'confirmed' WHERE id = $1", appointment_id
    )
    confirmations = [
        payload_of(r)["status"]
        for r in await outbox_rows(owner_conn, appointment_id)
        if r["kind"] == "customer_confirmation"
    ]
    assert confirmations == ["pending", "confirmed"]


async def test_active_webhooks_get_a_delivery_per_event(owner_conn: asyncpg.Connection) -> None:
    rows = await make_tenant(owner_conn)
    active = await make_webhook(owner_conn, rows.tenant_id, "https://a.example.com/h")
    await make_webhook(owner_conn, rows.tenant_id, "https://b.example.com/h", active=False)
    appointment_id = await make_appointment(owner_conn, rows, future_start())
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", appointment_id
    )
    deliveries = [
        r for r in await outbox_rows(owner_conn, appointment_id) if r["kind"] == "webhook"
    ]
    assert [r["webhook_id"] for r in deliveries] == [active, active]
    assert [payload_of(r)["event"] for r in deliveries] == [
        "appointment.created",
        "appointment.cancelled",
    ]


async def test_deleting_an_appointment_drops_its_pending_mails(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn)
    appointment_id = await make_appointment(owner_conn, rows, future_start())
    await owner_conn.execute("DELETE FROM appointments WHERE id = $1", appointment_id)
    assert await outbox_rows(owner_conn, appointment_id) == []


async def test_claim_is_exclusive_leased_and_comes_back_after_the_lease(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, database_urls: DatabaseUrls
) -> None:
    rows = await make_tenant(owner_conn, reminder_hours=0, email="desk@salon.example.com")
    for day in range(1, 4):
        await make_appointment(owner_conn, rows, future_start(days=day))
    now = datetime.now(UTC)
    other = await asyncpg.connect(to_libpq(database_urls.app))
    try:
        async with app_conn.transaction():
            first = await app_conn.fetch("SELECT * FROM outbox_claim(4, 60, $1)", now)
            # While the first claimer's transaction is open its rows are skipped, not waited on.
            second = await other.fetch("SELECT * FROM outbox_claim(100, 60, $1)", now)
        assert len(first) == 4
        assert {tuple(r) for r in first}.isdisjoint({tuple(r) for r in second})
        assert len(first) + len(second) == 6
        # Committed leases keep everyone away until they expire...
        assert await other.fetch("SELECT * FROM outbox_claim(100, 60, $1)", now) == []
        # ...then a crashed worker's rows come back.
        later = await other.fetch(
            "SELECT * FROM outbox_claim(100, 60, $1)", now + timedelta(seconds=61)
        )
        assert len(later) == 6
        assert set(later[0].keys()) == {"tenant_id", "id"}
    finally:
        await other.close()


async def test_claim_is_the_app_roles_only_cross_tenant_path(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    rows = await make_tenant(owner_conn)
    await make_appointment(owner_conn, rows, future_start())
    assert await app_conn.fetch("SELECT * FROM outbox") == []  # no tenant set: nothing
    definer = await owner_conn.fetchrow(
        "SELECT prosecdef, proconfig FROM pg_proc WHERE proname = 'outbox_claim'"
    )
    assert definer is not None
    assert definer["prosecdef"]
    assert definer["proconfig"] == ["search_path=pg_catalog, public"]


async def _reminders(
    conn: asyncpg.Connection, appointment_id: object
) -> list[tuple[str, datetime]]:
    """(status, due) of the appointment's reminders."""
    return [
        (r["status"], r["next_attempt_at"])
        for r in await outbox_rows(conn, appointment_id)
        if r["kind"] == "customer_reminder"
    ]


async def test_queued_reminders_follow_a_new_lead_time(owner_conn: asyncpg.Connection) -> None:
    rows = await make_tenant(owner_conn, reminder_hours=24)
    start = future_start(days=3)
    soon = future_start(days=0, hour=0) + timedelta(days=1, hours=1)  # 1-25 h ahead
    booked = await make_appointment(owner_conn, rows, start)
    near = await make_appointment(owner_conn, rows, soon, professional_index=0)
    tenant = rows.tenant_id

    async def set_hours(hours: int) -> datetime:
        async with owner_conn.transaction():
            await owner_conn.execute(
                "UPDATE tenants SET reminder_hours = $2 WHERE id = $1", tenant, hours
            )
            return await owner_conn.fetchval("SELECT now()")  # the transaction's time

    await set_hours(2)
    assert await _reminders(owner_conn, booked) == [("pending", start - timedelta(hours=2))]
    await set_hours(0)  # off: nothing left to send
    assert await _reminders(owner_conn, booked) == []
    assert await _reminders(owner_conn, near) == []
    changed_at = await set_hours(48)  # on again: every upcoming booking gets one
    assert await _reminders(owner_conn, booked) == [("pending", start - timedelta(hours=48))]
    assert await _reminders(owner_conn, near) == [("pending", changed_at)]  # late: now
    payload = payload_of(
        next(r for r in await outbox_rows(owner_conn, booked) if r["kind"] == "customer_reminder")
    )
    assert payload["appointment_id"] == str(booked)
    assert datetime.fromisoformat(payload["starts_at"]) == start


async def test_a_reminder_sent_or_being_sent_is_left_alone(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await make_tenant(owner_conn, reminder_hours=24)
    start = future_start(days=3)
    sent = await make_appointment(owner_conn, rows, start)
    leased = await make_appointment(owner_conn, rows, start + timedelta(hours=1))
    await owner_conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = 1"
        " WHERE appointment_id = $1 AND kind = 'customer_reminder'",
        sent,
    )
    await owner_conn.execute(
        "UPDATE outbox SET leased_until = now() + interval '1 minute'"
        " WHERE appointment_id = $1 AND kind = 'customer_reminder'",
        leased,
    )
    await owner_conn.execute("UPDATE tenants SET reminder_hours = 2 WHERE id = $1", rows.tenant_id)
    # Neither moved nor doubled.
    assert await _reminders(owner_conn, sent) == [("sent", start - timedelta(hours=24))]
    assert await _reminders(owner_conn, leased) == [("pending", start - timedelta(hours=23))]
