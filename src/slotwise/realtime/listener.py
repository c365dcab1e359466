"""The process's one listening connection (SPEC §8): ``LISTEN slotwise_live`` as the app role.

It reconnects with exponential backoff (and jitter) after the connection is lost (database
restart, ``pg_terminate_backend``, network). Notifications sent while it was away are gone,
so ``on_connected(gap=True)`` tells subscribers to refetch and caches to start over. A
keepalive query notices a connection that died silently."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import Callable
from typing import Any

import asyncpg
import structlog

from slotwise.realtime import repository
from slotwise.realtime.changes import Change, parse_payload

log = structlog.get_logger(__name__)

APPLICATION_NAME = "slotwise_listener"

# Errors that mean "the connection is gone or unusable": reconnect.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class Reconnecting:
    """A background task on a dedicated connection of its own: it reconnects after a loss,
    backing off exponentially (with jitter), until ``stop``."""

    def __init__(self, max_backoff_seconds: float) -> None:
        self._max_backoff = max_backoff_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def _back_off(self, attempt: int) -> None:
        await self._pause(min(self._max_backoff, 0.05 * 2**attempt) * random.uniform(0.5, 1))


class Listener(Reconnecting):
    def __init__(
        self,
        dsn: str,
        *,
        on_changes: Callable[[list[Change]], None],
        on_connected: Callable[[bool], None],
        on_lost: Callable[[], None],
        keepalive_seconds: float = 10.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        super().__init__(max_backoff_seconds)
        self._dsn = dsn
        self._on_changes = on_changes
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._keepalive = keepalive_seconds
        self._ready = asyncio.Event()
        self.connected = False
        self.reconnects = 0
        self.backend_pid: int | None = None

    async def start(self, wait_seconds: float = 10.0) -> None:
        """Start listening; waits (bounded) for the first ``LISTEN`` so a process that
        reports itself started does not miss the first changes."""
        self._task = asyncio.create_task(self._run(), name="slotwise-live-listener")
        try:
            async with asyncio.timeout(wait_seconds):
                await self._ready.wait()
        except TimeoutError:
            log.warning("live_listener_not_ready", waited_seconds=wait_seconds)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        changes = parse_payload(payload)
        if changes:
            self._on_changes(changes)

    async def _run(self) -> None:
        attempt = 0
        missed = False  # True once a gap in the feed is possible: resync on (re)connect
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await repository.connect(self._dsn, f"{APPLICATION_NAME}:{os.getpid()}")
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await repository.listen(conn, self._notified)
                self.backend_pid = conn.get_server_pid()
                self.connected = True
                attempt = 0
                if missed:
                    self.reconnects += 1
                    log.info("live_listener_reconnected")
                self._on_connected(missed)
                self._ready.set()
                await self._watch(conn, lost)
            except CONNECTION_ERRORS as exc:
                log.warning("live_listener_connection_failed", error=type(exc).__name__)
            finally:
                if self.connected:
                    self.connected = False
                    self._on_lost()
                missed = True
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            if self._stopping.is_set():
                return
            await self._back_off(attempt)
            attempt += 1

    async def _watch(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is lost; probe it when quiet for a while."""
        while not lost.is_set():
            try:
                async with asyncio.timeout(self._keepalive):
                    await lost.wait()
            except TimeoutError:
                async with asyncio.timeout(5):
                    await repository.ping(conn)
