"""Live-update fixtures: the app on a real loopback socket (streams need one), an SSE client
that queues what it reads, and writes committed as the app role."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from slotwise.db.urls import DatabaseUrls, to_libpq
from tests.factories import TenantRows
from tests.realtime.helpers import Recorder

END = "<end of stream>"


@dataclass
class SseEvent:
    name: str
    data: str = ""
    id: str | None = None
    retry: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


class EventStream:
    """One SSE connection; events (and comments, as ``name=":"``) arrive in ``queue``."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self._client = client
        self._url = url
        self._headers = headers
        self.queue: asyncio.Queue[SseEvent] = asyncio.Queue()
        self.response: httpx.Response | None = None
        self._context: Any = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventStream:
        self._context = self._client.stream("GET", self._url, headers=self._headers)
        self.response = await self._context.__aenter__()
        if self.response.status_code == 200:
            self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._context.__aexit__(exc_type, exc, tb)

    async def _read(self) -> None:
        assert self.response is not None
        current: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.queue.put_nowait(SseEvent(":", line[1:].strip()))
                elif line == "":
                    if current:
                        self.queue.put_nowait(
                            SseEvent(
                                current.get("event", "message"),
                                current.get("data", ""),
                                current.get("id"),
                                current.get("retry"),
                                current,
                            )
                        )
                    current = {}
                else:
                    name, _, value = line.partition(":")
                    current[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        self.queue.put_nowait(SseEvent(END))

    async def next(self, *names: str, seconds: float = 5.0) -> SseEvent:
        """The next event named one of ``names`` (any event but comments when none given)."""
        async with asyncio.timeout(seconds):
            while True:
                event = await self.queue.get()
                if event.name == END or (names and event.name in names):
                    return event
                if not names and event.name != ":":
                    return event


@pytest.fixture
async def live_server(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a loopback port (its lifespan already runs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)  # connections queue from now on: no need to wait for the server
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=5)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    yield f"http://127.0.0.1:{port}"
    app.state.live.hub.close()
    server.should_exit = True
    async with asyncio.timeout(15):
        await task
    sock.close()


@pytest.fixture
async def http(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as client:
        yield client


@pytest.fixture
def recorder(app: Any) -> Recorder:
    recorder = Recorder()
    app.state.live.observers.append(recorder)
    return recorder


OpenStream = Callable[..., EventStream]


@pytest.fixture
def open_stream(http: httpx.AsyncClient) -> OpenStream:
    def opener(path: str, headers: dict[str, str] | None = None) -> EventStream:
        return EventStream(http, path, {"Accept": "text/event-stream", **(headers or {})})

    return opener


BookAsApp = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
def book_as_app(database_urls: DatabaseUrls) -> BookAsApp:
    """Commit one appointment as the app role (what a booking transaction writes)."""

    async def book(
        rows: TenantRows,
        starts_at: datetime,
        *,
        professional_index: int = 0,
        status: str = "confirmed",
    ) -> uuid.UUID:
        assert rows.customer_id is not None, "make_customer first"
        conn = await asyncpg.connect(to_libpq(database_urls.app))
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.tenant_id', $1, true)", str(rows.tenant_id)
                )
                appointment: uuid.UUID = await conn.fetchval(
                    "INSERT INTO appointments (tenant_id, professional_id, service_id,"
                    " customer_id, starts_at, ends_at, status, occupied)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, 'empty') RETURNING id",
                    rows.tenant_id,
                    rows.professional_ids[professional_index],
                    rows.service_ids[0],
                    rows.customer_id,
                    starts_at,
                    starts_at + timedelta(minutes=30),
                    status,
                )
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
        return appointment

    return book
