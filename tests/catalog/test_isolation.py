"""Tenant isolation through the API: a business's token never reads or changes another
business's catalog, whether by guessing ids or by filtering."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.catalog.conftest import Shop

TABLES = (
    "services",
    "professionals",
    "offerings",
    "business_hours",
    "professional_hours",
    "breaks",
    "closures",
    "special_hours",
    "time_off",
    "tenants",
)


async def _snapshot(conn: asyncpg.Connection, shop: Shop) -> dict[str, list[Any]]:
    snapshot = {}
    for table in TABLES:
        column = "id" if table == "tenants" else "tenant_id"
        rows = await conn.fetch(f"SELECT * FROM {table} WHERE {column} = $1", shop.rows.tenant_id)
        snapshot[table] = sorted(tuple(str(v) for v in row.values()) for row in rows)
    return snapshot


async def test_a_business_cannot_reach_another_business_catalog(
    client: httpx.AsyncClient, shop: Shop, rival: Shop, owner_conn: asyncpg.Connection
) -> None:
    before = await _snapshot(owner_conn, rival)
    assert all(before[table] for table in TABLES)
    closure_id = await owner_conn.fetchval(
        "SELECT id FROM closures WHERE tenant_id = $1", rival.rows.tenant_id
    )
    time_off_id = await owner_conn.fetchval(
        "SELECT id FROM time_off WHERE tenant_id = $1", rival.rows.tenant_id
    )
    special_day = await owner_conn.fetchval(
        "SELECT date FROM special_hours WHERE tenant_id = $1", rival.rows.tenant_id
    )
    service = f"/api/v1/services/{rival.service_id}"
    professional = f"/api/v1/professionals/{rival.professional_id}"
    week = {"hours": [{"weekday": 0, "start": "00:00", "end": "24:00"}]}
    attempts: list[tuple[str, str, Any]] = [
        ("GET", service, None),
        ("PATCH", service, {"name": "Mine now"}),
        ("DELETE", service, None),
        ("GET", professional, None),
        ("PATCH", professional, {"name": "Mine now"}),
        ("DELETE", professional, None),
        ("GET", f"{professional}/services", None),
        ("PUT", f"{professional}/services", {"service_ids": []}),
        ("GET", f"{professional}/hours", None),
        ("PUT", f"{professional}/hours", week),
        ("GET", f"{professional}/breaks", None),
        ("PUT", f"{professional}/breaks", {"breaks": []}),
        ("GET", f"/api/v1/closures/{closure_id}", None),
        ("PATCH", f"/api/v1/closures/{closure_id}", {"reason": "hacked"}),
        ("DELETE", f"/api/v1/closures/{closure_id}", None),
        ("GET", f"/api/v1/time-off/{time_off_id}", None),
        ("PATCH", f"/api/v1/time-off/{time_off_id}", {"reason": "hacked"}),
        ("DELETE", f"/api/v1/time-off/{time_off_id}", None),
        ("GET", f"/api/v1/special-hours/{special_day}", None),
        ("DELETE", f"/api/v1/special-hours/{special_day}", None),
    ]
    for headers in (shop.owner, shop.manager):
        for method, path, body in attempts:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["code"] == "not_found"

    lists = (
        "/api/v1/services",
        "/api/v1/professionals",
        "/api/v1/closures",
        "/api/v1/special-hours",
        "/api/v1/time-off",
    )
    rival_ids = {
        rival.service_id,
        rival.professional_id,
        str(closure_id),
        str(time_off_id),
        str(special_day),
    }
    for path in lists:
        body = (await client.get(path, headers=shop.owner)).text
        assert not any(value in body for value in rival_ids), path
    filtered = await client.get(
        "/api/v1/time-off", params={"professional_id": rival.professional_id}, headers=shop.owner
    )
    assert filtered.json() == []
    own_hours = (await client.get("/api/v1/business-hours", headers=shop.owner)).json()["hours"]
    assert len(own_hours) == 7  # the shop's own week only
    assert (await client.get("/api/v1/business-breaks", headers=shop.owner)).json() == {
        "breaks": []
    }
    assert (await client.get("/api/v1/settings", headers=shop.owner)).json()["id"] == str(
        shop.rows.tenant_id
    )

    # Writing "the same" date or the whole week touches only the caller's own rows.
    writes = [
        await client.put(
            f"/api/v1/special-hours/{special_day}",
            json={"intervals": [{"start": "01:00", "end": "02:00"}]},
            headers=shop.owner,
        ),
        await client.put("/api/v1/business-hours", json={"hours": []}, headers=shop.owner),
        await client.put("/api/v1/business-breaks", json={"breaks": []}, headers=shop.owner),
        await client.patch(
            "/api/v1/settings", json={"profile": {"name": "Renamed"}}, headers=shop.owner
        ),
    ]
    assert [w.status_code for w in writes] == [200] * len(writes)
    created = await client.post("/api/v1/closures", json={"date": "2030-12-25"}, headers=shop.owner)
    assert created.status_code == 201  # the rival's closure on that date is not a conflict

    assert await _snapshot(owner_conn, rival) == before
