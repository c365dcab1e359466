"""The one way to talk to the database.

Every query of the app runs inside ``Database.transaction(tenant_id, user_id=...)``: it opens
a transaction as the app role (not superuser, not owner, no BYPASSRLS) and sets
``app.tenant_id``/``app.user_id`` for that transaction only (``set_config(..., true)``, safe
behind PgBouncer in transaction mode). Row level security does the rest. Nothing else in
the code base touches the connection's role or settings.

The transaction is driven here rather than by SQLAlchemy (whose connections are left in
autocommit mode): ``BEGIN`` and the scope go to the server in one round trip, ``COMMIT`` in
another, so a one-statement request costs three round trips instead of five. No pool pre-ping
either: a pooled connection found dead at ``BEGIN`` is replaced (with the whole pool) and
``BEGIN`` sent again; one lost later fails its transaction, which ``run`` retries.

A cancelled caller (a client gone, a task stopped) is never retried and always ends
cancelled, even when the driver reports the interrupted query as an error of its own: a
cancellation turned into an ordinary exception would let a background task run on through
its own shutdown, or a retry start the work again for nobody."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from slotwise.db.urls import to_sqlalchemy

T = TypeVar("T")
log = logging.getLogger(__name__)


def _begin_scoped(tenant_id: UUID | None, user_id: UUID | None) -> str:
    """``BEGIN`` and the transaction's scope as one simple-protocol message. The values are
    ``UUID`` objects, whose text is only hex digits and hyphens: nothing to escape."""
    tenant = str(UUID(str(tenant_id))) if tenant_id else ""
    user = str(UUID(str(user_id))) if user_id else ""
    return (
        f"BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true),"
        f" set_config('app.user_id', '{user}', true)"
    )


def _cancelling() -> bool:
    """Whether the running task has been asked to stop (its work must not go on)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "08000",  # connection_exception
        "08003",
        "08006",
        "57P01",  # admin_shutdown
        "57P02",
        "57P03",
        "53300",  # too_many_connections
    }
)


def sqlstate_of(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None), exc):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def is_lost_connection(exc: BaseException) -> bool:
    """The connection itself failed (closed, reset, never there), whoever raised it."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, InterfaceError | OperationalError) and sqlstate_of(exc) is None:
        return True
    # InternalClientError: the protocol is stuck, e.g. on the server's unsolicited "terminating
    # connection" message, which a pooled idle connection only reads on its next use.
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError | OSError):
        return True
    state = sqlstate_of(exc)
    return state is not None and state.startswith("08")


def is_transient(exc: BaseException) -> bool:
    """Failures that a retry of the whole transaction may cure."""
    return is_lost_connection(exc) or sqlstate_of(exc) in TRANSIENT_SQLSTATES


class Database:
    def __init__(
        self,
        app_url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pgbouncer: bool = False,
        retry_attempts: int = 5,
    ) -> None:
        connect_args: dict[str, Any] = {"server_settings": {"application_name": "slotwise"}}
        if pgbouncer:
            connect_args["statement_cache_size"] = 0
            connect_args["prepared_statement_cache_size"] = 0
        self.engine: AsyncEngine = create_async_engine(
            to_sqlalchemy(app_url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_recycle=1800,
            isolation_level="AUTOCOMMIT",  # transactions are begun by ``transaction``
            connect_args=connect_args,
        )
        self.retry_attempts = retry_attempts

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(
        self, tenant_id: UUID | None, *, user_id: UUID | None = None
    ) -> AsyncIterator[AsyncConnection]:
        """A transaction that sees exactly one tenant's rows (none when ``tenant_id`` is None).

        Commits when the block ends normally; the caller (request or job boundary) owns it."""
        conn, driver = await self._begin(tenant_id, user_id)
        try:
            try:
                yield conn
            except BaseException as exc:
                await self._abandon(conn, driver, exc)
                if _cancelling() and not isinstance(exc, asyncio.CancelledError):
                    # The driver turned our cancellation into an error of its own: keep it
                    # a cancellation, or the caller would carry on (or retry) regardless.
                    raise asyncio.CancelledError() from exc
                raise
            try:
                await driver.execute("COMMIT")
            except BaseException as exc:
                await self._abandon(conn, None, exc)
                raise
        finally:
            await conn.close()

    async def _begin(
        self, tenant_id: UUID | None, user_id: UUID | None
    ) -> tuple[AsyncConnection, Any]:
        """A pooled connection in a begun, scoped transaction. Nothing has run yet if
        ``BEGIN`` finds the connection dead (the server restarted since it was pooled), so
        it is tried once more on a fresh one: the guarantee of a pool pre-ping, without
        its round trip on every checkout."""
        statement = _begin_scoped(tenant_id, user_id)
        for attempt in (1, 2):
            conn = await self.engine.connect()
            try:
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None  # a checked-out connection always has one
                await driver.execute(statement)
                return conn, driver
            except BaseException as exc:
                await self._abandon(conn, None, exc)
                await conn.close()
                if attempt == 2 or _cancelling() or not is_lost_connection(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _abandon(self, conn: AsyncConnection, driver: Any, exc: BaseException) -> None:
        """End a failed transaction without ever masking ``exc``. A connection that still
        answers is rolled back and reused; one cancelled mid-query (its state unknown) or
        lost is closed, and the server rolls back. A lost connection while nobody is
        cancelling means the server went away: the pooled ones are as dead, so the pool
        starts afresh (what SQLAlchemy does on a disconnect it sees itself)."""
        cancelled = isinstance(exc, asyncio.CancelledError) or _cancelling()
        if driver is not None and not cancelled and not is_lost_connection(exc):
            try:
                await driver.execute("ROLLBACK")
                return
            except Exception:
                log.warning("rollback_failed", exc_info=True)
        try:
            await conn.invalidate()
            if is_lost_connection(exc) and not cancelled:
                await self.engine.dispose()
        except Exception:
            log.warning("connection_discard_failed", exc_info=True)

    async def run(
        self,
        work: Callable[[AsyncConnection], Awaitable[T]],
        tenant_id: UUID | None,
        *,
        user_id: UUID | None = None,
    ) -> T:
        """``transaction`` plus retries with backoff of transient failures (serialization,
        deadlock, lost connection): ``work`` must be safe to run again from the start."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: is_transient(exc) and not _cancelling()),
            stop=stop_after_attempt(self.retry_attempts),
            wait=wait_exponential_jitter(multiplier=0.02, max=0.5, jitter=0.02),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with self.transaction(tenant_id, user_id=user_id) as conn:
                    return await work(conn)
        raise AssertionError("unreachable")  # pragma: no cover
