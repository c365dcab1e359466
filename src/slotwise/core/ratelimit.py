"""Rate limits (the ``limits`` library) for public and login endpoints.

Sliding window counters: two counters per key (this window's and the last one's, weighted
by how much of the last one still overlaps), so a key costs O(1) memory and time whatever
its limit. A moving window keeps every hit, and the in-memory storage then sweeps every
key's list with a thread hop per key after each hit: CPU that grows with the number of
visitors.

Counters live in process memory by default; with ``settings.redis_url`` they live in Redis,
so every app process of a deployment shares them. A Redis outage fails open (logged): a
booking page that cannot count is better than one that cannot book.

The client is the socket peer, or — behind ``settings.trusted_proxies`` = N proxies — the
Nth ``X-Forwarded-For`` entry from the right (the address our outermost proxy saw). Public
endpoints are also limited per business (the ``slug`` path parameter), so one busy client
network cannot starve a business and one business cannot starve the deployment."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import structlog
from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from slotwise.errors import RateLimited
from slotwise.settings import Settings

log = structlog.get_logger(__name__)

Scope = Literal["public", "tenant", "login", "signup", "password"]
_MAX_SLUG_KEY = 40


def redis_storage_uri(redis_url: str) -> str:
    """``redis://…`` as the ``limits`` async scheme (``async+redis://…``)."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


def client_ip(request: Request, trusted_proxies: int) -> str:
    """The socket peer, or the Nth-from-right ``X-Forwarded-For`` entry when N proxies are
    trusted. Entries left of those our proxies appended are client-controlled: ignored."""
    peer = request.client.host if request.client else "unknown"
    if trusted_proxies <= 0:
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if len(entries) < trusted_proxies:
        return peer
    candidate = entries[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


class RateLimiter:
    """One per app: the parsed limits and the shared storage."""

    def __init__(self, settings: Settings) -> None:
        self.trusted_proxies = settings.trusted_proxies
        self.storage: Storage
        if settings.redis_url:
            self.storage = RedisStorage(
                redis_storage_uri(settings.redis_url),
                implementation="redispy",
                key_prefix="slotwise-rl",
                wrap_exceptions=True,
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
        else:
            self.storage = MemoryStorage()
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        login = parse(settings.rate_limit_login)
        self.items: dict[Scope, RateLimitItem] = {
            "public": parse(settings.rate_limit_public),
            "tenant": parse(settings.rate_limit_tenant),
            "login": login,
            "signup": login,
            "password": login,
        }

    async def hit(self, scope: Scope, key: str) -> None:
        """Count one request of ``key``; ``RateLimited`` with ``Retry-After`` when over."""
        item = self.items[scope]
        try:
            if await self.strategy.hit(item, scope, key):
                return
            stats = await self.strategy.get_window_stats(item, scope, key)
        except StorageError as exc:
            log.warning("rate_limit_storage_unavailable", error=str(exc.storage_error))
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(headers={"Retry-After": str(retry_after)})


def get_rate_limiter(request: Request) -> RateLimiter:
    """The app's limiter, built from its settings on first use."""
    state = request.app.state
    limiter = getattr(state, "rate_limiter", None)
    if not isinstance(limiter, RateLimiter):
        limiter = RateLimiter(state.settings)
        state.rate_limiter = limiter
    return limiter


async def _rate_limiter_dependency(request: Request) -> RateLimiter:
    """Async so FastAPI does not run it in the thread pool."""
    return get_rate_limiter(request)


RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter_dependency)]


async def public_rate_limit(request: Request, limiter: RateLimiterDep) -> None:
    """Public endpoints: per client IP, then per business when the path names a ``slug``."""
    await limiter.hit("public", client_ip(request, limiter.trusted_proxies))
    slug = request.path_params.get("slug")
    if isinstance(slug, str) and slug:
        await limiter.hit("tenant", slug.lower()[:_MAX_SLUG_KEY])


def per_ip_limit(scope: Scope) -> Callable[[Request, RateLimiter], Awaitable[None]]:
    """A dependency counting requests per client IP under ``scope``'s limit."""

    async def dependency(request: Request, limiter: RateLimiterDep) -> None:
        await limiter.hit(scope, client_ip(request, limiter.trusted_proxies))

    return dependency


PublicRateLimitDep = Annotated[None, Depends(public_rate_limit)]
LoginRateLimitDep = Annotated[None, Depends(per_ip_limit("login"))]
SignupRateLimitDep = Annotated[None, Depends(per_ip_limit("signup"))]
PasswordRateLimitDep = Annotated[None, Depends(per_ip_limit("password"))]
