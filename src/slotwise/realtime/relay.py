"""The outbox relay (SPEC §8): one per deployment moves ``live_changes`` rows to listeners.

Every app process runs a candidate; the one holding the session advisory lock relays, the
others stand by and take over when its session ends (crash, restart, lost connection). The
relay polls: a batch is published with one ``pg_notify`` per payload and deleted in one
transaction, so bookings never wait on the NOTIFY commit lock and nothing is lost if the
relay dies mid-way (the rows stay until a relay commits)."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import structlog

from slotwise.realtime import repository
from slotwise.realtime.listener import CONNECTION_ERRORS, Reconnecting

log = structlog.get_logger(__name__)

APPLICATION_NAME = "slotwise_relay"


class Relay(Reconnecting):
    def __init__(
        self,
        dsn: str,
        *,
        interval_seconds: float = 0.02,
        batch_size: int = 500,
        standby_seconds: float = 1.0,
        max_backoff_seconds: float = 5.0,
    ) -> None:
        super().__init__(max_backoff_seconds)
        self._dsn = dsn
        self._interval = interval_seconds
        self._batch = batch_size
        self._standby = standby_seconds
        self.active = False
        self.relayed = 0
        # For operators' logs and for tests: observable state changes, not polled.
        self.standing_by = asyncio.Event()
        self.became_active = asyncio.Event()
        self.relayed_some = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slotwise-live-relay")

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await repository.connect(self._dsn, f"{APPLICATION_NAME}:{os.getpid()}")
                attempt = 0
                while not await repository.try_relay_lock(conn):
                    self.standing_by.set()
                    await self._pause(self._standby)
                    if self._stopping.is_set():
                        return
                self.active = True
                self.became_active.set()
                log.info("live_relay_active")
                while not self._stopping.is_set():
                    relayed = await repository.relay_batch(conn, self._batch)
                    self.relayed += relayed
                    if relayed:
                        self.relayed_some.set()
                    if relayed < self._batch:
                        await self._pause(self._interval)
            except CONNECTION_ERRORS as exc:
                log.warning("live_relay_connection_failed", error=type(exc).__name__)
            finally:
                self.active = False
                if conn is not None and not conn.is_closed():
                    conn.terminate()  # ends the session, and with it the advisory lock
            if self._stopping.is_set():
                return
            await self._back_off(attempt)
            attempt += 1
