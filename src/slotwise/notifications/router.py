"""The outbox (what was sent, what is waiting, what failed for good) and the outgoing
webhooks of a business, for its owners and managers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth.deps import ManagerDep
from slotwise.core.deps import DatabaseDep, SettingsDep
from slotwise.core.problems import STAFF_ERROR_STATUSES, openapi_error_responses
from slotwise.notifications import service
from slotwise.notifications.schemas import (
    OutboxPage,
    OutboxRead,
    OutboxStatus,
    WebhookCreate,
    WebhookRead,
    WebhookSecretRead,
    WebhookUpdate,
)
from slotwise.notifications.webhooks import check_webhook_url

outbox_router = APIRouter(prefix="/api/v1/outbox", tags=["notifications"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["notifications"])


@outbox_router.get(
    "",
    summary="Messages of the business: pending, sent and dead (failed for good)",
    description=(
        "Newest first. `status=dead` lists the messages that kept failing and were parked; "
        "`POST /api/v1/outbox/{id}/retry` sends one again. `counts` covers the whole outbox."
    ),
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def list_outbox(
    member: ManagerDep,
    database: DatabaseDep,
    status_filter: Annotated[OutboxStatus | None, Query(alias="status")] = None,
    appointment_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> OutboxPage:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        return await service.list_outbox(
            conn,
            member.tenant_id,
            status=status_filter,
            appointment_id=appointment_id,
            limit=limit,
            offset=offset,
        )


@outbox_router.post(
    "/{outbox_id}/retry",
    summary="Send a dead message again (a fresh set of attempts, due now)",
    description="Only `dead` messages can be retried: others answer 409 `outbox_not_retryable`.",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def retry_outbox(outbox_id: UUID, member: ManagerDep, database: DatabaseDep) -> OutboxRead:
    async def work(conn: AsyncConnection) -> OutboxRead:
        return await service.retry(conn, member.tenant_id, outbox_id, datetime.now(UTC))

    return await database.run(work, member.tenant_id, user_id=member.user_id)


@webhooks_router.get(
    "",
    summary="Outgoing webhooks of the business",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def list_webhooks(member: ManagerDep, database: DatabaseDep) -> list[WebhookRead]:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        return await service.list_webhooks(conn, member.tenant_id)


@webhooks_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a webhook; the answer holds its signing secret (shown this once)",
    description=(
        "Every appointment event (`appointment.created`, `.rescheduled`, `.cancelled`, "
        "`.confirmed`, `.status_changed`) is POSTed as JSON with ids only, signed with "
        "`X-Slotwise-Signature: sha256=<hex HMAC-SHA256 of the body>` and named in "
        "`X-Slotwise-Event`; `X-Slotwise-Delivery` is the delivery id (stable across "
        "retries). Only http(s) URLs on public addresses are accepted."
    ),
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def create_webhook(
    body: WebhookCreate, member: ManagerDep, database: DatabaseDep, settings: SettingsDep
) -> WebhookSecretRead:
    await check_webhook_url(body.url, settings)

    async def work(conn: AsyncConnection) -> WebhookSecretRead:
        return await service.create_webhook(conn, member.tenant_id, body)

    return await database.run(work, member.tenant_id, user_id=member.user_id)


@webhooks_router.get(
    "/{webhook_id}",
    summary="One webhook (without its secret)",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def get_webhook(webhook_id: UUID, member: ManagerDep, database: DatabaseDep) -> WebhookRead:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        return await service.get_webhook(conn, member.tenant_id, webhook_id)


@webhooks_router.patch(
    "/{webhook_id}",
    summary="Change a webhook's URL, description or state, or rotate its secret",
    description="With `rotate_secret: true` the answer holds the new secret.",
    response_model=WebhookSecretRead | WebhookRead,
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def update_webhook(
    webhook_id: UUID,
    body: WebhookUpdate,
    member: ManagerDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> WebhookRead | WebhookSecretRead:
    if body.url is not None:
        await check_webhook_url(body.url, settings)

    async def work(conn: AsyncConnection) -> WebhookRead | WebhookSecretRead:
        return await service.update_webhook(conn, member.tenant_id, webhook_id, body)

    return await database.run(work, member.tenant_id, user_id=member.user_id)


@webhooks_router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook and its deliveries not yet made",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def delete_webhook(webhook_id: UUID, member: ManagerDep, database: DatabaseDep) -> Response:
    async def work(conn: AsyncConnection) -> None:
        await service.delete_webhook(conn, member.tenant_id, webhook_id)

    await database.run(work, member.tenant_id, user_id=member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
