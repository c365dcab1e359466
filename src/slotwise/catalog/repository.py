"""Every SQL statement of the catalog. Each names ``tenant_id`` explicitly (it leads every
key, so the planner uses the primary keys) on top of row level security."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

Row = dict[str, Any]


def _rows(result: Any) -> list[Row]:
    return [dict(row) for row in result.mappings()]


def _one(result: Any) -> Row | None:
    row = result.mappings().first()
    return dict(row) if row is not None else None


def _inserted(result: Any) -> Row:
    return dict(result.mappings().one())


async def lock(conn: AsyncConnection, *parts: object) -> None:
    """A transaction-level advisory lock on ``parts`` (e.g. tenant + professional): whole
    replacements of the same rows run one after the other, never interleaved."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": ":".join(str(part) for part in parts)},
    )


# -- rows by id ------------------------------------------------------------------------

_SERVICE_COLUMNS = (
    "id, name, description, duration_minutes, buffer_before_minutes, buffer_after_minutes,"
    " price_minor, currency, display_order, active, created_at"
)
_CLOSURE_COLUMNS = "id, date, reason"
_TIME_OFF_COLUMNS = "id, professional_id, starts_at AS start, ends_at AS end, reason"

# Identifiers of the dynamic statements: code constants, checked, never client text.
# Per table: the columns an update may set, and the columns a row is read with.
_TABLES: dict[str, tuple[frozenset[str], str]] = {
    "services": (
        frozenset(
            {
                "name", "description", "duration_minutes", "buffer_before_minutes",
                "buffer_after_minutes", "price_minor", "currency", "display_order", "active",
            }
        ),
        _SERVICE_COLUMNS,
    ),
    "professionals": (frozenset({"name", "email", "bio", "display_order", "active"}), "id"),
    "closures": (frozenset({"date", "reason"}), _CLOSURE_COLUMNS),
    "time_off": (frozenset({"starts_at", "ends_at", "reason"}), _TIME_OFF_COLUMNS),
}  # fmt: skip


async def get_row(conn: AsyncConnection, table: str, tenant_id: UUID, row_id: UUID) -> Row | None:
    _, columns = _TABLES[table]
    return _one(
        await conn.execute(
            text(f"SELECT {columns} FROM {table} WHERE tenant_id = :tenant AND id = :id"),  # noqa: S608
            {"tenant": tenant_id, "id": row_id},
        )
    )


async def update_row(
    conn: AsyncConnection,
    table: str,
    tenant_id: UUID,
    row_id: UUID,
    changes: Mapping[str, Any],
) -> Row | None:
    """``UPDATE table SET <changes>`` of one row, returning its readable columns."""
    allowed, columns = _TABLES[table]
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = :{column}" for column in changes) or "id = id"
    statement = (
        f"UPDATE {table} SET {assignments} WHERE tenant_id = :tenant AND id = :row_id"  # noqa: S608
        f" RETURNING {columns}"
    )
    return _one(
        await conn.execute(text(statement), {**changes, "tenant": tenant_id, "row_id": row_id})
    )


async def delete_row(conn: AsyncConnection, table: str, tenant_id: UUID, row_id: UUID) -> bool:
    if table not in _TABLES:
        raise ValueError(f"not deletable: {table}")
    result = await conn.execute(
        text(f"DELETE FROM {table} WHERE tenant_id = :tenant AND id = :id"),  # noqa: S608
        {"tenant": tenant_id, "id": row_id},
    )
    return bool(result.rowcount)


# -- services ---------------------------------------------------------------------------


async def list_services(conn: AsyncConnection, tenant_id: UUID, active: bool | None) -> list[Row]:
    return _rows(
        await conn.execute(
            text(
                f"SELECT {_SERVICE_COLUMNS} FROM services WHERE tenant_id = :tenant"  # noqa: S608
                " AND (CAST(:active AS boolean) IS NULL OR active = :active)"
                " ORDER BY display_order, lower(name), id"
            ),
            {"tenant": tenant_id, "active": active},
        )
    )


async def insert_service(conn: AsyncConnection, tenant_id: UUID, values: Mapping[str, Any]) -> Row:
    """The currency defaults to the business's."""
    result = await conn.execute(
        text(
            "INSERT INTO services (tenant_id, id, name, description, duration_minutes,"  # noqa: S608
            " buffer_before_minutes, buffer_after_minutes, price_minor, currency, display_order,"
            " active) VALUES (:tenant, gen_random_uuid(), :name, :description, :duration_minutes,"
            " :buffer_before_minutes, :buffer_after_minutes, :price_minor,"
            " COALESCE(:currency, (SELECT currency FROM tenants WHERE id = :tenant)),"
            f" :display_order, :active) RETURNING {_SERVICE_COLUMNS}"
        ),
        {"tenant": tenant_id, **values},
    )
    return _inserted(result)


