"""Every SQL statement of the notifications domain: the outbox and the webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

WAKE_CHANNEL = "slotwise_outbox"
"""Channel the workers listen on for wake-ups (a manual retry); they poll regardless."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    tenant_id: UUID
    id: UUID
    kind: str
    appointment_id: UUID | None
    webhook_id: UUID | None
    recipient: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MailContextRow:
    """What a mail shows besides its payload, read when it is sent (names may have changed).

    ``tenant_*`` are always present; the others are None when the row is gone."""

    tenant_name: str
    tenant_slug: str
    timezone: str
    locale: str
    address: str
    phone: str
    tenant_email: str
    service_name: str | None
    duration_minutes: int | None
    professional_name: str | None
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    appointment_status: str | None
    appointment_version: int | None
    appointment_starts_at: datetime | None
    appointment_notes: str | None


@dataclass(frozen=True, slots=True)
class WebhookRow:
    tenant_id: UUID
    id: UUID
    url: str
    secret: str
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


_OUTBOX_COLUMNS = (
    "tenant_id, id, kind, appointment_id, webhook_id, recipient, payload, status, attempts,"
    " next_attempt_at, last_error, sent_at, created_at"
)
_WEBHOOK_COLUMNS = "tenant_id, id, url, secret, description, active, created_at, updated_at"


def _outbox_row(row: Any) -> OutboxRow:
    payload = row.payload
    if isinstance(payload, str):
        payload = json.loads(payload)
    return OutboxRow(**{**row._mapping, "payload": dict(payload)})


# --- the worker ---------------------------------------------------------------------------

_CLAIM = text("SELECT tenant_id, id FROM outbox_claim(:batch, :lease, :now)")


async def claim(
    conn: AsyncConnection, *, batch: int, lease_seconds: int, now: datetime
) -> list[tuple[UUID, UUID]]:
    """Lease up to ``batch`` due rows of any tenant (the SECURITY DEFINER path)."""
    result = await conn.execute(_CLAIM, {"batch": batch, "lease": lease_seconds, "now": now})
    return [(row.tenant_id, row.id) for row in result]


_PURGE = text("SELECT outbox_purge(:before, :limit)")


async def purge_sent(conn: AsyncConnection, *, sent_before: datetime, limit: int) -> int:
    """Delete up to ``limit`` rows sent before ``sent_before`` (any tenant); how many."""
    return int((await conn.execute(_PURGE, {"before": sent_before, "limit": limit})).scalar_one())


_LOCK_DUE = text(
    f"SELECT {_OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant column list
    " WHERE tenant_id = :tenant AND id = :id AND status = 'pending'"
    " AND next_attempt_at <= :now FOR UPDATE"
)


async def lock_due(
    conn: AsyncConnection, tenant_id: UUID, outbox_id: UUID, now: datetime
) -> OutboxRow | None:
    """The row, locked until the transaction ends, if it is still pending and due (another
    worker may have sent it, or rescheduled it after a failure, since it was claimed)."""
    row = (
        await conn.execute(_LOCK_DUE, {"tenant": tenant_id, "id": outbox_id, "now": now})
    ).first()
    return _outbox_row(row) if row is not None else None


_MARK_SENT = text(
    "UPDATE outbox SET status = 'sent', sent_at = :now, attempts = attempts + 1,"
    " leased_until = NULL, last_error = NULL WHERE tenant_id = :tenant AND id = :id"
)


async def mark_sent(conn: AsyncConnection, tenant_id: UUID, outbox_id: UUID, now: datetime) -> None:
    await conn.execute(_MARK_SENT, {"tenant": tenant_id, "id": outbox_id, "now": now})


_MARK_FAILED = text(
    "UPDATE outbox SET attempts = :attempts, last_error = :error, leased_until = NULL,"
    " status = CASE WHEN CAST(:next_at AS timestamptz) IS NULL THEN 'dead' ELSE 'pending' END,"
    " next_attempt_at = coalesce(CAST(:next_at AS timestamptz), next_attempt_at)"
    " WHERE tenant_id = :tenant AND id = :id"
)


async def mark_failed(
    conn: AsyncConnection,
    tenant_id: UUID,
    outbox_id: UUID,
    *,
    attempts: int,
    error: str,
    next_attempt_at: datetime | None,
) -> None:
    """Back off until ``next_attempt_at``, or park the row as ``dead`` when it is None."""
    await conn.execute(
        _MARK_FAILED,
        {
            "tenant": tenant_id,
            "id": outbox_id,
            "attempts": attempts,
            "error": error[:2000],
            "next_at": next_attempt_at,
        },
    )


