"""Public pages: the booking page of a business (``/b/{slug}``), the confirmation with its
calendar file, and the customer's manage page (view, reschedule, cancel).

Every step is a plain link or form (the state lives in the query string), so the whole flow
works with JavaScript off; ``booking.js`` only loads days in place, follows live
availability and sends the details form with fetch. Pages call the availability and
booking services in-process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import JSONResponse, Response

from slotwise import errors
from slotwise.availability.schemas import AvailabilityQuery
from slotwise.availability.service import list_availability
from slotwise.booking import service as booking
from slotwise.booking.schemas import (
    BookingCreate,
    BookingUpdate,
    BusinessProfileRead,
    CustomerCreate,
    ManagedBookingRead,
    PublicProfessional,
    PublicService,
)
from slotwise.core.deps import DatabaseDep, SettingsDep, TenantResolverDep
from slotwise.core.ratelimit import public_rate_limit
from slotwise.db.database import Database
from slotwise.i18n import SUPPORTED_LOCALES, gettext
from slotwise.settings import Settings
from slotwise.tenancy.service import TenantResolver
from slotwise.web import repository
from slotwise.web.calendar import booking_ics
from slotwise.web.i18n import N_, Formats, formats
from slotwise.web.pages import (
    HTML_RESPONSE,
    SEE_OTHER,
    PageRoute,
    errors_by_field,
    form_fields,
    form_schema,
    local_date,
    merge,
    page_error_responses,
    use_page_locale,
    validate_form,
    wants_json,
)
from slotwise.web.rendering import local_path, redirect, render
from slotwise.web.schemas import (
    TIME_GONE,
    BookingDetailsCreate,
    CancelCreate,
    RescheduleCreate,
    parse_pro,
)
from slotwise.web.security import FRAME_ANCESTORS_KEY, is_https
from slotwise.web.service import (
    date_strip,
    group_slots,
    pick_date,
    slots_of,
    strip_dates,
)

M = TypeVar("M", bound=BaseModel)

router = APIRouter(route_class=PageRoute, tags=["pages"], dependencies=[Depends(public_rate_limit)])

ZONE_LABEL = N_("Times are shown in {zone} ({offset}).")
LANG_COOKIE_SECONDS = 365 * 24 * 3600

Slug = Annotated[str, Path(max_length=64, description="The business's booking page address.")]
Choice = Annotated[str | None, Query(max_length=64)]
Token = Annotated[str, Query(min_length=1, max_length=128, description="The manage token.")]
BookingId = Annotated[UUID, Path(description="The booking's id.")]
PAGE_ERRORS = page_error_responses(404, 422, 429)
FORM_ERRORS = page_error_responses(403, 404, 409, 412, 422, 428, 429)


# ------------------------------------------------------------------ helpers


@dataclass(frozen=True, slots=True)
class Picker:
    """The booking page's choices so far (each step unlocks the next)."""

    service: PublicService | None = None
    pro: str | None = None  # "any" or a professional id
    day: date | None = None
    start: datetime | None = None


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _instant(value: str | None) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def offering(profile: BusinessProfileRead, service: PublicService) -> list[PublicProfessional]:
    return [p for p in profile.professionals if service.id in p.service_ids]


def read_picker(
    profile: BusinessProfileRead,
    service: str | None,
    pro: str | None,
    day: str | None,
    start: str | None,
) -> Picker:
    """The choices of the query string that still make sense (unknown ones are dropped)."""
    service_id = _uuid(service)
    chosen = next((s for s in profile.services if s.id == service_id), None)
    if chosen is None:
        return Picker()
    pro_ids = {str(p.id) for p in offering(profile, chosen)}
    if pro != "any" and pro not in pro_ids:
        return Picker(chosen)
    return Picker(chosen, pro, local_date(day), _instant(start))


def page_link(slug: str, picker: Picker) -> Callable[..., str]:
    """``link(**changes)`` for templates: this page with some choices changed (None drops)."""
    base = f"/b/{quote(slug)}"

    def link(**changes: Any) -> str:
        values: dict[str, Any] = {
            "service": picker.service.id if picker.service else None,
            "pro": picker.pro,
            "date": picker.day.isoformat() if picker.day else None,
            "start": picker.start.isoformat() if picker.start else None,
        }
        if "service" in changes:
            values.update(pro=None, date=None, start=None)
        values.update(changes)
        query = urlencode([(k, str(v)) for k, v in values.items() if v not in (None, "")])
        return f"{base}?{query}" if query else base

    return link


