"""Concurrency on the real database, through the ASGI app: many requests at once, one
event loop, the pool of the ``database`` fixture (10 + 30 connections)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.booking.conftest import booking_body, bookings_path, count, local, problem
from tests.factories import TenantRows


async def _gather(requests: list[Any]) -> list[httpx.Response]:
    return list(await asyncio.gather(*requests))


async def _overlaps(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM appointments a JOIN appointments b"
        " ON a.tenant_id = b.tenant_id AND a.professional_id = b.professional_id"
        " AND a.id < b.id AND a.occupied && b.occupied"
        " WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"
    )
    return int(value)


async def test_fifty_requests_for_one_slot_book_it_once(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    responses = await _gather(
        [
            client.post(
                bookings_path(rows), json=booking_body(rows, start, email=f"c{i}@example.com")
            )
            for i in range(50)
        ]
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49
    for response in responses:
        if response.status_code == 409:
            body = problem(response, 409, "slot_unavailable")
            assert isinstance(body["alternatives"], list) and body["alternatives"]
    assert await count(owner_conn, "appointments") == 1


async def test_two_hundred_requests_over_twenty_slots_book_each_once(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    slots = [(pro, local(hour=9) + timedelta(minutes=30 * k)) for pro in (0, 1) for k in range(10)]
    requests = []
    for i in range(200):
        pro, start = slots[i % 20]
        body = booking_body(rows, start, professional=pro, email=f"c{i}@example.com")
        requests.append(client.post(bookings_path(rows), json=body))
    responses = await _gather(requests)

    assert sum(r.status_code == 201 for r in responses) == 20
    assert sum(r.status_code == 409 for r in responses) == 180
    assert await count(owner_conn, "appointments") == 20
    assert await _overlaps(owner_conn) == 0
    booked = {(r.json()["professional_id"], r.json()["start"]) for r in responses if r.is_success}
    assert len(booked) == 20


async def test_any_professional_under_contention_fills_every_professional(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    responses = await _gather(
        [
            client.post(
                bookings_path(rows),
                json=booking_body(rows, start, professional=None, email=f"c{i}@example.com"),
            )
            for i in range(20)
        ]
    )
    assert sorted(r.status_code for r in responses) == [201, 201] + [409] * 18
    assert {r.json()["professional_id"] for r in responses if r.is_success} == {
        str(p) for p in rows.professional_ids
    }
    assert await _overlaps(owner_conn) == 0


async def test_one_key_sent_twenty_times_at_once_books_once_and_answers_alike(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    payload = booking_body(rows, local(hour=11))
    responses = await _gather(
        [
            client.post(bookings_path(rows), json=payload, headers={"Idempotency-Key": "same"})
            for _ in range(20)
        ]
    )

    answers = {
        (r.status_code, r.content, r.headers["etag"], r.headers["location"]) for r in responses
    }
    assert len(answers) == 1
    assert responses[0].status_code == 201
    assert await count(owner_conn, "appointments") == 1
    assert await count(owner_conn, "idempotency_keys") == 1


async def test_concurrent_reschedules_of_one_version_let_one_win(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    created = await client.post(bookings_path(rows), json=booking_body(rows, local(hour=9)))
    booking = created.json()
    path = f"/api/v1/public/bookings/{booking['id']}/reschedule"
    responses = await _gather(
        [
            client.post(
                path,
                params={"token": booking["manage_token"]},
                headers={"If-Match": created.headers["etag"]},
                json={"start": (local(hour=11) + timedelta(minutes=30 * k)).isoformat()},
            )
            for k in range(10)
        ]
    )

    assert sorted(r.status_code for r in responses) == [200] + [412] * 9
    for response in responses:
        if response.status_code == 412:
            problem(response, 412, "precondition_failed")
    assert await owner_conn.fetchval("SELECT version FROM appointments") == 2


@pytest.fixture
async def fault_once(owner_conn: asyncpg.Connection) -> Any:
    """Arms a one-shot fault in this test database's appointment inserts."""

    async def arm(body: str) -> None:
        await owner_conn.execute("CREATE SEQUENCE test_fault_seq")
        await owner_conn.execute(f"""
            CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, public AS $$
            BEGIN
                IF nextval('test_fault_seq') = 1 THEN {body} END IF;
                RETURN NEW;
            END $$""")
        await owner_conn.execute(
            "CREATE TRIGGER test_fault BEFORE INSERT ON appointments"
            " FOR EACH ROW EXECUTE FUNCTION test_fault()"
        )

    return arm


async def test_a_serialization_failure_is_retried_into_a_201(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows, fault_once: Any
) -> None:
    await fault_once("RAISE EXCEPTION 'injected' USING ERRCODE = 'serialization_failure';")
    response = await client.post(bookings_path(rows), json=booking_body(rows, local()))
    assert response.status_code == 201, response.text
    assert await owner_conn.fetchval("SELECT last_value FROM test_fault_seq") == 2
    assert await count(owner_conn, "appointments") == 1


async def test_a_killed_connection_is_retried_into_a_201(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows, fault_once: Any
) -> None:
    # The booking's own backend is terminated in the middle of its transaction.
    await fault_once("PERFORM pg_terminate_backend(pg_backend_pid());")
    response = await client.post(
        bookings_path(rows),
        json=booking_body(rows, local()),
        headers={"Idempotency-Key": "after-crash"},
    )
    assert response.status_code == 201, response.text
    assert await owner_conn.fetchval("SELECT last_value FROM test_fault_seq") == 2
    assert await count(owner_conn, "appointments") == 1
    assert await owner_conn.fetchval("SELECT status_code FROM idempotency_keys") == 201
