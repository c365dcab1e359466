"""Booking rules: public bookings, manage links, the staff appointment book.

Every function here is a request (or page) boundary: it opens the transaction itself —
``Database.run`` for writes, so transient failures (serialization, deadlock, lost
connection) are retried from the start — and takes plain values, so the web pages call it
directly. Refusals are ``AppError``s; a ``409 slot_unavailable`` carries up to five
alternatives (the nearest slots, same professional first).

Inside a booking transaction ONE statement finds or creates the customer, checks the slot
with ``slot_rejection`` and inserts (``repository.book``); the exclusion constraint has the
last word. With an ``Idempotency-Key`` the key is claimed first in the same
transaction and the answer stored before commit (``idempotency``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from slotwise.auth.deps import CurrentMember
from slotwise.availability import engine
from slotwise.availability import service as availability
from slotwise.booking import idempotency, repository
from slotwise.booking.idempotency import StoredResponse
from slotwise.booking.repository import AppointmentRow, Booked, ManagedRow, Visibility
from slotwise.booking.schemas import (
    AppointmentCreate,
    AppointmentPage,
    AppointmentRead,
    AppointmentUpdate,
    BookingCreate,
    BookingPolicyRead,
    BookingRead,
    BookingUpdate,
    BusinessProfileRead,
    BusinessRef,
    CustomerCreate,
    CustomerRef,
    ManagedBookingRead,
    NamedRef,
    PublicProfessional,
    PublicService,
    ServiceRef,
)
from slotwise.booking.tokens import issue_manage_token, read_manage_token
from slotwise.core.problems import problem_response
from slotwise.customers.phones import normalize_phone, phone_region
from slotwise.db.constraints import refusals
from slotwise.db.database import Database
from slotwise.errors import (
    AppError,
    BeyondHorizon,
    CancelTooLate,
    Forbidden,
    InsufficientNotice,
    InvalidTransition,
    NotFound,
    OutsideWorkingHours,
    PreconditionFailed,
    PreconditionRequired,
    ServiceNotOffered,
    SlotUnavailable,
    ValidationFailed,
)
from slotwise.settings import Settings
from slotwise.tenancy.service import TenantResolver

Source = Literal["public", "staff"]
Action = Literal["cancel", "confirm", "complete", "no-show"]

ACTIVE_STATUSES: Final = ("pending", "confirmed")
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "pending": frozenset({"confirmed", "cancelled"}),
    "confirmed": frozenset({"cancelled", "completed", "no_show"}),
}
ACTION_STATUS: Final[dict[Action, str]] = {
    "cancel": "cancelled",
    "confirm": "confirmed",
    "complete": "completed",
    "no-show": "no_show",
}
MAX_CANDIDATES = 20
"""An "any professional" booking tries at most this many professionals in turn."""
DEFAULT_PAGE = 50
MAX_PAGE = 200

NO_SUCH_CUSTOMER = "There is no such customer."
NO_SUCH_PROFESSIONAL = "There is no such professional."
NO_SUCH_SERVICE = "There is no such service."
INVALID_CURSOR = "This page link is not valid. Start again from the first page."
INVALID_BOUND = "Use a date (YYYY-MM-DD) or a time with its UTC offset."
RANGE_REVERSED = "The end of the range must be after its start."

_REJECTIONS: Final[dict[str, type[AppError]]] = {
    "slot_unavailable": SlotUnavailable,
    "outside_working_hours": OutsideWorkingHours,
    "insufficient_notice": InsufficientNotice,
    "beyond_horizon": BeyondHorizon,
    "service_not_offered": ServiceNotOffered,
}
# When nobody is free for an "any professional" booking, the answer is the rejection of
# whoever came closest: busy beats outside hours beats notice/horizon beats not offered.
_CLOSENESS: Final = (
    "service_not_offered",
    "beyond_horizon",
    "insufficient_notice",
    "outside_working_hours",
    "slot_unavailable",
)


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(errors=[{"field": field, "message": message}])


_BY_CONSTRAINT: Final[dict[str, Callable[[], AppError]]] = {
    "ex_appointments_no_overlap": SlotUnavailable,
    "fk_appointments_customer": lambda: _field_error("customer_id", NO_SUCH_CUSTOMER),
    "fk_appointments_professional": lambda: _field_error("professional_id", NO_SUCH_PROFESSIONAL),
    "fk_appointments_service": lambda: _field_error("service_id", NO_SUCH_SERVICE),
}


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_allows(header: str | None, version: int) -> None:
    """``428`` without ``If-Match``; ``412`` unless it names ``version`` (or is ``*``)."""
    if header is None or not header.strip():
        raise PreconditionRequired()
    wanted = etag(version)
    for part in header.split(","):
        tag = part.strip().removeprefix("W/")
        if tag in ("*", wanted):
            return
    raise PreconditionFailed()


def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


# ------------------------------------------------------------------------ public profile


async def get_business_profile(
    database: Database, tenants: TenantResolver, slug: str
) -> BusinessProfileRead:
    """What a booking page shows about a business (active services and professionals)."""
    tenant_id = await tenants.resolve(database, slug)
    async with database.transaction(tenant_id) as conn:
        return await business_profile(conn)


async def business_profile(conn: AsyncConnection) -> BusinessProfileRead:
    """``get_business_profile`` inside the caller's transaction (a page reading more of the
    same business in one go)."""
    tenant = await repository.tenant_profile(conn)
    services = await repository.active_services(conn)
    professionals = await repository.active_professionals(conn)
    if tenant is None:
        raise NotFound()
    return BusinessProfileRead(
        name=tenant["name"],
        slug=tenant["slug"],
        timezone=tenant["timezone"],
        locale=tenant["locale"],
        currency=tenant["currency"],
        address=tenant["address"],
        phone=tenant["phone"],
        policy=BookingPolicyRead(
            slot_step_minutes=tenant["slot_step_minutes"],
            min_notice_minutes=tenant["min_notice_minutes"],
            horizon_days=tenant["horizon_days"],
            cancel_cutoff_minutes=tenant["cancel_cutoff_minutes"],
            auto_confirm=tenant["auto_confirm"],
        ),
        services=[PublicService(**s) for s in services],
        professionals=[PublicProfessional(**p) for p in professionals],
    )


# ------------------------------------------------------------------------ booking core


@dataclass(frozen=True, slots=True)
class _Plan:
    """One booking to make, whoever asked for it."""

    service_id: UUID
    professional_id: UUID | None  # None: any professional
    start: datetime  # aware, UTC
    notes: str
    source: Source
    check_rules: bool
    customer: CustomerCreate | None
    customer_id: UUID | None

    @property
    def spot(self) -> _Spot:
        return _Spot(self.service_id, self.professional_id, self.start)


@dataclass(frozen=True, slots=True)
class _Spot:
    """Where a booking or a move aims (``professional_id`` None: anyone); when it is
    refused, the alternatives are searched around it."""

    service_id: UUID
    professional_id: UUID | None
    start: datetime


async def _customer_of(conn: AsyncConnection, plan: _Plan) -> UUID | repository.CustomerFields:
    """The booking's customer: a known id, or the fields to find or create him by (phone
    in E.164 as the customers domain keeps it; a local number is read in the business's
    country, which costs one query, and only then)."""
    if plan.customer_id is not None:
        return plan.customer_id
    assert plan.customer is not None  # the schemas require one of the two
    customer = plan.customer
    phone = customer.phone
    if phone is not None:
        region = None
        if not phone.startswith("+"):
            zone = await repository.tenant_timezone(conn)
            region = phone_region(zone) if zone else None
        try:
            phone = normalize_phone(phone, region)
        except ValueError as exc:
            raise _field_error("customer.phone", str(exc)) from exc
    return repository.CustomerFields(customer.name, customer.email, phone)


async def _insert(
    conn: AsyncConnection,
    plan: _Plan,
    professional_id: UUID,
    customer: UUID | repository.CustomerFields,
    now: datetime,
) -> repository.BookAttempt:
    with refusals(_BY_CONSTRAINT):
        return await repository.book(
            conn,
            professional_id=professional_id,
            service_id=plan.service_id,
            customer=customer,
            start=plan.start,
            now=now,
            notes=plan.notes,
            source=plan.source,
            check_rules=plan.check_rules,
        )


def _refusal(attempt: repository.BookAttempt) -> AppError:
    if attempt.rejection is not None:
        return _REJECTIONS.get(attempt.rejection, SlotUnavailable)()
    if not attempt.service_found:
        return _field_error("service_id", NO_SUCH_SERVICE)
    return SlotUnavailable()


async def _nobody_free(
    conn: AsyncConnection, tenant_id: UUID, plan: _Plan, now: datetime
) -> AppError:
    """Why no professional can take an "any professional" booking: the rejection of the
    one who came closest."""
    try:
        rejections = await availability.rejections_at(
            conn, tenant_id, service_id=plan.service_id, start=plan.start, now=now
        )
    except NotFound:
        return ServiceNotOffered()
    best = 0
    for found in rejections:
        code = found.value if found is not None else "slot_unavailable"
        best = max(best, _CLOSENESS.index(code))
    return _REJECTIONS[_CLOSENESS[best]]()


async def _attempt(conn: AsyncConnection, tenant_id: UUID, plan: _Plan, now: datetime) -> Booked:
    """Book ``plan`` in this transaction or raise the refusal (the caller rolls back)."""
    customer = await _customer_of(conn, plan)
    if plan.professional_id is not None:
        attempt = await _insert(conn, plan, plan.professional_id, customer, now)
        if attempt.booked is None:
            raise _refusal(attempt)
        return attempt.booked
    tried: set[UUID] = set()
    for _ in range(MAX_CANDIDATES):
        try:
            chosen = await availability.choose_professional(
                conn, tenant_id, service_id=plan.service_id, start=plan.start, now=now
            )
        except NotFound as exc:
            raise ServiceNotOffered() from exc
        if chosen is None or chosen in tried:
            break
        tried.add(chosen)
        attempt = await _insert(conn, plan, chosen, customer, now)
        if attempt.booked is not None:
            return attempt.booked
        # Taken meanwhile (or refused by the SQL check): the next choice, made on a fresh
        # snapshot, sees that booking and picks someone else — for the same customer.
        customer = attempt.customer_id
    if tried:
        raise SlotUnavailable()
    raise await _nobody_free(conn, tenant_id, plan, now)


def _slot_json(slot: engine.Slot, zone: str) -> dict[str, Any]:
    return {
        "start": _local(slot.start, zone).isoformat(),
        "end": _local(slot.end, zone).isoformat(),
        "professional_ids": [str(p) for p in slot.professional_ids],
    }


async def _alternatives(
    conn: AsyncConnection, tenant_id: UUID, spot: _Spot, now: datetime
) -> list[dict[str, Any]]:
    try:
        found = await availability.alternatives(
            conn,
            tenant_id,
            service_id=spot.service_id,
            professional_id=spot.professional_id,
            around=spot.start,
            now=now,
            exclude=spot.start,
        )
    except AppError:
        return []
    return [_slot_json(slot, found.timezone) for slot in found.slots]


async def _alternatives_after(
    database: Database, tenant_id: UUID, spot: _Spot, now: datetime
) -> list[dict[str, Any]]:
    """Alternatives in a read transaction of their own, after the booking one failed.

    When many requests lose the same slot at once (a rush on one time), they share one
    computation: a look-up already running for the same business, service, professional
    and start is awaited instead of repeated (nothing is kept once it is done)."""
    key = (tenant_id, spot)
    running = _ALTERNATIVES_IN_FLIGHT.get(key)
    if running is not None:
        return list(await asyncio.shield(running))

    async def read(conn: AsyncConnection) -> list[dict[str, Any]]:
        return await _alternatives(conn, tenant_id, spot, now)

    task = asyncio.ensure_future(database.run(read, tenant_id))
    _ALTERNATIVES_IN_FLIGHT[key] = task
    try:
        return list(await asyncio.shield(task))
    finally:
        if _ALTERNATIVES_IN_FLIGHT.get(key) is task:
            del _ALTERNATIVES_IN_FLIGHT[key]


_ALTERNATIVES_IN_FLIGHT: dict[tuple[UUID, _Spot], asyncio.Future[list[dict[str, Any]]]] = {}


def _with_alternatives(error: SlotUnavailable, alternatives: list[dict[str, Any]]) -> AppError:
    return SlotUnavailable(alternatives=alternatives, headers=error.headers)


async def _refusal_after(
    database: Database, tenant_id: UUID, error: SlotUnavailable, spot: _Spot, now: datetime
) -> AppError:
    """The ``409`` of a refused write, with the alternatives around where it aimed."""
    return _with_alternatives(error, await _alternatives_after(database, tenant_id, spot, now))


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """The ``Idempotency-Key`` of a request and what the key stands for, plus how a refusal
    is rendered (the stored answer must be exactly the one sent)."""

    key: str
    request_hash: str
    locale: str
    instance: str


def stored_from(response: Response) -> StoredResponse:
    headers = [
        (k, v) for k, v in response.headers.items() if k.lower() in idempotency.REPLAYED_HEADERS
    ]
    return StoredResponse(response.status_code, bytes(response.body), headers)


def json_response(
    status: int, document: Any, headers: dict[str, str] | None = None
) -> StoredResponse:
    """A JSON answer as exact bytes (stored for replays and sent as is)."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    # Private answers (a booking carries its manage token): never kept by any cache.
    pairs = [("content-type", "application/json"), ("cache-control", "no-store")]
    pairs.extend((k.lower(), v) for k, v in (headers or {}).items())
    return StoredResponse(status, body, pairs)


