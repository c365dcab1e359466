"""Public profile and public booking through the API: answers, rules, errors, isolation."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import httpx

from slotwise.booking.tokens import read_manage_token
from slotwise.settings import Settings
from tests.booking.conftest import ZONE, booking_body, bookings_path, count, local, problem
from tests.factories import TenantRows, make_appointment, make_tenant

# ------------------------------------------------------------------------ profile


async def test_profile_lists_active_services_and_professionals(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    inactive_service = uuid4()
    await owner_conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes, active)"
        " VALUES ($1, $2, 'Old', 30, false)",
        rows.tenant_id,
        inactive_service,
    )
    await owner_conn.execute(
        "INSERT INTO offerings (tenant_id, professional_id, service_id) VALUES ($1, $2, $3)",
        rows.tenant_id,
        rows.professional_ids[0],
        inactive_service,
    )
    await owner_conn.execute(
        "UPDATE professionals SET active = false WHERE id = $1", rows.professional_ids[1]
    )
    await owner_conn.execute(
        "UPDATE tenants SET address = 'Rua A, 1', phone = '+55 11 5555-0000' WHERE id = $1",
        rows.tenant_id,
    )

    response = await client.get(f"/api/v1/public/businesses/{rows.slug}")

    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == rows.slug and body["timezone"] == ZONE
    assert body["address"] == "Rua A, 1" and body["phone"] == "+55 11 5555-0000"
    assert body["policy"] == {
        "slot_step_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 60,
        "cancel_cutoff_minutes": 120,
        "auto_confirm": True,
    }
    assert [s["id"] for s in body["services"]] == [str(rows.service_ids[0])]
    assert body["services"][0]["duration_minutes"] == 30
    assert body["professionals"] == [
        {
            "id": str(rows.professional_ids[0]),
            "name": "Pro 0",
            "bio": "",
            "service_ids": [str(rows.service_ids[0])],
        }
    ]


async def test_profile_of_an_unknown_business_is_404(client: httpx.AsyncClient) -> None:
    problem(await client.get("/api/v1/public/businesses/no-such-place"), 404, "not_found")


# ------------------------------------------------------------------------ booking


async def test_booking_answers_201_with_etag_location_and_a_working_manage_token(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    settings: Settings,
) -> None:
    start = local(hour=10)
    response = await client.post(bookings_path(rows), json=booking_body(rows, start))

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "status",
        "start",
        "end",
        "professional_id",
        "service_id",
        "manage_token",
        "manage_url",
    }
    assert body["status"] == "confirmed"
    assert datetime.fromisoformat(body["start"]) == start
    assert datetime.fromisoformat(body["end"]) == start + timedelta(minutes=30)
    assert body["start"].endswith(start.strftime("%z")[:3] + ":00")  # the business's offset
    assert response.headers["etag"] == '"1"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["location"] == (
        f"/api/v1/public/bookings/{body['id']}?token={body['manage_token']}"
    )
    assert body["manage_url"].endswith(
        f"/b/{rows.slug}/bookings/{body['id']}?token={body['manage_token']}"
    )
    assert read_manage_token(settings, body["manage_token"], UUID(body["id"])) == rows.tenant_id
    row = await owner_conn.fetchrow("SELECT * FROM appointments")
    assert row["source"] == "public" and row["status"] == "confirmed"
    customer = await owner_conn.fetchrow("SELECT * FROM customers")
    assert (customer["name"], customer["email"]) == ("Ana Souza", "ana@example.com")
    view = await client.get(response.headers["location"])
    assert view.status_code == 200 and view.json()["id"] == body["id"]


async def test_the_same_customer_is_found_again_by_email(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    first = await client.post(bookings_path(rows), json=booking_body(rows, local(hour=10)))
    second = await client.post(
        bookings_path(rows),
        json=booking_body(rows, local(hour=11), email="  ANA@example.com "),
    )
    assert first.status_code == second.status_code == 201
    assert await count(owner_conn, "customers") == 1
    assert await count(owner_conn, "appointments") == 2


async def test_booking_is_pending_when_the_business_confirms_by_hand(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute("UPDATE tenants SET auto_confirm = false")
    response = await client.post(bookings_path(rows), json=booking_body(rows, local()))
    assert response.status_code == 201
    assert response.json()["status"] == "pending"


async def test_any_professional_gets_the_one_with_fewest_appointments_that_day(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, local(hour=9), professional_index=0)
    response = await client.post(
        bookings_path(rows), json=booking_body(rows, local(hour=14), professional=None)
    )
    assert response.status_code == 201
    assert response.json()["professional_id"] == str(rows.professional_ids[1])


async def test_any_professional_ties_go_by_display_order(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "UPDATE professionals SET display_order = 5 WHERE id = $1", rows.professional_ids[0]
    )
    response = await client.post(
        bookings_path(rows), json=booking_body(rows, local(hour=14), professional=None)
    )
    assert response.status_code == 201
    assert response.json()["professional_id"] == str(rows.professional_ids[1])


async def test_any_professional_skips_who_is_busy(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=14)
    await make_appointment(owner_conn, rows, start, professional_index=0)
    # Professional 1 has more appointments that day, but only he is free at 14:00.
    await make_appointment(owner_conn, rows, local(hour=9), professional_index=1)
    await make_appointment(owner_conn, rows, local(hour=10), professional_index=1)
    response = await client.post(
        bookings_path(rows), json=booking_body(rows, start, professional=None)
    )
    assert response.status_code == 201
    assert response.json()["professional_id"] == str(rows.professional_ids[1])


async def test_a_taken_slot_is_409_with_alternatives_same_professional_first(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    await make_appointment(owner_conn, rows, start, professional_index=0)
    customers = await count(owner_conn, "customers")

    body = problem(
        await client.post(bookings_path(rows), json=booking_body(rows, start)),
        409,
        "slot_unavailable",
    )

    alternatives = body["alternatives"]
    assert isinstance(alternatives, list) and 1 <= len(alternatives) <= 5
    assert all(str(rows.professional_ids[0]) in a["professional_ids"] for a in alternatives)
    starts = [datetime.fromisoformat(a["start"]) for a in alternatives]
    assert start not in starts
    distances = [abs(s - start) for s in starts]
    assert distances == sorted(distances)
    assert distances[0] == timedelta(minutes=30)  # 09:30 or 10:30, the nearest free starts
    assert await count(owner_conn, "appointments") == 1
    assert await count(owner_conn, "customers") == customers  # nothing kept of the attempt


async def test_any_professional_when_everybody_is_busy_is_409(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local(hour=10)
    await make_appointment(owner_conn, rows, start, professional_index=0)
    await make_appointment(owner_conn, rows, start, professional_index=1)
    body = problem(
        await client.post(bookings_path(rows), json=booking_body(rows, start, professional=None)),
        409,
        "slot_unavailable",
    )
    assert body["alternatives"]


async def test_booking_rules_answer_their_own_codes(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other_service = uuid4()
    await owner_conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, 'X', 30)",
        rows.tenant_id,
        other_service,
    )
    cases = [
        (booking_body(rows, local(hour=20)), "outside_working_hours"),
        (booking_body(rows, local(hour=20), professional=None), "outside_working_hours"),
        (booking_body(rows, local(days_ahead=-1)), "insufficient_notice"),
        (booking_body(rows, local(days_ahead=90)), "beyond_horizon"),
        (booking_body(rows, local(days_ahead=90), professional=None), "beyond_horizon"),
        (booking_body(rows, local(), service_id=str(other_service)), "service_not_offered"),
        (
            booking_body(rows, local(), service_id=str(other_service), professional=None),
            "service_not_offered",
        ),
        (booking_body(rows, local(), service_id=str(uuid4())), "service_not_offered"),
        (booking_body(rows, local(), professional_id=str(uuid4())), "service_not_offered"),
    ]
    for payload, code in cases:
        problem(await client.post(bookings_path(rows), json=payload), 422, code)
    assert await count(owner_conn, "appointments") == 0
    assert await count(owner_conn, "customers") == 0


async def test_an_off_grid_start_is_unavailable(
    client: httpx.AsyncClient, rows: TenantRows
) -> None:
    body = problem(
        await client.post(bookings_path(rows), json=booking_body(rows, local(hour=10, minute=7))),
        409,
        "slot_unavailable",
    )
    assert body["alternatives"]


async def test_invalid_bodies_name_the_field(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    start = local()
    naive = start.replace(tzinfo=None).isoformat()
    cases = [
        ({**booking_body(rows, start), "customer": {"name": "Ana"}}, "customer"),
        ({**booking_body(rows, start), "start": naive}, "start"),
        ({**booking_body(rows, start), "start": "9999-12-31T23:59:00+00:00"}, "start"),
        ({**booking_body(rows, start), "start": start.replace(second=30).isoformat()}, "start"),
        ({**booking_body(rows, start), "surprise": 1}, "surprise"),
        ({**booking_body(rows, start), "service_id": "not-a-uuid"}, "service_id"),
        (
            {**booking_body(rows, start), "customer": {"name": " ", "email": "a@example.com"}},
            "customer.name",
        ),
        (
            {**booking_body(rows, start), "customer": {"name": "A", "email": "nope"}},
            "customer.email",
        ),
        (
            {**booking_body(rows, start), "customer": {"name": "A", "phone": "call me"}},
            "customer.phone",
        ),
        ({**booking_body(rows, start), "notes": "x" * 1001}, "notes"),
    ]
    for payload, field in cases:
        body = problem(
            await client.post(bookings_path(rows), json=payload), 422, "validation_error"
        )
        fields = [e["field"] for e in body["errors"]]
        assert any(f == field or f.startswith(field + ".") for f in fields), (field, body)
    assert await count(owner_conn, "appointments") == 0


async def test_refusals_speak_portuguese(client: httpx.AsyncClient, rows: TenantRows) -> None:
    response = await client.post(
        bookings_path(rows),
        json=booking_body(rows, local(hour=20)),
        headers={"Accept-Language": "pt-BR"},
    )
    body = problem(response, 422, "outside_working_hours")
    assert body["detail"] == "Esse horário está fora do horário de atendimento."


async def test_a_service_of_another_business_cannot_be_booked(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other = await make_tenant(owner_conn, timezone=ZONE)
    for professional in (rows.professional_ids[0], other.professional_ids[0], None):
        payload = booking_body(rows, local(), service_id=str(other.service_ids[0]))
        payload["professional_id"] = str(professional) if professional else None
        problem(await client.post(bookings_path(rows), json=payload), 422, "service_not_offered")
    payload = booking_body(other, local())
    problem(await client.post(bookings_path(rows), json=payload), 422, "service_not_offered")
    assert await count(owner_conn, "appointments") == 0


async def test_a_local_phone_is_read_in_the_business_country(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    rows = await make_tenant(owner_conn, timezone="America/Sao_Paulo")
    start = local(hour=10, zone="America/Sao_Paulo")
    payload = booking_body(rows, start)
    payload["customer"] = {"name": "Bia", "phone": "(11) 91234-5678"}
    response = await client.post(bookings_path(rows), json=payload)
    assert response.status_code == 201, response.text
    assert await owner_conn.fetchval("SELECT phone FROM customers") == "+5511912345678"

    payload["customer"] = {"name": "Bia", "phone": "12"}
    body = problem(await client.post(bookings_path(rows), json=payload), 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["customer.phone"]
