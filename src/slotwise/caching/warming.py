"""Cache warming: the answers the next visitors will ask for, computed in the background.

After a start (before the process serves, bounded), the businesses with the most
appointments this week get their profile and the next 7 days of every active service
("any professional") computed. After an
invalidation, the most viewed businesses get their most asked answers recomputed. Warming
requests go through the app itself (so they land in the cache exactly as a visitor's
would), one at a time, for a bounded number of businesses; the task is cancelled at
shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message

from slotwise.caching import repository
from slotwise.caching.cache import ResponseCache
from slotwise.caching.middleware import WARM_SCOPE_KEY
from slotwise.db.database import Database

log = structlog.get_logger(__name__)

WARM_DAYS = 7
MAX_SERVICES = 20
STOP_RETRY_SECONDS = 1.0  # between cancellations of a warmer that has not ended yet


class Warmer:
    def __init__(self, app: ASGIApp, cache: ResponseCache, database: Database) -> None:
        self._app = app
        self._cache = cache
        self._database = database
        self._pending: set[UUID] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.requests = 0
        # Rounds finished (the start-up round is the first): observable, for operators'
        # metrics and for tests that wait for warming instead of sleeping.
        self.rounds = 0
        self._round_done = asyncio.Condition()

    async def start(self, wait_seconds: float = 10.0) -> None:
        """Start; the start-up round is awaited (bounded) so a process serves warm, and
        continues in the background if it takes longer."""
        if not self._cache.enabled:
            return
        self._cache.on_invalidated = self.schedule
        self._task = asyncio.create_task(self._run(), name="slotwise-cache-warmer")
        try:
            async with asyncio.timeout(wait_seconds):
                await self.wait_for_round(0)
        except TimeoutError:
            log.warning("cache_warm_slow", waited_seconds=wait_seconds)

    async def stop(self) -> None:
        """Cancel the warmer until it has ended. Once is not always enough: a cancellation
        that lands in a request path which swallows it (seen in a test teardown: the task
        left "cancelling" but back waiting for work) would otherwise hang shutdown."""
        self._cache.on_invalidated = None
        task, self._task = self._task, None
        if task is None:
            return
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_RETRY_SECONDS)
        if not task.cancelled() and task.exception() is not None:
            log.warning("cache_warm_crashed", error=type(task.exception()).__name__)

    def schedule(self, tenant_id: UUID) -> None:
        """An answer of ``tenant_id`` was invalidated: re-warm it if it is among the hot."""
        if tenant_id in self._pending or tenant_id not in self._cache.hottest_tenants():
            return
        self._pending.add(tenant_id)
        self._wake.set()

    async def wait_for_round(self, after: int) -> None:
        """Until more than ``after`` rounds are done."""
        async with self._round_done:
            await self._round_done.wait_for(lambda: self.rounds > after)

    async def _finish_round(self) -> None:
        async with self._round_done:
            self.rounds += 1
            self._round_done.notify_all()

    async def _run(self) -> None:
        await self._warm_busiest()
        await self._finish_round()
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Invalidations arriving meanwhile gather in _pending for the next round.
            tenants, self._pending = self._pending, set()
            for tenant_id in tenants:
                await self._warm_hot_queries(tenant_id)
            await self._finish_round()

    async def _warm_busiest(self) -> None:
        limit = self._cache.warm_tenants
        if limit <= 0:
            return
        try:
            async with self._database.transaction(None) as conn:
                slugs = await repository.busiest_tenant_slugs(conn, limit)
        except SQLAlchemyError as exc:
            log.warning("cache_warm_skipped", error=type(exc).__name__)
            return
        for slug in slugs:
            await self._warm_week(slug)

    async def _warm_week(self, slug: str) -> None:
        """The profile, then the next days of each active service, for any professional."""
        status, body = await self.get(f"/api/v1/public/businesses/{slug}", b"")
        if status != 200:
            return
        try:
            profile = json.loads(body)
            zone = ZoneInfo(str(profile["timezone"]))
            services = [str(s["id"]) for s in profile.get("services", [])][:MAX_SERVICES]
        except (ValueError, KeyError, TypeError, ZoneInfoNotFoundError):
            return
        today = datetime.now(zone).date()
        last = today + timedelta(days=WARM_DAYS - 1)
        for service_id in services:
            query = urlencode(
                {"service_id": service_id, "date_from": today, "date_to": last}
            ).encode()
            await self.get(f"/api/v1/public/businesses/{slug}/availability", query)

    async def _warm_hot_queries(self, tenant_id: UUID) -> None:
        # Yesterday in UTC is "not the past" anywhere on Earth.
        not_before = datetime.now(UTC).date() - timedelta(days=1)
        for query in self._cache.hot_queries(tenant_id, not_before):
            await self.get(query.path, query.query_string)

    async def get(self, path: str, query_string: bytes) -> tuple[int, bytes]:
        """One GET through the whole app, as a visitor's would go (marked as warming). A
        failure is logged, not raised: warming is an optimisation and must go on."""
        self.requests += 1
        try:
            return await self._get(path, query_string)
        except Exception as exc:
            log.warning("cache_warm_failed", path=path, error=type(exc).__name__)
            return 500, b""

    async def _get(self, path: str, query_string: bytes) -> tuple[int, bytes]:
        done = asyncio.Event()
        status = 0
        body = bytearray()
        sent_request = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query_string,
            "root_path": "",
            "headers": [(b"host", b"localhost"), (b"accept", b"application/json")],
            "client": ("cache-warmer", 0),  # its own rate-limit key, no visitor's
            "server": ("localhost", 80),
            "state": {},
            WARM_SCOPE_KEY: True,
        }
        try:
            await self._app(scope, receive, send)
        finally:
            done.set()
        return status, bytes(body)


@asynccontextmanager
async def cache_warming(app: Any) -> AsyncIterator[Warmer | None]:
    """For the app lifespan: warm ``app.state.cache`` in the background while running."""
    cache = getattr(app.state, "cache", None)
    if not isinstance(cache, ResponseCache):
        yield None
        return
    warmer = Warmer(app, cache, app.state.database)
    await warmer.start()
    app.state.warmer = warmer
    try:
        yield warmer
    finally:
        await warmer.stop()
