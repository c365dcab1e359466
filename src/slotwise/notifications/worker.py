"""The outbox worker: claims due rows (any tenant, ``FOR UPDATE SKIP LOCKED`` + a lease),
then handles each in its own tenant's transaction: lock it, build the mail or webhook post,
send it, mark it ``sent`` — all before that transaction commits, so a message that went
out successfully is never sent again. Failures back off exponentially with jitter and end
as ``dead`` after ``outbox_max_attempts``.

Runs as ``slotwise worker`` or inside the app process (development/demo). Any number of
workers may run at once. Every few minutes it also does the deployment's housekeeping
(old sent rows, expired idempotency keys). Tests drive it with ``run_once(now=...)``
instead of sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import httpx
import structlog
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.booking.service import purge_expired_idempotency_keys
from slotwise.core.logging import configure_logging
from slotwise.db.database import Database
from slotwise.db.server import DatabaseServer
from slotwise.notifications import repository, service, webhooks
from slotwise.notifications.mail import DeliveryFailed, Mailer, mailer_for
from slotwise.settings import Settings

log = structlog.get_logger(__name__)

Outcome = Literal["sent", "retry", "dead", "obsolete", "skipped", "error"]

SENT_RETENTION = timedelta(days=30)
"""Sent rows are kept this long (the outbox page shows them), then purged."""
PURGE_EVERY_SECONDS = 3600.0
PURGE_BATCH = 5000

MESSAGES = Counter(
    "slotwise_outbox_messages_total", "Outbox rows handled by the worker", ["kind", "outcome"]
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter (tenacity's ``wait_exponential_jitter`` schedule):
    ``initial * 2**(attempt-1)`` capped at ``maximum``, plus up to ``jitter`` of itself so
    that messages failing together do not all come back together. With the defaults and
    8 attempts a message is retried for about two hours before it is parked."""

    initial: float = 60.0
    maximum: float = 3600.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        base = min(self.initial * 2 ** max(attempt - 1, 0), self.maximum)
        return timedelta(seconds=base + rng.uniform(0, base * self.jitter))


