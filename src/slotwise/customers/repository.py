"""Every SQL statement of the customers domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]
_COLUMNS = "id, name, email, phone, notes, created_at"
_UPDATABLE = frozenset({"name", "email", "phone", "notes"})


async def tenant_timezone(conn: AsyncConnection, tenant_id: UUID) -> str | None:
    value = (
        await conn.execute(text("SELECT timezone FROM tenants WHERE id = :id"), {"id": tenant_id})
    ).scalar_one_or_none()
    return value if isinstance(value, str) else None


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_MATCHING = """
    FROM customers
    WHERE tenant_id = :tenant
      AND (CAST(:pattern AS text) IS NULL
           OR lower(name) LIKE :pattern ESCAPE '\\'
           OR email LIKE :pattern ESCAPE '\\'
           OR (CAST(:digits AS text) IS NOT NULL AND phone LIKE :digits ESCAPE '\\'))
"""
_SEARCH = text(
    f"SELECT {_COLUMNS} {_MATCHING} ORDER BY lower(name), id LIMIT :limit OFFSET :offset"
)
_COUNT = text(f"SELECT count(*) {_MATCHING}")


def _search_params(tenant_id: UUID, query: str | None) -> dict[str, Any]:
    digits = "".join(char for char in query or "" if char.isascii() and char.isdigit())
    return {
        "tenant": tenant_id,
        "pattern": _like(query.lower()) if query else None,
        "digits": _like(digits) if len(digits) >= 3 else None,
    }


async def search(
    conn: AsyncConnection, tenant_id: UUID, query: str | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    """A page of customers matching ``query`` (name, email or phone digits), by name."""
    params = _search_params(tenant_id, query)
    rows = await conn.execute(_SEARCH, {**params, "limit": limit, "offset": offset})
    items = [dict(row) for row in rows.mappings()]
    total = (await conn.execute(_COUNT, params)).scalar_one()
    return items, int(total)


async def get(conn: AsyncConnection, tenant_id: UUID, customer_id: UUID) -> Row | None:
    result = await conn.execute(
        text(f"SELECT {_COLUMNS} FROM customers WHERE tenant_id = :tenant AND id = :id"),  # noqa: S608
        {"tenant": tenant_id, "id": customer_id},
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None


async def insert(conn: AsyncConnection, tenant_id: UUID, values: Mapping[str, Any]) -> Row:
    result = await conn.execute(
        text(
            "INSERT INTO customers (tenant_id, name, email, phone, notes)"  # noqa: S608
            f" VALUES (:tenant, :name, :email, :phone, :notes) RETURNING {_COLUMNS}"
        ),
        {"tenant": tenant_id, **values},
    )
    return dict(result.mappings().one())


async def update(
    conn: AsyncConnection, tenant_id: UUID, customer_id: UUID, changes: Mapping[str, Any]
) -> Row | None:
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = :{column}" for column in changes) or "id = id"
    statement = (
        f"UPDATE customers SET {assignments} WHERE tenant_id = :tenant AND id = :id"  # noqa: S608
        f" RETURNING {_COLUMNS}"
    )
    result = await conn.execute(
        text(statement), {**changes, "tenant": tenant_id, "id": customer_id}
    )
    row = result.mappings().first()
    return dict(row) if row is not None else None
