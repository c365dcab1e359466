"""Shared arrangements of the booking tests: a business open 09:00–17:00 every day in
New York with one 30-minute service, and starts a few days ahead (past the notice, inside
the horizon)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from tests.factories import TenantRows, make_tenant

ZONE = "America/New_York"


def local(days_ahead: int = 3, hour: int = 10, minute: int = 0, zone: str = ZONE) -> datetime:
    """A local wall-clock time ``days_ahead`` days from today in ``zone`` (aware)."""
    tz = ZoneInfo(zone)
    day: date = datetime.now(tz).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


@pytest.fixture
async def rows(owner_conn: asyncpg.Connection) -> TenantRows:
    return await make_tenant(owner_conn, professionals=2, timezone=ZONE)


def booking_body(
    rows: TenantRows,
    start: datetime,
    *,
    professional: int | None = 0,
    email: str = "ana@example.com",
    **extra: object,
) -> dict[str, object]:
    """A valid public booking body for ``rows``' service."""
    body: dict[str, object] = {
        "service_id": str(rows.service_ids[0]),
        "start": start.isoformat(),
        "customer": {"name": "Ana Souza", "email": email, "phone": None},
        "notes": "",
    }
    if professional is not None:
        body["professional_id"] = str(rows.professional_ids[professional])
    body.update(extra)
    return body


def bookings_path(rows: TenantRows) -> str:
    return f"/api/v1/public/businesses/{rows.slug}/bookings"


def problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    """Assert ``response`` is the problem+json ``code`` with ``status``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
    return body


async def count(conn: asyncpg.Connection, table: str) -> int:
    value = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return int(value)
