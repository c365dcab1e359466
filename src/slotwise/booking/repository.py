"""Every SQL statement of the booking domain.

The hot path of a booking is ``book``: ONE statement that finds or creates the customer,
asks ``slot_rejection`` (the rules of SPEC §2 in SQL, migration 0002), copies duration,
buffers and price from the service, picks the status from the tenant's policy and inserts
— ``ON CONFLICT DO NOTHING``, so a lost race against the exclusion constraint comes back as
"no row" instead of aborting the transaction (an "any professional" booking then tries the
next candidate in the same transaction). Rows are scoped by ``current_tenant_id()``, which
``Database.transaction`` sets; RLS would hide other tenants' rows anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# ---------------------------------------------------------------------------- public profile

_TENANT_PROFILE = text("""
SELECT name, slug, timezone, locale, currency, address, phone, slot_step_minutes,
       min_notice_minutes, horizon_days, cancel_cutoff_minutes, auto_confirm
  FROM tenants WHERE id = current_tenant_id()
""")

_ACTIVE_SERVICES = text("""
SELECT id, name, description, duration_minutes, price_minor, currency
  FROM services
 WHERE tenant_id = current_tenant_id() AND active
 ORDER BY display_order, name, id
""")

_ACTIVE_PROFESSIONALS = text("""
SELECT p.id, p.name, p.bio,
       coalesce(array_agg(s.id ORDER BY s.display_order, s.name, s.id)
                FILTER (WHERE s.id IS NOT NULL), '{}') AS service_ids
  FROM professionals p
  LEFT JOIN offerings o ON o.tenant_id = p.tenant_id AND o.professional_id = p.id
  LEFT JOIN services s ON s.tenant_id = o.tenant_id AND s.id = o.service_id AND s.active
 WHERE p.tenant_id = current_tenant_id() AND p.active
 GROUP BY p.id, p.name, p.bio, p.display_order
 ORDER BY p.display_order, p.name, p.id
""")


async def tenant_profile(conn: AsyncConnection) -> dict[str, Any] | None:
    row = (await conn.execute(_TENANT_PROFILE)).mappings().one_or_none()
    return dict(row) if row is not None else None


async def active_services(conn: AsyncConnection) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_ACTIVE_SERVICES)).mappings()]


async def active_professionals(conn: AsyncConnection) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_ACTIVE_PROFESSIONALS)).mappings()]


# ---------------------------------------------------------------------------- booking

_BOOK = text("""
WITH cust AS (
    -- The customer, found by email (renamed, his phone filled in when he had none) or
    -- created. The project's only find-or-create of a customer: it lives in the booking
    -- statement to save a round trip. Skipped when the caller names a customer id.
    INSERT INTO customers (tenant_id, name, email, phone)
    SELECT current_tenant_id(), CAST(:name AS text), CAST(:email AS text), CAST(:phone AS text)
     WHERE CAST(:customer AS uuid) IS NULL
    ON CONFLICT (tenant_id, email) WHERE email IS NOT NULL
    DO UPDATE SET name = EXCLUDED.name, phone = COALESCE(customers.phone, EXCLUDED.phone)
    RETURNING id
), who AS (
    SELECT coalesce(CAST(:customer AS uuid), (SELECT id FROM cust)) AS customer_id
), chk AS (
    SELECT CASE WHEN CAST(:check AS boolean)
                THEN slot_rejection(CAST(:professional AS uuid), CAST(:service AS uuid),
                                    CAST(:start AS timestamptz), CAST(:now AS timestamptz))
           END AS rejection
), svc AS (
    SELECT s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes,
           s.price_minor, s.currency, t.auto_confirm, t.timezone
      FROM services s JOIN tenants t ON t.id = s.tenant_id
     WHERE s.tenant_id = current_tenant_id() AND s.id = CAST(:service AS uuid)
), ins AS (
    INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,
                              starts_at, ends_at, buffer_before_minutes, buffer_after_minutes,
                              occupied, status, source, notes, price_minor, currency)
    SELECT current_tenant_id(), CAST(:professional AS uuid), CAST(:service AS uuid),
           who.customer_id, CAST(:start AS timestamptz),
           CAST(:start AS timestamptz) + make_interval(mins => svc.duration_minutes),
           svc.buffer_before_minutes, svc.buffer_after_minutes, 'empty',
           CASE WHEN svc.auto_confirm OR CAST(:source AS text) = 'staff'
                THEN 'confirmed' ELSE 'pending' END,
           CAST(:source AS text), CAST(:notes AS text), svc.price_minor, svc.currency
      FROM svc, chk, who
     WHERE chk.rejection IS NULL
    ON CONFLICT DO NOTHING
    RETURNING id, status, starts_at, ends_at, professional_id, service_id, version
)
SELECT (SELECT rejection FROM chk) AS rejection,
       EXISTS (SELECT 1 FROM svc) AS service_found, (SELECT timezone FROM svc) AS timezone,
       (SELECT customer_id FROM who) AS customer_id,
       ins.id, ins.status, ins.starts_at, ins.ends_at, ins.professional_id, ins.service_id,
       ins.version
  FROM (SELECT 1) AS one LEFT JOIN ins ON true