@dataclass
class RunStats:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.get(outcome, 0)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OutboxWorker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        mailer: Mailer | None = None,
        http: httpx.AsyncClient | None = None,
        batch_size: int = 20,
        lease_seconds: int = 300,
        concurrency: int = 4,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.database = database
        self.settings = settings
        self.mailer = mailer or mailer_for(settings)
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(trust_env=False)
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = settings.outbox_max_attempts
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.clock = clock
        self._slots = asyncio.Semaphore(max(concurrency, 1))
        self._wake = asyncio.Event()
        self.listening = asyncio.Event()
        """Set once ``run_forever`` waits for wake-ups (listening, or polling only)."""

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> OutboxWorker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- one step ---------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> RunStats:
        """Claim one batch of rows due at ``now`` and handle them; how it went."""
        now = now or self.clock()

        async def claim(conn: AsyncConnection) -> list[tuple[UUID, UUID]]:
            return await repository.claim(
                conn, batch=self.batch_size, lease_seconds=self.lease_seconds, now=now
            )

        claimed = await self.database.run(claim, None)
        stats = RunStats(claimed=len(claimed))
        outcomes = await asyncio.gather(
            *(self._guarded(tenant_id, outbox_id, now) for tenant_id, outbox_id in claimed)
        )
        for outcome in outcomes:
            stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1
        return stats

    async def drain(self, now: datetime | None = None) -> RunStats:
        """``run_once`` until nothing due at ``now`` is left unclaimed."""
        total = RunStats()
        while True:
            stats = await self.run_once(now)
            total.claimed += stats.claimed
            for outcome, n in stats.outcomes.items():
                total.outcomes[outcome] = total.outcomes.get(outcome, 0) + n
            if stats.claimed < self.batch_size:
                return total

    async def purge(self, now: datetime | None = None) -> int:
        """Delete sent rows older than ``SENT_RETENTION`` (bounded batches); how many."""
        before = (now or self.clock()) - SENT_RETENTION
        total = 0
        while True:

            async def work(conn: AsyncConnection) -> int:
                return await repository.purge_sent(conn, sent_before=before, limit=PURGE_BATCH)

            purged = await self.database.run(work, None)
            total += purged
            if purged < PURGE_BATCH:
                return total

    async def housekeeping(self, now: datetime | None = None) -> tuple[int, int]:
        """The periodic clean-up a deployment needs once, whoever runs it: sent outbox rows
        past their retention, and expired ``Idempotency-Key`` records (bounded batches).
        How many of each went."""
        sent = await self.purge(now)
        keys = 0
        while True:
            purged = await purge_expired_idempotency_keys(self.database, PURGE_BATCH)
            keys += purged
            if purged < PURGE_BATCH:
                return sent, keys

    async def _guarded(self, tenant_id: UUID, outbox_id: UUID, now: datetime) -> Outcome:
        async with self._slots:
            try:
                return await self._handle(tenant_id, outbox_id, now)
            except Exception:
                # The transaction is gone (database trouble): the lease brings the row back.
                log.exception("outbox_row_failed", outbox_id=str(outbox_id))
                return "error"

    async def _handle(self, tenant_id: UUID, outbox_id: UUID, now: datetime) -> Outcome:
        async with self.database.transaction(tenant_id) as conn:
            row = await repository.lock_due(conn, tenant_id, outbox_id, now)
            if row is None:
                return "skipped"
            outcome = await self._deliver(conn, row, now)
        MESSAGES.labels(row.kind, outcome).inc()
        log.info(
            "outbox_row",
            outbox_id=str(row.id),
            tenant_id=str(tenant_id),
            kind=row.kind,
            outcome=outcome,
            attempts=row.attempts + 1,
        )
        return outcome

    async def _deliver(
        self, conn: AsyncConnection, row: repository.OutboxRow, now: datetime
    ) -> Outcome:
        try:
            job = await service.prepare(conn, row, self.settings, now)
            if isinstance(job, service.Obsolete):
                await repository.delete(conn, row.tenant_id, row.id)
                return "obsolete"
            if isinstance(job, service.Undeliverable):
                await repository.mark_failed(
                    conn,
                    row.tenant_id,
                    row.id,
                    attempts=row.attempts + 1,
                    error=job.reason,
                    next_attempt_at=None,
                )
                return "dead"
            if isinstance(job, service.MailJob):
                await self.mailer.send(job.message, row.id)
            else:
                await webhooks.post(self.http, job.url, job.body, job.headers, self.settings)
        except DeliveryFailed as exc:
            error = str(exc)
        except SQLAlchemyError:
            raise
        except Exception as exc:
            log.exception("outbox_build_failed", outbox_id=str(row.id))
            error = f"{type(exc).__name__}: {exc}"
        else:
            await repository.mark_sent(conn, row.tenant_id, row.id, now)
            return "sent"
        attempts = row.attempts + 1
        next_at = (
            now + self.backoff.delay(attempts, self.rng) if attempts < self.max_attempts else None
        )
        await repository.mark_failed(
            conn, row.tenant_id, row.id, attempts=attempts, error=error, next_attempt_at=next_at
        )
        return "retry" if next_at is not None else "dead"

    # --- the loop ---------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due rows now instead of at the next poll."""
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: drain due rows, then wait for a wake-up or the poll."""
        listener = None if self.settings.db_pgbouncer else _Listener(self.database, self.wake)
        log.info("outbox_worker_started", poll_seconds=self.settings.worker_poll_seconds)
        next_purge = time.monotonic()
        try:
            while not stop.is_set():
                self._wake.clear()
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                    try:
                        await self.housekeeping()
                    except Exception:
                        log.exception("housekeeping_failed")
                try:
                    stats = await self.run_once()
                except Exception:
                    log.exception("outbox_claim_failed")
                    stats = RunStats()
                if stats.claimed >= self.batch_size:
                    continue
                if listener is not None:
                    await listener.ensure()
                self.listening.set()
                await self._idle(stop)
        finally:
            if listener is not None:
                await listener.close()
            log.info("outbox_worker_stopped")

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(
                waiters,
                timeout=self.settings.worker_poll_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiter in waiters:
                waiter.cancel()


class _Listener:
    """One connection LISTENing for wake-ups; re-opened with backoff after it is lost (the
    worker keeps polling meanwhile, so a lost listener only delays by one poll)."""

    def __init__(self, database: Database, on_wake: Callable[[], None]) -> None:
        self.database = database
        self.on_wake = on_wake
        self._conn: AsyncConnection | None = None
        self._listening: repository.Listening | None = None
        self._retry_at = 0.0
        self._failures = 0

    async def ensure(self) -> None:
        if self._listening is not None and not self._listening.closed():
            return
        await self.close()
        if time.monotonic() < self._retry_at:
            return
        try:
            self._conn = await self.database.engine.connect()
            self._listening = await repository.listen(self._conn, self.on_wake)
            self._failures = 0
        except Exception as exc:
            self._failures += 1
            self._retry_at = time.monotonic() + min(2.0**self._failures, 30.0)
            log.warning("outbox_listen_failed", error=str(exc))
            await self.close()

    async def close(self) -> None:
        conn, listening = self._conn, self._listening
        self._conn, self._listening = None, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if listening is not None:
                await listening.stop()
        # Never hand a listening connection back to the pool.
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()


def runs_in_process(settings: Settings) -> bool:
    """In-process worker: as configured, else only in development (the demo)."""
    if settings.run_worker_in_process is not None:
        return settings.run_worker_in_process
    return settings.environment == "development"


@asynccontextmanager
async def in_process_worker(
    settings: Settings, database: Database
) -> AsyncIterator[OutboxWorker | None]:
    """Runs a worker beside the app for the block when ``runs_in_process``."""
    if not runs_in_process(settings):
        yield None
        return
    worker = OutboxWorker(database, settings, concurrency=2)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop), name="slotwise-outbox-worker")
    try:
        yield worker
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=15)
        except TimeoutError:
            log.warning("outbox_worker_stop_timeout")
        finally:
            await worker.aclose()


async def run_worker(settings: Settings, server: DatabaseServer) -> None:
    """``slotwise worker``: deliver until SIGINT/SIGTERM, then finish the current batch."""
    configure_logging(settings.log_level, settings.log_json)
    database = Database(
        server.urls.app, pool_size=settings.db_pool_size, pgbouncer=settings.db_pgbouncer
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with OutboxWorker(database, settings) as worker:
            await worker.run_forever(stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await database.dispose()