_DELETE = text("DELETE FROM outbox WHERE tenant_id = :tenant AND id = :id")


async def delete(conn: AsyncConnection, tenant_id: UUID, outbox_id: UUID) -> None:
    await conn.execute(_DELETE, {"tenant": tenant_id, "id": outbox_id})


_MAIL_CONTEXT = text(
    """
    SELECT t.name AS tenant_name, t.slug AS tenant_slug, t.timezone, t.locale, t.address,
           t.phone, t.email AS tenant_email,
           s.name AS service_name, s.duration_minutes,
           p.name AS professional_name,
           c.name AS customer_name, c.email AS customer_email, c.phone AS customer_phone,
           a.status AS appointment_status, a.version AS appointment_version,
           a.starts_at AS appointment_starts_at, a.notes AS appointment_notes
    FROM tenants t
    LEFT JOIN services s ON s.tenant_id = t.id AND s.id = :service
    LEFT JOIN professionals p ON p.tenant_id = t.id AND p.id = :professional
    LEFT JOIN customers c ON c.tenant_id = t.id AND c.id = :customer
    LEFT JOIN appointments a ON a.tenant_id = t.id AND a.id = :appointment
    WHERE t.id = :tenant
    """
)


async def mail_context(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    appointment_id: UUID | None,
    service_id: UUID | None,
    professional_id: UUID | None,
    customer_id: UUID | None,
) -> MailContextRow | None:
    """The business, the appointment and the names a mail shows, in one round trip."""
    row = (
        await conn.execute(
            _MAIL_CONTEXT,
            {
                "tenant": tenant_id,
                "appointment": appointment_id,
                "service": service_id,
                "professional": professional_id,
                "customer": customer_id,
            },
        )
    ).first()
    return MailContextRow(**row._mapping) if row is not None else None


_OWNER_EMAILS = text(
    "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id"
    " WHERE m.tenant_id = :tenant AND m.role = 'owner' ORDER BY m.created_at LIMIT 1"
)


async def first_owner_email(conn: AsyncConnection, tenant_id: UUID) -> str | None:
    """Where replies go when the business has no address of its own."""
    return (await conn.execute(_OWNER_EMAILS, {"tenant": tenant_id})).scalar_one_or_none()


_WEBHOOK_FOR_DELIVERY = text(
    f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks"  # noqa: S608 - constant column list
    " WHERE tenant_id = :tenant AND id = :id"
)


# --- the staff API ------------------------------------------------------------------------

_LIST = text(
    f"SELECT {_OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant column list
    " WHERE tenant_id = :tenant"
    " AND (CAST(:status AS text) IS NULL OR status = CAST(:status AS text))"
    " AND (CAST(:appointment AS uuid) IS NULL OR appointment_id = CAST(:appointment AS uuid))"
    " ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"
)


async def list_outbox(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    status: str | None,
    appointment_id: UUID | None,
    limit: int,
    offset: int,
) -> list[OutboxRow]:
    result = await conn.execute(
        _LIST,
        {
            "tenant": tenant_id,
            "status": status,
            "appointment": appointment_id,
            "limit": limit,
            "offset": offset,
        },
    )
    return [_outbox_row(row) for row in result]


_COUNTS = text("SELECT status, count(*) AS n FROM outbox WHERE tenant_id = :tenant GROUP BY status")


async def count_by_status(conn: AsyncConnection, tenant_id: UUID) -> dict[str, int]:
    result = await conn.execute(_COUNTS, {"tenant": tenant_id})
    return {row.status: int(row.n) for row in result}


_GET = text(
    f"SELECT {_OUTBOX_COLUMNS} FROM outbox"  # noqa: S608 - constant column list
    " WHERE tenant_id = :tenant AND id = :id"
)


async def get(conn: AsyncConnection, tenant_id: UUID, outbox_id: UUID) -> OutboxRow | None:
    row = (await conn.execute(_GET, {"tenant": tenant_id, "id": outbox_id})).first()
    return _outbox_row(row) if row is not None else None


_REQUEUE = text(
    "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = :now,"  # noqa: S608 - constant column list
    " leased_until = NULL WHERE tenant_id = :tenant AND id = :id AND status = 'dead'"
    f" RETURNING {_OUTBOX_COLUMNS}"
)


async def requeue_dead(
    conn: AsyncConnection, tenant_id: UUID, outbox_id: UUID, now: datetime
) -> OutboxRow | None:
    """Back to ``pending``, due now, with a fresh attempt budget; None unless it was dead.
    ``last_error`` stays until the next attempt tells more."""
    row = (await conn.execute(_REQUEUE, {"tenant": tenant_id, "id": outbox_id, "now": now})).first()
    return _outbox_row(row) if row is not None else None


