"""Find the database: the embedded server (default) or ``DATABASE_URL``; make sure the
application database exists and is migrated."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import asyncpg

from slotwise.db import embedded, migrate
from slotwise.db.urls import DatabaseUrls, database_name, to_libpq, with_database, with_user
from slotwise.errors import ConfigurationError
from slotwise.settings import Settings

EMBEDDED_DATABASE = "slotwise"


@dataclass
class DatabaseServer:
    urls: DatabaseUrls
    handle: Any = None
    """The embedded server handle; keeping a reference keeps the server up."""


async def _ensure_database(owner_url: str) -> None:
    """Create the database named in ``owner_url`` if it is missing (embedded server only)."""
    name = database_name(owner_url)
    conn = await asyncpg.connect(to_libpq(with_database(owner_url, "postgres")))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def check_reachable(url: str) -> None:
    try:
        async with asyncio.timeout(5):
            conn = await asyncpg.connect(to_libpq(url))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(f"cannot connect to the database: {reason}") from exc
    await conn.close()


def locate(settings: Settings) -> DatabaseServer:
    """The server and URLs in use; starts the embedded server when there is no URL."""
    password = settings.app_db_password.get_secret_value() if settings.app_db_password else None
    if settings.database_url:
        owner = settings.database_url
        return DatabaseServer(
            DatabaseUrls(owner=owner, app=with_user(owner, settings.app_db_role, password))
        )
    handle = embedded.start_embedded(settings.data_dir)
    owner = with_database(handle.get_uri(), EMBEDDED_DATABASE)
    return DatabaseServer(
        DatabaseUrls(owner=owner, app=with_user(owner, settings.app_db_role, None)), handle
    )


async def prepare(settings: Settings, server: DatabaseServer) -> None:
    """Create (embedded) and migrate the database; fail with one clear line."""
    if server.handle is not None:
        await _ensure_database(server.urls.owner)
    else:
        await check_reachable(server.urls.owner)
    password = settings.app_db_password.get_secret_value() if settings.app_db_password else None
    await migrate.upgrade(server.urls.owner, app_password=password)
