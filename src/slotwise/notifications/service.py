"""Notification rules: what an outbox row turns into when it is sent (a mail, a webhook
post, or nothing because it is obsolete), and the staff operations on the outbox and the
webhooks. Never commits: the worker or the request owns the transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.booking.service import manage_url
from slotwise.booking.tokens import issue_manage_token
from slotwise.db.database import sqlstate_of
from slotwise.errors import NotFound, OutboxNotRetryable, WebhookExists, WebhookLimitReached
from slotwise.notifications import repository, webhooks
from slotwise.notifications.mail import (
    BUSINESS_KINDS,
    CUSTOMER_KINDS,
    Appointment,
    Links,
    build_message,
)
from slotwise.notifications.repository import OutboxRow, WebhookRow
from slotwise.notifications.schemas import (
    OutboxPage,
    OutboxRead,
    OutboxStatus,
    WebhookCreate,
    WebhookRead,
    WebhookSecretRead,
    WebhookUpdate,
)
from slotwise.settings import Settings

MAX_WEBHOOKS_PER_TENANT = 20


# --- what a row becomes -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailJob:
    message: EmailMessage


@dataclass(frozen=True, slots=True)
class WebhookJob:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Obsolete:
    """Nothing to send any more (a reminder of a moved, cancelled or past appointment)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """Can never be sent (what it describes is gone): parked as dead at once."""

    reason: str


Job = MailJob | WebhookJob | Obsolete | Undeliverable


def manage_link(settings: Settings, tenant_id: UUID, slug: str, appointment_id: UUID) -> str:
    """The customer's secret link to view, reschedule or cancel the booking (the booking
    domain's token and page address)."""
    token = issue_manage_token(settings, tenant_id, appointment_id)
    return manage_url(settings, slug, appointment_id, token)


def _uuid(payload: dict[str, Any], key: str) -> UUID | None:
    value = payload.get(key)
    return UUID(str(value)) if value else None


