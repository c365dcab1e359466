"""Server-sent events (SPEC §5): availability for the public booking page, appointment
changes for the staff dashboard. HTTP only: resolve who may see what, then stream."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response

from slotwise.auth.deps import MemberDep
from slotwise.core.deps import DatabaseDep, SettingsDep, TenantResolverDep
from slotwise.core.problems import openapi_error_responses
from slotwise.core.ratelimit import PublicRateLimitDep, client_ip
from slotwise.errors import ServiceUnavailable
from slotwise.realtime.lifecycle import LiveUpdates
from slotwise.realtime.schemas import (
    EVENT_STREAM,
    PUBLIC_STREAM_EXAMPLE,
    STAFF_STREAM_EXAMPLE,
    AppointmentEventRead,
    AvailabilityEventRead,
)
from slotwise.realtime.stream import EventStreamResponse

router = APIRouter(tags=["live updates"])


def get_live_updates(request: Request) -> LiveUpdates:
    live = getattr(request.app.state, "live", None)
    if live is None or not cast(LiveUpdates, live).enabled:
        raise ServiceUnavailable()
    return cast(LiveUpdates, live)


LiveUpdatesDep = Annotated[LiveUpdates, Depends(get_live_updates)]
LastEventIdDep = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=64,
        description="Sent by `EventSource` when it reconnects: missed events are replayed "
        "from a short buffer, or a `resync` event says to refetch everything.",
    ),
]


def _events_schema(events: dict[str, Any]) -> dict[str, Any]:
    """One server-sent event as OpenAPI describes an item of ``text/event-stream``: the
    ``data`` of each named event is JSON of its own schema."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"enum": list(events)},
            "data": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0},
        },
        "allOf": [
            {
                "if": {"properties": {"event": {"const": name}}},
                "then": {
                    "properties": {
                        "data": {"contentMediaType": "application/json", "contentSchema": data}
                    }
                },
            }
            for name, data in events.items()
        ],
    }


def _stream_doc(
    example: str, event: str, data: dict[str, Any], *errors: int
) -> dict[int | str, dict[str, Any]]:
    """A stream of ``event`` events (``data`` their schema), and ``resync`` as every
    stream has."""
    events = {event: data, "resync": {"type": "object", "maxProperties": 0}}
    return {
        200: {
            "description": "An endless `text/event-stream`; the schema describes one event",
            "content": {EVENT_STREAM: {"schema": _events_schema(events), "example": example}},
        },
        **openapi_error_responses(*errors, 422, 429, 503),
    }


_STREAM_RULES = (
    "Each event carries an `id:`; a `retry:` hint comes first and a `: heartbeat` comment "
    "every 15 s of quiet. `resync` (`data: {}`) means events may have been missed: refetch "
    "everything shown. Connections per client address are capped (429 `too_many_streams`)."
)


@router.get(
    "/api/v1/public/businesses/{slug}/events",
    summary="Live availability changes of a business (server-sent events)",
    description=(
        "After any change that alters availability, an `availability` event with "
        '`{"date", "professional_id"}` for each local date touched (`date` null: every '
        "date; `professional_id` null: every professional). Ids only, never personal data. "
        + _STREAM_RULES
    ),
    response_class=EventStreamResponse,
    status_code=200,
    responses=_stream_doc(
        PUBLIC_STREAM_EXAMPLE, "availability", AvailabilityEventRead.model_json_schema(), 404
    ),
)
async def public_events(
    slug: str,
    request: Request,
    live: LiveUpdatesDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    settings: SettingsDep,
    last_event_id: LastEventIdDep = None,
    _limit: PublicRateLimitDep = None,
) -> Response:
    tenant_id = await tenants.resolve(database, slug)
    subscriber, missed = live.hub.subscribe(
        tenant_id,
        "public",
        client_ip(request, settings.trusted_proxies),
        last_event_id=last_event_id,
    )
    return EventStreamResponse(live.hub, subscriber, missed)


@router.get(
    "/api/v1/events",
    summary="Live appointment changes of your business (server-sent events)",
    description=(
        "An `appointment` event for each appointment created, moved, re-assigned, "
        "cancelled or deleted. Owners and managers see every professional's; staff only "
        "their own professional's. " + _STREAM_RULES
    ),
    response_class=EventStreamResponse,
    status_code=200,
    responses=_stream_doc(
        STAFF_STREAM_EXAMPLE, "appointment", AppointmentEventRead.model_json_schema(), 401
    ),
)
async def staff_events(
    request: Request,
    member: MemberDep,
    live: LiveUpdatesDep,
    settings: SettingsDep,
    last_event_id: LastEventIdDep = None,
) -> Response:
    subscriber, missed = live.hub.subscribe(
        member.tenant_id,
        "staff",
        client_ip(request, settings.trusted_proxies),
        professional_id=member.professional_id,
        every_professional=member.is_manager,
        last_event_id=last_event_id,
    )
    return EventStreamResponse(live.hub, subscriber, missed)
