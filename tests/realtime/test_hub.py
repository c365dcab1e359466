"""The in-memory fan-out: filtering, bounded queues, replay, the per-client cap."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotwise.errors import TooManyStreams
from slotwise.realtime.changes import Change
from slotwise.realtime.hub import HEARTBEAT, Hub
from slotwise.realtime.stream import EventStreamResponse

TENANT = uuid.uuid4()
OTHER = uuid.uuid4()
PRO = uuid.uuid4()


def _change(
    tenant: uuid.UUID = TENANT,
    *,
    day: int = 3,
    kind: str = "appointment",
    professional: uuid.UUID | None = PRO,
) -> Change:
    return Change(
        tenant_id=tenant,
        kind=kind,  # type: ignore[arg-type]
        professional_id=professional,
        dates=(date(2030, 6, day),),
        appointment_id=uuid.uuid4() if kind == "appointment" else None,
        operation="insert",
        affects_availability=True,
    )


def _data(frame: bytes) -> list[dict[str, object]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in frame.decode().splitlines()
        if line.startswith("data: ")
    ]


async def test_a_slow_subscriber_is_dropped_and_the_others_get_everything() -> None:
    hub = Hub(queue_size=2)
    slow, _ = hub.subscribe(TENANT, "public", "10.0.0.1")
    fast, _ = hub.subscribe(TENANT, "public", "10.0.0.2")
    received = []
    for day in range(1, 6):
        hub.publish([_change(day=day)])
        received.append(await fast.next())
    assert slow.closed and slow.close_reason == "slow"
    assert not fast.closed
    assert [_data(f)[0]["date"] for f in received] == [f"2030-06-0{d}" for d in range(1, 6)]


async def test_staff_frames_follow_the_role_and_public_frames_the_tenant() -> None:
    hub = Hub()
    manager, _ = hub.subscribe(TENANT, "staff", "a", every_professional=True)
    own, _ = hub.subscribe(TENANT, "staff", "a", professional_id=PRO)
    other_staff, _ = hub.subscribe(TENANT, "staff", "a", professional_id=uuid.uuid4())
    public_other_tenant, _ = hub.subscribe(OTHER, "public", "a")
    hub.publish([_change(), _change(kind="availability")])
    assert len(manager.frames) == 1 and len(own.frames) == 1  # appointments only
    assert not other_staff.frames and not public_other_tenant.frames


async def test_replay_serves_a_known_id_and_resyncs_an_unknown_one() -> None:
    hub = Hub(buffer_size=3)
    probe, _ = hub.subscribe(TENANT, "public", "a")
    hub.publish([_change(day=1)])
    first_id = f"{hub.epoch}-1"
    hub.publish([_change(day=2), _change(OTHER, day=9), _change(day=4)])
    _, missed = hub.subscribe(TENANT, "public", "b", last_event_id=first_id)
    assert [d["date"] for d in _data(missed)] == ["2030-06-02", "2030-06-04"]
    hub.publish([_change(day=5)])  # event 1 leaves the buffer of 3
    for stale in (first_id, f"{hub.epoch}-99", "other-2", "garbage"):
        _, missed = hub.subscribe(TENANT, "public", "c", last_event_id=stale)
        assert b"event: resync" in missed, stale
    _, missed = hub.subscribe(TENANT, "public", "d", last_event_id=f"{hub.epoch}-5")
    assert missed == b""  # up to date
    assert len(probe.frames) == 4


async def test_the_per_client_cap_counts_open_streams() -> None:
    hub = Hub(max_streams_per_client=2)
    one, _ = hub.subscribe(TENANT, "public", "10.0.0.1")
    hub.subscribe(OTHER, "staff", "10.0.0.1", every_professional=True)
    with pytest.raises(TooManyStreams):
        hub.subscribe(TENANT, "public", "10.0.0.1")
    hub.subscribe(TENANT, "public", "10.0.0.2")  # another client
    hub.unsubscribe(one)
    hub.subscribe(TENANT, "public", "10.0.0.1")
    assert hub.subscriber_count == 3


async def test_a_burst_is_one_write_and_heartbeats_go_to_quiet_streams_only() -> None:
    hub = Hub()
    busy, _ = hub.subscribe(TENANT, "public", "a")
    quiet, _ = hub.subscribe(OTHER, "public", "a")
    hub.publish([_change(day=1), _change(day=2)])
    burst = await busy.next()
    assert [d["date"] for d in _data(burst)] == ["2030-06-01", "2030-06-02"]
    hub.heartbeat()  # busy was offered frames since the last tick
    assert not busy.frames and await quiet.next() == HEARTBEAT
    hub.heartbeat()
    assert await busy.next() == HEARTBEAT


async def test_resync_reaches_everyone_and_close_ends_every_stream() -> None:
    hub = Hub()
    subscribers = [hub.subscribe(t, "public", "a")[0] for t in (TENANT, OTHER)]
    hub.resync()
    for subscriber in subscribers:
        assert b"event: resync" in await subscriber.next()
    hub.close()
    assert all(s.closed for s in subscribers)
    late, _ = hub.subscribe(TENANT, "public", "b")
    assert late.closed


@given(st.lists(st.integers(min_value=1, max_value=28), min_size=1, max_size=40))
def test_every_change_gets_a_new_increasing_id(days: list[int]) -> None:
    hub = Hub()
    hub.publish([_change(day=d) for d in days])
    ids = [int(e.id.split("-")[1]) for e in hub._buffer]
    assert ids == list(range(1, len(days) + 1))
    assert all(e.id.startswith(hub.epoch + "-") for e in hub._buffer)


async def test_the_watchdog_ends_a_stream_whose_client_stopped_reading() -> None:
    hub = Hub()
    subscriber, missed = hub.subscribe(TENANT, "public", "a")
    blocked = asyncio.Event()
    never = asyncio.Event()
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and b"availability" in message["body"]:
            blocked.set()
            await never.wait()  # the client's window is full: the write never completes

    async def receive() -> Any:
        await never.wait()

    stream = asyncio.create_task(EventStreamResponse(hub, subscriber, missed)({}, receive, send))
    hub.publish([_change()])
    async with asyncio.timeout(5):
        await blocked.wait()
    hub.heartbeat(stalled_after=0.0)
    async with asyncio.timeout(5):
        await stream  # ends normally: the watchdog's cancellation is not the request's
    assert subscriber.close_reason == "stalled" and hub.subscriber_count == 0