Render = Callable[[AsyncConnection, Booked], Awaitable[StoredResponse]]


async def _book_idempotently(
    database: Database,
    tenant_id: UUID,
    plan: _Plan,
    render: Render,
    request: IdempotentRequest,
    now: datetime,
    user_id: UUID | None = None,
) -> StoredResponse:
    """Claim the key, book in a savepoint, store whatever answer comes out (success or
    refusal) with the claim, commit together."""

    async def work(conn: AsyncConnection) -> StoredResponse:
        replay = await idempotency.claim(conn, request.key, request.request_hash)
        if replay is not None:
            return replay
        try:
            async with conn.begin_nested():
                booked = await _attempt(conn, tenant_id, plan, now)
        except AppError as error:
            if isinstance(error, SlotUnavailable):
                error = _with_alternatives(
                    error, await _alternatives(conn, tenant_id, plan.spot, now)
                )
            answer = stored_from(problem_response(error, request.locale, request.instance))
        else:
            answer = await render(conn, booked)
        await idempotency.store(conn, request.key, answer)
        return answer

    return await database.run(work, tenant_id, user_id=user_id)


async def _book_plain(
    database: Database,
    tenant_id: UUID,
    plan: _Plan,
    render: Callable[[AsyncConnection, Booked], Awaitable[Any]],
    now: datetime,
    user_id: UUID | None = None,
) -> Any:
    """Book without a key: a refusal rolls everything back; alternatives come after."""

    async def work(conn: AsyncConnection) -> Any:
        return await render(conn, await _attempt(conn, tenant_id, plan, now))

    try:
        return await database.run(work, tenant_id, user_id=user_id)
    except SlotUnavailable as error:
        raise await _refusal_after(database, tenant_id, error, plan.spot, now) from error