async def existing_service_ids(
    conn: AsyncConnection, tenant_id: UUID, service_ids: Sequence[UUID]
) -> set[UUID]:
    result = await conn.execute(
        text(
            "SELECT id FROM services WHERE tenant_id = :tenant AND id = ANY(CAST(:ids AS uuid[]))"
        ),
        {"tenant": tenant_id, "ids": list(service_ids)},
    )
    return {row[0] for row in result}


# -- professionals ----------------------------------------------------------------------

_PROFESSIONAL = """
    SELECT p.id, p.name, p.email, p.bio, p.display_order, p.active, p.created_at,
        COALESCE((SELECT array_agg(o.service_id ORDER BY o.service_id) FROM offerings o
                  WHERE o.tenant_id = p.tenant_id AND o.professional_id = p.id),
                 '{}') AS service_ids,
        COALESCE((SELECT json_agg(json_build_array(h.weekday, h.start_minute, h.end_minute)
                                  ORDER BY h.weekday, h.start_minute)
                  FROM professional_hours h
                  WHERE h.tenant_id = p.tenant_id AND h.professional_id = p.id),
                 '[]') AS hours,
        COALESCE((SELECT json_agg(json_build_array(b.weekday, b.start_minute, b.end_minute,
                                                   b.label)
                                  ORDER BY b.weekday, b.start_minute)
                  FROM breaks b WHERE b.tenant_id = p.tenant_id AND b.professional_id = p.id),
                 '[]') AS breaks
    FROM professionals p
    WHERE p.tenant_id = :tenant
"""


def _decode(row: Row) -> Row:
    for key in ("hours", "breaks"):
        if isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


async def list_professionals(
    conn: AsyncConnection, tenant_id: UUID, active: bool | None
) -> list[Row]:
    rows = _rows(
        await conn.execute(
            text(
                _PROFESSIONAL + " AND (CAST(:active AS boolean) IS NULL OR p.active = :active)"
                " ORDER BY p.display_order, lower(p.name), p.id"
            ),
            {"tenant": tenant_id, "active": active},
        )
    )
    return [_decode(row) for row in rows]


async def get_professional(
    conn: AsyncConnection, tenant_id: UUID, professional_id: UUID
) -> Row | None:
    row = _one(
        await conn.execute(
            text(_PROFESSIONAL + " AND p.id = :id"), {"tenant": tenant_id, "id": professional_id}
        )
    )
    return _decode(row) if row is not None else None


async def professional_exists(
    conn: AsyncConnection, tenant_id: UUID, professional_id: UUID
) -> bool:
    result = await conn.execute(
        text("SELECT 1 FROM professionals WHERE tenant_id = :tenant AND id = :id"),
        {"tenant": tenant_id, "id": professional_id},
    )
    return result.first() is not None


async def insert_professional(
    conn: AsyncConnection, tenant_id: UUID, values: Mapping[str, Any]
) -> UUID:
    result = await conn.execute(
        text(
            "INSERT INTO professionals (tenant_id, id, name, email, bio, display_order, active)"
            " VALUES (:tenant, gen_random_uuid(), :name, :email, :bio, :display_order, :active)"
            " RETURNING id"
        ),
        {"tenant": tenant_id, **values},
    )
    value = result.scalar_one()
    assert isinstance(value, UUID)
    return value


async def replace_offerings(
    conn: AsyncConnection, tenant_id: UUID, professional_id: UUID, service_ids: Sequence[UUID]
) -> None:
    await conn.execute(
        text("DELETE FROM offerings WHERE tenant_id = :tenant AND professional_id = :professional"),
        {"tenant": tenant_id, "professional": professional_id},
    )
    await conn.execute(
        text(
            "INSERT INTO offerings (tenant_id, professional_id, service_id)"
            " SELECT :tenant, :professional, s FROM unnest(CAST(:ids AS uuid[])) AS s"
        ),
        {"tenant": tenant_id, "professional": professional_id, "ids": list(service_ids)},
    )


async def offered_service_ids(
    conn: AsyncConnection, tenant_id: UUID, professional_id: UUID
) -> list[UUID]:
    result = await conn.execute(
        text(
            "SELECT service_id FROM offerings WHERE tenant_id = :tenant"
            " AND professional_id = :professional ORDER BY service_id"
        ),
        {"tenant": tenant_id, "professional": professional_id},
    )
    return [row[0] for row in result]


