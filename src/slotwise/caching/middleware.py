"""Caching as a pure ASGI middleware, so the endpoints stay unaware of it.

Public GETs of the profile and of availability listings are answered from the cache when
their entry is current (no SQL at all: the slug is resolved from the resolver's memory),
with a strong ``ETag`` and ``Cache-Control: public, max-age, stale-while-revalidate``, and
``304`` on a matching ``If-None-Match``. Concurrent misses of one key run the endpoint once.
Hits are rate limited like the endpoint itself (misses are counted by the endpoint).

Writes pass through untouched; a successful one tells the cache which tenant (slug in the
path, or the staff token) and which appointment it changed, before its answer is sent, so
the caller's next read cannot get a stale entry."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise.auth.deps import SESSION_COOKIE
from slotwise.auth.tokens import read_token_claims
from slotwise.caching.cache import CacheKey, Entry, HotQuery, ResponseCache
from slotwise.caching.generations import availability_dependencies, profile_dependencies
from slotwise.caching.keys import (
    CREATES_APPOINTMENT,
    CachedRequest,
    appointment_of_write,
    cached_request,
    slug_of_write,
)
from slotwise.core.problems import problem_response, request_locale
from slotwise.core.ratelimit import get_rate_limiter, public_rate_limit
from slotwise.errors import NotFound, RateLimited, Unauthorized
from slotwise.settings import Settings
from slotwise.tenancy.service import TenantResolver

PROFILE_CACHE_CONTROL = b"public, max-age=60, stale-while-revalidate=600"
AVAILABILITY_CACHE_CONTROL = b"public, max-age=5, stale-while-revalidate=30"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Headers of the endpoint's answer that are not part of what is cached.
_NOT_CACHED = frozenset(
    {b"content-length", b"etag", b"cache-control", b"date", b"server", b"x-request-id"}
)
_MAX_BODY = 4 * 1024 * 1024
_MAX_CREATED_BODY = 64 * 1024
WAIT_FOR_LEADER_SECONDS = 10.0

# Set in the scope of the cache's own warming requests: not counted as views or hits.
WARM_SCOPE_KEY = "slotwise.cache_warm"


@dataclass(slots=True)
class Captured:
    """An endpoint's answer, buffered."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


def _if_none_match(scope: Scope) -> list[bytes]:
    for name, value in scope.get("headers", ()):
        if name == b"if-none-match":
            return [tag.strip().removeprefix(b"W/") for tag in value.split(b",")]
    return []


def _cacheable(captured: Captured) -> bool:
    if captured.status != 200 or len(captured.body) > _MAX_BODY:
        return False
    return all(name.lower() != b"set-cookie" for name, _ in captured.headers)


def _state(scope: Scope) -> Any:
    app = scope.get("app")
    return getattr(app, "state", None)


class CacheMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = _state(scope)
        cache = getattr(state, "cache", None)
        if scope["type"] != "http" or not isinstance(cache, ResponseCache) or not cache.enabled:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "GET":
            request = cached_request(scope["path"], scope.get("query_string", b""))
            if request is not None:
                await self._read(cache, request, scope, receive, send)
                return
        elif method in WRITE_METHODS:
            await self._write(cache, scope, receive, send)
            return
        await self.app(scope, receive, send)

    # -- reads ---------------------------------------------------------------------------

    async def _tenant(self, scope: Scope, slug: str) -> UUID | None:
        state = _state(scope)
        resolver = cast(TenantResolver, state.tenants)
        try:
            return await resolver.resolve(state.database, slug)
        except (NotFound, SQLAlchemyError):
            return None  # the endpoint gives the answer (404, 503) itself

    async def _read(
        self,
        cache: ResponseCache,
        request: CachedRequest,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        tenant_id = await self._tenant(scope, request.slug)
        if tenant_id is None:
            await self.app(scope, receive, send)
            return
        warm = bool(scope.get(WARM_SCOPE_KEY))
        if not warm:
            cache.record_view(
                tenant_id,
                HotQuery(scope["path"], scope.get("query_string", b""), request.date_to),
            )
        key: CacheKey = (
            request.kind,
            tenant_id,
            request.service_id,
            request.professional_id,
            request.date_from,
            request.date_to,
        )
        if not cache.usable(tenant_id):
            cache.bypasses += 1
            await self._compute(cache, request, tenant_id, key, scope, receive, send, store=False)
            return
        entry = cache.lookup(key)
        if entry is None:
            leader = cache.inflight.get(key)
            if leader is not None:
                try:
                    async with asyncio.timeout(WAIT_FOR_LEADER_SECONDS):
                        entry = await asyncio.shield(leader)
                except TimeoutError:
                    entry = None
        if entry is not None:
            if not warm and await self._limited(scope, request.slug, send):
                return
            cache.hits += 1
            await self._send_entry(entry, scope, send, b"hit")
            return
        cache.misses += 1
        await self._compute(cache, request, tenant_id, key, scope, receive, send, store=True)

    async def _limited(self, scope: Scope, slug: str, send: Send) -> bool:
        """The endpoint's public rate limit, for answers it does not see (hits)."""
        request = Request({**scope, "path_params": {"slug": slug}})
        try:
            await public_rate_limit(request, get_rate_limiter(request))
        except RateLimited as exc:
            response = problem_response(exc, request_locale(request), scope["path"])
            await response(scope, _no_body, send)
            return True
        return False

    async def _compute(
        self,
        cache: ResponseCache,
        request: CachedRequest,
        tenant_id: UUID,
        key: CacheKey,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        store: bool,
    ) -> None:
        created = cache.generations.seq
        dependencies = (
            profile_dependencies(tenant_id)
            if request.kind == "profile"
            else availability_dependencies(tenant_id, request.professional_id, request.dates)
        )
        leader: asyncio.Future[Entry | None] | None = None
        if store and key not in cache.inflight:
            leader = asyncio.get_running_loop().create_future()
            cache.inflight[key] = leader
        captured = Captured()
        entry: Entry | None = None
        try:
            await self.app(scope, receive, captured.send)
            if _cacheable(captured):
                body = bytes(captured.body)
                entry = Entry(
                    created=created,
                    dependencies=dependencies,
                    expires=time.monotonic() + cache.ttl(request.kind),
                    headers=[(k, v) for k, v in captured.headers if k.lower() not in _NOT_CACHED],
                    body=body,
                    etag=_etag(body),
                    cache_control=PROFILE_CACHE_CONTROL
                    if request.kind == "profile"
                    else AVAILABILITY_CACHE_CONTROL,
                )
                if store and cache.usable(tenant_id):
                    cache.store(key, entry)
        finally:
            if leader is not None:
                cache.inflight.pop(key, None)
                leader.set_result(entry if entry is not None and cache.is_current(entry) else None)
        if entry is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": captured.status,
                    "headers": captured.headers,
                }
            )
            await send({"type": "http.response.body", "body": bytes(captured.body)})
            return
        await self._send_entry(entry, scope, send, b"miss" if store else b"bypass")

    async def _send_entry(self, entry: Entry, scope: Scope, send: Send, outcome: bytes) -> None:
        validators = [(b"etag", entry.etag), (b"cache-control", entry.cache_control)]
        tags = _if_none_match(scope)
        if entry.etag in tags or b"*" in tags:
            vary = [(k, v) for k, v in entry.headers if k.lower() == b"vary"]
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [*validators, *vary, (b"x-slotwise-cache", outcome)],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    *entry.headers,
                    *validators,
                    (b"content-length", str(len(entry.body)).encode()),
                    (b"x-slotwise-cache", outcome),
                ],
            }
        )
        await send({"type": "http.response.body", "body": entry.body})

    # -- writes --------------------------------------------------------------------------

    async def _write(
        self, cache: ResponseCache, scope: Scope, receive: Receive, send: Send
    ) -> None:
        path: str = scope["path"]
        if path.startswith("/api/v1/auth/"):
            await self.app(scope, receive, send)
            return
        since = cache.feed_seq
        status = 0
        created_body = bytearray()
        creates = CREATES_APPOINTMENT.search(path) is not None

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if creates and status == 201 and len(created_body) < _MAX_CREATED_BODY:
                    created_body.extend(message.get("body", b""))
                if not message.get("more_body", False) and 200 <= status < 400:
                    # Before the answer leaves: the caller's next read must see the write.
                    tenant_id = await self._tenant_of_write(scope)
                    appointment_id = appointment_of_write(path) or _created_id(created_body)
                    cache.note_write(tenant_id, appointment_id, since)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _tenant_of_write(self, scope: Scope) -> UUID | None:
        slug = slug_of_write(scope["path"])
        if slug is not None:
            return await self._tenant(scope, slug)
        token = _credentials(scope)
        if token is None:
            return None
        settings = cast(Settings, _state(scope).settings)
        try:
            return read_token_claims(settings, token)[1]
        except Unauthorized:
            return None


def _credentials(scope: Scope) -> str | None:
    request = Request(scope)
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(SESSION_COOKIE)


def _created_id(body: bytearray) -> UUID | None:
    if not body:
        return None
    try:
        value = json.loads(bytes(body)).get("id")
        return UUID(str(value)) if value is not None else None
    except (ValueError, AttributeError, TypeError):
        return None


async def _no_body() -> MutableMapping[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}
