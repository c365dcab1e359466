"""Services and professionals (with offerings) through the staff API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from tests.catalog.conftest import Shop
from tests.factories import make_appointment

HAIRCUT = {
    "name": "  Haircut ",
    "duration_minutes": 30,
    "buffer_after_minutes": 10,
    "price_minor": 4500,
}


async def test_manager_creates_reads_updates_and_deletes_a_service(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    created = await client.post("/api/v1/services", json=HAIRCUT, headers=shop.manager)
    assert created.status_code == 201, created.text
    service = created.json()
    assert service["name"] == "Haircut"
    assert service["currency"] == "USD"  # the business's currency
    assert service["buffer_before_minutes"] == 0
    assert service["active"] is True

    got = await client.get(f"/api/v1/services/{service['id']}", headers=shop.staff)
    assert got.json() == service

    patched = await client.patch(
        f"/api/v1/services/{service['id']}",
        json={"price_minor": 5000, "active": False, "currency": "BRL"},
        headers=shop.owner,
    )
    assert patched.status_code == 200
    assert (
        patched.json()["price_minor"],
        patched.json()["active"],
        patched.json()["currency"],
    ) == (5000, False, "BRL")
    assert patched.json()["name"] == "Haircut"

    active = await client.get("/api/v1/services", params={"active": "true"}, headers=shop.staff)
    assert service["id"] not in [s["id"] for s in active.json()]
    everything = await client.get("/api/v1/services", headers=shop.staff)
    assert service["id"] in [s["id"] for s in everything.json()]

    deleted = await client.delete(f"/api/v1/services/{service['id']}", headers=shop.manager)
    assert deleted.status_code == 204
    again = await client.get(f"/api/v1/services/{service['id']}", headers=shop.owner)
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": -30}, "duration_minutes"),
        ({"duration_minutes": 1441}, "duration_minutes"),
        ({"buffer_before_minutes": 241}, "buffer_before_minutes"),
        ({"price_minor": -1}, "price_minor"),
        ({"price_minor": 10**20}, "price_minor"),
        ({"currency": "usd"}, "currency"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "Cut\u001b[31m"}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"color": "red"}, "color"),
    ],
)
async def test_invalid_services_are_422_with_the_field_named(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection, change: dict, field: str
) -> None:
    response = await client.post("/api/v1/services", json={**HAIRCUT, **change}, headers=shop.owner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await owner_conn.fetchval("SELECT count(*) FROM services") == 1


async def test_null_is_refused_where_a_value_is_required(
    client: httpx.AsyncClient, shop: Shop
) -> None:
    response = await client.patch(
        f"/api/v1/services/{shop.service_id}", json={"name": None}, headers=shop.owner
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


async def test_a_service_with_appointments_cannot_be_deleted(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    await make_appointment(owner_conn, shop.rows, datetime(2030, 6, 3, 14, tzinfo=UTC))
    response = await client.delete(f"/api/v1/services/{shop.service_id}", headers=shop.owner)
    assert response.status_code == 409
    assert response.json()["code"] == "in_use"
    professional = await client.delete(
        f"/api/v1/professionals/{shop.professional_id}", headers=shop.owner
    )
    assert professional.status_code == 409
    assert professional.json()["code"] == "in_use"
    assert await owner_conn.fetchval("SELECT count(*) FROM services") == 1


async def test_staff_read_services_but_cannot_change_them(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    assert (await client.get("/api/v1/services", headers=shop.staff)).status_code == 200
    attempts = [
        client.post("/api/v1/services", json=HAIRCUT, headers=shop.staff),
        client.patch(
            f"/api/v1/services/{shop.service_id}", json={"price_minor": 1}, headers=shop.staff
        ),
        client.delete(f"/api/v1/services/{shop.service_id}", headers=shop.staff),
        client.post("/api/v1/professionals", json={"name": "New"}, headers=shop.staff),
        client.patch(
            f"/api/v1/professionals/{shop.professional_id}", json={"name": "Me"}, headers=shop.staff
        ),
        client.delete(f"/api/v1/professionals/{shop.professional_id}", headers=shop.staff),
        client.put(
            f"/api/v1/professionals/{shop.professional_id}/services",
            json={"service_ids": []},
            headers=shop.staff,
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
    assert await owner_conn.fetchval("SELECT price_minor FROM services") == 0
    assert await owner_conn.fetchval("SELECT count(*) FROM offerings") == 2


async def test_unauthenticated_catalog_requests_are_401(client: httpx.AsyncClient) -> None:
    for path in (
        "/api/v1/services",
        "/api/v1/professionals",
        "/api/v1/business-hours",
        "/api/v1/settings",
    ):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


async def test_professionals_crud_with_offerings(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    created = await client.post(
        "/api/v1/professionals",
        json={"name": "Carla Dias", "email": "Carla@Example.com", "display_order": 5},
        headers=shop.owner,
    )
    assert created.status_code == 201, created.text
    carla = created.json()
    assert carla["email"] == "carla@example.com"
    assert (carla["service_ids"], carla["hours"], carla["breaks"]) == ([], [], [])

    second = await client.post("/api/v1/services", json=HAIRCUT, headers=shop.owner)
    wanted = sorted([shop.service_id, second.json()["id"]])
    offered = await client.put(
        f"/api/v1/professionals/{carla['id']}/services",
        json={"service_ids": wanted},
        headers=shop.owner,
    )
    assert offered.status_code == 200
    assert offered.json() == {"service_ids": wanted}
    got = await client.get(f"/api/v1/professionals/{carla['id']}", headers=shop.staff)
    assert got.json()["service_ids"] == wanted
    listed = await client.get("/api/v1/professionals", headers=shop.staff)
    assert [p["name"] for p in listed.json()] == ["Pro 0", "Pro 1", "Carla Dias"]

    narrowed = await client.put(
        f"/api/v1/professionals/{carla['id']}/services",
        json={"service_ids": [shop.service_id]},
        headers=shop.manager,
    )
    assert narrowed.json() == {"service_ids": [shop.service_id]}
    assert (
        await client.get(f"/api/v1/professionals/{carla['id']}/services", headers=shop.staff)
    ).json() == {"service_ids": [shop.service_id]}

    patched = await client.patch(
        f"/api/v1/professionals/{carla['id']}",
        json={"active": False, "email": None},
        headers=shop.owner,
    )
    assert (patched.json()["active"], patched.json()["email"]) == (False, None)
    inactive = await client.get(
        "/api/v1/professionals", params={"active": "false"}, headers=shop.owner
    )
    assert [p["id"] for p in inactive.json()] == [carla["id"]]

    assert (
        await client.delete(f"/api/v1/professionals/{carla['id']}", headers=shop.owner)
    ).status_code == 204
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM offerings WHERE professional_id = $1", uuid.UUID(carla["id"])
        )
        == 0
    )


async def test_offering_unknown_or_foreign_services_is_422_naming_the_item(
    client: httpx.AsyncClient, shop: Shop, rival: Shop, owner_conn: asyncpg.Connection
) -> None:
    body = {"service_ids": [shop.service_id, str(uuid.uuid4()), rival.service_id]}
    response = await client.put(
        f"/api/v1/professionals/{shop.professional_id}/services", json=body, headers=shop.owner
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["service_ids.1", "service_ids.2"]
    duplicate = await client.put(
        f"/api/v1/professionals/{shop.professional_id}/services",
        json={"service_ids": [shop.service_id, shop.service_id]},
        headers=shop.owner,
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "service_ids.1"
    assert await shop.count(owner_conn, "offerings") == 2


async def test_unknown_ids_are_404(client: httpx.AsyncClient, shop: Shop) -> None:
    missing = uuid.uuid4()
    for method, path, body in [
        ("GET", f"/api/v1/services/{missing}", None),
        ("PATCH", f"/api/v1/services/{missing}", {"name": "X"}),
        ("DELETE", f"/api/v1/services/{missing}", None),
        ("GET", f"/api/v1/professionals/{missing}", None),
        ("PATCH", f"/api/v1/professionals/{missing}", {"name": "X"}),
        ("DELETE", f"/api/v1/professionals/{missing}", None),
        ("GET", f"/api/v1/professionals/{missing}/services", None),
        ("PUT", f"/api/v1/professionals/{missing}/services", {"service_ids": []}),
        ("PUT", f"/api/v1/professionals/{missing}/hours", {"hours": []}),
        ("PUT", f"/api/v1/professionals/{missing}/breaks", {"breaks": []}),
    ]:
        response = await client.request(method, path, json=body, headers=shop.owner)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"


async def test_malformed_ids_are_422(client: httpx.AsyncClient, shop: Shop) -> None:
    response = await client.get("/api/v1/services/1%20OR%201=1", headers=shop.owner)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "service_id"
