"""Cache fixtures: a recorder of the change feed (it sees each change right after the cache
did, so awaiting it is awaiting the invalidation), a SQL statement counter, and GET helpers
that say whether the answer came from the cache."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from slotwise.db.database import Database
from slotwise.settings import Settings
from tests.conftest import _test_settings
from tests.factories import TenantRows, make_customer, make_tenant
from tests.realtime.helpers import Recorder, settle

ZONE = "America/New_York"


def local_day(days_ahead: int) -> date:
    return datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=days_ahead)


def local_time(days_ahead: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(local_day(days_ahead), time(hour, minute), tzinfo=ZoneInfo(ZONE))


@pytest.fixture
def settings() -> Settings:
    """No warming: a re-warmed entry would hide which entries a change invalidated
    (``test_warming`` turns it on)."""
    return _test_settings(cache_warm_tenants=0)


@pytest.fixture
def recorder(app: Any) -> Recorder:
    recorder = Recorder()
    app.state.live.observers.append(recorder)
    return recorder


@dataclass
class Statements:
    count: int = 0


@pytest.fixture
def statements(database: Database) -> Iterator[Statements]:
    """SQL statements sent by the app's engine (reset ``count`` before what you measure)."""
    counter = Statements()

    def count(*_args: Any) -> None:
        counter.count += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    yield counter
    event.remove(database.engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def business(owner_conn: asyncpg.Connection, recorder: Recorder) -> TenantRows:
    """Open 09:00-17:00 every day in New York, two professionals offering a 30-minute
    service; created after the app started, its creation's changes already drained."""
    rows = await make_tenant(owner_conn, professionals=2, timezone=ZONE)
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    await settle(owner_conn, recorder, rows)
    return rows


def availability_path(rows: TenantRows) -> str:
    return f"/api/v1/public/businesses/{rows.slug}/availability"


def availability_params(
    rows: TenantRows, first: int, last: int | None = None, professional: int | None = None
) -> dict[str, str]:
    params = {
        "service_id": str(rows.service_ids[0]),
        "date_from": local_day(first).isoformat(),
        "date_to": local_day(last if last is not None else first).isoformat(),
    }
    if professional is not None:
        params["professional_id"] = str(rows.professional_ids[professional])
    return params


async def get_availability(
    client: httpx.AsyncClient,
    rows: TenantRows,
    first: int,
    last: int | None = None,
    professional: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    response = await client.get(
        availability_path(rows),
        params=availability_params(rows, first, last, professional),
        headers=headers or {},
    )
    assert response.status_code in (200, 304), response.text
    return response


def outcome(response: httpx.Response) -> str:
    return response.headers.get("x-slotwise-cache", "none")


def starts(response: httpx.Response, professional: UUID | None = None) -> list[str]:
    """The slot starts listed (of ``professional`` when given)."""
    return [
        slot["start"]
        for day in response.json()["days"]
        for slot in day["slots"]
        if professional is None or str(professional) in slot["professional_ids"]
    ]
