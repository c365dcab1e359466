"""Closures, special hours and time off through the staff API."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.catalog.conftest import Shop


async def test_closures_crud(client: httpx.AsyncClient, shop: Shop) -> None:
    created = await client.post(
        "/api/v1/closures", json={"date": "2030-12-25", "reason": "Christmas"}, headers=shop.manager
    )
    assert created.status_code == 201, created.text
    closure = created.json()
    assert closure["date"] == "2030-12-25"
    other = await client.post("/api/v1/closures", json={"date": "2031-01-01"}, headers=shop.owner)
    assert other.json()["reason"] == ""

    listed = await client.get("/api/v1/closures", headers=shop.staff)
    assert [c["date"] for c in listed.json()] == ["2030-12-25", "2031-01-01"]
    ranged = await client.get(
        "/api/v1/closures", params={"from": "2030-12-26", "to": "2031-12-31"}, headers=shop.staff
    )
    assert [c["date"] for c in ranged.json()] == ["2031-01-01"]
    assert (
        await client.get(f"/api/v1/closures/{closure['id']}", headers=shop.staff)
    ).json() == closure

    duplicate = await client.post(
        "/api/v1/closures", json={"date": "2030-12-25"}, headers=shop.owner
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "closure_exists"
    moved_onto = await client.patch(
        f"/api/v1/closures/{other.json()['id']}", json={"date": "2030-12-25"}, headers=shop.owner
    )
    assert moved_onto.status_code == 409
    assert moved_onto.json()["code"] == "closure_exists"

    patched = await client.patch(
        f"/api/v1/closures/{closure['id']}", json={"reason": "Natal"}, headers=shop.owner
    )
    assert patched.json() == {**closure, "reason": "Natal"}
    assert (
        await client.delete(f"/api/v1/closures/{closure['id']}", headers=shop.owner)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/closures/{closure['id']}", headers=shop.owner)
    ).status_code == 404
    assert (
        await client.delete(f"/api/v1/closures/{closure['id']}", headers=shop.owner)
    ).status_code == 404


@pytest.mark.parametrize("day", ["9999-12-31", "1999-12-31", "2030-02-30", "tomorrow", ""])
async def test_closure_dates_outside_reason_are_422(
    client: httpx.AsyncClient, shop: Shop, day: str
) -> None:
    response = await client.post("/api/v1/closures", json={"date": day}, headers=shop.owner)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "date"


async def test_staff_cannot_change_closures_or_special_hours(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    created = await client.post("/api/v1/closures", json={"date": "2030-12-25"}, headers=shop.owner)
    closure_id = created.json()["id"]
    for response in (
        await client.post("/api/v1/closures", json={"date": "2030-12-26"}, headers=shop.staff),
        await client.patch(
            f"/api/v1/closures/{closure_id}", json={"reason": "x"}, headers=shop.staff
        ),
        await client.delete(f"/api/v1/closures/{closure_id}", headers=shop.staff),
        await client.put(
            "/api/v1/special-hours/2030-12-24",
            json={"intervals": [{"start": "10:00", "end": "12:00"}]},
            headers=shop.staff,
        ),
        await client.delete("/api/v1/special-hours/2030-12-24", headers=shop.staff),
    ):
        assert response.status_code == 403
    assert await owner_conn.fetchval("SELECT count(*) FROM closures") == 1
    assert await owner_conn.fetchval("SELECT count(*) FROM special_hours") == 0


async def test_special_hours_replace_per_date(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    day = "/api/v1/special-hours/2030-12-24"
    assert (await client.get(day, headers=shop.staff)).status_code == 404
    first = await client.put(
        day,
        json={
            "intervals": [{"start": "14:00", "end": "18:00"}, {"start": "08:00", "end": "12:00"}]
        },
        headers=shop.manager,
    )
    assert first.status_code == 200, first.text
    assert first.json() == {
        "date": "2030-12-24",
        "intervals": [{"start": "08:00", "end": "12:00"}, {"start": "14:00", "end": "18:00"}],
    }
    second = await client.put(
        day, json={"intervals": [{"start": "10:00", "end": "13:00"}]}, headers=shop.owner
    )
    assert second.json()["intervals"] == [{"start": "10:00", "end": "13:00"}]
    await client.put(
        "/api/v1/special-hours/2030-12-31",
        json={"intervals": [{"start": "09:00", "end": "24:00"}]},
        headers=shop.owner,
    )
    listed = await client.get(
        "/api/v1/special-hours", params={"from": "2030-12-01"}, headers=shop.staff
    )
    assert [d["date"] for d in listed.json()] == ["2030-12-24", "2030-12-31"]
    assert (await client.get(day, headers=shop.staff)).json() == second.json()

    overlapping = await client.put(
        day,
        json={
            "intervals": [{"start": "10:00", "end": "13:00"}, {"start": "12:00", "end": "15:00"}]
        },
        headers=shop.owner,
    )
    assert overlapping.status_code == 422
    assert overlapping.json()["errors"][0]["field"] == "intervals.1.start"
    empty = await client.put(day, json={"intervals": []}, headers=shop.owner)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "intervals"
    bad_day = await client.put(
        "/api/v1/special-hours/9999-01-01",
        json={"intervals": [{"start": "10:00", "end": "13:00"}]},
        headers=shop.owner,
    )
    assert bad_day.status_code == 422
    assert bad_day.json()["errors"][0]["field"] == "day"

    assert (await client.delete(day, headers=shop.owner)).status_code == 204
    assert (await client.delete(day, headers=shop.owner)).status_code == 404
    assert await shop.count(owner_conn, "special_hours") == 1


TIME_OFF = {
    "start": "2030-07-01T00:00:00-03:00",
    "end": "2030-07-15T00:00:00-03:00",
    "reason": "Vacation",
}


async def test_time_off_crud(client: httpx.AsyncClient, shop: Shop) -> None:
    body = {**TIME_OFF, "professional_id": shop.professional_id}
    created = await client.post("/api/v1/time-off", json=body, headers=shop.manager)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["start"] == "2030-07-01T03:00:00Z"
    assert entry["end"] == "2030-07-15T03:00:00Z"
    assert (await client.get(f"/api/v1/time-off/{entry['id']}", headers=shop.staff)).json() == entry

    listed = await client.get(
        "/api/v1/time-off",
        params={
            "professional_id": shop.professional_id,
            "from": "2030-07-10T00:00:00Z",
            "to": "2030-07-11T00:00:00Z",
        },
        headers=shop.staff,
    )
    assert [t["id"] for t in listed.json()] == [entry["id"]]
    after = await client.get(
        "/api/v1/time-off", params={"from": "2030-08-01T00:00:00Z"}, headers=shop.staff
    )
    assert after.json() == []

    patched = await client.patch(
        f"/api/v1/time-off/{entry['id']}", json={"end": "2030-07-10T00:00:00Z"}, headers=shop.owner
    )
    assert patched.status_code == 200
    assert patched.json()["end"] == "2030-07-10T00:00:00Z"
    before_start = await client.patch(
        f"/api/v1/time-off/{entry['id']}", json={"end": "2030-06-01T00:00:00Z"}, headers=shop.owner
    )
    assert before_start.status_code == 422
    assert before_start.json()["errors"][0]["field"] == "end"

    assert (
        await client.delete(f"/api/v1/time-off/{entry['id']}", headers=shop.owner)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/time-off/{entry['id']}", headers=shop.owner)
    ).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2030-06-30T00:00:00-03:00"}, "end"),
        ({"end": "2030-07-01T00:00:00-03:00"}, "end"),
        ({"end": "2032-07-15T00:00:00-03:00"}, "end"),
        ({"start": "2030-07-01T00:00:00"}, "start"),
        ({"start": "9999-07-01T00:00:00Z"}, "start"),
        ({"start": "not a time"}, "start"),
        ({"professional_id": "42"}, "professional_id"),
        ({"reason": "r" * 501}, "reason"),
    ],
)
async def test_invalid_time_off_is_422_naming_the_field(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection, change: dict, field: str
) -> None:
    body = {**TIME_OFF, "professional_id": shop.professional_id, **change}
    response = await client.post("/api/v1/time-off", json=body, headers=shop.owner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await owner_conn.fetchval("SELECT count(*) FROM time_off") == 0


async def test_time_off_for_an_unknown_or_foreign_professional_is_422(
    client: httpx.AsyncClient, shop: Shop, rival: Shop, owner_conn: asyncpg.Connection
) -> None:
    for professional_id in (str(uuid.uuid4()), rival.professional_id):
        response = await client.post(
            "/api/v1/time-off",
            json={**TIME_OFF, "professional_id": professional_id},
            headers=shop.owner,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "professional_id"
    assert await shop.count(owner_conn, "time_off") == 0


async def test_staff_manage_only_their_own_time_off(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    mine = await client.post(
        "/api/v1/time-off",
        json={**TIME_OFF, "professional_id": shop.professional_id},
        headers=shop.staff,
    )
    assert mine.status_code == 201
    other_professional = str(shop.rows.professional_ids[1])
    refused = await client.post(
        "/api/v1/time-off",
        json={**TIME_OFF, "professional_id": other_professional},
        headers=shop.staff,
    )
    assert refused.status_code == 403
    theirs = await client.post(
        "/api/v1/time-off",
        json={**TIME_OFF, "professional_id": other_professional},
        headers=shop.owner,
    )
    theirs_id = theirs.json()["id"]
    # Staff read everyone's time off but cannot change another professional's.
    assert (
        await client.get(f"/api/v1/time-off/{theirs_id}", headers=shop.staff)
    ).status_code == 200
    patch = await client.patch(
        f"/api/v1/time-off/{theirs_id}", json={"reason": "x"}, headers=shop.staff
    )
    assert patch.status_code == 403
    assert (
        await client.delete(f"/api/v1/time-off/{theirs_id}", headers=shop.staff)
    ).status_code == 403
    own_patch = await client.patch(
        f"/api/v1/time-off/{mine.json()['id']}", json={"reason": "Doctor"}, headers=shop.staff
    )
    assert own_patch.json()["reason"] == "Doctor"
    assert (
        await client.delete(f"/api/v1/time-off/{mine.json()['id']}", headers=shop.staff)
    ).status_code == 204
    assert await owner_conn.fetchval("SELECT reason FROM time_off") == "Vacation"
