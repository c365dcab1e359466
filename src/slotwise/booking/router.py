"""Booking over HTTP: the public booking and manage-link paths, and the staff appointment
book. HTTP only — parse, call ``booking.service``, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, status
from starlette.responses import Response

from slotwise.auth.deps import MemberDep
from slotwise.booking import idempotency, service
from slotwise.booking.idempotency import StoredResponse
from slotwise.booking.schemas import (
    AppointmentCreate,
    AppointmentPage,
    AppointmentRead,
    AppointmentUpdate,
    BookingCreate,
    BookingRead,
    BookingUpdate,
    BusinessProfileRead,
    ManagedBookingRead,
    Status,
)
from slotwise.booking.tokens import TOKEN_LENGTH
from slotwise.core.deps import DatabaseDep, SettingsDep, TenantResolverDep
from slotwise.core.problems import (
    PUBLIC_ERROR_STATUSES,
    STAFF_ERROR_STATUSES,
    openapi_error_responses,
    request_locale,
)
from slotwise.core.ratelimit import PublicRateLimitDep
from slotwise.errors import NotFound

public_router = APIRouter(prefix="/api/v1/public", tags=["public booking"])
staff_router = APIRouter(prefix="/api/v1/appointments", tags=["appointments"])


_ETAG_HEADER = {
    "ETag": {
        "description": 'The version, as `"<version>"`; send it back in `If-Match`.',
        "schema": {"type": "string"},
    }
}


def _documented(code: int, description: str, *, location: bool = False) -> dict[int | str, Any]:
    headers: dict[str, Any] = dict(_ETAG_HEADER)
    if location:
        headers["Location"] = {
            "description": "Address of the new resource.",
            "schema": {"type": "string"},
        }
    return {code: {"description": description, "headers": headers}}


Slug = Annotated[str, Path(min_length=1, max_length=64, description="The business's slug.")]
ManageToken = Annotated[
    str,
    Query(
        min_length=1,
        max_length=256,
        description=f"The manage token from the booking answer ({TOKEN_LENGTH} characters).",
    ),
]
BookingId = Annotated[
    str,
    Path(
        max_length=64,
        description="The booking's id (a UUID). A wrong id or token is a 404 alike.",
        json_schema_extra={"format": "uuid"},
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description="Makes retries safe: the same key and body replay the first answer "
        "(24 hours); the same key with another body is 409 `idempotency_key_reused`.",
        max_length=idempotency.MAX_KEY_LENGTH,
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The `ETag` last seen, e.g. `"3"`. Missing: 428; stale: 412.',
        max_length=256,
    ),
]


def _send(stored: StoredResponse) -> Response:
    return Response(stored.body, status_code=stored.status, headers=dict(stored.headers))


def _with_etag(model: Any, version: int, status_code: int = 200) -> Response:
    return Response(
        model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": service.etag(version), "Cache-Control": "no-store"},
    )


def _booking_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise NotFound() from exc


async def _idempotent(request: Request, key: str | None) -> service.IdempotentRequest | None:
    checked = idempotency.check_key(key)
    if checked is None:
        return None
    route = f"{request.method} {request.url.path}"
    return service.IdempotentRequest(
        key=checked,
        request_hash=idempotency.fingerprint(route, await request.json()),
        locale=request_locale(request),
        instance=request.url.path,
    )


# ------------------------------------------------------------------------ public


@public_router.get(
    "/businesses/{slug}",
    summary="A business's public profile: policy, active services and professionals",
    response_model=BusinessProfileRead,
    responses=openapi_error_responses(*PUBLIC_ERROR_STATUSES),
)
async def get_business(
    slug: Slug, database: DatabaseDep, tenants: TenantResolverDep, _limit: PublicRateLimitDep
) -> BusinessProfileRead:
    return await service.get_business_profile(database, tenants, slug)


@public_router.post(
    "/businesses/{slug}/bookings",
    summary="Book an appointment",
    description=(
        "Checks the slot with the business's rules inside the booking transaction and "
        "inserts; of concurrent requests for one slot exactly one wins, the others get 409 "
        "`slot_unavailable` with up to 5 `alternatives`. Without `professional_id` the free "
        "professional with the fewest appointments that day is assigned. Keep "
        "`manage_token`: it is the only key to view, reschedule or cancel the booking."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=BookingRead,
    responses={
        **_documented(201, "Booked", location=True),
        **openapi_error_responses(*PUBLIC_ERROR_STATUSES, 409),
    },
)
async def create_booking(
    slug: Slug,
    payload: BookingCreate,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
    _limit: PublicRateLimitDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    keyed = await _idempotent(request, idempotency_key)
    if keyed is not None:
        return _send(
            await service.create_public_booking_idempotent(
                database, settings, tenants, slug, payload, keyed
            )
        )
    read, version = await service.create_public_booking(database, settings, tenants, slug, payload)
    return _send(service.booking_response(read, version))


@public_router.get(
    "/bookings/{booking_id}",
    summary="A booking, through its manage link",
    response_model=ManagedBookingRead,
    responses={
        **_documented(200, "The booking"),
        **openapi_error_responses(*PUBLIC_ERROR_STATUSES),
    },
)
async def get_booking(
    booking_id: BookingId,
    token: ManageToken,
    database: DatabaseDep,
    settings: SettingsDep,
    _limit: PublicRateLimitDep,
) -> Response:
    read = await service.get_managed_booking(database, settings, _booking_id(booking_id), token)
    return _with_etag(read, read.version)


@public_router.post(
    "/bookings/{booking_id}/cancel",
    summary="Cancel a booking through its manage link (before the cutoff)",
    response_model=ManagedBookingRead,
    responses={
        **_documented(200, "Cancelled"),
        **openapi_error_responses(*PUBLIC_ERROR_STATUSES, 412, 428),
    },
)
async def cancel_booking(
    booking_id: BookingId,
    token: ManageToken,
    database: DatabaseDep,
    settings: SettingsDep,
    _limit: PublicRateLimitDep,
    if_match: IfMatch = None,
) -> Response:
    read = await service.cancel_managed(
        database, settings, _booking_id(booking_id), token, if_match
    )
    return _with_etag(read, read.version)


@public_router.post(
    "/bookings/{booking_id}/reschedule",
    summary="Move a booking through its manage link (before the cutoff)",
    description="Same rules as booking; the professional stays unless another is named.",
    response_model=ManagedBookingRead,
    responses={
        **_documented(200, "Moved"),
        **openapi_error_responses(*PUBLIC_ERROR_STATUSES, 409, 412, 428),
    },
)
async def reschedule_booking(
    booking_id: BookingId,
    token: ManageToken,
    payload: BookingUpdate,
    database: DatabaseDep,
    settings: SettingsDep,
    _limit: PublicRateLimitDep,
    if_match: IfMatch = None,
) -> Response:
    read = await service.reschedule_managed(
        database, settings, _booking_id(booking_id), token, if_match, payload
    )
    return _with_etag(read, read.version)


# ------------------------------------------------------------------------ staff

AppointmentId = Annotated[UUID, Path(description="The appointment's id.")]


@staff_router.get(
    "",
    summary="Appointments by start time, filtered, in pages",
    description=(
        "`from`/`to` are local dates of the business (`to` included) or instants with "
        "their offset (`to` excluded). Staff members see their own professional's "
        "appointments only."
    ),
    response_model=AppointmentPage,
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def list_appointments(
    member: MemberDep,
    database: DatabaseDep,
    starts_from: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="First date or instant."),
    ] = None,
    starts_to: Annotated[
        str | None, Query(alias="to", max_length=40, description="Last date or end instant.")
    ] = None,
    professional_id: Annotated[UUID | None, Query()] = None,
    status_filter: Annotated[
        list[Status] | None, Query(alias="status", max_length=5, description="Any of these.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
) -> AppointmentPage:
    return await service.list_appointments(
        database,
        member,
        service.AppointmentFilter(
            starts_from=starts_from,
            starts_to=starts_to,
            professional_id=professional_id,
            statuses=tuple(status_filter or ()),
            limit=limit,
            cursor=cursor,
        ),
    )


@staff_router.post(
    "",
    summary="Book for a customer",
    description=(
        "An existing `customer_id`, or `customer` to find or create one. Owners and "
        "managers may set `override_rules` to book off the grid or outside hours — never "
        "over another appointment (409). Staff members book for their own professional."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentRead,
    responses={
        **_documented(201, "Booked", location=True),
        **openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
    },
)
async def create_appointment(
    payload: AppointmentCreate,
    request: Request,
    member: MemberDep,
    database: DatabaseDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    keyed = await _idempotent(request, idempotency_key)
    if keyed is not None:
        return _send(await service.create_appointment_idempotent(database, member, payload, keyed))
    read = await service.create_appointment(database, member, payload)
    return _send(service.appointment_response(read, 201))


@staff_router.get(
    "/{appointment_id}",
    summary="One appointment",
    response_model=AppointmentRead,
    responses={
        **_documented(200, "The appointment"),
        **openapi_error_responses(*STAFF_ERROR_STATUSES),
    },
)
async def get_appointment(
    appointment_id: AppointmentId, member: MemberDep, database: DatabaseDep
) -> Response:
    read = await service.get_appointment(database, member, appointment_id)
    return _with_etag(read, read.version)


@staff_router.patch(
    "/{appointment_id}",
    summary="Change start, professional, service or notes",
    response_model=AppointmentRead,
    responses={
        **_documented(200, "Changed"),
        **openapi_error_responses(*STAFF_ERROR_STATUSES, 409, 412, 428),
    },
)
async def update_appointment(
    appointment_id: AppointmentId,
    payload: AppointmentUpdate,
    member: MemberDep,
    database: DatabaseDep,
    if_match: IfMatch = None,
) -> Response:
    read = await service.update_appointment(database, member, appointment_id, if_match, payload)
    return _with_etag(read, read.version)


def _status_route(action: service.Action, summary: str) -> None:
    async def change(
        appointment_id: AppointmentId,
        member: MemberDep,
        database: DatabaseDep,
        if_match: IfMatch = None,
    ) -> Response:
        read = await service.change_status(database, member, appointment_id, if_match, action)
        return _with_etag(read, read.version)

    change.__name__ = f"{action.replace('-', '_')}_appointment"
    staff_router.add_api_route(
        f"/{{appointment_id}}/{action}",
        change,
        methods=["POST"],
        summary=summary,
        description="Allowed: pending → confirmed | cancelled; confirmed → cancelled | "
        "completed | no_show. Anything else is 422 `invalid_transition`.",
        response_model=AppointmentRead,
        responses={
            **_documented(200, "Changed"),
            **openapi_error_responses(*STAFF_ERROR_STATUSES, 412, 428),
        },
    )


_status_route("cancel", "Cancel an appointment")
_status_route("confirm", "Confirm a pending appointment")
_status_route("complete", "Mark an appointment completed")
_status_route("no-show", "Mark that the customer did not come")
