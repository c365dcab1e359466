"""``GET /api/v1/public/businesses/{slug}/availability``: the answer of SPEC §5 and every
error it can give."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from tests.factories import TenantRows, make_appointment, make_tenant

TZ = "America/Sao_Paulo"  # UTC-03:00 all year
ZONE = ZoneInfo(TZ)


def local_today() -> date:
    return datetime.now(UTC).astimezone(ZONE).date()


# Two days ahead: out of reach of the one-hour notice whatever the time of day.
DAY = local_today() + timedelta(days=2)


def at(d: date, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(d, time(int(hours), int(minutes)), tzinfo=ZONE)


def url(rows: TenantRows) -> str:
    return f"/api/v1/public/businesses/{rows.slug}/availability"


def params(rows: TenantRows, date_from: date = DAY, date_to: date = DAY, **extra: Any) -> Any:
    values = {
        "service_id": str(rows.service_ids[0]),
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
    }
    values.update({k: str(v) for k, v in extra.items()})
    return values


def assert_problem(
    response: httpx.Response, status: int, code: str, field: str | None = None
) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


@pytest.fixture
async def rows(owner_conn: asyncpg.Connection) -> TenantRows:
    """Open 09:00-12:00 every day, a 30-minute service on a 15-minute grid, two
    professionals."""
    return await make_tenant(owner_conn, timezone=TZ, hours=(540, 720), professionals=2)


async def test_the_answer_lists_local_slots_with_their_professionals(
    client: httpx.AsyncClient, rows: TenantRows
) -> None:
    response = await client.get(url(rows), params=params(rows))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"timezone", "service_id", "days"}
    assert body["timezone"] == TZ
    assert body["service_id"] == str(rows.service_ids[0])
    (day,) = body["days"]
    assert day["date"] == DAY.isoformat()
    first = day["slots"][0]
    assert first == {
        "start": f"{DAY.isoformat()}T09:00:00-03:00",
        "end": f"{DAY.isoformat()}T09:30:00-03:00",
        "professional_ids": [str(p) for p in rows.professional_ids],
    }
    starts = [s["start"][11:16] for s in day["slots"]]
    assert starts == [f"{9 + m // 60:02d}:{m % 60:02d}" for m in range(0, 151, 15)]


async def test_every_date_of_the_range_is_listed_even_past_and_empty(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", rows.tenant_id, DAY
    )
    first = local_today() - timedelta(days=3)
    response = await client.get(url(rows), params=params(rows, first, DAY + timedelta(days=1)))
    assert response.status_code == 200
    days = response.json()["days"]
    assert [d["date"] for d in days] == [(first + timedelta(days=n)).isoformat() for n in range(7)]
    by_date = {d["date"]: d["slots"] for d in days}
    assert by_date[first.isoformat()] == []  # the past
    assert by_date[DAY.isoformat()] == []  # closed
    assert by_date[(DAY + timedelta(days=1)).isoformat()] != []


async def test_a_booked_time_lists_only_the_free_professional(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, at(DAY, "10:00"))
    response = await client.get(url(rows), params=params(rows))
    slots = {s["start"][11:16]: s["professional_ids"] for s in response.json()["days"][0]["slots"]}
    second = [str(rows.professional_ids[1])]
    assert slots["09:45"] == slots["10:00"] == slots["10:15"] == second
    assert len(slots["09:30"]) == len(slots["10:30"]) == 2  # back to back is fine


async def test_one_professional(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await make_appointment(owner_conn, rows, at(DAY, "10:00"))
    pro = rows.professional_ids[0]
    response = await client.get(url(rows), params=params(rows, professional_id=pro))
    slots = response.json()["days"][0]["slots"]
    starts = [s["start"][11:16] for s in slots]
    assert "10:00" not in starts and "09:45" not in starts
    assert "09:30" in starts and "10:30" in starts
    assert all(s["professional_ids"] == [str(pro)] for s in slots)


async def test_sixty_two_days_is_the_most(client: httpx.AsyncClient, rows: TenantRows) -> None:
    last = DAY + timedelta(days=61)
    response = await client.get(url(rows), params=params(rows, DAY, last))
    assert response.status_code == 200
    assert len(response.json()["days"]) == 62
    too_long = await client.get(url(rows), params=params(rows, DAY, last + timedelta(days=1)))
    body = assert_problem(too_long, 422, "validation_error", "date_to")
    assert body["errors"] == [{"field": "date_to", "message": "Ask for at most 62 days at a time."}]


async def test_reversed_range_names_date_to(client: httpx.AsyncClient, rows: TenantRows) -> None:
    response = await client.get(url(rows), params=params(rows, DAY, DAY - timedelta(days=1)))
    body = assert_problem(response, 422, "validation_error", "date_to")
    assert body["errors"][0]["message"] == "The last date must not be before the first date."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_from", "2026-02-30"),
        ("date_from", "tomorrow"),
        ("date_to", "2026-12-01T10:00:00"),
        ("date_to", "1700000000"),
        ("date_from", "1850-01-01"),
        ("service_id", "not-a-uuid"),
        ("professional_id", "42"),
    ],
)
async def test_bad_values_name_their_field(
    client: httpx.AsyncClient, rows: TenantRows, field: str, value: str
) -> None:
    query = params(rows)
    query[field] = value
    assert_problem(await client.get(url(rows), params=query), 422, "validation_error", field)


async def test_missing_and_unknown_parameters(client: httpx.AsyncClient, rows: TenantRows) -> None:
    query = params(rows)
    del query["service_id"]
    assert_problem(await client.get(url(rows), params=query), 422, "validation_error", "service_id")
    query = params(rows, colour="blue")
    assert_problem(await client.get(url(rows), params=query), 422, "validation_error", "colour")


async def test_messages_are_translated(client: httpx.AsyncClient, rows: TenantRows) -> None:
    response = await client.get(
        url(rows),
        params=params(rows, DAY, DAY - timedelta(days=1)),
        headers={"Accept-Language": "pt-BR"},
    )
    body = assert_problem(response, 422, "validation_error", "date_to")
    assert body["errors"][0]["message"] == "A última data não pode ser anterior à primeira."


async def test_unknown_slug_service_or_professional_is_404(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    other = await make_tenant(owner_conn, timezone=TZ)
    missing = "/api/v1/public/businesses/no-such-business/availability"
    assert_problem(await client.get(missing, params=params(rows)), 404, "not_found")
    query = params(rows)
    query["service_id"] = str(uuid.uuid4())
    assert_problem(await client.get(url(rows), params=query), 404, "not_found")
    query["service_id"] = str(other.service_ids[0])  # another business's service
    assert_problem(await client.get(url(rows), params=query), 404, "not_found")
    query = params(rows, professional_id=uuid.uuid4())
    assert_problem(await client.get(url(rows), params=query), 404, "not_found")
    query = params(rows, professional_id=other.professional_ids[0])
    assert_problem(await client.get(url(rows), params=query), 404, "not_found")


async def test_a_professional_who_does_not_offer_the_service_is_422(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "DELETE FROM offerings WHERE professional_id = $1", rows.professional_ids[1]
    )
    query = params(rows, professional_id=rows.professional_ids[1])
    assert_problem(await client.get(url(rows), params=query), 422, "service_not_offered")


async def test_an_inactive_professional_has_no_slots(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "UPDATE professionals SET active = false WHERE id = $1", rows.professional_ids[0]
    )
    slots = (await client.get(url(rows), params=params(rows))).json()["days"][0]["slots"]
    assert slots != []
    assert {tuple(s["professional_ids"]) for s in slots} == {(str(rows.professional_ids[1]),)}


async def test_an_inactive_service_has_no_slots(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, rows: TenantRows
) -> None:
    await owner_conn.execute(
        "UPDATE services SET active = false WHERE id = $1", rows.service_ids[0]
    )
    response = await client.get(url(rows), params=params(rows))
    assert response.status_code == 200
    assert response.json()["days"] == [{"date": DAY.isoformat(), "slots": []}]


async def test_documented_in_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/public/businesses/{slug}/availability"]["get"]
    assert operation["summary"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/AvailabilityRead"}
    for status in ("404", "422", "429"):
        problem = operation["responses"][status]["content"]["application/problem+json"]
        assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"slug", "service_id", "date_from", "date_to", "professional_id"}
