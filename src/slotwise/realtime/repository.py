"""Every SQL statement of the live updates.

The listener and the relay hold dedicated sessions (``LISTEN`` and a session advisory lock
outlive a transaction), so these take a raw asyncpg connection as the app role; neither
reads a tenant's rows: the relay goes through the SECURITY DEFINER ``live_changes_relay``
(migration 0004)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import asyncpg

from slotwise.realtime.changes import CHANNEL

# pg_try_advisory_lock key of "the relay of this database": one holder per deployment.
RELAY_LOCK_KEY = 0x510_7715_E11F

Mode = Literal["notify", "outbox", "off"]

NotificationCallback = Callable[[Any, int, str, str], None]


async def connect(dsn: str, application_name: str) -> asyncpg.Connection:
    """A dedicated session, named so operators (and tests) can find it."""
    return await asyncpg.connect(
        dsn,
        timeout=10,
        statement_cache_size=0,
        server_settings={"application_name": application_name},
    )


async def listen(conn: asyncpg.Connection, callback: NotificationCallback) -> None:
    await conn.add_listener(CHANNEL, callback)


async def ping(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT 1")


async def try_relay_lock(conn: asyncpg.Connection) -> bool:
    """Become the deployment's relay, if no other session is (released with the session)."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY))


async def relay_batch(conn: asyncpg.Connection, limit: int) -> int:
    """Publish and delete up to ``limit`` pending changes in one transaction; how many."""
    return int(await conn.fetchval("SELECT live_changes_relay($1)", limit))


async def apply_mode(owner_conn: asyncpg.Connection, mode: Mode) -> None:
    """Make ``mode`` the database's publication mode for new sessions (as the owner)."""
    if mode not in ("notify", "outbox", "off"):
        raise ValueError(f"unknown live updates mode {mode!r}")
    await owner_conn.execute(
        "DO $$ BEGIN EXECUTE format("
        "'ALTER DATABASE %I SET slotwise.live_updates_mode = %L', current_database(), "
        f"'{mode}'); END $$"
    )


async def effective_mode(conn: asyncpg.Connection) -> str:
    """The mode new sessions of the app role write with ('' means the default)."""
    return str(await conn.fetchval("SELECT current_setting('slotwise.live_updates_mode', true)"))