def _instant(payload: dict[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    return datetime.fromisoformat(str(value)) if value else None


async def prepare(conn: AsyncConnection, row: OutboxRow, settings: Settings, now: datetime) -> Job:
    """Turn a locked, due outbox row into what must be sent now."""
    if row.kind == "webhook":
        return await _prepare_webhook(conn, row)
    if row.kind in CUSTOMER_KINDS or row.kind in BUSINESS_KINDS:
        return await _prepare_mail(conn, row, settings, now)
    return Undeliverable(f"unknown outbox kind {row.kind!r}")


async def _prepare_webhook(conn: AsyncConnection, row: OutboxRow) -> Job:
    if row.webhook_id is None:
        return Undeliverable("webhook row without a webhook")
    hook = await repository.get_webhook(conn, row.tenant_id, row.webhook_id)
    if hook is None:
        return Undeliverable("the webhook was deleted")
    if not hook.active:
        return Undeliverable("the webhook was deactivated")
    body = webhooks.body_of(row.id, row.created_at, row.payload)
    event = str(row.payload.get("event", ""))
    return WebhookJob(hook.url, body, webhooks.headers_of(row.id, event, hook.secret, body))


async def _prepare_mail(
    conn: AsyncConnection, row: OutboxRow, settings: Settings, now: datetime
) -> Job:
    payload = row.payload
    appointment_id = _uuid(payload, "appointment_id") or row.appointment_id
    starts_at = _instant(payload, "starts_at")
    ends_at = _instant(payload, "ends_at")
    if appointment_id is None or starts_at is None or ends_at is None:
        return Undeliverable("the payload names no appointment")
    context = await repository.mail_context(
        conn,
        row.tenant_id,
        appointment_id=appointment_id,
        service_id=_uuid(payload, "service_id"),
        professional_id=_uuid(payload, "professional_id"),
        customer_id=_uuid(payload, "customer_id"),
    )
    if context is None:
        return Undeliverable("the business is gone")
    version = int(payload.get("version") or 1)
    if row.kind == "customer_reminder":
        if (
            context.appointment_status not in ("pending", "confirmed")
            or context.appointment_starts_at != starts_at
        ):
            return Obsolete("the appointment was moved or cancelled")
        if starts_at <= now:
            return Obsolete("the appointment has started")
        version = context.appointment_version or version
    if (
        context.service_name is None
        or context.professional_name is None
        or context.customer_name is None
    ):
        return Undeliverable("the appointment's service, professional or customer is gone")
    appointment = Appointment(
        id=appointment_id,
        tenant_id=row.tenant_id,
        business_name=context.tenant_name,
        business_slug=context.tenant_slug,
        business_address=context.address,
        business_phone=context.phone,
        business_email=context.tenant_email,
        timezone=context.timezone,
        locale=context.locale,
        service_name=context.service_name,
        professional_name=context.professional_name,
        customer_name=context.customer_name,
        customer_email=context.customer_email,
        customer_phone=context.customer_phone,
        notes=context.appointment_notes or "",
        starts_at=starts_at,
        ends_at=ends_at,
        version=version,
        status=str(payload.get("status") or context.appointment_status or "confirmed"),
        previous_starts_at=_instant(payload, "previous_starts_at"),
    )
    base = settings.base_url.rstrip("/")
    customer_can_manage = row.kind in CUSTOMER_KINDS and row.kind != "customer_cancellation"
    links = Links(
        manage=(
            manage_link(settings, row.tenant_id, context.tenant_slug, appointment_id)
            if customer_can_manage
            else None
        ),
        booking_page=f"{base}/b/{context.tenant_slug}",
        dashboard=f"{base}/app",
    )
    reply_to = context.tenant_email or None
    if reply_to is None and row.kind in CUSTOMER_KINDS:
        reply_to = await repository.first_owner_email(conn, row.tenant_id)
    message = build_message(
        row.id,
        row.kind,
        appointment,
        links,
        recipient=row.recipient,
        reply_to=reply_to,
        settings=settings,
        now=now,
    )
    return MailJob(message)


# --- the outbox, for staff ----------------------------------------------------------------


def outbox_read(row: OutboxRow) -> OutboxRead:
    return OutboxRead.model_validate(row, from_attributes=True)


async def list_outbox(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    status: OutboxStatus | None,
    appointment_id: UUID | None,
    limit: int,
    offset: int,
) -> OutboxPage:
    rows = await repository.list_outbox(
        conn, tenant_id, status=status, appointment_id=appointment_id, limit=limit, offset=offset
    )
    counts = await repository.count_by_status(conn, tenant_id)
    return OutboxPage(
        items=[outbox_read(row) for row in rows],
        counts={
            "pending": counts.get("pending", 0),
            "sent": counts.get("sent", 0),
            "dead": counts.get("dead", 0),
        },
    )


async def retry(
    conn: AsyncConnection, tenant_id: UUID, outbox_id: UUID, now: datetime
) -> OutboxRead:
    """Put a dead message back in the queue, due now, and wake the workers."""
    row = await repository.requeue_dead(conn, tenant_id, outbox_id, now)
    if row is None:
        if await repository.get(conn, tenant_id, outbox_id) is None:
            raise NotFound()
        raise OutboxNotRetryable()
    await repository.wake_workers(conn)
    return outbox_read(row)


# --- webhooks -----------------------------------------------------------------------------


def webhook_read(row: WebhookRow) -> WebhookRead:
    return WebhookRead.model_validate(row, from_attributes=True)


def _with_secret(row: WebhookRow) -> WebhookSecretRead:
    return WebhookSecretRead.model_validate(row, from_attributes=True)


def new_secret() -> str:
    return secrets.token_hex(32)


async def list_webhooks(conn: AsyncConnection, tenant_id: UUID) -> list[WebhookRead]:
    return [webhook_read(row) for row in await repository.list_webhooks(conn, tenant_id)]


async def get_webhook(conn: AsyncConnection, tenant_id: UUID, webhook_id: UUID) -> WebhookRead:
    row = await repository.get_webhook(conn, tenant_id, webhook_id)
    if row is None:
        raise NotFound()
    return webhook_read(row)


async def create_webhook(
    conn: AsyncConnection, tenant_id: UUID, data: WebhookCreate
) -> WebhookSecretRead:
    """``data.url`` must have passed ``webhooks.check_webhook_url`` (done before the
    transaction: it resolves a host name)."""
    if await repository.count_webhooks(conn, tenant_id) >= MAX_WEBHOOKS_PER_TENANT:
        raise WebhookLimitReached()
    try:
        row = await repository.insert_webhook(
            conn,
            tenant_id,
            url=data.url,
            secret=new_secret(),
            description=data.description,
            active=data.active,
        )
    except DBAPIError as exc:
        if sqlstate_of(exc) == "23505":
            raise WebhookExists() from exc
        raise
    return _with_secret(row)


async def update_webhook(
    conn: AsyncConnection, tenant_id: UUID, webhook_id: UUID, data: WebhookUpdate
) -> WebhookRead | WebhookSecretRead:
    current = await repository.get_webhook(conn, tenant_id, webhook_id)
    if current is None:
        raise NotFound()
    changed = replace(
        current,
        url=data.url if data.url is not None else current.url,
        description=data.description if data.description is not None else current.description,
        active=data.active if data.active is not None else current.active,
        secret=new_secret() if data.rotate_secret else current.secret,
    )
    try:
        row = await repository.update_webhook(conn, changed)
    except DBAPIError as exc:
        if sqlstate_of(exc) == "23505":
            raise WebhookExists() from exc
        raise
    if row is None:
        raise NotFound()
    return _with_secret(row) if data.rotate_secret else webhook_read(row)


async def delete_webhook(conn: AsyncConnection, tenant_id: UUID, webhook_id: UUID) -> None:
    """Its deliveries not yet made go with it; the sent and dead ones stay as history."""
    if not await repository.delete_webhook(conn, tenant_id, webhook_id):
        raise NotFound()
    await repository.drop_pending_deliveries(conn, tenant_id, webhook_id)
