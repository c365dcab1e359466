"""Server-sent events over a real socket: the public availability stream and the staff
appointment stream, fed by commits of the real database through the real listener."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from slotwise.settings import Settings
from tests.conftest import _test_settings
from tests.factories import TenantRows, bearer, make_customer, make_member, make_tenant
from tests.realtime.conftest import END, BookAsApp, EventStream, OpenStream, SseEvent
from tests.realtime.helpers import Recorder, settle

MONDAY = datetime.fromisoformat("2030-06-03T14:00:00+00:00")


@pytest.fixture
def settings() -> Settings:
    # A short heartbeat shows the heartbeat without waiting 15 s.
    return _test_settings(live_heartbeat_seconds=0.2, live_max_streams_per_client=3)


@pytest.fixture
async def tenant(owner_conn: asyncpg.Connection, recorder: Recorder) -> TenantRows:
    rows = await make_tenant(owner_conn, professionals=2)
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    await settle(owner_conn, recorder, rows)
    return rows


@pytest.fixture
async def other_tenant(owner_conn: asyncpg.Connection, recorder: Recorder) -> TenantRows:
    rows = await make_tenant(owner_conn)
    rows.customer_id = await make_customer(owner_conn, rows.tenant_id)
    await settle(owner_conn, recorder, rows)
    return rows


def _pending(stream: EventStream) -> list[SseEvent]:
    """What the stream has received and not been read, heartbeats aside."""
    events = []
    while not stream.queue.empty():
        event = stream.queue.get_nowait()
        if event.name != ":":
            events.append(event)
    return events


def _public(rows: TenantRows) -> str:
    return f"/api/v1/public/businesses/{rows.slug}/events"


async def test_a_commit_reaches_the_public_stream_within_a_second(
    open_stream: OpenStream, tenant: TenantRows, book_as_app: BookAsApp
) -> None:
    async with open_stream(_public(tenant)) as stream:
        assert stream.response is not None
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"].startswith("no-cache")
        await book_as_app(tenant, MONDAY)
        committed = time.monotonic()
        event = await stream.next("availability", seconds=1.0)
        assert time.monotonic() - committed < 1.0
    assert json.loads(event.data) == {
        "date": "2030-06-03",
        "professional_id": str(tenant.professional_ids[0]),
    }
    assert event.id is not None


async def test_the_stream_starts_with_a_retry_hint_and_sends_heartbeats(
    open_stream: OpenStream, tenant: TenantRows
) -> None:
    async with open_stream(_public(tenant)) as stream:
        first = await stream.next()
        assert first.retry == "3000"
        heartbeat = await stream.next(":", seconds=2.0)
        assert heartbeat.data == "heartbeat"


async def test_no_event_leaks_across_tenants(
    open_stream: OpenStream,
    tenant: TenantRows,
    other_tenant: TenantRows,
    book_as_app: BookAsApp,
    owner_conn: asyncpg.Connection,
    settings: Settings,
) -> None:
    owner, _ = await make_member(owner_conn, tenant.tenant_id, "owner")
    staff_headers = bearer(settings, owner, tenant.tenant_id)
    async with (
        open_stream(_public(tenant)) as public,
        open_stream("/api/v1/events", staff_headers) as staff,
    ):
        # The other business changes first; ours after. Changes arrive in commit order, so
        # ours arriving first proves the other's was not sent to us.
        await book_as_app(other_tenant, MONDAY)
        await owner_conn.execute(
            "INSERT INTO closures (tenant_id, date) VALUES ($1, '2030-12-25')",
            other_tenant.tenant_id,
        )
        appointment = await book_as_app(tenant, MONDAY + timedelta(days=1))
        event = await public.next("availability")
        assert json.loads(event.data)["professional_id"] == str(tenant.professional_ids[0])
        assert json.loads(event.data)["date"] == "2030-06-04"
        staff_event = await staff.next("appointment")
        assert json.loads(staff_event.data)["appointment_id"] == str(appointment)
        assert _pending(public) == _pending(staff) == []


async def test_the_staff_stream_is_filtered_by_role(
    open_stream: OpenStream,
    tenant: TenantRows,
    book_as_app: BookAsApp,
    owner_conn: asyncpg.Connection,
    settings: Settings,
) -> None:
    manager, _ = await make_member(owner_conn, tenant.tenant_id, "manager")
    staff, _ = await make_member(
        owner_conn, tenant.tenant_id, "staff", professional_id=tenant.professional_ids[0]
    )
    loose, _ = await make_member(owner_conn, tenant.tenant_id, "staff")  # no professional
    async with (
        open_stream("/api/v1/events", bearer(settings, manager, tenant.tenant_id)) as managers,
        open_stream("/api/v1/events", bearer(settings, staff, tenant.tenant_id)) as own,
        open_stream("/api/v1/events", bearer(settings, loose, tenant.tenant_id)) as nobody,
    ):
        others = await book_as_app(tenant, MONDAY, professional_index=1)
        mine = await book_as_app(tenant, MONDAY, professional_index=0)
        seen_by_manager = [
            json.loads((await managers.next("appointment")).data)["appointment_id"]
            for _ in range(2)
        ]
        assert seen_by_manager == [str(others), str(mine)]
        first_of_staff = json.loads((await own.next("appointment")).data)
        assert first_of_staff == {
            "appointment_id": str(mine),
            "professional_id": str(tenant.professional_ids[0]),
            "dates": ["2030-06-03"],
            "operation": "insert",
        }
        assert _pending(own) == []
        assert [e.retry for e in _pending(nobody)] == ["3000"]  # only its retry hint


async def test_public_events_say_only_dates_and_professionals(
    open_stream: OpenStream,
    tenant: TenantRows,
    book_as_app: BookAsApp,
    owner_conn: asyncpg.Connection,
) -> None:
    async with open_stream(_public(tenant)) as stream:
        await owner_conn.execute(
            "UPDATE services SET name = 'Cut & wash' WHERE tenant_id = $1", tenant.tenant_id
        )
        catalog = json.loads((await stream.next("availability")).data)
        assert catalog == {"date": None, "professional_id": None}
        appointment = await book_as_app(tenant, MONDAY)
        await owner_conn.execute(
            "UPDATE appointments SET status = 'completed' WHERE id = $1", appointment
        )
        await owner_conn.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE id = $1", appointment
        )
        booked = await stream.next("availability")
        cancelled = await stream.next("availability")  # "completed" changed no slot
        assert json.loads(booked.data) == json.loads(cancelled.data)
        assert booked.id != cancelled.id


async def test_last_event_id_replays_what_was_missed_else_resync(
    open_stream: OpenStream, tenant: TenantRows, book_as_app: BookAsApp
) -> None:
    async with open_stream(_public(tenant)) as witness:
        async with open_stream(_public(tenant)) as first:
            await book_as_app(tenant, MONDAY)
            seen = await first.next("availability")
        await book_as_app(tenant, MONDAY + timedelta(days=1))
        await book_as_app(tenant, MONDAY + timedelta(days=2))
        for _ in range(3):  # the hub has them all once the witness does
            await witness.next("availability")
        assert seen.id is not None
        async with open_stream(_public(tenant), {"Last-Event-ID": seen.id}) as again:
            replayed = [json.loads((await again.next("availability")).data) for _ in range(2)]
            assert [r["date"] for r in replayed] == ["2030-06-04", "2030-06-05"]
        async with open_stream(_public(tenant), {"Last-Event-ID": "0000-7"}) as stranger:
            assert (await stranger.next("resync", "availability")).name == "resync"


async def test_connections_per_client_are_capped(
    open_stream: OpenStream, http: httpx.AsyncClient, tenant: TenantRows
) -> None:
    async with (
        open_stream(_public(tenant)) as one,
        open_stream(_public(tenant)) as two,
        open_stream(_public(tenant)) as three,
    ):
        assert {s.response.status_code for s in (one, two, three) if s.response} == {200}
        refused = await http.get(_public(tenant), headers={"Accept-Language": "pt-BR"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "10"
    body = refused.json()
    assert body["code"] == "too_many_streams"
    assert body["detail"].startswith("Conexões de atualização ao vivo demais")


async def test_errors_are_problems(http: httpx.AsyncClient) -> None:
    unknown = await http.get("/api/v1/public/businesses/no-such-business/events")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    anonymous = await http.get("/api/v1/events")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"


async def test_shutdown_ends_every_stream(
    open_stream: OpenStream, tenant: TenantRows, app: Any
) -> None:
    async with open_stream(_public(tenant)) as stream:
        await stream.next()  # connected
        app.state.live.hub.close()
        assert (await stream.next("availability")).name == END
    assert app.state.live.hub.subscriber_count == 0


async def test_after_the_listener_is_killed_a_resync_then_later_events(
    open_stream: OpenStream,
    tenant: TenantRows,
    book_as_app: BookAsApp,
    owner_conn: asyncpg.Connection,
    app: Any,
) -> None:
    listener = app.state.live.listener
    async with open_stream(_public(tenant)) as stream:
        await stream.next()  # connected
        killed = await owner_conn.fetchval("SELECT pg_terminate_backend($1)", listener.backend_pid)
        assert killed
        assert (await stream.next("resync", "availability", seconds=10)).name == "resync"
        await book_as_app(tenant, MONDAY)
        event = await stream.next("availability")
        assert json.loads(event.data)["date"] == "2030-06-03"
    assert listener.reconnects == 1


async def test_a_change_touching_many_dates_is_one_event_per_date(
    open_stream: OpenStream, tenant: TenantRows, owner_conn: asyncpg.Connection
) -> None:
    async with open_stream(_public(tenant)) as stream:
        await owner_conn.execute(
            "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
            " VALUES ($1, $2, '2030-07-01T14:00Z', '2030-07-03T20:00Z')",
            tenant.tenant_id,
            tenant.professional_ids[1],
        )
        events = [await stream.next("availability") for _ in range(3)]
    assert [json.loads(e.data)["date"] for e in events] == [
        (date(2030, 7, 1) + timedelta(days=i)).isoformat() for i in range(3)
    ]
    assert len({e.id for e in events}) == 1  # one change, one id


async def test_notify_mode_reaches_the_stream_too(
    open_stream: OpenStream,
    tenant: TenantRows,
    app_conn: asyncpg.Connection,
) -> None:
    async with open_stream(_public(tenant)) as stream:
        await stream.next()
        async with app_conn.transaction():
            await app_conn.execute("SET LOCAL slotwise.live_updates_mode = 'notify'")
            await app_conn.execute(
                "SELECT set_config('app.tenant_id', $1, true)", str(tenant.tenant_id)
            )
            await app_conn.execute(
                "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
                " VALUES ($1, '2030-12-24', 600, 720)",
                tenant.tenant_id,
            )
        event = await stream.next("availability", seconds=1.0)
    assert json.loads(event.data) == {"date": "2030-12-24", "professional_id": None}
