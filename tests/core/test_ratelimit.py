"""Rate limits: 429 problems with Retry-After, per client IP (X-Forwarded-For only behind
trusted proxies), per business on public paths, and counters shared through Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from starlette.requests import Request

from slotwise.app import create_app
from slotwise.core import problems
from slotwise.core.ratelimit import PublicRateLimitDep, client_ip
from slotwise.db.database import Database
from tests.conftest import _test_settings

LOGIN = {"email": "nobody@example.com", "password": "not the password"}


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def _slotwise(database: Database, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_test_settings(**settings), database=database)
    async with app.router.lifespan_context(app), _client(app) as client:
        yield client


def _public_app(**settings: Any) -> FastAPI:
    """A bare app with one public route guarded by ``PublicRateLimitDep`` (the booking
    routes use the same dependency)."""
    app = FastAPI()
    app.state.settings = _test_settings(**settings)
    problems.install(app)

    @app.get("/api/v1/public/businesses/{slug}")
    async def profile(slug: str, _: PublicRateLimitDep) -> dict[str, str]:
        return {"slug": slug}

    return app


DAY = 86_400
"""The limits' window in these tests. Sliding-window counters weigh the last window's count
by how much of it still overlaps: a test straddling a window's end may be allowed one
request more. With day windows that can only happen in the second around midnight (UTC)."""


def _assert_rate_limited(response: httpx.Response, window_seconds: int) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= window_seconds


async def test_login_attempts_beyond_the_limit_get_429_with_retry_after(
    database: Database,
) -> None:
    async with _slotwise(database, rate_limit_login="3/day") as client:
        for _ in range(3):
            assert (await client.post("/api/v1/auth/login", json=LOGIN)).status_code == 401
        limited = await client.post("/api/v1/auth/login", json=LOGIN)
        _assert_rate_limited(limited, DAY)
        # Invalid bodies count too: the limit is checked before anything else.
        invalid = await client.post("/api/v1/auth/login", json={"email": 1})
        _assert_rate_limited(invalid, DAY)


async def test_forwarded_for_is_ignored_without_trusted_proxies(database: Database) -> None:
    async with _slotwise(database, rate_limit_login="2/day") as client:
        for index in range(2):
            headers = {"X-Forwarded-For": f"203.0.113.{index}"}
            assert (
                await client.post("/api/v1/auth/login", json=LOGIN, headers=headers)
            ).status_code == 401
        spoofed = await client.post(
            "/api/v1/auth/login", json=LOGIN, headers={"X-Forwarded-For": "203.0.113.99"}
        )
        _assert_rate_limited(spoofed, DAY)


async def test_clients_are_told_apart_by_forwarded_for_behind_a_trusted_proxy(
    database: Database,
) -> None:
    async with _slotwise(database, rate_limit_login="2/day", trusted_proxies=1) as client:
        first = {"X-Forwarded-For": "203.0.113.5"}
        for _ in range(2):
            assert (
                await client.post("/api/v1/auth/login", json=LOGIN, headers=first)
            ).status_code == 401
        _assert_rate_limited(
            await client.post("/api/v1/auth/login", json=LOGIN, headers=first), DAY
        )
        second = {"X-Forwarded-For": "203.0.113.6"}
        assert (
            await client.post("/api/v1/auth/login", json=LOGIN, headers=second)
        ).status_code == 401
        # A client prepending its own entries is still the address our proxy saw.
        prepended = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5"}
        _assert_rate_limited(
            await client.post("/api/v1/auth/login", json=LOGIN, headers=prepended), DAY
        )


def _request(peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 4321)})


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, ["198.51.100.7"], "10.0.0.1"),
        (1, ["198.51.100.7"], "198.51.100.7"),
        (1, ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
        (2, ["6.6.6.6, 198.51.100.7, 10.0.0.2"], "198.51.100.7"),
        (2, ["6.6.6.6", "198.51.100.7, 10.0.0.2"], "198.51.100.7"),
        (2, ["10.0.0.2"], "10.0.0.1"),
        (1, ["not-an-ip"], "10.0.0.1"),
        (1, [], "10.0.0.1"),
        (1, ["2001:db8::1"], "2001:db8::1"),
    ],
)
def test_client_ip_takes_the_nth_forwarded_entry_from_the_right(
    trusted: int, forwarded: list[str], expected: str
) -> None:
    assert client_ip(_request("10.0.0.1", forwarded), trusted) == expected


async def test_public_paths_are_limited_per_client_ip() -> None:
    app = _public_app(rate_limit_public="3/day", trusted_proxies=1)
    async with _client(app) as client:
        one = {"X-Forwarded-For": "203.0.113.1"}
        for index in range(3):
            response = await client.get(f"/api/v1/public/businesses/shop-{index}", headers=one)
            assert response.status_code == 200
        _assert_rate_limited(await client.get("/api/v1/public/businesses/shop-9", headers=one), DAY)
        other = {"X-Forwarded-For": "203.0.113.2"}
        assert (
            await client.get("/api/v1/public/businesses/shop-9", headers=other)
        ).status_code == 200


async def test_public_paths_are_limited_per_business() -> None:
    app = _public_app(rate_limit_tenant="3/day", trusted_proxies=1)
    async with _client(app) as client:
        for index in range(3):
            headers = {"X-Forwarded-For": f"203.0.113.{index}"}
            assert (
                await client.get("/api/v1/public/businesses/busy", headers=headers)
            ).status_code == 200
        limited = await client.get(
            "/api/v1/public/businesses/BUSY", headers={"X-Forwarded-For": "203.0.113.50"}
        )
        _assert_rate_limited(limited, DAY)
        calm = await client.get(
            "/api/v1/public/businesses/calm", headers={"X-Forwarded-For": "203.0.113.50"}
        )
        assert calm.status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private ``redis-server`` on a free port; the suite needs the binary (no skipping)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: install it (apt-get install redis-server)")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # blocks until the server says it is ready (or exits)
            if "Ready to accept connections" in line:
                break
        else:
            pytest.fail(f"redis-server exited with status {process.wait()}")
        url = f"redis://127.0.0.1:{port}/0"
        assert redis.Redis.from_url(url).ping()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_redis_storage_shares_counters_between_processes(
    database: Database, redis_url: str
) -> None:
    settings = {"rate_limit_login": "3/day", "redis_url": redis_url}
    redis.Redis.from_url(redis_url).flushdb()
    async with _slotwise(database, **settings) as first, _slotwise(database, **settings) as second:
        assert (await first.post("/api/v1/auth/login", json=LOGIN)).status_code == 401
        assert (await second.post("/api/v1/auth/login", json=LOGIN)).status_code == 401
        assert (await first.post("/api/v1/auth/login", json=LOGIN)).status_code == 401
        _assert_rate_limited(await second.post("/api/v1/auth/login", json=LOGIN), DAY)
        _assert_rate_limited(await first.post("/api/v1/auth/login", json=LOGIN), DAY)
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
    assert keys and all(key.startswith("slotwise-rl") for key in keys)


async def test_an_unreachable_redis_fails_open(database: Database) -> None:
    async with _slotwise(
        database, rate_limit_login="1/minute", redis_url=f"redis://127.0.0.1:{_free_port()}/0"
    ) as client:
        for _ in range(3):
            assert (await client.post("/api/v1/auth/login", json=LOGIN)).status_code == 401