# -- weekly hours and breaks ------------------------------------------------------------


def _unzip(intervals: Sequence[tuple[int, int, int]]) -> dict[str, list[int]]:
    return {
        "weekdays": [weekday for weekday, _, _ in intervals],
        "starts": [start for _, start, _ in intervals],
        "ends": [end for _, _, end in intervals],
    }


async def replace_hours(
    conn: AsyncConnection,
    tenant_id: UUID,
    professional_id: UUID | None,
    intervals: Sequence[tuple[int, int, int]],
) -> None:
    """The business's weekly hours (``professional_id`` None) or one professional's own."""
    params: dict[str, Any] = {"tenant": tenant_id}
    if professional_id is None:
        delete = "DELETE FROM business_hours WHERE tenant_id = :tenant"
        insert = (
            "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
            " SELECT :tenant, w, s, e"
        )
    else:
        params["professional"] = professional_id
        delete = (
            "DELETE FROM professional_hours WHERE tenant_id = :tenant"
            " AND professional_id = :professional"
        )
        insert = (
            "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
            " end_minute) SELECT :tenant, :professional, w, s, e"
        )
    await conn.execute(text(delete), params)
    await conn.execute(
        text(
            insert + " FROM unnest(CAST(:weekdays AS smallint[]), CAST(:starts AS smallint[]),"
            " CAST(:ends AS smallint[])) AS t(w, s, e)"
        ),
        {**params, **_unzip(intervals)},
    )


async def business_hours(conn: AsyncConnection, tenant_id: UUID) -> list[tuple[int, int, int]]:
    result = await conn.execute(
        text(
            "SELECT weekday, start_minute, end_minute FROM business_hours"
            " WHERE tenant_id = :tenant ORDER BY weekday, start_minute"
        ),
        {"tenant": tenant_id},
    )
    return [(row[0], row[1], row[2]) for row in result]


async def replace_breaks(
    conn: AsyncConnection,
    tenant_id: UUID,
    professional_id: UUID | None,
    breaks: Sequence[tuple[int, int, int, str]],
) -> None:
    """The business-wide breaks (``professional_id`` None) or one professional's."""
    params = {"tenant": tenant_id, "professional": professional_id}
    await conn.execute(
        text(
            "DELETE FROM breaks WHERE tenant_id = :tenant"
            " AND professional_id IS NOT DISTINCT FROM CAST(:professional AS uuid)"
        ),
        params,
    )
    await conn.execute(
        text(
            "INSERT INTO breaks (tenant_id, professional_id, weekday, start_minute, end_minute,"
            " label) SELECT :tenant, CAST(:professional AS uuid), w, s, e, l"
            " FROM unnest(CAST(:weekdays AS smallint[]), CAST(:starts AS smallint[]),"
            " CAST(:ends AS smallint[]), CAST(:labels AS text[])) AS t(w, s, e, l)"
        ),
        {
            **params,
            **_unzip([(w, s, e) for w, s, e, _ in breaks]),
            "labels": [label for *_, label in breaks],
        },
    )


async def business_breaks(
    conn: AsyncConnection, tenant_id: UUID
) -> list[tuple[int, int, int, str]]:
    result = await conn.execute(
        text(
            "SELECT weekday, start_minute, end_minute, label FROM breaks"
            " WHERE tenant_id = :tenant AND professional_id IS NULL"
            " ORDER BY weekday, start_minute"
        ),
        {"tenant": tenant_id},
    )
    return [(row[0], row[1], row[2], row[3]) for row in result]


# -- closures and special hours ---------------------------------------------------------


async def list_closures(
    conn: AsyncConnection, tenant_id: UUID, date_from: date | None, date_to: date | None
) -> list[Row]:
    return _rows(
        await conn.execute(
            text(
                f"SELECT {_CLOSURE_COLUMNS} FROM closures WHERE tenant_id = :tenant"  # noqa: S608
                " AND (CAST(:date_from AS date) IS NULL OR date >= :date_from)"
                " AND (CAST(:date_to AS date) IS NULL OR date <= :date_to)"
                " ORDER BY date"
            ),
            {"tenant": tenant_id, "date_from": date_from, "date_to": date_to},
        )
    )


