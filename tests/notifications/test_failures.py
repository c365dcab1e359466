"""Nothing is lost and nothing is sent twice: SMTP down for a while, a permanent refusal,
two workers at once. Time is driven through ``now``; no test sleeps."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from slotwise.db.database import Database
from slotwise.notifications.worker import OutboxWorker
from slotwise.settings import Settings
from tests.factories import bearer, make_appointment, make_member, make_tenant
from tests.notifications.conftest import FAST_BACKOFF, SmtpServer, future_start, outbox_rows


async def _bookings(conn: asyncpg.Connection, count: int) -> None:
    """``count`` appointments, each queueing a customer and a business mail now."""
    rows = await make_tenant(conn, email="desk@salon.example.com", reminder_hours=0)
    for index in range(count):
        rows.customer_id = None  # a customer each
        await make_appointment(conn, rows, future_start(days=1 + index))


async def test_smtp_down_backs_off_then_delivers_everything_exactly_once(
    owner_conn: asyncpg.Connection, worker: OutboxWorker, smtp: SmtpServer
) -> None:
    await _bookings(owner_conn, 3)
    smtp.stop()
    now = datetime.now(UTC)

    first = await worker.drain(now)
    assert first.count("retry") == 6
    rows = await outbox_rows(owner_conn)
    assert {(r["status"], r["attempts"]) for r in rows} == {("pending", 1)}
    assert all("SMTP unavailable" in r["last_error"] for r in rows)
    delays = [(r["next_attempt_at"] - now).total_seconds() for r in rows]
    assert all(10 <= d <= 12 for d in delays)  # initial 10 s plus up to 20 % jitter
    assert len(set(delays)) > 1  # jittered apart

    # Not due yet: nobody touches them.
    assert (await worker.drain(now + timedelta(seconds=9))).claimed == 0

    # Still down at the second try: the delay doubles.
    second_try = max(r["next_attempt_at"] for r in rows)
    assert (await worker.drain(second_try)).count("retry") == 6
    rows = await outbox_rows(owner_conn)
    assert {r["attempts"] for r in rows} == {2}
    assert all(20 <= (r["next_attempt_at"] - second_try).total_seconds() <= 24 for r in rows)

    smtp.start()  # back, on the same port
    third_try = max(r["next_attempt_at"] for r in rows)
    delivered = await worker.drain(third_try)
    again = await worker.drain(third_try + timedelta(hours=1))

    assert delivered.count("sent") == 6
    assert again.claimed == 0
    rows = await outbox_rows(owner_conn)
    assert {(r["status"], r["attempts"], r["last_error"]) for r in rows} == {("sent", 3, None)}
    ids = Counter(m["Message-ID"] for m in smtp.collector.messages)
    assert ids == Counter({f"<{r['id']}@slotwise>": 1 for r in rows})


async def test_permanent_refusal_is_parked_as_dead_visible_and_retryable(
    owner_conn: asyncpg.Connection,
    worker: OutboxWorker,
    smtp: SmtpServer,
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    rows = await make_tenant(owner_conn, email="desk@salon.example.com", reminder_hours=0)
    manager_id, _ = await make_member(owner_conn, rows.tenant_id, "manager")
    staff_id, _ = await make_member(owner_conn, rows.tenant_id, "staff")
    await make_appointment(owner_conn, rows, future_start())
    smtp.collector.refuse = "550 5.1.1 Mailbox unavailable"

    now = datetime.now(UTC)
    for _attempt in range(settings.outbox_max_attempts):
        await worker.drain(now)
        pending = [r for r in await outbox_rows(owner_conn) if r["status"] == "pending"]
        if not pending:
            break
        now = max(r["next_attempt_at"] for r in pending)

    outbox = await outbox_rows(owner_conn)
    assert {(r["status"], r["attempts"]) for r in outbox} == {
        ("dead", settings.outbox_max_attempts)
    }
    assert all("550" in r["last_error"] for r in outbox)
    assert (await worker.drain(now + timedelta(days=30))).claimed == 0  # dead stays dead

    headers = bearer(settings, manager_id, rows.tenant_id)
    listed = await client.get("/api/v1/outbox", params={"status": "dead"}, headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["counts"] == {"pending": 0, "sent": 0, "dead": 2}
    assert {item["kind"] for item in body["items"]} == {
        "customer_confirmation",
        "business_booking",
    }
    assert all("550" in item["last_error"] for item in body["items"])
    staff = await client.get("/api/v1/outbox", headers=bearer(settings, staff_id, rows.tenant_id))
    assert staff.status_code == 403
    assert staff.json()["code"] == "forbidden"

    smtp.collector.refuse = None
    dead_id = body["items"][0]["id"]
    retried = await client.post(f"/api/v1/outbox/{dead_id}/retry", headers=headers)
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    again = await client.post(f"/api/v1/outbox/{dead_id}/retry", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "outbox_not_retryable"

    assert (await worker.drain(datetime.now(UTC))).count("sent") == 1
    assert [m["Message-ID"] for m in smtp.collector.messages] == [f"<{dead_id}@slotwise>"]


async def test_two_workers_at_once_deliver_each_message_once(
    owner_conn: asyncpg.Connection,
    database: Database,
    smtp_settings: Settings,
    smtp: SmtpServer,
) -> None:
    await _bookings(owner_conn, 15)
    now = datetime.now(UTC)
    first = OutboxWorker(
        database, smtp_settings, batch_size=4, backoff=FAST_BACKOFF, rng=random.Random(1)
    )
    second = OutboxWorker(
        database, smtp_settings, batch_size=4, backoff=FAST_BACKOFF, rng=random.Random(2)
    )
    async with first, second:
        a, b = await asyncio.gather(first.drain(now), second.drain(now))

    assert a.count("sent") + b.count("sent") == 30
    assert a.count("sent") > 0 and b.count("sent") > 0
    rows = await outbox_rows(owner_conn)
    assert {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}
    ids = Counter(m["Message-ID"] for m in smtp.collector.messages)
    assert len(ids) == 30 and set(ids.values()) == {1}


async def test_a_crashed_workers_rows_come_back_after_the_lease(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, worker: OutboxWorker
) -> None:
    await _bookings(owner_conn, 1)
    now = datetime.now(UTC)
    # A worker claims and dies before sending: only its lease remains.
    claimed = await app_conn.fetch("SELECT * FROM outbox_claim(10, 300, $1)", now)
    assert len(claimed) == 2

    assert (await worker.drain(now + timedelta(seconds=299))).claimed == 0
    assert (await worker.drain(now + timedelta(seconds=301))).count("sent") == 2


async def test_sent_rows_are_purged_after_the_retention_but_dead_ones_stay(
    owner_conn: asyncpg.Connection, worker: OutboxWorker
) -> None:
    await _bookings(owner_conn, 2)
    now = datetime.now(UTC)
    await worker.drain(now)
    rows = await outbox_rows(owner_conn)
    await owner_conn.execute(
        "UPDATE outbox SET status = 'dead', sent_at = NULL, last_error = 'x' WHERE id = $1",
        rows[0]["id"],
    )

    assert await worker.purge(now + timedelta(days=29)) == 0
    assert await worker.purge(now + timedelta(days=31)) == 3
    assert [r["status"] for r in await outbox_rows(owner_conn)] == ["dead"]


async def test_housekeeping_also_drops_expired_idempotency_keys_of_every_tenant(
    owner_conn: asyncpg.Connection, worker: OutboxWorker
) -> None:
    first = await make_tenant(owner_conn)
    second = await make_tenant(owner_conn)
    await owner_conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, expires_at)"
        " VALUES ($1, 'old', 'h', now() - interval '1 minute'),"
        " ($2, 'old', 'h', now() - interval '1 minute'),"
        " ($1, 'live', 'h', now() + interval '1 hour')",
        first.tenant_id,
        second.tenant_id,
    )

    assert await worker.housekeeping() == (0, 2)
    keys = await owner_conn.fetch("SELECT key FROM idempotency_keys")
    assert [k["key"] for k in keys] == ["live"]
