"""Resolve a public business slug to its tenant, cached per process (slugs do not move)."""

from __future__ import annotations

from uuid import UUID

from slotwise.db.database import Database
from slotwise.errors import NotFound
from slotwise.tenancy import repository

_MAX_CACHE = 10_000


class TenantResolver:
    def __init__(self) -> None:
        self._cache: dict[str, UUID] = {}

    async def resolve(self, database: Database, slug: str) -> UUID:
        """The tenant id of ``slug``; ``NotFound`` for an unknown or malformed slug."""
        cached = self._cache.get(slug)
        if cached is not None:
            return cached
        if not (3 <= len(slug) <= 40) or not all(c.isalnum() or c == "-" for c in slug):
            raise NotFound()
        async with database.transaction(None) as conn:
            tenant_id = await repository.tenant_id_for_slug(conn, slug)
        if tenant_id is None:
            raise NotFound()
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[slug] = tenant_id
        return tenant_id

    def forget(self, slug: str) -> None:
        self._cache.pop(slug, None)
