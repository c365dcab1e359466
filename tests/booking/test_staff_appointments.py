"""The staff appointment book: list, read, create, change, status transitions; roles and
tenant isolation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from slotwise.settings import Settings
from tests.booking.conftest import ZONE, count, local, problem
from tests.factories import (
    TenantRows,
    bearer,
    make_appointment,
    make_customer,
    make_member,
    make_tenant,
)

PATH = "/api/v1/appointments"


@pytest.fixture
async def owner(owner_conn: asyncpg.Connection, rows: TenantRows, settings: Settings):
    user_id, _ = await make_member(owner_conn, rows.tenant_id, "owner")
    return bearer(settings, user_id, rows.tenant_id)


@pytest.fixture
async def staff(owner_conn: asyncpg.Connection, rows: TenantRows, settings: Settings):
    """A staff member who is professional 1."""
    user_id, _ = await make_member(
        owner_conn, rows.tenant_id, "staff", professional_id=rows.professional_ids[1]
    )
    return bearer(settings, user_id, rows.tenant_id)


def _create_body(rows: TenantRows, start: datetime, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": str(rows.service_ids[0]),
        "professional_id": str(rows.professional_ids[0]),
        "start": start.isoformat(),
        "customer": {"name": "Bia", "phone": "+55 11 91234-5678"},
    }
    body.update(extra)
    return body


async def test_without_a_token_everything_is_401(client: httpx.AsyncClient) -> None:
    for method, path in (("GET", PATH), ("POST", PATH), ("GET", f"{PATH}/{uuid4()}")):
        problem(await client.request(method, path, json={}), 401, "unauthorized")


async def test_list_by_range_professional_and_status_with_names(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    a = await make_appointment(owner_conn, rows, local(days_ahead=2, hour=9))
    b = await make_appointment(owner_conn, rows, local(days_ahead=2, hour=11), professional_index=1)
    c = await make_appointment(owner_conn, rows, local(days_ahead=3, hour=9), status="cancelled")
    day2 = local(days_ahead=2).date().isoformat()
    day3 = local(days_ahead=3).date().isoformat()

    response = await client.get(PATH, params={"from": day2, "to": day2}, headers=owner)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["id"] for i in items] == [str(a), str(b)]
    assert items[0]["customer"]["name"] == "Ana"
    assert items[0]["professional"]["name"] == "Pro 0"
    assert items[0]["service"]["name"] == "Cut"
    assert response.json()["next_cursor"] is None

    by_pro = await client.get(
        PATH, params={"professional_id": str(rows.professional_ids[1])}, headers=owner
    )
    assert [i["id"] for i in by_pro.json()["items"]] == [str(b)]
    by_status = await client.get(
        PATH, params=[("status", "cancelled"), ("status", "no_show")], headers=owner
    )
    assert [i["id"] for i in by_status.json()["items"]] == [str(c)]
    instants = await client.get(
        PATH,
        params={"from": local(days_ahead=2, hour=10).isoformat(), "to": f"{day3}T00:00:00-05:00"},
        headers=owner,
    )
    assert [i["id"] for i in instants.json()["items"]] == [str(b)]


async def test_list_pages_with_a_cursor(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    ids = [
        str(await make_appointment(owner_conn, rows, local(hour=9) + timedelta(minutes=30 * i)))
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get(PATH, params=params, headers=owner)).json()
        seen.extend(i["id"] for i in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == 3


async def test_list_refuses_bad_filters(client: httpx.AsyncClient, owner: dict[str, str]) -> None:
    for params in (
        {"from": "yesterday"},
        {"from": "2030-01-01T10:00:00"},  # no offset
        {"from": "2030-01-02", "to": "2030-01-01"},
        {"from": "9999-01-01"},
        {"cursor": "!!!"},
        {"limit": 201},
        {"limit": 0},
        {"status": "lost"},
    ):
        problem(await client.get(PATH, params=params, headers=owner), 422, "validation_error")


async def test_read_one_with_its_etag(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    appointment = await make_appointment(owner_conn, rows, local())
    response = await client.get(f"{PATH}/{appointment}", headers=owner)
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json()["customer"]["email"].endswith("@example.com")
    problem(await client.get(f"{PATH}/{uuid4()}", headers=owner), 404, "not_found")
    problem(await client.get(f"{PATH}/nope", headers=owner), 422, "validation_error")


async def test_owner_books_for_a_new_or_an_existing_customer(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    response = await client.post(PATH, json=_create_body(rows, local(hour=10)), headers=owner)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source"] == "staff" and body["status"] == "confirmed"
    assert body["customer"]["phone"] == "+5511912345678"  # stored as E.164
    assert response.headers["location"] == f"{PATH}/{body['id']}"
    assert response.headers["etag"] == '"1"'

    customer_id = await make_customer(owner_conn, rows.tenant_id)
    payload = _create_body(rows, local(hour=11), customer=None, customer_id=str(customer_id))
    del payload["customer"]
    response = await client.post(PATH, json=payload, headers=owner)
    assert response.status_code == 201
    assert response.json()["customer"]["id"] == str(customer_id)

    payload["customer_id"] = str(uuid4())
    payload["start"] = local(hour=12).isoformat()
    body = problem(await client.post(PATH, json=payload, headers=owner), 422, "validation_error")
    assert body["errors"] == [{"field": "customer_id", "message": "There is no such customer."}]
    problem(
        await client.post(
            PATH,
            json={**payload, "customer": {"name": "X", "email": "x@example.com"}},
            headers=owner,
        ),
        422,
        "validation_error",
    )


async def test_override_books_off_hours_but_never_over_another_appointment(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    late = local(hour=20, minute=7)
    problem(
        await client.post(PATH, json=_create_body(rows, late), headers=owner),
        422,
        "outside_working_hours",
    )
    response = await client.post(
        PATH, json=_create_body(rows, late, override_rules=True), headers=owner
    )
    assert response.status_code == 201
    body = problem(
        await client.post(
            PATH,
            json=_create_body(rows, late + timedelta(minutes=10), override_rules=True),
            headers=owner,
        ),
        409,
        "slot_unavailable",
    )
    assert "alternatives" in body
    assert await count(owner_conn, "appointments") == 1


async def test_patch_moves_and_edits_with_if_match(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    appointment = await make_appointment(owner_conn, rows, local(hour=10))
    await make_appointment(owner_conn, rows, local(hour=12))
    path = f"{PATH}/{appointment}"
    problem(
        await client.patch(path, json={"notes": "x"}, headers=owner), 428, "precondition_required"
    )
    problem(
        await client.patch(path, json={"notes": "x"}, headers={**owner, "If-Match": '"9"'}),
        412,
        "precondition_failed",
    )
    response = await client.patch(
        path, json={"notes": "  Allergic to latex "}, headers={**owner, "If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response.json()["notes"] == "Allergic to latex"
    assert response.headers["etag"] == '"2"'

    moved = await client.patch(
        path,
        json={
            "start": local(hour=15).isoformat(),
            "professional_id": str(rows.professional_ids[1]),
        },
        headers={**owner, "If-Match": '"2"'},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["professional"]["id"] == str(rows.professional_ids[1])
    assert datetime.fromisoformat(moved.json()["start"]) == local(hour=15)

    back = await client.patch(
        path,
        json={
            "start": local(hour=12).isoformat(),
            "professional_id": str(rows.professional_ids[0]),
        },
        headers={**owner, "If-Match": '"3"'},
    )
    assert problem(back, 409, "slot_unavailable")["alternatives"]
    problem(
        await client.patch(
            path, json={"start": local(hour=22).isoformat()}, headers={**owner, "If-Match": '"3"'}
        ),
        422,
        "outside_working_hours",
    )
    problem(
        await client.patch(path, json={}, headers={**owner, "If-Match": '"3"'}),
        422,
        "validation_error",
    )


async def test_status_transitions(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    pending = await make_appointment(owner_conn, rows, local(hour=9), status="pending")

    async def act(appointment: UUID, action: str, version: int) -> httpx.Response:
        return await client.post(
            f"{PATH}/{appointment}/{action}", headers={**owner, "If-Match": f'"{version}"'}
        )

    problem(await act(pending, "complete", 1), 422, "invalid_transition")
    problem(await act(pending, "no-show", 1), 422, "invalid_transition")
    confirmed = await act(pending, "confirm", 1)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert confirmed.headers["etag"] == '"2"'
    problem(await act(pending, "confirm", 2), 422, "invalid_transition")
    done = await act(pending, "complete", 2)
    assert done.json()["status"] == "completed"
    for action in ("cancel", "confirm", "no-show", "complete"):
        problem(await act(pending, action, 3), 422, "invalid_transition")
    problem(
        await client.patch(
            f"{PATH}/{pending}",
            json={"start": local(hour=15).isoformat()},
            headers={**owner, "If-Match": '"3"'},
        ),
        422,
        "invalid_transition",
    )

    other = await make_appointment(owner_conn, rows, local(hour=11))
    assert (await act(other, "no-show", 1)).json()["status"] == "no_show"
    third = await make_appointment(owner_conn, rows, local(hour=13))
    problem(
        await client.post(f"{PATH}/{third}/cancel", headers=owner), 428, "precondition_required"
    )
    assert (await act(third, "cancel", 1)).json()["status"] == "cancelled"
    events = await owner_conn.fetchval(
        "SELECT count(*) FROM appointment_events WHERE action = 'status_changed'"
    )
    assert events == 4


async def test_staff_see_and_change_only_their_own_appointments(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    staff: dict[str, str],
) -> None:
    not_mine = await make_appointment(owner_conn, rows, local(hour=9), professional_index=0)
    mine = await make_appointment(owner_conn, rows, local(hour=9), professional_index=1)

    listed = await client.get(PATH, headers=staff)
    assert [i["id"] for i in listed.json()["items"]] == [str(mine)]
    other_filter = await client.get(
        PATH, params={"professional_id": str(rows.professional_ids[0])}, headers=staff
    )
    assert other_filter.json()["items"] == []
    problem(await client.get(f"{PATH}/{not_mine}", headers=staff), 404, "not_found")
    problem(
        await client.patch(
            f"{PATH}/{not_mine}", json={"notes": "x"}, headers={**staff, "If-Match": '"1"'}
        ),
        404,
        "not_found",
    )
    problem(
        await client.post(f"{PATH}/{not_mine}/cancel", headers={**staff, "If-Match": '"1"'}),
        404,
        "not_found",
    )
    assert (await client.get(f"{PATH}/{mine}", headers=staff)).status_code == 200
    problem(
        await client.patch(
            f"{PATH}/{mine}",
            json={"professional_id": str(rows.professional_ids[0])},
            headers={**staff, "If-Match": '"1"'},
        ),
        403,
        "forbidden",
    )

    # Staff book for themselves only, and never override the rules.
    body = _create_body(rows, local(hour=14))
    problem(await client.post(PATH, json=body, headers=staff), 403, "forbidden")
    body["professional_id"] = None
    created = await client.post(PATH, json=body, headers=staff)
    assert created.status_code == 201
    assert created.json()["professional"]["id"] == str(rows.professional_ids[1])
    problem(
        await client.post(
            PATH,
            json=_create_body(
                rows,
                local(hour=20),
                professional_id=str(rows.professional_ids[1]),
                override_rules=True,
            ),
            headers=staff,
        ),
        403,
        "forbidden",
    )


async def test_one_business_never_reaches_another(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    owner: dict[str, str],
) -> None:
    other = await make_tenant(owner_conn, timezone=ZONE)
    theirs = await make_appointment(owner_conn, other, local(hour=9))
    their_customer = other.customer_id
    assert their_customer is not None

    assert (await client.get(PATH, headers=owner)).json()["items"] == []
    problem(await client.get(f"{PATH}/{theirs}", headers=owner), 404, "not_found")
    for action in ("cancel", "confirm", "complete", "no-show"):
        problem(
            await client.post(f"{PATH}/{theirs}/{action}", headers={**owner, "If-Match": '"1"'}),
            404,
            "not_found",
        )
    problem(
        await client.patch(
            f"{PATH}/{theirs}", json={"notes": "mine"}, headers={**owner, "If-Match": '"1"'}
        ),
        404,
        "not_found",
    )
    # Their customer, service or professional cannot be used in my book.
    uses = [
        {"customer_id": str(their_customer), "customer": None},
        {"service_id": str(other.service_ids[0])},
        {"professional_id": str(other.professional_ids[0])},
    ]
    for change in uses:
        payload = {**_create_body(rows, local(hour=10)), **change}
        payload = {k: v for k, v in payload.items() if v is not None}
        response = await client.post(PATH, json=payload, headers=owner)
        assert response.status_code == 422, response.text
    row = await owner_conn.fetchrow(
        "SELECT notes, status, version FROM appointments WHERE id = $1", theirs
    )
    assert (row["notes"], row["status"], row["version"]) == ("", "confirmed", 1)
    assert await count(owner_conn, "appointments") == 1