""")


@dataclass(frozen=True, slots=True)
class Booked:
    id: UUID
    status: str
    starts_at: datetime
    ends_at: datetime
    professional_id: UUID
    service_id: UUID
    version: int
    timezone: str


@dataclass(frozen=True, slots=True)
class CustomerFields:
    """A customer to find by email (or create), already normalized."""

    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class BookAttempt:
    """``booked`` when inserted; else ``rejection`` (a slot_rejection code) when the rules
    refused, or neither when the exclusion constraint did (a concurrent booking won).
    ``customer_id``: the customer the statement found or created (or was given)."""

    booked: Booked | None
    rejection: str | None
    service_found: bool
    customer_id: UUID


async def book(
    conn: AsyncConnection,
    *,
    professional_id: UUID,
    service_id: UUID,
    customer: UUID | CustomerFields,
    start: datetime,
    now: datetime,
    notes: str,
    source: str,
    check_rules: bool = True,
) -> BookAttempt:
    """In one statement: find or create the customer, check the slot, insert."""
    fields = customer if isinstance(customer, CustomerFields) else None
    row = (
        await conn.execute(
            _BOOK,
            {
                "customer": customer if isinstance(customer, UUID) else None,
                "name": fields.name if fields else None,
                "email": fields.email if fields else None,
                "phone": fields.phone if fields else None,
                "check": check_rules,
                "professional": professional_id,
                "service": service_id,
                "start": start,
                "now": now,
                "notes": notes,
                "source": source,
            },
        )
    ).one()
    booked = (
        Booked(
            row.id,
            row.status,
            row.starts_at,
            row.ends_at,
            row.professional_id,
            row.service_id,
            row.version,
            row.timezone,
        )
        if row.id is not None
        else None
    )
    return BookAttempt(booked, row.rejection, bool(row.service_found), row.customer_id)


_RESCHEDULE_REJECTION = text("""
SELECT reschedule_rejection(CAST(:appointment AS uuid), CAST(:professional AS uuid),
                            CAST(:service AS uuid), CAST(:start AS timestamptz),
                            CAST(:now AS timestamptz))