def zone_label(locale: str, fmt: Formats) -> str:
    return gettext(
        ZONE_LABEL, locale, zone=fmt.zone_name(), offset=fmt.utc_offset(datetime.now(UTC))
    )


async def page_settings(
    request: Request, database: Database, tenants: TenantResolver, slug: str
) -> repository.PageSettings:
    """The tenant's page settings; lets the security headers allow its embedding origins."""
    tenant_id = await tenants.resolve(database, slug)

    async def read(conn: AsyncConnection) -> repository.PageSettings:
        return await repository.page_settings(conn)

    found = await database.run(read, tenant_id)
    request.scope[FRAME_ANCESTORS_KEY] = found.embed_origins
    return found


async def _profile(
    request: Request, database: Database, tenants: TenantResolver, slug: str
) -> tuple[BusinessProfileRead, str, Formats]:
    """The business and its page settings, in one transaction."""
    tenant_id = await tenants.resolve(database, slug)

    async def read(conn: AsyncConnection) -> tuple[BusinessProfileRead, repository.PageSettings]:
        return await booking.business_profile(conn), await repository.page_settings(conn)

    profile, settings = await database.run(read, tenant_id)
    request.scope[FRAME_ANCESTORS_KEY] = settings.embed_origins
    locale = use_page_locale(request, profile.locale)
    return profile, locale, formats(locale, profile.timezone)


async def _days(
    database: Database,
    tenants: TenantResolver,
    slug: str,
    service_id: UUID,
    pro: str,
    first: date,
    last: date,
) -> Sequence[Any]:
    query = AvailabilityQuery(
        service_id=service_id, date_from=first, date_to=last, professional_id=parse_pro(pro)
    )
    return (await list_availability(database, tenants, slug, query)).days


