"""Migrations upgrade from empty, are idempotent, and downgrade cleanly."""

from __future__ import annotations

import asyncpg

from slotwise.db import migrate
from slotwise.db.urls import DatabaseUrls, to_libpq


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(to_libpq(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_is_idempotent(database_urls: DatabaseUrls) -> None:
    before = await _tables(database_urls.owner)
    await migrate.upgrade(database_urls.owner)
    assert await _tables(database_urls.owner) == before
    assert "appointments" in before


async def test_downgrade_to_base_and_upgrade_again(database_urls: DatabaseUrls) -> None:
    await migrate.downgrade(database_urls.owner, "base")
    assert await _tables(database_urls.owner) <= {"alembic_version"}
    await migrate.upgrade(database_urls.owner)
    tables = await _tables(database_urls.owner)
    assert {"tenants", "appointments", "customers"} <= tables
    conn = await asyncpg.connect(to_libpq(database_urls.owner))
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == (
            migrate.head_revision()
        )
    finally:
        await conn.close()
