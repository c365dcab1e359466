"""The one way to talk to the database.

Every query of the app runs inside ``Database.transaction(tenant_id, user_id=...)``: it opens
a transaction as the app role (not superuser, not owner, no BYPASSRLS) and sets
``app.tenant_id``/``app.user_id`` for that transaction only (``set_config(..., true)``, safe
behind PgBouncer in transaction mode). Row level security does the rest. Nothing else in
the code base touches the connection's role or settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import text
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

_SCOPE = text(
    "SELECT set_config('app.tenant_id', :tenant, true), set_config('app.user_id', :user, true)"
)

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


def is_transient(exc: BaseException) -> bool:
    """Failures that a retry of the whole transaction may cure."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, InterfaceError | OperationalError) and sqlstate_of(exc) is None:
        return True
    return sqlstate_of(exc) in TRANSIENT_SQLSTATES


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
            pool_pre_ping=True,
            pool_recycle=1800,
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
        async with self.engine.begin() as conn:
            await conn.execute(
                _SCOPE,
                {"tenant": str(tenant_id) if tenant_id else "", "user": str(user_id or "")},
            )
            yield conn

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
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.retry_attempts),
            wait=wait_exponential_jitter(multiplier=0.02, max=0.5, jitter=0.02),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with self.transaction(tenant_id, user_id=user_id) as conn:
                    return await work(conn)
        raise AssertionError("unreachable")  # pragma: no cover
