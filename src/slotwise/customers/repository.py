"""Every SQL statement of the customers domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]
_UPDATABLE = frozenset({"name", "email", "phone", "notes"})

_FIND_OR_CREATE = text(
    """
    INSERT INTO customers (tenant_id, name, email, phone)
    VALUES (:tenant, :name, :email, :phone)
    ON CONFLICT (tenant_id, email) WHERE email IS NOT NULL
    DO UPDATE SET name = EXCLUDED.name, phone = COALESCE(customers.phone, EXCLUDED.phone)
    RETURNING id
    """
)


async def find_or_create(
    conn: AsyncConnection, tenant_id: UUID, name: str, email: str | None, phone: str | None
) -> UUID:
    """One statement: the customer with that email (renamed, phone filled in if missing),
    or a new one. Without an email there is nothing to match: always a new row."""
    value = (
        await conn.execute(
            _FIND_OR_CREATE, {"tenant": tenant_id, "name": name, "email": email, "phone": phone}
        )
    ).scalar_one()
    assert isinstance(value, UUID)
    return value


async def tenant_timezone(conn: AsyncConnection, tenant_id: UUID) -> str | None:
    value = (
        await conn.execute(text("SELECT timezone FROM tenants WHERE id = :id"), {"id": tenant_id})
    ).scalar_one_or_none()
    return value if isinstance(value, str) else None


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_SEARCH = text(
    """
    SELECT id, name, email, phone, notes, created_at FROM customers
    WHERE tenant_id = :tenant
      AND (CAST(:pattern AS text) IS NULL
           OR lower(name) LIKE :pattern ESCAPE '\\'
           OR email LIKE :pattern ESCAPE '\\'
           OR (CAST(:digits AS text) IS NOT NULL AND phone LIKE :digits ESCAPE '\\'))
    ORDER BY lower(name), id
    LIMIT :limit OFFSET :offset
    """
)
_COUNT = text(
    """
    SELECT count(*) FROM customers
    WHERE tenant_id = :tenant
      AND (CAST(:pattern AS text) IS NULL
           OR lower(name) LIKE :pattern ESCAPE '\\'
           OR email LIKE :pattern ESCAPE '\\'
           OR (CAST(:digits AS text) IS NOT NULL AND phone LIKE :digits ESCAPE '\\'))
    """
)


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
    row = (
        (
            await conn.execute(
                text(
                    "SELECT id, name, email, phone, notes, created_at FROM customers"
                    " WHERE tenant_id = :tenant AND id = :id"
                ),
                {"tenant": tenant_id, "id": customer_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


async def insert(conn: AsyncConnection, tenant_id: UUID, values: Mapping[str, Any]) -> Row:
    row = (
        (
            await conn.execute(
                text(
                    "INSERT INTO customers (tenant_id, name, email, phone, notes)"
                    " VALUES (:tenant, :name, :email, :phone, :notes)"
                    " RETURNING id, name, email, phone, notes, created_at"
                ),
                {"tenant": tenant_id, **values},
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def update(
    conn: AsyncConnection, tenant_id: UUID, customer_id: UUID, changes: Mapping[str, Any]
) -> Row | None:
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = :{column}" for column in changes) or "id = id"
    statement = (
        f"UPDATE customers SET {assignments} WHERE tenant_id = :tenant AND id = :id"  # noqa: S608
        " RETURNING id, name, email, phone, notes, created_at"
    )
    row = (
        (await conn.execute(text(statement), {**changes, "tenant": tenant_id, "id": customer_id}))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None
