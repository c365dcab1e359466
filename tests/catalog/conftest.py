"""A business with an owner, a manager and a staff member linked to its first professional."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import pytest

from slotwise.settings import Settings
from tests.factories import TenantRows, bearer, make_member, make_tenant


@dataclass
class Shop:
    rows: TenantRows
    owner: dict[str, str]
    manager: dict[str, str]
    staff: dict[str, str]

    @property
    def professional_id(self) -> str:
        return str(self.rows.professional_ids[0])

    @property
    def service_id(self) -> str:
        return str(self.rows.service_ids[0])

    async def count(self, conn: asyncpg.Connection, table: str) -> int:
        """How many rows of ``table`` this business has."""
        value = await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1",
            self.rows.tenant_id,
        )
        return int(value)


async def make_shop(conn: asyncpg.Connection, settings: Settings, **tenant: object) -> Shop:
    rows = await make_tenant(conn, professionals=2, **tenant)  # type: ignore[arg-type]
    headers = {}
    for role in ("owner", "manager", "staff"):
        professional = rows.professional_ids[0] if role == "staff" else None
        user_id, _ = await make_member(conn, rows.tenant_id, role, professional_id=professional)
        headers[role] = bearer(settings, user_id, rows.tenant_id)
    return Shop(rows, headers["owner"], headers["manager"], headers["staff"])


@pytest.fixture
async def shop(owner_conn: asyncpg.Connection, settings: Settings) -> Shop:
    return await make_shop(owner_conn, settings)


@pytest.fixture
async def rival(owner_conn: asyncpg.Connection, settings: Settings) -> Shop:
    """Another business, with a row in every table, that nobody else may see or touch."""
    return await make_shop(owner_conn, settings, with_rows_everywhere=True)