# ------------------------------------------------------------------------ public booking


def manage_url(settings: Settings, slug: str, appointment_id: UUID, token: str) -> str:
    """The customer's secret link to the booking's page."""
    return f"{settings.base_url.rstrip('/')}/b/{slug}/bookings/{appointment_id}?token={token}"


def manage_location(appointment_id: UUID, token: str) -> str:
    """The API address of the booking behind a manage token."""
    return f"/api/v1/public/bookings/{appointment_id}?token={token}"


def _public_plan(payload: BookingCreate) -> _Plan:
    return _Plan(
        service_id=payload.service_id,
        professional_id=payload.professional_id,
        start=payload.start.astimezone(UTC),
        notes=payload.notes,
        source="public",
        check_rules=True,
        customer=payload.customer,
        customer_id=None,
    )


def _booking_read(settings: Settings, tenant_id: UUID, slug: str, booked: Booked) -> BookingRead:
    token = issue_manage_token(settings, tenant_id, booked.id)
    return BookingRead(
        id=booked.id,
        status=booked.status,
        start=_local(booked.starts_at, booked.timezone),
        end=_local(booked.ends_at, booked.timezone),
        professional_id=booked.professional_id,
        service_id=booked.service_id,
        manage_token=token,
        manage_url=manage_url(settings, slug, booked.id, token),
    )


