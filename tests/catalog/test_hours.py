"""Weekly hours and breaks: whole-week replacement, validation naming the field, the staff
rule (own professional only) and concurrent replacements."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from tests.catalog.conftest import Shop

WEEK = {
    "hours": [
        {"weekday": 0, "start": "13:00", "end": "18:00"},
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 5, "start": "9:30", "end": "24:00"},
    ]
}
SORTED_WEEK = [
    {"weekday": 0, "start": "09:00", "end": "12:00"},
    {"weekday": 0, "start": "13:00", "end": "18:00"},
    {"weekday": 5, "start": "09:30", "end": "24:00"},
]


async def test_business_hours_are_replaced_as_a_whole_week(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    before = await client.get("/api/v1/business-hours", headers=shop.staff)
    assert len(before.json()["hours"]) == 7
    replaced = await client.put("/api/v1/business-hours", json=WEEK, headers=shop.manager)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"hours": SORTED_WEEK}
    rows = await owner_conn.fetch(
        "SELECT weekday, start_minute, end_minute FROM business_hours WHERE tenant_id = $1"
        " ORDER BY weekday, start_minute",
        shop.rows.tenant_id,
    )
    assert [tuple(r) for r in rows] == [(0, 540, 720), (0, 780, 1080), (5, 570, 1440)]
    cleared = await client.put("/api/v1/business-hours", json={"hours": []}, headers=shop.owner)
    assert cleared.json() == {"hours": []}
    assert (await client.get("/api/v1/business-hours", headers=shop.owner)).json() == {"hours": []}


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ([{"weekday": 0, "start": "10:00", "end": "09:00"}], "hours.0.end"),
        ([{"weekday": 0, "start": "10:00", "end": "10:00"}], "hours.0.end"),
        ([{"weekday": 7, "start": "09:00", "end": "10:00"}], "hours.0.weekday"),
        ([{"weekday": -1, "start": "09:00", "end": "10:00"}], "hours.0.weekday"),
        ([{"weekday": 0, "start": "25:00", "end": "26:00"}], "hours.0.start"),
        ([{"weekday": 0, "start": "24:00", "end": "24:00"}], "hours.0.start"),
        ([{"weekday": 0, "start": "09:00", "end": "24:01"}], "hours.0.end"),
        ([{"weekday": 0, "start": "09:60", "end": "10:00"}], "hours.0.start"),
        ([{"weekday": 0, "start": "9h", "end": "10:00"}], "hours.0.start"),
        ([{"weekday": 0, "start": 540, "end": "10:00"}], "hours.0.start"),
        ([{"weekday": 0, "start": "09:00"}], "hours.0.end"),
        (
            [
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 2, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "11:00", "end": "14:00"},
            ],
            "hours.2.start",
        ),
        (
            [
                {"weekday": 1, "start": "08:00", "end": "20:00"},
                {"weekday": 1, "start": "09:00", "end": "10:00"},
            ],
            "hours.1.start",
        ),
    ],
)
async def test_nonsense_hours_are_422_naming_the_field(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection, hours: list, field: str
) -> None:
    response = await client.put("/api/v1/business-hours", json={"hours": hours}, headers=shop.owner)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await shop.count(owner_conn, "business_hours") == 7


async def test_touching_intervals_are_fine(client: httpx.AsyncClient, shop: Shop) -> None:
    hours = [
        {"weekday": 3, "start": "09:00", "end": "12:00"},
        {"weekday": 3, "start": "12:00", "end": "17:00"},
    ]
    response = await client.put("/api/v1/business-hours", json={"hours": hours}, headers=shop.owner)
    assert response.status_code == 200


async def test_validation_messages_are_translated(client: httpx.AsyncClient, shop: Shop) -> None:
    hours = [
        {"weekday": 1, "start": "09:00", "end": "12:00"},
        {"weekday": 1, "start": "11:00", "end": "14:00"},
    ]
    response = await client.put(
        "/api/v1/business-hours",
        json={"hours": hours},
        headers={**shop.owner, "Accept-Language": "pt-BR"},
    )
    assert response.json()["errors"] == [
        {"field": "hours.1.start", "message": "Este intervalo se sobrepõe a outro no mesmo dia."}
    ]


async def test_professional_hours_and_breaks(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    path = f"/api/v1/professionals/{shop.professional_id}"
    hours = await client.put(f"{path}/hours", json=WEEK, headers=shop.manager)
    assert hours.status_code == 200
    assert hours.json() == {"hours": SORTED_WEEK}
    breaks = await client.put(
        f"{path}/breaks",
        json={"breaks": [{"weekday": 0, "start": "10:00", "end": "10:15", "label": " Coffee "}]},
        headers=shop.manager,
    )
    assert breaks.json() == {
        "breaks": [{"weekday": 0, "start": "10:00", "end": "10:15", "label": "Coffee"}]
    }
    professional = (await client.get(path, headers=shop.staff)).json()
    assert professional["hours"] == SORTED_WEEK
    assert professional["breaks"] == breaks.json()["breaks"]
    assert (await client.get(f"{path}/hours", headers=shop.staff)).json() == {"hours": SORTED_WEEK}
    assert (await client.get(f"{path}/breaks", headers=shop.staff)).json() == breaks.json()
    # Business-wide breaks are separate rows and untouched.
    assert (await client.get("/api/v1/business-breaks", headers=shop.owner)).json() == {
        "breaks": []
    }
    cleared = await client.put(f"{path}/hours", json={"hours": []}, headers=shop.owner)
    assert cleared.json() == {"hours": []}


async def test_business_breaks(client: httpx.AsyncClient, shop: Shop) -> None:
    lunch = [
        {"weekday": day, "start": "12:00", "end": "13:00", "label": "Lunch"} for day in range(5)
    ]
    response = await client.put(
        "/api/v1/business-breaks", json={"breaks": lunch}, headers=shop.owner
    )
    assert response.status_code == 200
    assert response.json()["breaks"] == lunch
    overlapping = await client.put(
        "/api/v1/business-breaks",
        json={"breaks": [*lunch, {"weekday": 0, "start": "12:30", "end": "12:45"}]},
        headers=shop.owner,
    )
    assert overlapping.status_code == 422
    assert overlapping.json()["errors"][0]["field"] == "breaks.5.start"
    forbidden = await client.put("/api/v1/business-breaks", json={"breaks": []}, headers=shop.staff)
    assert forbidden.status_code == 403
    assert (await client.get("/api/v1/business-breaks", headers=shop.staff)).json()[
        "breaks"
    ] == lunch


async def test_staff_change_only_their_own_professionals_hours(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    mine = f"/api/v1/professionals/{shop.professional_id}"
    theirs = f"/api/v1/professionals/{shop.rows.professional_ids[1]}"
    assert (await client.put(f"{mine}/hours", json=WEEK, headers=shop.staff)).status_code == 200
    breaks = {"breaks": [{"weekday": 0, "start": "12:00", "end": "13:00"}]}
    assert (await client.put(f"{mine}/breaks", json=breaks, headers=shop.staff)).status_code == 200
    for response in (
        await client.put(f"{theirs}/hours", json=WEEK, headers=shop.staff),
        await client.put(f"{theirs}/breaks", json=breaks, headers=shop.staff),
        await client.put("/api/v1/business-hours", json=WEEK, headers=shop.staff),
        await client.put(
            f"/api/v1/professionals/{uuid.uuid4()}/hours", json=WEEK, headers=shop.staff
        ),
    ):
        assert response.status_code == 403
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM professional_hours WHERE professional_id = $1",
            shop.rows.professional_ids[1],
        )
        == 0
    )


async def test_concurrent_week_replacements_never_interleave(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    weeks = [
        {
            "hours": [
                {"weekday": day, "start": f"{8 + n:02d}:00", "end": "18:00"} for day in range(7)
            ]
        }
        for n in range(8)
    ]
    path = f"/api/v1/professionals/{shop.professional_id}/hours"
    answers = await asyncio.gather(
        *(client.put(path, json=week, headers=shop.owner) for week in weeks)
    )
    assert [a.status_code for a in answers] == [200] * len(weeks)
    rows = await owner_conn.fetch(
        "SELECT weekday, start_minute FROM professional_hours WHERE professional_id = $1",
        shop.rows.professional_ids[0],
    )
    # Exactly one of the weeks, whole: 7 rows sharing one start time.
    assert len(rows) == 7
    assert len({r["start_minute"] for r in rows}) == 1
