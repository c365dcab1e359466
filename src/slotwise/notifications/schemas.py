"""Bodies of the outbox and webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StringConstraints

from slotwise.core.fields import Label, clean_line

OutboxStatus = Literal["pending", "sent", "dead"]
OutboxKind = Literal[
    "customer_confirmation",
    "customer_reschedule",
    "customer_cancellation",
    "customer_reminder",
    "business_booking",
    "business_cancellation",
    "webhook",
]

WebhookUrl = Annotated[
    str, BeforeValidator(clean_line), StringConstraints(min_length=8, max_length=2048)
]
"""Checked further by ``service.check_webhook_url`` (scheme, host, and where it resolves)."""

_OUTBOX_EXAMPLE: dict[str, Any] = {
    "id": "6a3f0c47-8e0b-4c8e-9a59-3f1b7f6f2b10",
    "kind": "customer_confirmation",
    "appointment_id": "0b8a2f5e-3c1d-4e9a-8f7b-2d6c5a4b3e21",
    "recipient": "ana@example.com",
    "status": "dead",
    "attempts": 8,
    "next_attempt_at": "2030-06-03T10:15:00Z",
    "last_error": "SMTP 550: mailbox unavailable",
    "sent_at": None,
    "created_at": "2030-06-01T09:00:00Z",
}


class OutboxRead(BaseModel):
    """One queued message. ``dead`` ones kept failing and wait for a manual retry."""

    model_config = ConfigDict(json_schema_extra={"examples": [_OUTBOX_EXAMPLE]})

    id: UUID
    kind: OutboxKind
    appointment_id: UUID | None
    recipient: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime


class OutboxPage(BaseModel):
    items: list[OutboxRead]
    counts: dict[OutboxStatus, int]
    """How many messages of the business are in each status (the whole outbox, not the page)."""


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://hooks.example.com/slotwise", "description": "Accounting sync"}
            ]
        },
    )

    url: WebhookUrl
    description: Label = ""
    active: StrictBool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})

    url: WebhookUrl | None = None
    description: Label | None = None
    active: StrictBool | None = None
    rotate_secret: StrictBool = False


class WebhookRead(BaseModel):
    id: UUID
    url: str
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookSecretRead(WebhookRead):
    """Returned on creation and on secret rotation only: the key that signs the deliveries
    (``X-Slotwise-Signature: sha256=<hex HMAC-SHA256 of the body>``)."""

    secret: str