def booking_response(read: BookingRead, version: int) -> StoredResponse:
    """The ``201`` of a booking: body, ``ETag`` and ``Location`` (the manage resource)."""
    return json_response(
        201,
        read.model_dump(mode="json"),
        {"ETag": etag(version), "Location": manage_location(read.id, read.manage_token)},
    )


async def create_public_booking(
    database: Database,
    settings: Settings,
    tenants: TenantResolver,
    slug: str,
    payload: BookingCreate,
    *,
    now: datetime | None = None,
) -> tuple[BookingRead, int]:
    """Book from the public page: the booking and its version (for the ``ETag``)."""
    tenant_id = await tenants.resolve(database, slug)
    moment = now or datetime.now(UTC)

    async def render(conn: AsyncConnection, booked: Booked) -> tuple[BookingRead, int]:
        return _booking_read(settings, tenant_id, slug, booked), booked.version

    result: tuple[BookingRead, int] = await _book_plain(
        database, tenant_id, _public_plan(payload), render, moment
    )
    return result


async def create_public_booking_idempotent(
    database: Database,
    settings: Settings,
    tenants: TenantResolver,
    slug: str,
    payload: BookingCreate,
    request: IdempotentRequest,
    *,
    now: datetime | None = None,
) -> StoredResponse:
    """``create_public_booking`` under an ``Idempotency-Key``: the exact answer to send."""
    tenant_id = await tenants.resolve(database, slug)
    moment = now or datetime.now(UTC)

    async def render(conn: AsyncConnection, booked: Booked) -> StoredResponse:
        read = _booking_read(settings, tenant_id, slug, booked)
        return booking_response(read, booked.version)

    return await _book_idempotently(
        database, tenant_id, _public_plan(payload), render, request, moment
    )


