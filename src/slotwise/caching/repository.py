"""Every SQL statement of the cache: one, for warming after a start."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def busiest_tenant_slugs(conn: AsyncConnection, limit: int) -> list[str]:
    """Slugs of the businesses with the most appointments in the coming week (a SECURITY
    DEFINER function of migration 0004: slugs only, which are public anyway)."""
    result = await conn.execute(text("SELECT live_busiest_tenants(:limit)"), {"limit": limit})
    return [str(slug) for slug in result.scalars()]
