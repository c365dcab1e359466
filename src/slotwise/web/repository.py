"""The web domain's own SQL: the tenant settings only pages need (where the booking page may
be embedded, the business's own language). Everything else the pages show comes from the
other domains' services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_PAGE_SETTINGS = text("SELECT embed_origins, locale FROM tenants WHERE id = current_tenant_id()")


@dataclass(frozen=True, slots=True)
class PageSettings:
    embed_origins: tuple[str, ...]
    locale: str


async def page_settings(conn: AsyncConnection) -> PageSettings:
    """The current tenant's page settings (RLS-scoped; defaults when it cannot be seen)."""
    row = (await conn.execute(_PAGE_SETTINGS)).first()
    if row is None:
        return PageSettings((), "en")
    origins = tuple(str(v) for v in row.embed_origins or ())
    return PageSettings(origins, str(row.locale))