# ------------------------------------------------------------------------ manage links


def _tenant_of_token(settings: Settings, appointment_id: UUID, token: str) -> UUID:
    tenant_id = read_manage_token(settings, token, appointment_id)
    if tenant_id is None:
        raise NotFound()
    return tenant_id


def _changeable_until(row: ManagedRow) -> datetime:
    return row.starts_at - timedelta(minutes=row.cancel_cutoff_minutes)


def _managed_read(row: ManagedRow, now: datetime) -> ManagedBookingRead:
    until = _changeable_until(row)
    zone = row.timezone
    return ManagedBookingRead(
        id=row.id,
        status=row.status,
        start=_local(row.starts_at, zone),
        end=_local(row.ends_at, zone),
        version=row.version,
        business=BusinessRef(
            name=row.business_name,
            slug=row.slug,
            timezone=zone,
            phone=row.phone,
            address=row.address,
        ),
        service=ServiceRef(
            id=row.service_id,
            name=row.service_name,
            duration_minutes=row.duration_minutes,
            price_minor=row.price_minor,
            currency=row.currency,
        ),
        professional=NamedRef(id=row.professional_id, name=row.professional_name),
        changeable_until=_local(until, zone),
        changeable=row.status in ACTIVE_STATUSES and now <= until,
    )


async def get_managed_booking(
    database: Database,
    settings: Settings,
    appointment_id: UUID,
    token: str,
    *,
    now: datetime | None = None,
) -> ManagedBookingRead:
    """The booking behind a manage link; ``NotFound`` for a wrong id or token alike."""
    tenant_id = _tenant_of_token(settings, appointment_id, token)
    async with database.transaction(tenant_id) as conn:
        row = await repository.managed(conn, appointment_id)
    if row is None:
        raise NotFound()
    return _managed_read(row, now or datetime.now(UTC))


async def _lock_changeable(
    conn: AsyncConnection, appointment_id: UUID, if_match: str | None, now: datetime
) -> ManagedRow:
    """The booking behind a manage link, locked, if the customer may still change it."""
    row = await repository.managed(conn, appointment_id, for_update=True)
    if row is None:
        raise NotFound()
    if_match_allows(if_match, row.version)
    if row.status not in ACTIVE_STATUSES:
        raise InvalidTransition()
    if now > _changeable_until(row):
        raise CancelTooLate()
    return row


