"""Queries of the tenancy domain."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def tenant_id_for_slug(conn: AsyncConnection, slug: str) -> UUID | None:
    """The one cross-tenant read of public paths (a SECURITY DEFINER function)."""
    result = await conn.execute(text("SELECT tenant_id_for_slug(:slug)"), {"slug": slug})
    value = result.scalar_one_or_none()
    return value if isinstance(value, UUID) else None
