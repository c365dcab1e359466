"""Test fixtures on a real PostgreSQL.

The server is ``DATABASE_URL`` when given, else the embedded one (data under
``.slotwise-test/``, fsync off). Migrations run once per session into a template database;
each test that asks for ``database`` gets its own database cloned from it (fast with
``STRATEGY FILE_COPY``), so tests never see each other's rows."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from slotwise.app import create_app
from slotwise.db import migrate
from slotwise.db.database import Database
from slotwise.db.urls import DatabaseUrls, to_libpq, with_database, with_user
from slotwise.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA_DIR = Path(os.environ.get("SLOTWISE_TEST_DATA_DIR", ROOT / ".slotwise-test"))
_counter = itertools.count()
_PREFIX = f"sw_{os.getpid()}"


def _test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": "test-secret-key-with-enough-length-0123456789",
        "log_level": "WARNING",
        "data_dir": TEST_DATA_DIR,
        "rate_limit_public": "100000/minute",
        "rate_limit_tenant": "100000/minute",
        "rate_limit_login": "100000/minute",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Owner URL (database ``postgres``) of the server the suite runs on."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    from slotwise.db.embedded import start_embedded

    handle = start_embedded(TEST_DATA_DIR)
    url = handle.get_uri()

    async def tune() -> None:
        conn = await asyncpg.connect(to_libpq(url))
        try:
            for setting in ("fsync", "full_page_writes", "synchronous_commit"):
                await conn.execute(f"ALTER SYSTEM SET {setting} = off")
            # Concurrency tests of several suites at once; applies from the next start.
            await conn.execute("ALTER SYSTEM SET max_connections = 500")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    asyncio.run(tune())
    yield url
    # ``handle`` stops the server at exit when this is the last process using it.
    del handle


async def _admin(server_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(to_libpq(with_database(server_url, "postgres")))


@pytest.fixture(scope="session")
async def template_db(server_url: str) -> AsyncIterator[str]:
    """A database migrated to head, cloned by every test."""
    name = f"{_PREFIX}_tpl"
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await migrate.upgrade(with_database(server_url, name))
    yield name
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_urls(server_url: str, template_db: str) -> AsyncIterator[DatabaseUrls]:
    """A fresh migrated database for this test: owner and app-role URLs."""
    name = f"{_PREFIX}_{next(_counter)}"
    admin = await _admin(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}" STRATEGY FILE_COPY')
    finally:
        await admin.close()
    owner = with_database(server_url, name)
    yield DatabaseUrls(owner=owner, app=with_user(owner, "slotwise_app"))
    admin = await _admin(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def owner_conn(database_urls: DatabaseUrls) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the schema owner: for arranging data and inspecting the catalog."""
    conn = await asyncpg.connect(to_libpq(database_urls.owner))
    yield conn
    await conn.close()


@pytest.fixture
async def app_conn(database_urls: DatabaseUrls) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the app role: for trying to break tenant isolation."""
    conn = await asyncpg.connect(to_libpq(database_urls.app))
    yield conn
    await conn.close()


@pytest.fixture
async def database(database_urls: DatabaseUrls) -> AsyncIterator[Database]:
    db = Database(database_urls.app, pool_size=10, max_overflow=30)
    yield db
    await db.dispose()


@pytest.fixture
def settings() -> Settings:
    return _test_settings()


@pytest.fixture
async def app(settings: Settings, database: Database) -> AsyncIterator[Any]:
    application = create_app(settings, database=database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