""")


async def reschedule_rejection(
    conn: AsyncConnection,
    *,
    appointment_id: UUID,
    professional_id: UUID,
    service_id: UUID,
    start: datetime,
    now: datetime,
) -> str | None:
    """Why the appointment cannot move there (its own time set aside), or None."""
    value = (
        await conn.execute(
            _RESCHEDULE_REJECTION,
            {
                "appointment": appointment_id,
                "professional": professional_id,
                "service": service_id,
                "start": start,
                "now": now,
            },
        )
    ).scalar_one()
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------- appointments

_APPOINTMENT_COLUMNS = """
       a.id, a.status, a.starts_at, a.ends_at, a.buffer_before_minutes,
       a.buffer_after_minutes, a.professional_id, p.name AS professional_name,
       a.service_id, s.name AS service_name, a.customer_id, c.name AS customer_name,
       c.email AS customer_email, c.phone AS customer_phone, a.notes, a.source,
       a.price_minor, a.currency, a.version, a.created_at, a.updated_at, t.timezone
  FROM appointments a
  JOIN tenants t ON t.id = a.tenant_id
  JOIN professionals p ON p.tenant_id = a.tenant_id AND p.id = a.professional_id
  JOIN services s ON s.tenant_id = a.tenant_id AND s.id = a.service_id
  JOIN customers c ON c.tenant_id = a.tenant_id AND c.id = a.customer_id
"""

# ``restricted``: a staff member sees only rows of ``only`` (NULL when he is no professional:
# then the comparison is NULL and he sees nothing).
_APPOINTMENT = text(f"""
SELECT {_APPOINTMENT_COLUMNS}
 WHERE a.tenant_id = current_tenant_id() AND a.id = CAST(:id AS uuid)
   AND (NOT CAST(:restricted AS boolean) OR a.professional_id = CAST(:only AS uuid))
""")

_APPOINTMENT_FOR_UPDATE = text(f"""
SELECT {_APPOINTMENT_COLUMNS}
 WHERE a.tenant_id = current_tenant_id() AND a.id = CAST(:id AS uuid)
   AND (NOT CAST(:restricted AS boolean) OR a.professional_id = CAST(:only AS uuid))
   FOR UPDATE OF a
""")

_APPOINTMENTS = text(f"""
SELECT {_APPOINTMENT_COLUMNS}
 WHERE a.tenant_id = current_tenant_id()
   AND (CAST(:starts_from AS timestamptz) IS NULL
        OR a.starts_at >= CAST(:starts_from AS timestamptz))
   AND (CAST(:starts_before AS timestamptz) IS NULL
        OR a.starts_at < CAST(:starts_before AS timestamptz))
   AND (CAST(:professional AS uuid) IS NULL OR a.professional_id = CAST(:professional AS uuid))
   AND (CAST(:statuses AS text[]) IS NULL OR a.status = ANY(CAST(:statuses AS text[])))
   AND (NOT CAST(:restricted AS boolean) OR a.professional_id = CAST(:only AS uuid))
   AND (CAST(:after_start AS timestamptz) IS NULL
        OR (a.starts_at, a.id) > (CAST(:after_start AS timestamptz), CAST(:after_id AS uuid)))
 ORDER BY a.starts_at, a.id
 LIMIT CAST(:limit AS integer)
""")


@dataclass(frozen=True, slots=True)
class AppointmentRow:
    id: UUID
    status: str
    starts_at: datetime
    ends_at: datetime
    buffer_before_minutes: int
    buffer_after_minutes: int
    professional_id: UUID
    professional_name: str
    service_id: UUID
    service_name: str
    customer_id: UUID
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    notes: str
    source: str
    price_minor: int
    currency: str
    version: int
    created_at: datetime
    updated_at: datetime
    timezone: str


def _appointment(row: Any) -> AppointmentRow:
    return AppointmentRow(**dict(row._mapping))


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which appointments a caller may see: all, or only one professional's."""

    restricted: bool
    only: UUID | None = None

    def params(self) -> dict[str, Any]:
        return {"restricted": self.restricted, "only": self.only}


EVERYTHING = Visibility(restricted=False)


async def appointment(
    conn: AsyncConnection,
    appointment_id: UUID,
    visibility: Visibility = EVERYTHING,
    *,
    for_update: bool = False,
) -> AppointmentRow | None:
    statement = _APPOINTMENT_FOR_UPDATE if for_update else _APPOINTMENT
    row = (
        await conn.execute(statement, {"id": appointment_id, **visibility.params()})
    ).one_or_none()
    return _appointment(row) if row is not None else None