async def cancel_managed(
    database: Database,
    settings: Settings,
    appointment_id: UUID,
    token: str,
    if_match: str | None,
    *,
    now: datetime | None = None,
) -> ManagedBookingRead:
    """The customer cancels, before the business's cutoff, the version he last saw."""
    tenant_id = _tenant_of_token(settings, appointment_id, token)
    if if_match is None:
        raise PreconditionRequired()
    moment = now or datetime.now(UTC)

    async def work(conn: AsyncConnection) -> ManagedRow:
        row = await _lock_changeable(conn, appointment_id, if_match, moment)
        await repository.set_status(
            conn, appointment_id=appointment_id, version=row.version, status="cancelled"
        )
        updated = await repository.managed(conn, appointment_id)
        assert updated is not None  # locked above
        return updated

    return _managed_read(await database.run(work, tenant_id), moment)


async def reschedule_managed(
    database: Database,
    settings: Settings,
    appointment_id: UUID,
    token: str,
    if_match: str | None,
    payload: BookingUpdate,
    *,
    now: datetime | None = None,
) -> ManagedBookingRead:
    """The customer moves his booking (same rules as booking it), before the cutoff. The
    professional stays unless another is named."""
    tenant_id = _tenant_of_token(settings, appointment_id, token)
    if if_match is None:
        raise PreconditionRequired()
    moment = now or datetime.now(UTC)
    start = payload.start.astimezone(UTC)
    target: _Spot | None = None

    async def work(conn: AsyncConnection) -> ManagedRow:
        nonlocal target
        row = await _lock_changeable(conn, appointment_id, if_match, moment)
        target = _Spot(row.service_id, payload.professional_id or row.professional_id, start)
        await _move(
            conn,
            appointment_id=appointment_id,
            version=row.version,
            to=target,
            notes=None,
            check_rules=True,
            now=moment,
        )
        updated = await repository.managed(conn, appointment_id)
        assert updated is not None  # locked above
        return updated

    try:
        row = await database.run(work, tenant_id)
    except SlotUnavailable as error:
        assert target is not None  # only a move is refused so
        raise await _refusal_after(database, tenant_id, error, target, moment) from error
    return _managed_read(row, moment)


async def _move(
    conn: AsyncConnection,
    *,
    appointment_id: UUID,
    version: int,
    to: _Spot,
    notes: str | None,
    check_rules: bool,
    now: datetime,
) -> int:
    """Move a locked appointment after checking the new place with the booking rules (its
    own time set aside); the exclusion constraint guards the UPDATE itself."""
    assert to.professional_id is not None  # a move always names who
    if check_rules:
        rejection = await repository.reschedule_rejection(
            conn,
            appointment_id=appointment_id,
            professional_id=to.professional_id,
            service_id=to.service_id,
            start=to.start,
            now=now,
        )
        if rejection is not None:
            raise _REJECTIONS.get(rejection, SlotUnavailable)()
    with refusals(_BY_CONSTRAINT):
        version_now = await repository.move(
            conn,
            appointment_id=appointment_id,
            version=version,
            professional_id=to.professional_id,
            service_id=to.service_id,
            start=to.start,
            notes=notes,
        )
    if version_now is None:  # the row is locked, so only the service can be missing
        raise _field_error("service_id", NO_SUCH_SERVICE)
    return version_now


# ------------------------------------------------------------------------ staff API


def visibility_of(member: CurrentMember) -> Visibility:
    """Owners and managers see every appointment; staff only their own professional's."""
    if member.is_manager:
        return repository.EVERYTHING
    return Visibility(restricted=True, only=member.professional_id)


