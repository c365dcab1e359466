"""Test fixtures on a real PostgreSQL.

The server is ``DATABASE_URL`` when given, else the embedded one (data under
``.slotwise-test/``, fsync off). Migrations run once per session into a template database;
each test that asks for ``database`` gets its own database cloned from it (``STRATEGY
FILE_COPY``, one test ahead, see ``Clones``), so tests never see each other's rows."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

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
T = TypeVar("T")


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


class Clones:
    """Databases cloned from the template one test ahead: while a test runs, the next one's
    ``CREATE DATABASE`` (a checkpoint and a copy: a third of a second on a server with fsync
    on) runs in a thread of its own, and so do the drops. One admin connection there does
    everything, one statement at a time."""

    def __init__(self, server_url: str, template_db: str) -> None:
        self._server_url = server_url
        self._template_db = template_db
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="db-clones")
        self._thread.start()
        self._admin: asyncpg.Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._drops: list[concurrent.futures.Future[None]] = []
        self._next = self._submit(self._create())

    def _submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def _run(self, statement: str) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._admin is None:
                self._admin = await _admin(self._server_url)
            await self._admin.execute(statement)

    async def _create(self) -> str:
        name = f"{_PREFIX}_{next(_counter)}"
        await self._run(
            f'CREATE DATABASE "{name}" TEMPLATE "{self._template_db}" STRATEGY FILE_COPY'
        )
        return name

    async def take(self) -> str:
        """A fresh clone; the next one starts at once."""
        name = await asyncio.wrap_future(self._next)
        self._next = self._submit(self._create())
        return name

    def give_back(self, name: str) -> None:
        self._drops.append(
            self._submit(self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        )

    def close(self) -> None:
        """Drop the clone nobody took, wait for every drop (a failed one fails here), stop."""
        try:
            self.give_back(self._next.result(timeout=300))
            for drop in self._drops:
                drop.result(timeout=300)
        finally:
            if self._admin is not None:
                self._submit(self._admin.close()).result(timeout=60)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


@pytest.fixture(scope="session")
def clones(server_url: str, template_db: str) -> Iterator[Clones]:
    made = Clones(server_url, template_db)
    yield made
    made.close()


@pytest.fixture
async def database_urls(server_url: str, clones: Clones) -> AsyncIterator[DatabaseUrls]:
    """A fresh migrated database for this test: owner and app-role URLs."""
    name = await clones.take()
    owner = with_database(server_url, name)
    yield DatabaseUrls(owner=owner, app=with_user(owner, "slotwise_app"))
    clones.give_back(name)


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