def today_of(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


async def picker_context(
    database: Database,
    tenants: TenantResolver,
    slug: str,
    service_id: UUID,
    pro: str,
    requested: date | None,
    timezone: str,
    start: datetime | None = None,
) -> dict[str, Any]:
    """The date strip and the chosen day's slots (one availability read for the strip)."""
    first, last = strip_dates(today_of(timezone))
    days = await _days(database, tenants, slug, service_id, pro, first, last)
    selected = pick_date(requested, days)
    return {
        "strip": date_strip(days, selected),
        "start": start,
        **_day_slots(days, selected, ZoneInfo(timezone)),
    }


def _day_slots(days: Sequence[Any], day: date | None, zone: tzinfo) -> dict[str, Any]:
    """What ``_slots.html`` shows of one day: its free times by time of day, and how many."""
    slots = slots_of(days, day)
    return {"day": day, "groups": group_slots(slots, zone), "free": len(slots)}


def _slots_fragment(
    request: Request, fmt: Formats, day: date, days: Sequence[Any], link: Callable[..., str]
) -> Response:
    """One day's free times alone, for the pages' script to load in place."""
    context = {"fmt": fmt, "start": None, "link": link, **_day_slots(days, day, fmt.zone)}
    return render(request, "public/_slots.html", context)


_NO_SLOTS: dict[str, Any] = {"strip": [], "day": None, "groups": [], "free": 0}
"""The picker's values before a professional (or, when moving a booking, the picker) is
chosen."""


def alternative_views(
    alternatives: Sequence[Mapping[str, Any]],
    pro: str,
    names: Mapping[str, str],
    fmt: Formats,
) -> list[dict[str, Any]]:
    """The 409's alternatives as one-click choices: the label a person reads and the value
    the form sends back (``start|professional``, keeping "any" or the chosen professional
    when he is free then)."""
    views = []
    for alt in alternatives:
        start = datetime.fromisoformat(str(alt["start"]))
        ids = [str(i) for i in alt.get("professional_ids", [])]
        who = ""
        choice = pro
        if pro != "any" and pro not in ids and ids:
            choice = ids[0]
            who = names.get(choice, "")
        label = f"{fmt.day_pattern(start.astimezone(fmt.zone).date(), 'EEE d MMM')} "
        label += fmt.time(start) + (f" · {who}" if who else "")
        views.append({**alt, "value": f"{alt['start']}|{choice}", "label": label})
    return views


def confirmation_url(slug: str, booking_id: UUID, token: str) -> str:
    return f"/b/{quote(slug)}/booking/{booking_id}?token={quote(token)}"


def manage_path(slug: str, booking_id: UUID) -> str:
    """The manage page (the link ``booking.service.manage_url`` gives customers)."""
    return f"/b/{quote(slug)}/bookings/{booking_id}"


def reschedule_link(
    slug: str, booking_id: UUID, token: str, day: date | None
) -> Callable[..., str]:
    """``link(**changes)`` for templates: the manage page with the picker open on ``day``
    and some choices changed (None drops)."""
    base = f"{manage_path(slug, booking_id)}?token={quote(token)}&reschedule=1"

    def link(**changes: Any) -> str:
        values = {"date": day.isoformat() if day else None}
        values.update({k: str(v) for k, v in changes.items() if v is not None})
        query = urlencode([(k, v) for k, v in values.items() if v])
        return f"{base}&{query}" if query else base

    return link


# ------------------------------------------------------------------ booking page


async def _booking_page(
    request: Request,
    database: Database,
    tenants: TenantResolver,
    slug: str,
    profile: BusinessProfileRead,
    locale: str,
    fmt: Formats,
    picker: Picker,
    *,
    values: Mapping[str, str] | None = None,
    errors_found: Mapping[str, str] | None = None,
    conflict: str | None = None,
    alternatives: Sequence[Mapping[str, Any]] = (),
    status: int = 200,
) -> Response:
    link = page_link(slug, picker)
    context: dict[str, Any] = {
        "business": profile,
        "fmt": fmt,
        "services": profile.services,
        "service": picker.service,
        "pros": offering(profile, picker.service) if picker.service else [],
        "pro": picker.pro,
        "pro_name": "",
        "start": picker.start,
        "link": link,
        "page_url": f"/b/{quote(slug)}",
        "book_url": f"/b/{quote(slug)}/book",
        "zone_label": zone_label(locale, fmt),
        "values": values or {},
        "errors": errors_found or {},
        "conflict": conflict,
        "alternatives": alternatives,
        **_NO_SLOTS,
    }
    if picker.service and picker.pro:
        names = {str(p.id): p.name for p in profile.professionals}
        context["pro_name"] = (
            gettext("Any professional", locale) if picker.pro == "any" else names[picker.pro]
        )
        query = urlencode({"service": str(picker.service.id), "pro": picker.pro})
        context["fragment_url"] = f"/b/{quote(slug)}/slots?{query}"
        context["events_url"] = f"/api/v1/public/businesses/{quote(slug)}/events"
        if picker.start is None:
            context.update(
                await picker_context(
                    database,
                    tenants,
                    slug,
                    picker.service.id,
                    picker.pro,
                    picker.day,
                    profile.timezone,
                )
            )
    return render(request, "public/booking.html", context, status=status)


@router.get(
    "/b/{slug}",
    summary="Booking page of a business",
    description=(
        "Steps in the query string: `service` → `pro` (`any` or an id) → `date` → `start`, "
        "then the details form (posted to `/b/{slug}/book`)."
    ),
    response_class=Response,
    responses=merge(HTML_RESPONSE, PAGE_ERRORS),
)
async def booking_page(
    request: Request,
    slug: Slug,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    service: Choice = None,
    pro: Choice = None,
    date: Choice = None,
    start: Choice = None,
) -> Response:
    profile, locale, fmt = await _profile(request, database, tenants, slug)
    picker = read_picker(profile, service, pro, date, start)
    return await _booking_page(request, database, tenants, slug, profile, locale, fmt, picker)


@router.get(
    "/b/{slug}/slots",
    summary="The free times of one day (an HTML fragment the booking page loads)",
    response_class=Response,
    responses=merge(HTML_RESPONSE, PAGE_ERRORS),
)
async def slots_fragment(
    request: Request,
    slug: Slug,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    service: Annotated[UUID, Query()],
    pro: Annotated[str, Query(max_length=64)],
    date: Annotated[str, Query(max_length=10)],
) -> Response:
    profile, _locale, fmt = await _profile(request, database, tenants, slug)
    picker = read_picker(profile, str(service), pro, date, None)
    day = local_date(date)
    if picker.service is None or picker.pro is None or day is None:
        raise errors.NotFound()
    days = await _days(database, tenants, slug, picker.service.id, picker.pro, day, day)
    return _slots_fragment(request, fmt, day, days, page_link(slug, picker))


def validate_details(model: type[M], fields: Mapping[str, str]) -> M:
    """``model`` from the form; when refused, every customer field's complaint at once (the
    booking's own checks of email and phone included), not one round trip per field."""
    try:
        return validate_form(model, fields)
    except errors.ValidationFailed as error:
        found = {e["field"]: e for e in error.errors}
        try:
            customer_of(
                fields.get("name") or "-", fields.get("email") or None, fields.get("phone") or None
            )
        except errors.ValidationFailed as customer:
            for item in customer.errors:
                found.setdefault(item["field"], item)
        raise errors.ValidationFailed(errors=list(found.values())) from error


HIDDEN_FIELDS = ("service", "pro", "start", "alternative")


def visible_errors(error: errors.AppError, locale: str) -> dict[str, str]:
    """The refusal's messages by input; a complaint about the hidden choice fields (a stale
    or tampered page) becomes one sentence at the top of the page."""
    found = errors_by_field(error, locale)
    hidden = [found.pop(name) for name in HIDDEN_FIELDS if name in found]
    if hidden:
        found["form"] = gettext(TIME_GONE, locale)
    return found


def customer_of(name: str, email: str | None, phone: str | None) -> CustomerCreate:
    """The booking's customer; its complaints named by input (a missing contact at email)."""
    return validate_form(
        CustomerCreate, {"name": name, "email": email, "phone": phone}, {"form": "email"}
    )


DETAILS_FIELDS = {
    "customer": "email",
    "start": "form",
    "service_id": "form",
    "professional_id": "form",
}
"""``BookingCreate``'s fields as the page's inputs: a missing contact is shown at the email
field, a bad slot at the top of the form."""


async def _refused_booking(
    request: Request,
    database: Database,
    tenants: TenantResolver,
    slug: str,
    fields: Mapping[str, str],
    choice: tuple[str | None, str | None, str | None],
    error: errors.AppError,
) -> Response:
    """The booking page again with what was typed and why it was refused (a taken time with
    its alternatives as one-click choices); scripts get problem+json. The business is read
    only here: a booking that goes through does not need it."""
    taken = isinstance(error, errors.SlotUnavailable)
    if not taken and error.status not in (409, 412, 422):
        raise error
    profile, locale, fmt = await _profile(request, database, tenants, slug)
    service, pro, start = choice
    picker = read_picker(profile, service, pro, None, start)
    conflict: str | None = None
    views: list[dict[str, Any]] = []
    found: dict[str, str] = {}
    if isinstance(error, errors.SlotUnavailable):
        names = {str(p.id): p.name for p in profile.professionals}
        views = alternative_views(error.alternatives or [], picker.pro or "any", names, fmt)
        if wants_json(request):
            raise errors.SlotUnavailable(alternatives=views) from error
        conflict = gettext(error.detail_message, locale)
    elif wants_json(request):
        raise error
    else:
        found = visible_errors(error, locale)
    return await _booking_page(
        request,
        database,
        tenants,
        slug,
        profile,
        locale,
        fmt,
        picker,
        values=fields,
        errors_found=found,
        conflict=conflict,
        alternatives=views,
        status=error.status,
    )


@router.post(
    "/b/{slug}/book",
    summary="Book the chosen time (the booking page's details form)",
    description=(
        "A browser gets a redirect to the confirmation (303) or the page again with the "
        "messages; with `Accept: application/json` the answer is `201 {id, redirect}` or "
        "problem+json (409 `slot_unavailable` lists one-click `alternatives`)."
    ),
    response_class=Response,
    responses=merge(
        SEE_OTHER, {201: {"description": "Booked (JSON clients)"}}, HTML_RESPONSE, FORM_ERRORS
    ),
    openapi_extra=form_schema(BookingDetailsCreate),
)
async def book(
    request: Request,
    slug: Slug,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
) -> Response:
    fields = await form_fields(request)
    choice = (fields.get("service"), fields.get("pro"), fields.get("start"))
    try:
        form = validate_details(BookingDetailsCreate, fields)
        try:
            start, pro = form.chosen()
        except ValueError as exc:
            raise errors.ValidationFailed(errors=[{"field": "form", "message": TIME_GONE}]) from exc
        choice = (str(form.service), pro, start.isoformat())
        payload = validate_form(
            BookingCreate,
            {
                "service_id": form.service,
                "professional_id": parse_pro(pro),
                "start": start,
                "customer": customer_of(form.name, form.email, form.phone),
                "notes": form.notes,
            },
            DETAILS_FIELDS,
        )
        read, _version = await booking.create_public_booking(
            database, settings, tenants, slug, payload
        )
    except errors.AppError as error:
        return await _refused_booking(request, database, tenants, slug, fields, choice, error)
    target = confirmation_url(slug, read.id, read.manage_token)
    if wants_json(request):
        return JSONResponse({"id": str(read.id), "redirect": target}, status_code=201)
    return redirect(target)


# ------------------------------------------------------------------ confirmation, .ics


def _booking_context(
    slug: str, read: ManagedBookingRead, token: str, locale: str, settings: Settings
) -> dict[str, Any]:
    fmt = formats(locale, read.business.timezone)
    base = manage_path(slug, read.id)
    key = f"token={quote(token)}"
    manage = f"{base}?{key}"
    return {
        "business": read.business,
        "booking": read,
        "fmt": fmt,
        "zone_label": zone_label(locale, fmt),
        "page_url": f"/b/{quote(slug)}",
        "manage_url": manage,
        "reschedule_url": f"{manage}&reschedule=1#when",
        "cancel_url": f"{base}/cancel?{key}",
        "reschedule_post_url": f"{base}/reschedule?{key}",
        "manage_url_full": booking.manage_url(settings, slug, read.id, token),
        "ics_url": f"/b/{quote(slug)}/booking/{read.id}.ics?token={quote(token)}",
    }


async def _managed(
    request: Request,
    database: Database,
    settings: Settings,
    tenants: TenantResolver,
    slug: str,
    booking_id: UUID,
    token: str,
) -> tuple[ManagedBookingRead, str]:
    read = await booking.get_managed_booking(database, settings, booking_id, token)
    if read.business.slug != slug:
        raise errors.NotFound()
    found = await page_settings(request, database, tenants, slug)
    return read, use_page_locale(request, found.locale)


@router.get(
    "/b/{slug}/booking/{booking_id}.ics",
    summary="The booking as a calendar file (.ics)",
    response_class=Response,
    responses=merge({200: {"content": {"text/calendar": {}}}}, PAGE_ERRORS),
)
async def booking_calendar(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
) -> Response:
    read, locale = await _managed(request, database, settings, tenants, slug, booking_id, token)
    body = booking_ics(read, booking.manage_url(settings, slug, read.id, token), locale)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="booking-{read.start.date()}.ics"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/b/{slug}/booking/{booking_id}",
    summary="Booking confirmation page",
    response_class=Response,
    responses=merge(HTML_RESPONSE, PAGE_ERRORS),
)
async def confirmation_page(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
) -> Response:
    read, locale = await _managed(request, database, settings, tenants, slug, booking_id, token)
    return render(
        request,
        "public/confirmation.html",
        _booking_context(slug, read, token, locale, settings),
    )