def appointment_read(row: AppointmentRow) -> AppointmentRead:
    zone = row.timezone
    return AppointmentRead(
        id=row.id,
        status=row.status,
        start=_local(row.starts_at, zone),
        end=_local(row.ends_at, zone),
        buffer_before_minutes=row.buffer_before_minutes,
        buffer_after_minutes=row.buffer_after_minutes,
        professional=NamedRef(id=row.professional_id, name=row.professional_name),
        service=NamedRef(id=row.service_id, name=row.service_name),
        customer=CustomerRef(
            id=row.customer_id,
            name=row.customer_name,
            email=row.customer_email,
            phone=row.customer_phone,
        ),
        notes=row.notes,
        source=row.source,
        price_minor=row.price_minor,
        currency=row.currency,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get_appointment(
    database: Database, member: CurrentMember, appointment_id: UUID
) -> AppointmentRead:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        row = await repository.appointment(conn, appointment_id, visibility_of(member))
    if row is None:
        raise NotFound()
    return appointment_read(row)


def encode_cursor(row: AppointmentRow) -> str:
    raw = f"{row.starts_at.astimezone(UTC).isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        instant = datetime.fromisoformat(when)
        if instant.tzinfo is None:
            raise ValueError(cursor)
        return instant, UUID(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _field_error("cursor", INVALID_CURSOR) from exc


def parse_bound(value: str, zone: str, *, field: str, end: bool) -> datetime:
    """A range bound: a local date (midnight starting it; for ``to``, the midnight ending
    it, so the date is included) or an instant with its UTC offset."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            instant = datetime.combine(day, time(), tzinfo=ZoneInfo(zone))
        else:
            instant = datetime.fromisoformat(text)
            if instant.tzinfo is None:
                raise ValueError(text)
    except (ValueError, OverflowError) as exc:
        raise _field_error(field, INVALID_BOUND) from exc
    if not (2000 <= instant.year <= 2100):
        raise _field_error(field, INVALID_BOUND)
    return instant.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AppointmentFilter:
    starts_from: str | None = None
    starts_to: str | None = None
    professional_id: UUID | None = None
    statuses: tuple[str, ...] = ()
    limit: int = DEFAULT_PAGE
    cursor: str | None = None


async def list_appointments(
    database: Database, member: CurrentMember, query: AppointmentFilter
) -> AppointmentPage:
    """Appointments by start time (keyset pages), with who, what and for whom."""
    after = decode_cursor(query.cursor) if query.cursor else None
    limit = max(1, min(query.limit, MAX_PAGE))
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        zone = await repository.tenant_timezone(conn) or "UTC"
        starts_from = (
            parse_bound(query.starts_from, zone, field="from", end=False)
            if query.starts_from
            else None
        )
        starts_before = (
            parse_bound(query.starts_to, zone, field="to", end=True) if query.starts_to else None
        )
        if starts_from and starts_before and starts_before <= starts_from:
            raise _field_error("to", RANGE_REVERSED)
        rows = await repository.appointments(
            conn,
            visibility=visibility_of(member),
            starts_from=starts_from,
            starts_before=starts_before,
            professional_id=query.professional_id,
            statuses=list(query.statuses) or None,
            after=after,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return AppointmentPage(
        items=[appointment_read(r) for r in rows],
        next_cursor=encode_cursor(rows[-1]) if more and rows else None,
    )


def _staff_plan(member: CurrentMember, payload: AppointmentCreate) -> _Plan:
    professional_id = payload.professional_id
    if not member.is_manager:
        if payload.override_rules or member.professional_id is None:
            raise Forbidden()
        if professional_id is None:
            professional_id = member.professional_id
        elif professional_id != member.professional_id:
            raise Forbidden()
    return _Plan(
        service_id=payload.service_id,
        professional_id=professional_id,
        start=payload.start.astimezone(UTC),
        notes=payload.notes,
        source="staff",
        check_rules=not payload.override_rules,
        customer=payload.customer,
        customer_id=payload.customer_id,
    )


async def _read_created(conn: AsyncConnection, booked: Booked) -> AppointmentRead:
    row = await repository.appointment(conn, booked.id)
    assert row is not None  # inserted in this very transaction
    return appointment_read(row)


async def create_appointment(
    database: Database,
    member: CurrentMember,
    payload: AppointmentCreate,
    *,
    now: datetime | None = None,
) -> AppointmentRead:
    """Staff book for a customer; owners and managers may override the rules (never the
    exclusion constraint)."""
    plan = _staff_plan(member, payload)
    result: AppointmentRead = await _book_plain(
        database,
        member.tenant_id,
        plan,
        _read_created,
        now or datetime.now(UTC),
        user_id=member.user_id,
    )
    return result


def appointment_response(read: AppointmentRead, status: int = 200) -> StoredResponse:
    headers = {"ETag": etag(read.version)}
    if status == 201:
        headers["Location"] = f"/api/v1/appointments/{read.id}"
    return json_response(status, read.model_dump(mode="json"), headers)


async def create_appointment_idempotent(
    database: Database,
    member: CurrentMember,
    payload: AppointmentCreate,
    request: IdempotentRequest,
    *,
    now: datetime | None = None,
) -> StoredResponse:
    plan = _staff_plan(member, payload)

    async def render(conn: AsyncConnection, booked: Booked) -> StoredResponse:
        return appointment_response(await _read_created(conn, booked), 201)

    return await _book_idempotently(
        database,
        member.tenant_id,
        plan,
        render,
        request,
        now or datetime.now(UTC),
        user_id=member.user_id,
    )


async def _lock_visible(
    conn: AsyncConnection, member: CurrentMember, appointment_id: UUID, if_match: str | None
) -> AppointmentRow:
    """The appointment, locked, if the member sees it and saw its current version."""
    row = await repository.appointment(conn, appointment_id, visibility_of(member), for_update=True)
    if row is None:
        raise NotFound()
    if_match_allows(if_match, row.version)
    return row


async def update_appointment(
    database: Database,
    member: CurrentMember,
    appointment_id: UUID,
    if_match: str | None,
    payload: AppointmentUpdate,
    *,
    now: datetime | None = None,
) -> AppointmentRead:
    """Change start, professional, service or notes of the version the caller saw."""
    if if_match is None:
        raise PreconditionRequired()
    is_manager = member.is_manager
    if payload.override_rules and not is_manager:
        raise Forbidden()
    if (
        not is_manager
        and payload.professional_id is not None
        and payload.professional_id != member.professional_id
    ):
        raise Forbidden()
    moment = now or datetime.now(UTC)
    target: _Spot | None = None

    async def work(conn: AsyncConnection) -> AppointmentRow:
        nonlocal target
        row = await _lock_visible(conn, member, appointment_id, if_match)
        spot = _Spot(
            payload.service_id or row.service_id,
            payload.professional_id or row.professional_id,
            payload.start.astimezone(UTC) if payload.start else row.starts_at,
        )
        if spot != _Spot(row.service_id, row.professional_id, row.starts_at):
            if row.status not in ACTIVE_STATUSES:
                raise InvalidTransition()
            target = spot
            await _move(
                conn,
                appointment_id=appointment_id,
                version=row.version,
                to=spot,
                notes=payload.notes,
                check_rules=not payload.override_rules,
                now=moment,
            )
        elif payload.notes is not None:
            await repository.set_notes(
                conn, appointment_id=appointment_id, version=row.version, notes=payload.notes
            )
        updated = await repository.appointment(conn, appointment_id)
        assert updated is not None  # locked above
        return updated

    try:
        row = await database.run(work, member.tenant_id, user_id=member.user_id)
    except SlotUnavailable as error:
        assert target is not None  # only a move is refused so
        raise await _refusal_after(database, member.tenant_id, error, target, moment) from error
    return appointment_read(row)


async def change_status(
    database: Database,
    member: CurrentMember,
    appointment_id: UUID,
    if_match: str | None,
    action: Action,
) -> AppointmentRead:
    """cancel / confirm / complete / no-show, along the allowed transitions only."""
    if if_match is None:
        raise PreconditionRequired()
    status = ACTION_STATUS[action]

    async def work(conn: AsyncConnection) -> AppointmentRow:
        row = await _lock_visible(conn, member, appointment_id, if_match)
        if status not in TRANSITIONS.get(row.status, frozenset()):
            raise InvalidTransition()
        with refusals(_BY_CONSTRAINT):
            await repository.set_status(
                conn, appointment_id=appointment_id, version=row.version, status=status
            )
        updated = await repository.appointment(conn, appointment_id)
        assert updated is not None  # locked above
        return updated

    return appointment_read(await database.run(work, member.tenant_id, user_id=member.user_id))


async def purge_expired_idempotency_keys(database: Database, limit: int = 10_000) -> int:
    """Delete up to ``limit`` expired idempotency keys of every tenant (a periodic job)."""

    async def work(conn: AsyncConnection) -> int:
        return await repository.purge_expired_keys(conn, limit)

    return await database.run(work, None)