async def insert_closure(conn: AsyncConnection, tenant_id: UUID, day: date, reason: str) -> Row:
    return _inserted(
        await conn.execute(
            text(
                "INSERT INTO closures (tenant_id, date, reason) VALUES (:tenant, :date, :reason)"  # noqa: S608
                f" RETURNING {_CLOSURE_COLUMNS}"
            ),
            {"tenant": tenant_id, "date": day, "reason": reason},
        )
    )


async def list_special_hours(
    conn: AsyncConnection, tenant_id: UUID, date_from: date | None, date_to: date | None
) -> list[tuple[date, int, int]]:
    result = await conn.execute(
        text(
            "SELECT date, start_minute, end_minute FROM special_hours WHERE tenant_id = :tenant"
            " AND (CAST(:date_from AS date) IS NULL OR date >= :date_from)"
            " AND (CAST(:date_to AS date) IS NULL OR date <= :date_to)"
            " ORDER BY date, start_minute"
        ),
        {"tenant": tenant_id, "date_from": date_from, "date_to": date_to},
    )
    return [(row[0], row[1], row[2]) for row in result]


async def replace_special_hours(
    conn: AsyncConnection, tenant_id: UUID, day: date, intervals: Sequence[tuple[int, int]]
) -> None:
    await delete_special_hours(conn, tenant_id, day)
    await conn.execute(
        text(
            "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
            " SELECT :tenant, :date, s, e FROM unnest(CAST(:starts AS smallint[]),"
            " CAST(:ends AS smallint[])) AS t(s, e)"
        ),
        {
            "tenant": tenant_id,
            "date": day,
            "starts": [start for start, _ in intervals],
            "ends": [end for _, end in intervals],
        },
    )


async def delete_special_hours(conn: AsyncConnection, tenant_id: UUID, day: date) -> bool:
    result = await conn.execute(
        text("DELETE FROM special_hours WHERE tenant_id = :tenant AND date = :date"),
        {"tenant": tenant_id, "date": day},
    )
    return bool(result.rowcount)


# -- time off ---------------------------------------------------------------------------


async def list_time_off(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    professional_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> list[Row]:
    return _rows(
        await conn.execute(
            text(
                f"SELECT {_TIME_OFF_COLUMNS} FROM time_off WHERE tenant_id = :tenant"  # noqa: S608
                " AND (CAST(:professional AS uuid) IS NULL OR professional_id = :professional)"
                " AND (CAST(:start AS timestamptz) IS NULL OR ends_at > :start)"
                " AND (CAST(:end AS timestamptz) IS NULL OR starts_at < :end)"
                " ORDER BY starts_at, id LIMIT :limit OFFSET :offset"
            ),
            {
                "tenant": tenant_id,
                "professional": professional_id,
                "start": start,
                "end": end,
                "limit": limit,
                "offset": offset,
            },
        )
    )


async def insert_time_off(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    professional_id: UUID,
    start: datetime,
    end: datetime,
    reason: str,
) -> Row:
    return _inserted(
        await conn.execute(
            text(
                "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at, reason)"  # noqa: S608
                " VALUES (:tenant, :professional, :start, :end, :reason)"
                f" RETURNING {_TIME_OFF_COLUMNS}"
            ),
            {
                "tenant": tenant_id,
                "professional": professional_id,
                "start": start,
                "end": end,
                "reason": reason,
            },
        )
    )


# -- settings ---------------------------------------------------------------------------

_SETTINGS_COLUMNS = (
    "id, slug, name, timezone, locale, currency, address, phone, email, embed_origins,"
    " slot_step_minutes, min_notice_minutes, horizon_days, cancel_cutoff_minutes,"
    " auto_confirm, reminder_hours"
)
_SETTINGS_UPDATABLE = frozenset(_SETTINGS_COLUMNS.replace(" ", "").split(",")) - {"id", "slug"}


async def get_settings(conn: AsyncConnection, tenant_id: UUID) -> Row | None:
    return _one(
        await conn.execute(
            text(f"SELECT {_SETTINGS_COLUMNS} FROM tenants WHERE id = :tenant"),  # noqa: S608
            {"tenant": tenant_id},
        )
    )


async def update_settings(
    conn: AsyncConnection, tenant_id: UUID, changes: Mapping[str, Any]
) -> Row | None:
    unknown = set(changes) - _SETTINGS_UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = "".join(f"{column} = :{column}, " for column in changes)
    statement = (
        f"UPDATE tenants SET {assignments}updated_at = now() WHERE id = :tenant"  # noqa: S608
        f" RETURNING {_SETTINGS_COLUMNS}"
    )
    return _one(await conn.execute(text(statement), {**changes, "tenant": tenant_id}))
