"""Arrangers shared by the tests: rows inserted as the schema owner (RLS does not apply)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg


@dataclass
class TenantRows:
    tenant_id: uuid.UUID
    slug: str
    professional_ids: list[uuid.UUID] = field(default_factory=list)
    service_ids: list[uuid.UUID] = field(default_factory=list)
    customer_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    appointment_id: uuid.UUID | None = None


async def make_tenant(
    conn: asyncpg.Connection,
    slug: str | None = None,
    *,
    timezone: str = "America/New_York",
    hours: tuple[int, int] = (9 * 60, 17 * 60),
    weekdays: range = range(7),
    professionals: int = 1,
    with_rows_everywhere: bool = False,
    **policy: Any,
) -> TenantRows:
    """A tenant with one 30-minute service offered by ``professionals`` professionals, open
    ``hours`` on ``weekdays``. ``with_rows_everywhere`` adds one row to every tenant table."""
    tenant_id = uuid.uuid4()
    slug = slug or f"t-{tenant_id.hex[:10]}"
    columns = ", ".join(["id", "slug", "name", "timezone", *policy])
    params = [tenant_id, slug, f"Business {slug}", timezone, *policy.values()]
    marks = ", ".join(f"${i}" for i in range(1, len(params) + 1))
    await conn.execute(f"INSERT INTO tenants ({columns}) VALUES ({marks})", *params)
    rows = TenantRows(tenant_id, slug)
    service_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, 'Cut', 30)",
        tenant_id,
        service_id,
    )
    rows.service_ids.append(service_id)
    for weekday in weekdays:
        await conn.execute(
            "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
            " VALUES ($1, $2, $3, $4)",
            tenant_id,
            weekday,
            hours[0],
            hours[1],
        )
    for index in range(professionals):
        professional_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO professionals (tenant_id, id, name, display_order)"
            " VALUES ($1, $2, $3, $4)",
            tenant_id,
            professional_id,
            f"Pro {index}",
            index,
        )
        await conn.execute(
            "INSERT INTO offerings (tenant_id, professional_id, service_id) VALUES ($1, $2, $3)",
            tenant_id,
            professional_id,
            service_id,
        )
        rows.professional_ids.append(professional_id)
    if with_rows_everywhere:
        await _fill_every_table(conn, rows)
    return rows


async def make_customer(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, email: str | None = None
) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'Ana', $3)",
        tenant_id,
        customer_id,
        email or f"{customer_id.hex[:8]}@example.com",
    )
    return customer_id


async def make_appointment(
    conn: asyncpg.Connection,
    rows: TenantRows,
    starts_at: datetime,
    *,
    minutes: int = 30,
    professional_index: int = 0,
    status: str = "confirmed",
    buffer_before: int = 0,
    buffer_after: int = 0,
) -> uuid.UUID:
    if rows.customer_id is None:
        rows.customer_id = await make_customer(conn, rows.tenant_id)
    appointment_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO appointments (tenant_id, id, professional_id, service_id, customer_id,"
        " starts_at, ends_at, buffer_before_minutes, buffer_after_minutes, status, occupied)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'empty')",
        rows.tenant_id,
        appointment_id,
        rows.professional_ids[professional_index],
        rows.service_ids[0],
        rows.customer_id,
        starts_at,
        starts_at + timedelta(minutes=minutes),
        buffer_before,
        buffer_after,
        status,
    )
    return appointment_id


async def make_history(
    conn: asyncpg.Connection,
    rows: TenantRows,
    before: datetime,
    count: int,
    *,
    professional_index: int = 0,
) -> None:
    """``count`` past 30-minute appointments of one professional, one an hour, the last
    ending an hour before ``before``: the years of history a busy salon accumulates."""
    if rows.customer_id is None:
        rows.customer_id = await make_customer(conn, rows.tenant_id)
    await conn.execute(
        "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
        " starts_at, ends_at, status, occupied)"
        " SELECT $1, $2, $3, $4, t, t + interval '30 minutes', 'completed', 'empty'"
        " FROM generate_series(1, $6::integer) n,"
        " LATERAL (SELECT $5::timestamptz - make_interval(hours => n + 1)) AS s(t)",
        rows.tenant_id,
        rows.professional_ids[professional_index],
        rows.service_ids[0],
        rows.customer_id,
        before,
        count,
    )


async def _fill_every_table(conn: asyncpg.Connection, rows: TenantRows) -> None:
    tenant_id = rows.tenant_id
    professional_id = rows.professional_ids[0]
    user_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'Owner', 'x')",
        user_id,
        f"owner-{user_id.hex[:8]}@example.com",
    )
    await conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')",
        tenant_id,
        user_id,
    )
    rows.user_id = user_id
    await conn.execute(
        "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
        " end_minute) VALUES ($1, $2, 0, 600, 900)",
        tenant_id,
        professional_id,
    )
    await conn.execute(
        "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute)"
        " VALUES ($1, 0, 720, 780)",
        tenant_id,
    )
    await conn.execute(
        "INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", tenant_id, date(2030, 12, 25)
    )
    await conn.execute(
        "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
        " VALUES ($1, $2, 600, 720)",
        tenant_id,
        date(2030, 12, 24),
    )
    start = datetime.fromisoformat("2030-06-03T10:00:00+00:00")
    await conn.execute(
        "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4)",
        tenant_id,
        professional_id,
        start + timedelta(days=30),
        start + timedelta(days=31),
    )
    rows.appointment_id = await make_appointment(conn, rows, start)
    await conn.execute(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash) VALUES ($1, 'k1', 'h')",
        tenant_id,
    )
    await make_webhook(conn, tenant_id)  # the appointment above already wrote outbox rows


# Hashed once per test session: argon2 is deliberately slow.
DEFAULT_PASSWORD = "correct horse battery staple"
_password_hashes: dict[str, str] = {}


def password_hash_of(password: str = DEFAULT_PASSWORD) -> str:
    if password not in _password_hashes:
        from slotwise.auth.passwords import hash_password

        _password_hashes[password] = hash_password(password)
    return _password_hashes[password]


async def make_member(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    role: str = "owner",
    *,
    professional_id: uuid.UUID | None = None,
    email: str | None = None,
    name: str = "Member",
    password: str = DEFAULT_PASSWORD,
) -> tuple[uuid.UUID, str]:
    """An account with a membership in ``tenant_id``: ``(user_id, email)``."""
    user_id = uuid.uuid4()
    email = email or f"{role}-{user_id.hex[:8]}@example.com"
    await conn.execute(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)",
        user_id,
        email,
        name,
        password_hash_of(password),
    )
    await conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role, professional_id)"
        " VALUES ($1, $2, $3, $4)",
        tenant_id,
        user_id,
        role,
        professional_id,
    )
    return user_id, email


def bearer(settings: Any, user_id: uuid.UUID, tenant_id: uuid.UUID) -> dict[str, str]:
    """The Authorization header of a staff token for that member."""
    from slotwise.auth.tokens import issue_token

    return {"Authorization": f"Bearer {issue_token(settings, user_id, tenant_id)}"}


async def make_webhook(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    url: str = "https://hooks.example.com/slotwise",
    *,
    secret: str = "s" * 64,
    active: bool = True,
) -> uuid.UUID:
    """An outgoing webhook of ``tenant_id``: appointment changes after it queue deliveries."""
    webhook_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO webhooks (tenant_id, id, url, secret, active) VALUES ($1, $2, $3, $4, $5)",
        tenant_id,
        webhook_id,
        url,
        secret,
        active,
    )
    return webhook_id