_WAKE = text(f"SELECT pg_notify('{WAKE_CHANNEL}', '')")


async def wake_workers(conn: AsyncConnection) -> None:
    """Ask listening workers to look now (delivered at commit, and only then)."""
    await conn.execute(_WAKE)


class Listening:
    """A connection subscribed to ``WAKE_CHANNEL`` (LISTEN, through asyncpg)."""

    def __init__(self, driver: Any, callback: Callable[..., None]) -> None:
        self._driver = driver
        self._callback = callback

    def closed(self) -> bool:
        return bool(self._driver.is_closed())

    async def stop(self) -> None:
        """UNLISTEN (the connection itself is the caller's to close)."""
        if not self.closed():
            await self._driver.remove_listener(WAKE_CHANNEL, self._callback)


async def listen(conn: AsyncConnection, on_wake: Callable[[], None]) -> Listening:
    """Subscribe ``conn`` (kept out of transactions) to worker wake-ups."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("no driver connection to listen on")

    def callback(*_args: object) -> None:
        on_wake()

    await driver.add_listener(WAKE_CHANNEL, callback)
    return Listening(driver, callback)


# --- webhooks -----------------------------------------------------------------------------


def _webhook_row(row: Any) -> WebhookRow:
    return WebhookRow(**row._mapping)


_WEBHOOKS = text(
    f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks"  # noqa: S608 - constant column list
    " WHERE tenant_id = :tenant ORDER BY created_at, id"
)


async def list_webhooks(conn: AsyncConnection, tenant_id: UUID) -> list[WebhookRow]:
    return [_webhook_row(row) for row in await conn.execute(_WEBHOOKS, {"tenant": tenant_id})]


async def get_webhook(
    conn: AsyncConnection, tenant_id: UUID, webhook_id: UUID
) -> WebhookRow | None:
    row = (
        await conn.execute(_WEBHOOK_FOR_DELIVERY, {"tenant": tenant_id, "id": webhook_id})
    ).first()
    return _webhook_row(row) if row is not None else None


_COUNT_WEBHOOKS = text("SELECT count(*) FROM webhooks WHERE tenant_id = :tenant")


async def count_webhooks(conn: AsyncConnection, tenant_id: UUID) -> int:
    return int((await conn.execute(_COUNT_WEBHOOKS, {"tenant": tenant_id})).scalar_one())


_INSERT_WEBHOOK = text(
    "INSERT INTO webhooks (tenant_id, url, secret, description, active)"  # noqa: S608 - constant column list
    " VALUES (:tenant, :url, :secret, :description, :active)"
    f" RETURNING {_WEBHOOK_COLUMNS}"
)


async def insert_webhook(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    url: str,
    secret: str,
    description: str,
    active: bool,
) -> WebhookRow:
    row = (
        await conn.execute(
            _INSERT_WEBHOOK,
            {
                "tenant": tenant_id,
                "url": url,
                "secret": secret,
                "description": description,
                "active": active,
            },
        )
    ).one()
    return _webhook_row(row)


_UPDATE_WEBHOOK = text(
    "UPDATE webhooks SET url = :url, secret = :secret, description = :description,"  # noqa: S608 - constant column list
    " active = :active, updated_at = now() WHERE tenant_id = :tenant AND id = :id"
    f" RETURNING {_WEBHOOK_COLUMNS}"
)


async def update_webhook(conn: AsyncConnection, row: WebhookRow) -> WebhookRow | None:
    result = await conn.execute(
        _UPDATE_WEBHOOK,
        {
            "tenant": row.tenant_id,
            "id": row.id,
            "url": row.url,
            "secret": row.secret,
            "description": row.description,
            "active": row.active,
        },
    )
    found = result.first()
    return _webhook_row(found) if found is not None else None


_DELETE_WEBHOOK = text("DELETE FROM webhooks WHERE tenant_id = :tenant AND id = :id RETURNING id")


async def delete_webhook(conn: AsyncConnection, tenant_id: UUID, webhook_id: UUID) -> bool:
    result = await conn.execute(_DELETE_WEBHOOK, {"tenant": tenant_id, "id": webhook_id})
    return result.first() is not None


_DROP_DELIVERIES = text(
    "DELETE FROM outbox WHERE tenant_id = :tenant AND webhook_id = :id AND status = 'pending'"
)


async def drop_pending_deliveries(conn: AsyncConnection, tenant_id: UUID, webhook_id: UUID) -> None:
    await conn.execute(_DROP_DELIVERIES, {"tenant": tenant_id, "id": webhook_id})