# ------------------------------------------------------------------ manage page


async def _manage_page(
    request: Request,
    database: Database,
    settings: Settings,
    tenants: TenantResolver,
    slug: str,
    read: ManagedBookingRead,
    token: str,
    locale: str,
    *,
    reschedule: bool = False,
    day: date | None = None,
    start: datetime | None = None,
    done: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    context = _booking_context(slug, read, token, locale, settings)
    context.update(
        _NO_SLOTS,
        reschedule=reschedule,
        done=done,
        problem=problem,
        start=None,
        link=reschedule_link(slug, read.id, token, day),
        fragment_url=f"{manage_path(slug, read.id)}/slots?token={quote(token)}",
        events_url=f"/api/v1/public/businesses/{quote(slug)}/events",
    )
    if reschedule and read.changeable:
        context.update(
            await picker_context(
                database,
                tenants,
                slug,
                read.service.id,
                str(read.professional.id),
                day,
                read.business.timezone,
                start,
            )
        )
    return render(request, "public/manage.html", context, status=status)


@router.get(
    "/b/{slug}/bookings/{booking_id}",
    summary="Manage a booking (the customer's secret link)",
    description="`reschedule=1` shows the slot picker; `date` and `start` pick the new time.",
    response_class=Response,
    responses=merge(HTML_RESPONSE, PAGE_ERRORS),
)
async def manage_page(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
    reschedule: Choice = None,
    date: Choice = None,
    start: Choice = None,
    done: Choice = None,
) -> Response:
    read, locale = await _managed(request, database, settings, tenants, slug, booking_id, token)
    return await _manage_page(
        request,
        database,
        settings,
        tenants,
        slug,
        read,
        token,
        locale,
        reschedule=reschedule == "1",
        day=local_date(date),
        start=_instant(start),
        done=done if done in ("cancelled", "rescheduled") else None,
    )


@router.get(
    "/b/{slug}/bookings/{booking_id}/slots",
    summary="Free times of one day for moving a booking (HTML fragment)",
    response_class=Response,
    responses=merge(HTML_RESPONSE, PAGE_ERRORS),
)
async def manage_slots_fragment(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
    date: Annotated[str, Query(max_length=10)],
) -> Response:
    read, locale = await _managed(request, database, settings, tenants, slug, booking_id, token)
    day = local_date(date)
    if day is None:
        raise errors.NotFound()
    pro = str(read.professional.id)
    days = await _days(database, tenants, slug, read.service.id, pro, day, day)
    fmt = formats(locale, read.business.timezone)
    return _slots_fragment(request, fmt, day, days, reschedule_link(slug, read.id, token, day))


@router.get(
    "/b/{slug}/bookings/{booking_id}/cancel",
    summary="Confirm cancelling a booking",
    response_class=Response,
    responses=merge(HTML_RESPONSE, PAGE_ERRORS),
)
async def cancel_page(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
) -> Response:
    read, locale = await _managed(request, database, settings, tenants, slug, booking_id, token)
    return render(
        request,
        "public/cancel.html",
        _booking_context(slug, read, token, locale, settings),
    )


def _if_match(version: int | None) -> str | None:
    return booking.etag(version) if version is not None else None


async def _change_booking(
    request: Request,
    database: Database,
    settings: Settings,
    tenants: TenantResolver,
    slug: str,
    booking_id: UUID,
    token: str,
    change: Callable[[], Awaitable[object]],
    done: Literal["cancelled", "rescheduled"],
) -> Response:
    """Cancel or move the booking; when refused, the manage page again saying why (the
    current version shown, the picker still open after a refused move)."""
    try:
        await change()
    except errors.AppError as error:
        if wants_json(request) or error.status == 404:
            raise
        read, locale = await _managed(request, database, settings, tenants, slug, booking_id, token)
        return await _manage_page(
            request,
            database,
            settings,
            tenants,
            slug,
            read,
            token,
            locale,
            reschedule=done == "rescheduled",
            problem=gettext(error.detail_message, locale, **error.params),
            status=error.status,
        )
    return redirect(f"{manage_path(slug, booking_id)}?token={quote(token)}&done={done}")


@router.post(
    "/b/{slug}/bookings/{booking_id}/cancel",
    summary="Cancel a booking (manage page form)",
    response_class=Response,
    responses=merge(SEE_OTHER, HTML_RESPONSE, FORM_ERRORS),
    openapi_extra=form_schema(CancelCreate),
)
async def cancel_booking(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
) -> Response:
    form = validate_form(CancelCreate, await form_fields(request))
    if_match = _if_match(form.version)
    return await _change_booking(
        request,
        database,
        settings,
        tenants,
        slug,
        booking_id,
        token,
        lambda: booking.cancel_managed(database, settings, booking_id, token, if_match),
        "cancelled",
    )


@router.post(
    "/b/{slug}/bookings/{booking_id}/reschedule",
    summary="Move a booking to a new time (manage page form)",
    response_class=Response,
    responses=merge(SEE_OTHER, HTML_RESPONSE, FORM_ERRORS),
    openapi_extra=form_schema(RescheduleCreate),
)
async def reschedule_booking(
    request: Request,
    slug: Slug,
    booking_id: BookingId,
    token: Token,
    database: DatabaseDep,
    settings: SettingsDep,
    tenants: TenantResolverDep,
) -> Response:
    form = validate_form(RescheduleCreate, await form_fields(request))
    if_match, update = _if_match(form.version), BookingUpdate(start=form.start)
    return await _change_booking(
        request,
        database,
        settings,
        tenants,
        slug,
        booking_id,
        token,
        lambda: booking.reschedule_managed(database, settings, booking_id, token, if_match, update),
        "rescheduled",
    )


# ------------------------------------------------------------------ language switch


@router.get(
    "/lang/{code}",
    summary="Switch the pages' language (sets the `lang` cookie)",
    response_class=Response,
    responses=merge(SEE_OTHER, page_error_responses(404, 422, 429)),
)
async def switch_language(
    request: Request,
    code: Annotated[str, Path(max_length=8)],
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    if code not in SUPPORTED_LOCALES:
        raise errors.NotFound()
    response = redirect(local_path(next, "/"))
    response.set_cookie(
        "lang",
        code,
        max_age=LANG_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    return response