async def appointments(
    conn: AsyncConnection,
    *,
    visibility: Visibility,
    starts_from: datetime | None,
    starts_before: datetime | None,
    professional_id: UUID | None,
    statuses: list[str] | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[AppointmentRow]:
    result = await conn.execute(
        _APPOINTMENTS,
        {
            "starts_from": starts_from,
            "starts_before": starts_before,
            "professional": professional_id,
            "statuses": statuses,
            "after_start": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
            **visibility.params(),
        },
    )
    return [_appointment(row) for row in result]


_MOVE = text("""
UPDATE appointments a
   SET professional_id = CAST(:professional AS uuid),
       service_id = CAST(:service AS uuid),
       starts_at = CAST(:start AS timestamptz),
       ends_at = CAST(:start AS timestamptz) + make_interval(mins => s.duration_minutes),
       buffer_before_minutes = s.buffer_before_minutes,
       buffer_after_minutes = s.buffer_after_minutes,
       price_minor = CASE WHEN a.service_id = s.id THEN a.price_minor ELSE s.price_minor END,
       currency = CASE WHEN a.service_id = s.id THEN a.currency ELSE s.currency END,
       notes = coalesce(CAST(:notes AS text), a.notes)
  FROM services s
 WHERE a.tenant_id = current_tenant_id() AND a.id = CAST(:id AS uuid)
   AND a.version = CAST(:version AS integer)
   AND s.tenant_id = a.tenant_id AND s.id = CAST(:service AS uuid)
RETURNING a.version
""")

_SET_NOTES = text("""
UPDATE appointments SET notes = CAST(:notes AS text)
 WHERE tenant_id = current_tenant_id() AND id = CAST(:id AS uuid)
   AND version = CAST(:version AS integer)
RETURNING version
""")

_SET_STATUS = text("""
UPDATE appointments SET status = CAST(:status AS text)
 WHERE tenant_id = current_tenant_id() AND id = CAST(:id AS uuid)
   AND version = CAST(:version AS integer)
RETURNING version
""")


async def move(
    conn: AsyncConnection,
    *,
    appointment_id: UUID,
    version: int,
    professional_id: UUID,
    service_id: UUID,
    start: datetime,
    notes: str | None,
) -> int | None:
    """Move (and maybe re-service) an appointment; its new version, or None when the
    version or the service did not match. The exclusion constraint still guards (23P01)."""
    value = (
        await conn.execute(
            _MOVE,
            {
                "id": appointment_id,
                "version": version,
                "professional": professional_id,
                "service": service_id,
                "start": start,
                "notes": notes,
            },
        )
    ).scalar_one_or_none()
    return int(value) if value is not None else None


async def set_notes(
    conn: AsyncConnection, *, appointment_id: UUID, version: int, notes: str
) -> int | None:
    value = (
        await conn.execute(_SET_NOTES, {"id": appointment_id, "version": version, "notes": notes})
    ).scalar_one_or_none()
    return int(value) if value is not None else None


async def set_status(
    conn: AsyncConnection, *, appointment_id: UUID, version: int, status: str
) -> int | None:
    value = (
        await conn.execute(
            _SET_STATUS, {"id": appointment_id, "version": version, "status": status}
        )
    ).scalar_one_or_none()
    return int(value) if value is not None else None


# ---------------------------------------------------------------------------- manage links

_MANAGED = text("""
SELECT a.id, a.status, a.starts_at, a.ends_at, a.version, a.professional_id, a.service_id,
       a.price_minor, a.currency,
       t.name AS business_name, t.slug, t.timezone, t.phone, t.address,
       t.cancel_cutoff_minutes,
       s.name AS service_name, s.duration_minutes, p.name AS professional_name
  FROM appointments a
  JOIN tenants t ON t.id = a.tenant_id
  JOIN services s ON s.tenant_id = a.tenant_id AND s.id = a.service_id
  JOIN professionals p ON p.tenant_id = a.tenant_id AND p.id = a.professional_id
 WHERE a.tenant_id = current_tenant_id() AND a.id = CAST(:id AS uuid)
""")

_MANAGED_FOR_UPDATE = text(_MANAGED.text + " FOR UPDATE OF a")


@dataclass(frozen=True, slots=True)
class ManagedRow:
    id: UUID
    status: str
    starts_at: datetime
    ends_at: datetime
    version: int
    professional_id: UUID
    service_id: UUID
    price_minor: int
    currency: str
    business_name: str
    slug: str
    timezone: str
    phone: str
    address: str
    cancel_cutoff_minutes: int
    service_name: str
    duration_minutes: int
    professional_name: str


async def managed(
    conn: AsyncConnection, appointment_id: UUID, *, for_update: bool = False
) -> ManagedRow | None:
    statement = _MANAGED_FOR_UPDATE if for_update else _MANAGED
    row = (await conn.execute(statement, {"id": appointment_id})).one_or_none()
    return ManagedRow(**dict(row._mapping)) if row is not None else None


_TENANT_TIMEZONE = text("SELECT timezone FROM tenants WHERE id = current_tenant_id()")


async def tenant_timezone(conn: AsyncConnection) -> str | None:
    value = (await conn.execute(_TENANT_TIMEZONE)).scalar_one_or_none()
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------- idempotency

_CLAIM_KEY = text("""
INSERT INTO idempotency_keys (tenant_id, key, request_hash)
VALUES (current_tenant_id(), CAST(:key AS text), CAST(:hash AS text))
ON CONFLICT (tenant_id, key) DO UPDATE
   SET request_hash = EXCLUDED.request_hash, status_code = NULL, response_body = NULL,
       response_headers = '{}', created_at = now(), expires_at = now() + interval '24 hours'
 WHERE idempotency_keys.expires_at <= now() OR idempotency_keys.status_code IS NULL
RETURNING true
""")

_STORED_KEY = text("""
SELECT request_hash, status_code, response_body, response_headers
  FROM idempotency_keys
 WHERE tenant_id = current_tenant_id() AND key = CAST(:key AS text)
""")

_STORE_RESPONSE = text("""
UPDATE idempotency_keys
   SET status_code = CAST(:status AS integer), response_body = CAST(:body AS bytea),
       response_headers = CAST(:headers AS jsonb)
 WHERE tenant_id = current_tenant_id() AND key = CAST(:key AS text)
""")

_PURGE_KEYS = text("SELECT purge_expired_idempotency_keys(CAST(:limit AS integer))")


@dataclass(frozen=True, slots=True)
class StoredKey:
    request_hash: str
    status_code: int | None
    body: bytes | None
    headers: list[tuple[str, str]]


async def claim_key(conn: AsyncConnection, key: str, request_hash: str) -> bool:
    """Take ``key`` for this transaction: True when new (or expired and taken over). A
    concurrent holder makes this wait on the primary key until it commits or aborts."""
    result = await conn.execute(_CLAIM_KEY, {"key": key, "hash": request_hash})
    return result.scalar_one_or_none() is not None


async def stored_key(conn: AsyncConnection, key: str) -> StoredKey | None:
    row = (await conn.execute(_STORED_KEY, {"key": key})).one_or_none()
    if row is None:
        return None
    raw_headers = row.response_headers
    pairs = [(str(k), str(v)) for k, v in raw_headers] if isinstance(raw_headers, list) else []
    return StoredKey(
        row.request_hash,
        row.status_code,
        bytes(row.response_body) if row.response_body is not None else None,
        pairs,
    )


async def store_response(
    conn: AsyncConnection, key: str, status: int, body: bytes, headers: list[tuple[str, str]]
) -> None:
    await conn.execute(
        _STORE_RESPONSE,
        {
            "key": key,
            "status": status,
            "body": body,
            "headers": json.dumps([list(pair) for pair in headers]),
        },
    )


async def purge_expired_keys(conn: AsyncConnection, limit: int) -> int:
    value = (await conn.execute(_PURGE_KEYS, {"limit": limit})).scalar_one()
    return int(value)
