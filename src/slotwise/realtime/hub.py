"""Fan-out from memory: one hub per process, many server-sent-event subscribers.

Every change the listener receives becomes one event with a process-unique id
(``<epoch>-<seq>``), rendered once per audience (public availability frames, staff
appointment frames) and offered to the subscribers of its tenant. Each subscriber has a
bounded queue: one that cannot keep up is dropped (its stream ends; the browser reconnects
with ``Last-Event-ID``) instead of slowing the others. A short ring buffer of recent events
serves those reconnections; an id it cannot serve gets a ``resync`` (refetch everything)."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID

from slotwise.errors import TooManyStreams
from slotwise.realtime.changes import Change
from slotwise.realtime.schemas import AppointmentEventRead, AvailabilityEventRead

Audience = Literal["public", "staff"]

HEARTBEAT = b": heartbeat\n\n"


def _frame(event_id: str, name: str, data: str) -> bytes:
    return f"id: {event_id}\nevent: {name}\ndata: {data}\n\n".encode()


def retry_frame(milliseconds: int) -> bytes:
    """The reconnection delay hint an ``EventSource`` honours."""
    return f"retry: {milliseconds}\n\n".encode()


@dataclass(frozen=True, slots=True)
class Event:
    """A change (or, with ``change`` None, a resync) as rendered for each audience."""

    seq: int
    id: str
    change: Change | None
    public_frame: bytes | None
    staff_frame: bytes | None


def render(seq: int, event_id: str, change: Change | None) -> Event:
    if change is None:
        resync = _frame(event_id, "resync", "{}")
        return Event(seq, event_id, None, resync, resync)
    public = None
    if change.affects_availability:
        dates: tuple[date | None, ...] = change.dates if change.dates is not None else (None,)
        public = b"".join(
            _frame(
                event_id,
                "availability",
                AvailabilityEventRead(
                    date=d, professional_id=change.professional_id
                ).model_dump_json(),
            )
            for d in dates
        )
    staff = None
    if change.kind == "appointment" and change.appointment_id is not None:
        staff = _frame(
            event_id,
            "appointment",
            AppointmentEventRead(
                appointment_id=change.appointment_id,
                professional_id=change.professional_id,
                dates=list(change.dates) if change.dates is not None else None,
                operation=change.operation,
            ).model_dump_json(),
        )
    return Event(seq, event_id, change, public, staff)


class Subscriber:
    """One open stream: what it may see, and its bounded backlog of rendered frames."""

    def __init__(
        self,
        tenant_id: UUID,
        audience: Audience,
        client: str,
        *,
        professional_id: UUID | None = None,
        every_professional: bool = False,
        queue_size: int = 64,
    ) -> None:
        self.tenant_id = tenant_id
        self.audience = audience
        self.client = client
        self.professional_id = professional_id
        self.every_professional = every_professional
        self.queue_size = queue_size
        self.frames: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.close_reason = ""
        self.offered = False  # since the last heartbeat tick
        # Set by the stream while a write is under way: the hub's watchdog ends a stream
        # whose client stopped reading (a write that never completes).
        self.writer: asyncio.Task[object] | None = None
        self.writing_since: float | None = None

    def frame_for(self, event: Event) -> bytes | None:
        """The frame this subscriber may see of ``event``, if any (role and tenant filter)."""
        change = event.change
        if change is None:
            return event.public_frame
        if change.tenant_id != self.tenant_id:
            return None
        if self.audience == "public":
            return event.public_frame
        if self.every_professional or (
            self.professional_id is not None and change.professional_id == self.professional_id
        ):
            return event.staff_frame
        return None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def offer(self, frame: bytes) -> None:
        """Queue without waiting; a full backlog means the client is too slow: drop it."""
        if self.closed:
            return
        self.offered = True
        if len(self.frames) >= self.queue_size:
            self.close("slow")
            return
        self.frames.append(frame)
        self._wake()

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self._wake()

    async def next(self) -> bytes:
        """The frames queued so far, joined (one write for a burst); waits for at least one.
        Check ``closed`` after it returns."""
        while not self.frames and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.closed:
            return b""
        burst = b"".join(self.frames)
        self.frames.clear()
        return burst


class Hub:
    """The process's subscribers, by tenant, and the ring buffer of recent events."""

    def __init__(
        self,
        *,
        buffer_size: int = 4096,
        queue_size: int = 64,
        max_streams_per_client: int = 20,
    ) -> None:
        self.epoch = secrets.token_hex(4)
        self.queue_size = queue_size
        self.max_streams_per_client = max_streams_per_client
        self._seq = 0
        self._buffer: deque[Event] = deque(maxlen=buffer_size)
        self._by_tenant: dict[UUID, set[Subscriber]] = {}
        self._per_client: Counter[str] = Counter()
        self.closed = False
        self.published = 0

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._by_tenant.values())

    def _next(self, change: Change | None) -> Event:
        self._seq += 1
        event = render(self._seq, f"{self.epoch}-{self._seq}", change)
        self._buffer.append(event)
        return event

    def publish(self, changes: Iterable[Change]) -> None:
        """Offer each change to the subscribers of its tenant (never waits)."""
        for change in changes:
            event = self._next(change)
            self.published += 1
            for subscriber in tuple(self._by_tenant.get(change.tenant_id, ())):
                frame = subscriber.frame_for(event)
                if frame is not None:
                    subscriber.offer(frame)

    def heartbeat(self, stalled_after: float = 30.0) -> None:
        """A comment to every stream that was quiet since the last call (one timer for all
        streams, instead of one per stream); and the end of streams whose write has not
        completed for ``stalled_after`` seconds (their client stopped reading)."""
        now = asyncio.get_running_loop().time()
        for subscribers in tuple(self._by_tenant.values()):
            for subscriber in tuple(subscribers):
                since = subscriber.writing_since
                if since is not None and now - since > stalled_after:
                    subscriber.close("stalled")
                    if subscriber.writer is not None:
                        subscriber.writer.cancel()
                    continue
                if not subscriber.offered:
                    subscriber.offer(HEARTBEAT)
                subscriber.offered = False

    def resync(self) -> None:
        """Events may have been missed (the listener reconnected): everyone refetches."""
        event = self._next(None)
        for subscribers in tuple(self._by_tenant.values()):
            for subscriber in tuple(subscribers):
                subscriber.offer(event.public_frame or b"")

    def _replay(self, subscriber: Subscriber, last_event_id: str) -> bytes:
        epoch, _, seq_text = last_event_id.strip().partition("-")
        try:
            last = int(seq_text)
        except ValueError:
            last = -1
        oldest = self._buffer[0].seq if self._buffer else self._seq + 1
        if epoch != self.epoch or last < 0 or last > self._seq or last < oldest - 1:
            return _frame(f"{self.epoch}-{self._seq}", "resync", "{}")
        frames = []
        for event in self._buffer:
            if event.seq > last:
                frame = subscriber.frame_for(event)
                if frame is not None:
                    frames.append(frame)
        return b"".join(frames)

    def subscribe(
        self,
        tenant_id: UUID,
        audience: Audience,
        client: str,
        *,
        professional_id: UUID | None = None,
        every_professional: bool = False,
        last_event_id: str | None = None,
    ) -> tuple[Subscriber, bytes]:
        """A new subscriber and the frames it missed since ``last_event_id`` (replay or a
        ``resync``). ``TooManyStreams`` beyond the per-client cap."""
        if self._per_client[client] >= self.max_streams_per_client:
            raise TooManyStreams(headers={"Retry-After": "10"})
        subscriber = Subscriber(
            tenant_id,
            audience,
            client,
            professional_id=professional_id,
            every_professional=every_professional,
            queue_size=self.queue_size,
        )
        # No await between the replay and the registration: nothing falls in between.
        missed = self._replay(subscriber, last_event_id) if last_event_id else b""
        self._by_tenant.setdefault(tenant_id, set()).add(subscriber)
        self._per_client[client] += 1
        if self.closed:
            subscriber.close("shutdown")
        return subscriber, missed

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._by_tenant.get(subscriber.tenant_id)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._by_tenant[subscriber.tenant_id]
        self._per_client[subscriber.client] -= 1
        if self._per_client[subscriber.client] <= 0:
            del self._per_client[subscriber.client]
        subscriber.close("gone")

    def close(self) -> None:
        """Shutdown: every stream ends now, and new ones end at once."""
        self.closed = True
        for subscribers in tuple(self._by_tenant.values()):
            for subscriber in tuple(subscribers):
                subscriber.close("shutdown")
