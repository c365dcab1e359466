"""Manage links: view, cancel and reschedule with the token, If-Match and the cutoff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from slotwise.booking.tokens import issue_manage_token
from slotwise.settings import Settings
from tests.booking.conftest import ZONE, booking_body, bookings_path, count, local, problem
from tests.factories import TenantRows, make_appointment, make_tenant


@pytest.fixture
async def booked(client: httpx.AsyncClient, rows: TenantRows) -> dict[str, Any]:
    response = await client.post(bookings_path(rows), json=booking_body(rows, local(hour=10)))
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    body["path"] = f"/api/v1/public/bookings/{body['id']}"
    body["params"] = {"token": body["manage_token"]}
    return body


async def test_the_link_shows_the_booking_with_its_etag(
    client: httpx.AsyncClient, rows: TenantRows, booked: dict[str, Any]
) -> None:
    response = await client.get(booked["path"], params=booked["params"])
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    body = response.json()
    assert body["id"] == booked["id"] and body["status"] == "confirmed"
    assert body["business"]["slug"] == rows.slug and body["business"]["timezone"] == ZONE
    assert body["service"]["name"] == "Cut" and body["service"]["duration_minutes"] == 30
    assert body["professional"] == {"id": str(rows.professional_ids[0]), "name": "Pro 0"}
    assert body["changeable"] is True
    start = datetime.fromisoformat(body["start"])
    assert datetime.fromisoformat(body["changeable_until"]) == start - timedelta(minutes=120)


async def test_a_wrong_token_or_id_is_the_same_404(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    booked: dict[str, Any],
    settings: Settings,
) -> None:
    other_appointment = await make_appointment(owner_conn, rows, local(hour=15))
    other_tenant = await make_tenant(owner_conn, timezone=ZONE)
    forged = issue_manage_token(settings, other_tenant.tenant_id, uuid4())
    attempts = [
        (booked["path"], {"token": "x" * 48}),
        (booked["path"], {"token": booked["manage_token"][:-2] + "AA"}),
        (booked["path"], {"token": forged}),
        (booked["path"], {"token": issue_manage_token(settings, rows.tenant_id, uuid4())}),
        (f"/api/v1/public/bookings/{other_appointment}", booked["params"]),
        (f"/api/v1/public/bookings/{uuid4()}", booked["params"]),
        ("/api/v1/public/bookings/not-an-id", booked["params"]),
    ]
    bodies = set()
    for path, params in attempts:
        response = await client.get(path, params=params)
        body = problem(response, 404, "not_found")
        bodies.add((body["detail"], body["title"]))
    assert len(bodies) == 1
    # A valid token of one business never opens an appointment of another.
    token_for_other = issue_manage_token(settings, other_tenant.tenant_id, other_appointment)
    problem(
        await client.get(
            f"/api/v1/public/bookings/{other_appointment}", params={"token": token_for_other}
        ),
        404,
        "not_found",
    )


async def test_cancel_needs_the_current_version(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    booked: dict[str, Any],
) -> None:
    cancel = booked["path"] + "/cancel"
    problem(await client.post(cancel, params=booked["params"]), 428, "precondition_required")
    problem(
        await client.post(cancel, params=booked["params"], headers={"If-Match": '"7"'}),
        412,
        "precondition_failed",
    )
    response = await client.post(cancel, params=booked["params"], headers={"If-Match": '"1"'})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["changeable"] is False
    assert response.headers["etag"] == '"2"'
    assert await owner_conn.fetchval("SELECT status FROM appointments") == "cancelled"
    problem(
        await client.post(cancel, params=booked["params"], headers={"If-Match": '"2"'}),
        422,
        "invalid_transition",
    )


async def test_cancel_and_reschedule_stop_at_the_cutoff(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, booked: dict[str, Any]
) -> None:
    await owner_conn.execute("UPDATE tenants SET cancel_cutoff_minutes = 43200")  # 30 days
    view = await client.get(booked["path"], params=booked["params"])
    assert view.json()["changeable"] is False
    headers = {"If-Match": '"1"'}
    problem(
        await client.post(booked["path"] + "/cancel", params=booked["params"], headers=headers),
        422,
        "cancel_too_late",
    )
    problem(
        await client.post(
            booked["path"] + "/reschedule",
            params=booked["params"],
            headers=headers,
            json={"start": local(hour=12).isoformat()},
        ),
        422,
        "cancel_too_late",
    )
    assert await owner_conn.fetchval("SELECT status FROM appointments") == "confirmed"


async def test_reschedule_moves_the_booking(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, booked: dict[str, Any]
) -> None:
    new_start = local(hour=10, minute=15)  # overlaps only its own old time
    response = await client.post(
        booked["path"] + "/reschedule",
        params=booked["params"],
        headers={"If-Match": '"1"'},
        json={"start": new_start.isoformat()},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert datetime.fromisoformat(response.json()["start"]) == new_start
    row = await owner_conn.fetchrow("SELECT starts_at, ends_at, version FROM appointments")
    assert row["starts_at"] == new_start and row["ends_at"] == new_start + timedelta(minutes=30)
    assert await owner_conn.fetchval(
        "SELECT action FROM appointment_events ORDER BY id DESC LIMIT 1"
    ) == ("rescheduled")


async def test_reschedule_to_another_professional(
    client: httpx.AsyncClient, rows: TenantRows, booked: dict[str, Any]
) -> None:
    response = await client.post(
        booked["path"] + "/reschedule",
        params=booked["params"],
        headers={"If-Match": '"1"'},
        json={"start": booked["start"], "professional_id": str(rows.professional_ids[1])},
    )
    assert response.status_code == 200
    assert response.json()["professional"]["id"] == str(rows.professional_ids[1])


async def test_reschedule_follows_the_booking_rules(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    booked: dict[str, Any],
) -> None:
    taken = local(hour=13)
    await make_appointment(owner_conn, rows, taken)
    path = booked["path"] + "/reschedule"
    headers = {"If-Match": '"1"'}
    body = problem(
        await client.post(
            path, params=booked["params"], headers=headers, json={"start": taken.isoformat()}
        ),
        409,
        "slot_unavailable",
    )
    assert body["alternatives"]
    problem(
        await client.post(
            path,
            params=booked["params"],
            headers=headers,
            json={"start": local(hour=21).isoformat()},
        ),
        422,
        "outside_working_hours",
    )
    problem(
        await client.post(path, params=booked["params"], headers=headers, json={}),
        422,
        "validation_error",
    )
    problem(
        await client.post(
            path,
            params=booked["params"],
            headers={"If-Match": '"5"'},
            json={"start": local(hour=12).isoformat()},
        ),
        412,
        "precondition_failed",
    )
    row = await owner_conn.fetchrow(
        "SELECT starts_at, version FROM appointments WHERE id = $1::uuid", booked["id"]
    )
    assert row["version"] == 1
    assert await count(owner_conn, "appointments") == 2
