"""``Idempotency-Key`` on booking POSTs (SPEC §3): replays, reuse, refusals, expiry."""

from __future__ import annotations

import json
from datetime import timedelta

import asyncpg
import httpx

from tests.booking.conftest import ZONE, booking_body, bookings_path, count, local, problem
from tests.factories import TenantRows, bearer, make_appointment, make_member, make_tenant

REPLAYED = ("content-type", "content-language", "cache-control", "etag", "location")


def _answer(response: httpx.Response) -> tuple[int, bytes, dict[str, str | None]]:
    return (
        response.status_code,
        response.content,
        {name: response.headers.get(name) for name in REPLAYED},
    )


async def test_the_same_key_and_body_replay_the_first_answer_byte_for_byte(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    headers = {"Idempotency-Key": "order-1"}
    payload = booking_body(rows, local())
    first = await client.post(bookings_path(rows), json=payload, headers=headers)
    # Same document, other key order and spacing: still the same request.
    reordered = json.dumps(dict(reversed(list(payload.items()))), indent=2)
    second = await client.post(
        bookings_path(rows),
        content=reordered,
        headers={**headers, "Content-Type": "application/json"},
    )

    assert first.status_code == 201
    assert _answer(second) == _answer(first)
    assert await count(owner_conn, "appointments") == 1


async def test_the_same_key_with_another_body_is_409(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    headers = {"Idempotency-Key": "order-2"}
    first = await client.post(
        bookings_path(rows), json=booking_body(rows, local(hour=10)), headers=headers
    )
    assert first.status_code == 201
    problem(
        await client.post(
            bookings_path(rows), json=booking_body(rows, local(hour=11)), headers=headers
        ),
        409,
        "idempotency_key_reused",
    )
    assert await count(owner_conn, "appointments") == 1


async def test_a_refusal_is_stored_and_replayed(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    blocker = await make_appointment(owner_conn, rows, start)
    customers = await count(owner_conn, "customers")
    headers = {"Idempotency-Key": "order-3"}
    payload = booking_body(rows, start)
    first = await client.post(bookings_path(rows), json=payload, headers=headers)
    body = problem(first, 409, "slot_unavailable")
    assert body["alternatives"]

    # Even once the slot is free again, the key answers what it answered.
    await owner_conn.execute("UPDATE appointments SET status = 'cancelled' WHERE id = $1", blocker)
    second = await client.post(bookings_path(rows), json=payload, headers=headers)
    assert _answer(second) == _answer(first)
    assert await count(owner_conn, "appointments") == 1
    assert await count(owner_conn, "customers") == customers  # the attempt's one rolled back

    rule = await client.post(
        bookings_path(rows),
        json=booking_body(rows, local(hour=20)),
        headers={"Idempotency-Key": "order-4"},
    )
    problem(rule, 422, "outside_working_hours")
    again = await client.post(
        bookings_path(rows),
        json=booking_body(rows, local(hour=20)),
        headers={"Idempotency-Key": "order-4"},
    )
    assert _answer(again) == _answer(rule)


async def test_an_expired_key_is_taken_over(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    headers = {"Idempotency-Key": "order-5"}
    first = await client.post(
        bookings_path(rows), json=booking_body(rows, local(hour=10)), headers=headers
    )
    assert first.status_code == 201
    await owner_conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
    second = await client.post(
        bookings_path(rows), json=booking_body(rows, local(hour=11)), headers=headers
    )
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]
    row = await owner_conn.fetchrow("SELECT * FROM idempotency_keys WHERE key = 'order-5'")
    assert row["expires_at"] - row["created_at"] == timedelta(hours=24)
    assert row["status_code"] == 201


async def test_keys_belong_to_one_business(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other = await make_tenant(owner_conn, timezone=ZONE)
    headers = {"Idempotency-Key": "shared-key"}
    mine = await client.post(bookings_path(rows), json=booking_body(rows, local()), headers=headers)
    theirs = await client.post(
        bookings_path(other), json=booking_body(other, local()), headers=headers
    )
    assert mine.status_code == theirs.status_code == 201
    assert await count(owner_conn, "appointments") == 2


async def test_an_unusable_key_is_422(client: httpx.AsyncClient, rows: TenantRows) -> None:
    for key in ("", "with space", "x" * 256, "é"):
        response = await client.post(
            bookings_path(rows),
            json=booking_body(rows, local()),
            headers={"Idempotency-Key": key.encode()},
        )
        problem(response, 422, "validation_error")


async def test_staff_bookings_honour_the_key_too(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows, settings
) -> None:
    user_id, _ = await make_member(owner_conn, rows.tenant_id, "owner")
    headers = {**bearer(settings, user_id, rows.tenant_id), "Idempotency-Key": "desk-1"}
    payload = {
        "service_id": str(rows.service_ids[0]),
        "professional_id": str(rows.professional_ids[0]),
        "start": local(hour=10).isoformat(),
        "customer": {"name": "Bia", "email": "bia@example.com"},
    }
    first = await client.post("/api/v1/appointments", json=payload, headers=headers)
    second = await client.post("/api/v1/appointments", json=payload, headers=headers)
    assert first.status_code == 201
    assert _answer(second) == _answer(first)
    assert await count(owner_conn, "appointments") == 1
    # The same key on the public path is another request: refused, not replayed.
    problem(
        await client.post(
            bookings_path(rows), json=booking_body(rows, local(hour=10)), headers=headers
        ),
        409,
        "idempotency_key_reused",
    )
