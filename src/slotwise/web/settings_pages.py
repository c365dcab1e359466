"""The dashboard's settings pages: services, professionals (offered services, weekly hours,
own breaks), business hours and breaks, closures and special days, time off, booking
policy and business profile.

Each form posts to its own address and, when the catalog refuses it, the page comes back
with the message next to the field (422); otherwise POST-redirect-GET with a notice. The
catalog service keeps the rules (who may change what, overlaps, ranges); this module turns
form text into its schemas (prices in the currency's units, weekly hours as
``09:00-12:00, 13:00-18:00`` per weekday) and its field names back into the inputs'.

Owners and managers open every page; staff only their own professional's hours and breaks
and their own time off (the catalog answers 403 to anything else)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from babel.dates import get_day_names
from babel.numbers import NumberFormatError, get_currency_precision, parse_decimal
from fastapi import APIRouter, Path, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from slotwise import errors
from slotwise.auth.deps import CurrentMember
from slotwise.catalog import service as catalog
from slotwise.catalog.schemas import (
    ClosureCreate,
    OfferingsUpdate,
    ProfessionalCreate,
    ProfessionalRead,
    ProfessionalUpdate,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
    SettingsRead,
    SettingsUpdate,
    SpecialHoursUpdate,
    TimeOffCreate,
    WeeklyBreakRead,
    WeeklyBreaks,
    WeeklyHours,
    WeeklyIntervalRead,
)
from slotwise.core.deps import DatabaseDep
from slotwise.db.database import Database
from slotwise.i18n import gettext
from slotwise.web.dashboard import SIGN_IN, STAFF_PAGE, Desk, DeskDep
from slotwise.web.i18n import N_
from slotwise.web.pages import (
    FIELD_INVALID,
    SEE_OTHER,
    PageRoute,
    checkbox,
    form_fields,
    merge,
    page_error_responses,
    refused_fields,
    validate_form,
)
from slotwise.web.rendering import redirect, render

router = APIRouter(route_class=PageRoute, tags=["pages"])

SAVED = N_("Saved.")
DELETED = N_("Deleted.")
WEEK_FORMAT = N_("Write times like 09:00-12:00, 13:00-18:00.")
BREAK_FORMAT = N_("Write breaks like 12:00-13:00 Lunch, 16:00-16:15.")
INTERVALS_FORMAT = N_("Write the hours like 10:00-14:00.")
PRICE_FORMAT = N_("Write an amount such as 45.00.")
TITLE_SERVICES = N_("Services")
TITLE_SERVICE = N_("Service")
TITLE_PROFESSIONALS = N_("Professionals")
TITLE_PROFESSIONAL = N_("Professional")
TITLE_HOURS = N_("Opening hours")
TITLE_CLOSURES = N_("Closures and special days")
TITLE_TIME_OFF = N_("Time off")
TITLE_BUSINESS = N_("Business and booking policy")
SETTINGS_NOTICES = {"saved": SAVED, "deleted": DELETED}
SETTINGS_FORM = merge(SEE_OTHER, STAFF_PAGE, page_error_responses(403, 404, 409, 422), SIGN_IN)
ServiceId = Annotated[UUID, Path(description="The service's id.")]
ProfessionalId = Annotated[UUID, Path(description="The professional's id.")]
ItemId = Annotated[UUID, Path(description="The item's id.")]
PRICE_FIELD = {"price_minor": "price"}
_INTERVAL = re.compile(r"^\s*([0-9]{1,2}:[0-9]{2})\s*[-–]\s*([0-9]{1,2}:[0-9]{2})\s*(.*?)\s*$")
T = TypeVar("T")
W = TypeVar("W", WeeklyHours, WeeklyBreaks)


# ------------------------------------------------------------------ helpers


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused form: what was typed, the messages by input, the status to answer with."""

    values: Mapping[str, Any]
    errors: Mapping[str, str]
    status: int


def _refusal(error: errors.AppError, desk: Desk, typed: Mapping[str, Any] | None = None) -> Refusal:
    return Refusal(typed or {}, refused_fields(error, desk.locale), error.status)


def _typed(fields: Mapping[str, str]) -> dict[str, Any]:
    """A refused form with an ``active`` box, as typed (an unticked box is not posted)."""
    return {**fields, "active": checkbox(fields, "active")}


async def read(
    database: Database, member: CurrentMember, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        return await work(conn)


async def write(
    database: Database, member: CurrentMember, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    """One retried transaction in the member's tenant: every settings change goes here."""
    return await database.run(work, member.tenant_id, user_id=member.user_id)


@cache
def weekday_names(locale: str) -> tuple[str, ...]:
    names = get_day_names("wide", locale=locale)
    return tuple(str(names[i]).capitalize() for i in range(7))


def week_text(items: Sequence[WeeklyIntervalRead]) -> dict[int, str]:
    """``{weekday: "09:00-12:00, 13:00-18:00"}`` (breaks keep their label after the times)."""
    days: dict[int, list[str]] = {}
    for item in items:
        text = f"{item.start}-{item.end}"
        if isinstance(item, WeeklyBreakRead) and item.label:
            text += f" {item.label}"
        days.setdefault(item.weekday, []).append(text)
    return {weekday: ", ".join(parts) for weekday, parts in days.items()}


def week_values(prefix: str, items: Sequence[WeeklyIntervalRead]) -> dict[str, str]:
    """The weekday inputs (``prefix0`` … ``prefix6``) of a stored week."""
    days = week_text(items)
    return {f"{prefix}{d}": days.get(d, "") for d in range(7)}


def parse_intervals(text: str, *, labels: bool) -> list[dict[str, str]] | None:
    """``"09:00-12:00, 13:00-18:00"`` as ``{"start", "end"}`` dicts (with the ``label``
    written after the times when ``labels``); None when a part is not an interval."""
    items: list[dict[str, str]] = []
    for chunk in filter(None, (c.strip() for c in text.split(","))):
        match = _INTERVAL.match(chunk)
        if match is None or (match.group(3) and not labels):
            return None
        item = {"start": match[1], "end": match[2]}
        if labels:
            item["label"] = match[3]
        items.append(item)
    return items


def parse_week(fields: Mapping[str, str], prefix: str, *, labels: bool) -> list[dict[str, Any]]:
    """The weekday inputs (``prefix0`` … ``prefix6``) as interval dicts in weekday order."""
    items: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    for weekday in range(7):
        parsed = parse_intervals(fields.get(f"{prefix}{weekday}", ""), labels=labels)
        if parsed is None:
            message = BREAK_FORMAT if labels else WEEK_FORMAT
            problems.append({"field": f"{prefix}{weekday}", "message": message})
        else:
            items.extend({"weekday": weekday, **item} for item in parsed)
    if problems:
        raise errors.ValidationFailed(errors=problems)
    return items


def week_errors(
    exc: ValidationError, prefix: str, weekdays: Sequence[int]
) -> errors.ValidationFailed:
    """The catalog's ``hours.3.start`` as the weekday input holding item 3."""
    found: dict[str, str] = {}
    for item in exc.errors():
        loc = list(item.get("loc", ()))
        index = next((p for p in loc if isinstance(p, int)), None)
        name = (
            f"{prefix}{weekdays[index]}"
            if index is not None and index < len(weekdays)
            else f"{prefix}0"
        )
        message = str(item.get("msg", FIELD_INVALID)).removeprefix("Value error, ")
        found.setdefault(name, message)
    return errors.ValidationFailed(errors=[{"field": k, "message": v} for k, v in found.items()])


def week_of(model: type[W], prefix: str, items: list[dict[str, Any]]) -> W:
    """The catalog's week from parsed items; a refused item names its weekday's input."""
    try:
        return model.model_validate({prefix: items})
    except ValidationError as exc:
        raise week_errors(exc, prefix, [i["weekday"] for i in items]) from exc


def price_minor(text: str, currency: str, locale: str) -> int:
    """``"60,00"`` (pt_BR) or ``"60.00"`` (en), with or without the currency sign, in the
    currency's minor units; an empty price is free."""
    if not (text or "").strip():
        return 0
    bare = re.sub(r"^[^0-9]+|[^0-9]+$", "", text.strip())
    problem = errors.ValidationFailed(errors=[{"field": "price", "message": PRICE_FORMAT}])
    if not re.fullmatch(r"[0-9][0-9.,\s]*", bare):
        raise problem
    try:
        if re.fullmatch(r"[0-9]+[.,][0-9]{1,2}", bare):  # "45.50" or "45,50": a decimal mark
            amount = Decimal(bare.replace(",", "."))
        else:
            amount = parse_decimal(bare.replace(" ", ""), locale=locale, strict=False)
    except NumberFormatError:
        try:
            amount = Decimal(bare.replace(",", "."))
        except InvalidOperation as exc:
            raise problem from exc
    minor = amount.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value():
        raise problem
    return int(minor)


def price_text(minor: int, currency: str) -> str:
    precision = get_currency_precision(currency)
    return f"{Decimal(minor).scaleb(-precision):.{precision}f}"


def _page(
    request: Request,
    desk: Desk,
    template: str,
    page: str,
    title: str,
    stored: Mapping[str, Any],
    refused: Refusal | None,
    **context: Any,
) -> Response:
    """A settings page. Its forms show ``stored``; a refused form comes back as typed, with
    the messages next to the inputs and the refusal's status."""
    key = request.query_params.get("notice")
    values = {**stored, **refused.values} if refused else stored
    page_context = desk.context("settings", title)
    page_context.update(
        page=page,
        notice=gettext(SETTINGS_NOTICES[key], desk.locale) if key in SETTINGS_NOTICES else None,
        weekdays=weekday_names(desk.locale),
        values=values,
        errors=refused.errors if refused else {},
        **context,
    )
    return render(request, template, page_context, status=refused.status if refused else 200)


# ------------------------------------------------------------------ entry


@router.get(
    "/app/settings",
    summary="Settings (services for managers, your own hours for staff)",
    response_class=Response,
    responses=merge(SEE_OTHER, SIGN_IN, page_error_responses(403)),
)
async def settings_home(desk: DeskDep) -> Response:
    member = desk.member
    if member.is_manager:
        return redirect("/app/settings/services")
    if member.professional_id is not None:
        return redirect(f"/app/settings/professionals/{member.professional_id}")
    raise errors.Forbidden()


# ------------------------------------------------------------------ services


def _service_values(service: ServiceRead) -> dict[str, Any]:
    return {
        "name": service.name,
        "description": service.description,
        "duration_minutes": service.duration_minutes,
        "buffer_before_minutes": service.buffer_before_minutes,
        "buffer_after_minutes": service.buffer_after_minutes,
        "price": price_text(service.price_minor, service.currency),
        "display_order": service.display_order,
        "active": service.active,
    }


def _service_body(fields: Mapping[str, str], currency: str, locale: str) -> dict[str, Any]:
    return {
        "name": fields.get("name", ""),
        "description": fields.get("description", ""),
        "duration_minutes": fields.get("duration_minutes", ""),
        "buffer_before_minutes": fields.get("buffer_before_minutes") or 0,
        "buffer_after_minutes": fields.get("buffer_after_minutes") or 0,
        "price_minor": price_minor(fields.get("price", ""), currency, locale),
        "display_order": fields.get("display_order") or 0,
        "active": checkbox(fields, "active"),
    }


async def _services_page(
    request: Request, desk: Desk, database: Database, refused: Refusal | None = None
) -> Response:
    member = desk.member
    catalog.require_manager(member)
    services = await read(database, member, lambda c: catalog.list_services(c, member, None))
    return _page(
        request,
        desk,
        "settings/services.html",
        "services",
        TITLE_SERVICES,
        {"active": True, "duration_minutes": 30},
        refused,
        services=services,
        currency=desk.tenant.currency,
    )


@router.get(
    "/app/settings/services", summary="Services", response_class=Response, responses=STAFF_PAGE
)
async def services_page(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    return await _services_page(request, desk, database)


@router.post(
    "/app/settings/services",
    summary="Add a service",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def add_service(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        body = _service_body(fields, desk.tenant.currency, desk.locale)
        data = validate_form(ServiceCreate, body, PRICE_FIELD)
        await write(database, member, lambda c: catalog.create_service(c, member, data))
    except errors.AppError as error:
        refused = _refusal(error, desk, _typed(fields))
        return await _services_page(request, desk, database, refused)
    return redirect("/app/settings/services?notice=saved")


async def _service_page(
    request: Request,
    desk: Desk,
    database: Database,
    service_id: UUID,
    refused: Refusal | None = None,
) -> Response:
    member = desk.member
    catalog.require_manager(member)
    service = await read(database, member, lambda c: catalog.get_service(c, member, service_id))
    return _page(
        request,
        desk,
        "settings/service.html",
        "services",
        TITLE_SERVICE,
        _service_values(service),
        refused,
        service=service,
        currency=service.currency,
    )


@router.get(
    "/app/settings/services/{service_id}",
    summary="Edit a service",
    response_class=Response,
    responses=merge(STAFF_PAGE, page_error_responses(403, 404)),
)
async def service_page(
    request: Request, service_id: ServiceId, desk: DeskDep, database: DatabaseDep
) -> Response:
    return await _service_page(request, desk, database, service_id)


@router.post(
    "/app/settings/services/{service_id}",
    summary="Change a service",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_service(
    request: Request, service_id: ServiceId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        current = await read(database, member, lambda c: catalog.get_service(c, member, service_id))
        body = _service_body(fields, current.currency, desk.locale)
        data = validate_form(ServiceUpdate, body, PRICE_FIELD)
        await write(database, member, lambda c: catalog.update_service(c, member, service_id, data))
    except errors.AppError as error:
        refused = _refusal(error, desk, _typed(fields))
        return await _service_page(request, desk, database, service_id, refused)
    return redirect(f"/app/settings/services/{service_id}?notice=saved")


@router.post(
    "/app/settings/services/{service_id}/delete",
    summary="Delete a service (refused while appointments use it)",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def delete_service(
    request: Request, service_id: ServiceId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    try:
        await write(database, member, lambda c: catalog.delete_service(c, member, service_id))
    except errors.AppError as error:
        return await _service_page(request, desk, database, service_id, _refusal(error, desk))
    return redirect("/app/settings/services?notice=deleted")


# ------------------------------------------------------------------ professionals


def _professional_body(fields: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": fields.get("name", ""),
        "email": fields.get("email") or None,
        "bio": fields.get("bio", ""),
        "display_order": fields.get("display_order") or 0,
        "active": checkbox(fields, "active"),
    }


async def _professionals_page(
    request: Request, desk: Desk, database: Database, refused: Refusal | None = None
) -> Response:
    member = desk.member
    catalog.require_manager(member)
    professionals = await read(
        database, member, lambda c: catalog.list_professionals(c, member, None)
    )
    return _page(
        request,
        desk,
        "settings/professionals.html",
        "professionals",
        TITLE_PROFESSIONALS,
        {"active": True},
        refused,
        professionals=professionals,
    )


@router.get(
    "/app/settings/professionals",
    summary="Professionals",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def professionals_page(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    return await _professionals_page(request, desk, database)


@router.post(
    "/app/settings/professionals",
    summary="Add a professional",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def add_professional(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        data = validate_form(ProfessionalCreate, _professional_body(fields))
        created = await write(
            database, member, lambda c: catalog.create_professional(c, member, data)
        )
    except errors.AppError as error:
        refused = _refusal(error, desk, _typed(fields))
        return await _professionals_page(request, desk, database, refused)
    return redirect(f"/app/settings/professionals/{created.id}?notice=saved")


ProfessionalForm = Literal["details", "services", "hours", "breaks"]


async def _professional_page(
    request: Request,
    desk: Desk,
    database: Database,
    professional_id: UUID,
    refused: Refusal | None = None,
    form: ProfessionalForm | None = None,
) -> Response:
    """One professional: details, offered services, weekly hours and own breaks; a refused
    form comes back with what was typed (``form`` names it), the others as stored."""
    member = desk.member
    catalog.require_own_professional(member, professional_id)

    async def load(conn: AsyncConnection) -> tuple[ProfessionalRead, list[ServiceRead]]:
        pro = await catalog.get_professional(conn, member, professional_id)
        return pro, await catalog.list_services(conn, member, None)

    pro, services = await read(database, member, load)
    stored: dict[str, Any] = {
        "name": pro.name,
        "email": pro.email or "",
        "bio": pro.bio,
        "display_order": pro.display_order,
        "active": pro.active,
        "service_ids": [str(s) for s in pro.service_ids],
        **week_values("hours", pro.hours),
        **week_values("breaks", pro.breaks),
    }
    return _page(
        request,
        desk,
        "settings/professional.html",
        "professionals",
        TITLE_PROFESSIONAL,
        stored,
        refused,
        professional=pro,
        services=services,
        form=form,
    )


@router.get(
    "/app/settings/professionals/{professional_id}",
    summary="A professional: details, services, weekly hours, breaks",
    response_class=Response,
    responses=merge(STAFF_PAGE, page_error_responses(403, 404)),
)
async def professional_page(
    request: Request, professional_id: ProfessionalId, desk: DeskDep, database: DatabaseDep
) -> Response:
    return await _professional_page(request, desk, database, professional_id)


@router.post(
    "/app/settings/professionals/{professional_id}",
    summary="Change a professional's details",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_professional(
    request: Request, professional_id: ProfessionalId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        data = validate_form(ProfessionalUpdate, _professional_body(fields))
        await write(
            database,
            member,
            lambda c: catalog.update_professional(c, member, professional_id, data),
        )
    except errors.AppError as error:
        refused = _refusal(error, desk, _typed(fields))
        return await _professional_page(
            request, desk, database, professional_id, refused, "details"
        )
    return redirect(f"/app/settings/professionals/{professional_id}?notice=saved")


@router.post(
    "/app/settings/professionals/{professional_id}/services",
    summary="Set the services a professional performs",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_offerings(
    request: Request, professional_id: ProfessionalId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    form = await request.form(max_files=0, max_fields=600)
    chosen = [str(v) for v in form.getlist("service_ids") if isinstance(v, str)]
    try:
        data = validate_form(OfferingsUpdate, {"service_ids": chosen})
        await write(
            database, member, lambda c: catalog.replace_offerings(c, member, professional_id, data)
        )
    except errors.AppError as error:
        refused = _refusal(error, desk, {"service_ids": chosen})
        return await _professional_page(
            request, desk, database, professional_id, refused, "services"
        )
    return redirect(f"/app/settings/professionals/{professional_id}?notice=saved#services")


async def _save_week(
    request: Request,
    desk: Desk,
    database: Database,
    prefix: Literal["hours", "breaks"],
    model: type[W],
    *,
    save: Callable[[AsyncConnection, W], Awaitable[object]],
    again: Callable[[Refusal], Awaitable[Response]],
    done: str,
) -> Response:
    """A week form (inputs ``prefix0`` … ``prefix6``; breaks may carry a label): checked by
    the catalog's ``model``, then saved whole; when refused, ``again`` shows it as typed."""
    fields = await form_fields(request)
    try:
        items = parse_week(fields, prefix, labels=prefix == "breaks")
        week = week_of(model, prefix, items)
        await write(database, desk.member, lambda c: save(c, week))
    except errors.AppError as error:
        typed = {f"{prefix}{d}": fields.get(f"{prefix}{d}", "") for d in range(7)}
        return await again(_refusal(error, desk, typed))
    return redirect(done)


@router.post(
    "/app/settings/professionals/{professional_id}/hours",
    summary="Set a professional's own weekly hours (empty: the business hours)",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_professional_hours(
    request: Request, professional_id: ProfessionalId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    return await _save_week(
        request,
        desk,
        database,
        "hours",
        WeeklyHours,
        save=lambda c, week: catalog.replace_professional_hours(c, member, professional_id, week),
        again=lambda refused: _professional_page(
            request, desk, database, professional_id, refused, "hours"
        ),
        done=f"/app/settings/professionals/{professional_id}?notice=saved#hours",
    )


@router.post(
    "/app/settings/professionals/{professional_id}/breaks",
    summary="Set a professional's own weekly breaks",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_professional_breaks(
    request: Request, professional_id: ProfessionalId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    return await _save_week(
        request,
        desk,
        database,
        "breaks",
        WeeklyBreaks,
        save=lambda c, week: catalog.replace_professional_breaks(c, member, professional_id, week),
        again=lambda refused: _professional_page(
            request, desk, database, professional_id, refused, "breaks"
        ),
        done=f"/app/settings/professionals/{professional_id}?notice=saved#breaks",
    )


@router.post(
    "/app/settings/professionals/{professional_id}/delete",
    summary="Delete a professional (refused while appointments reference him)",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def delete_professional(
    request: Request, professional_id: ProfessionalId, desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    try:
        await write(
            database, member, lambda c: catalog.delete_professional(c, member, professional_id)
        )
    except errors.AppError as error:
        return await _professional_page(
            request, desk, database, professional_id, _refusal(error, desk), "details"
        )
    return redirect("/app/settings/professionals?notice=deleted")


# ------------------------------------------------------------------ business hours and breaks


async def _hours_page(
    request: Request, desk: Desk, database: Database, refused: Refusal | None = None
) -> Response:
    member = desk.member
    catalog.require_manager(member)

    async def load(conn: AsyncConnection) -> dict[str, str]:
        hours = await catalog.get_business_hours(conn, member)
        breaks = await catalog.get_business_breaks(conn, member)
        return {**week_values("hours", hours.hours), **week_values("breaks", breaks.breaks)}

    stored = await read(database, member, load)
    return _page(request, desk, "settings/hours.html", "hours", TITLE_HOURS, stored, refused)


@router.get(
    "/app/settings/hours",
    summary="Business hours and breaks",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def hours_page(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    return await _hours_page(request, desk, database)


@router.post(
    "/app/settings/hours",
    summary="Set the business's weekly hours",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_hours(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    return await _save_week(
        request,
        desk,
        database,
        "hours",
        WeeklyHours,
        save=lambda c, week: catalog.replace_business_hours(c, member, week),
        again=lambda refused: _hours_page(request, desk, database, refused),
        done="/app/settings/hours?notice=saved",
    )


@router.post(
    "/app/settings/breaks",
    summary="Set the business's weekly breaks",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_breaks(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    return await _save_week(
        request,
        desk,
        database,
        "breaks",
        WeeklyBreaks,
        save=lambda c, week: catalog.replace_business_breaks(c, member, week),
        again=lambda refused: _hours_page(request, desk, database, refused),
        done="/app/settings/hours?notice=saved#breaks",
    )


# ------------------------------------------------------------------ closures and special days


async def _closures_page(
    request: Request, desk: Desk, database: Database, refused: Refusal | None = None
) -> Response:
    member = desk.member
    catalog.require_manager(member)
    today = desk.today()

    async def load(conn: AsyncConnection) -> tuple[list[Any], list[Any]]:
        closures = await catalog.list_closures(conn, member, today, None)
        special = await catalog.list_special_hours(conn, member, today, None)
        return closures, special

    closures, special = await read(database, member, load)
    return _page(
        request,
        desk,
        "settings/closures.html",
        "closures",
        TITLE_CLOSURES,
        {},
        refused,
        closures=closures,
        special_days=special,
    )


@router.get(
    "/app/settings/closures",
    summary="Closures and special days",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def closures_page(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    return await _closures_page(request, desk, database)


@router.post(
    "/app/settings/closures",
    summary="Close the business on a date",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def add_closure(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        data = validate_form(
            ClosureCreate,
            {"date": fields.get("closure_date", ""), "reason": fields.get("reason", "")},
            {"date": "closure_date"},
        )
        await write(database, member, lambda c: catalog.create_closure(c, member, data))
    except errors.AppError as error:
        found = refused_fields(error, desk.locale)
        if "form" in found:  # the date is closed already: said at the date
            found["closure_date"] = found.pop("form")
        return await _closures_page(request, desk, database, Refusal(fields, found, error.status))
    return redirect("/app/settings/closures?notice=saved")


@router.post(
    "/app/settings/closures/{item_id}/delete",
    summary="Reopen a closed date",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def delete_closure(item_id: ItemId, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    await write(database, member, lambda c: catalog.delete_closure(c, member, item_id))
    return redirect("/app/settings/closures?notice=deleted")


@router.post(
    "/app/settings/special-days",
    summary="Set special hours for a date (they replace the weekly hours)",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def set_special_day(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        try:
            day = date.fromisoformat(fields.get("special_date", ""))
        except ValueError as exc:
            raise errors.ValidationFailed(
                errors=[{"field": "special_date", "message": FIELD_INVALID}]
            ) from exc
        intervals = parse_intervals(fields.get("intervals", ""), labels=False)
        if intervals is None:
            raise errors.ValidationFailed(
                errors=[{"field": "intervals", "message": INTERVALS_FORMAT}]
            )
        data = validate_form(
            SpecialHoursUpdate, {"intervals": intervals}, {"start": "intervals", "end": "intervals"}
        )
        await write(database, member, lambda c: catalog.replace_special_hours(c, member, day, data))
    except errors.AppError as error:
        return await _closures_page(request, desk, database, _refusal(error, desk, fields))
    return redirect("/app/settings/closures?notice=saved#special")


@router.post(
    "/app/settings/special-days/{day}/delete",
    summary="Remove the special hours of a date",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def delete_special_day(
    day: Annotated[date, Path(description="The local date.")], desk: DeskDep, database: DatabaseDep
) -> Response:
    member = desk.member
    await write(database, member, lambda c: catalog.delete_special_hours(c, member, day))
    return redirect("/app/settings/closures?notice=deleted#special")


# ------------------------------------------------------------------ time off


def _instant(day_text: str, clock: str, desk: Desk, field: str) -> datetime:
    try:
        day = date.fromisoformat(day_text)
        hours, minutes = (int(p) for p in (clock or "00:00").split(":"))
        return datetime.combine(day, time(hours, minutes), tzinfo=desk.zone)
    except ValueError as exc:
        raise errors.ValidationFailed(errors=[{"field": field, "message": FIELD_INVALID}]) from exc


async def _time_off_page(
    request: Request, desk: Desk, database: Database, refused: Refusal | None = None
) -> Response:
    member = desk.member
    if not member.is_manager and member.professional_id is None:
        raise errors.Forbidden()
    only = None if member.is_manager else member.professional_id
    since = datetime.now(UTC) - timedelta(days=1)

    async def load(conn: AsyncConnection) -> tuple[list[Any], list[ProfessionalRead]]:
        items = await catalog.list_time_off(
            conn, member, professional_id=only, start=since, end=None, limit=200, offset=0
        )
        return items, await catalog.list_professionals(conn, member, None)

    items, professionals = await read(database, member, load)
    if only is not None:
        professionals = [p for p in professionals if p.id == only]
    names = {p.id: p.name for p in professionals}
    today = desk.today().isoformat()
    return _page(
        request,
        desk,
        "settings/time_off.html",
        "time-off",
        TITLE_TIME_OFF,
        {"start_date": today, "end_date": today, "start_time": "00:00", "end_time": "23:59"},
        refused,
        items=[i for i in items if i.professional_id in names],
        names=names,
        professional_options=[(str(p.id), p.name) for p in professionals],
    )


@router.get(
    "/app/settings/time-off",
    summary="Time off of the professionals",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def time_off_page(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    return await _time_off_page(request, desk, database)


@router.post(
    "/app/settings/time-off",
    summary="Add time off",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def add_time_off(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        data = validate_form(
            TimeOffCreate,
            {
                "professional_id": fields.get("professional_id", ""),
                "start": _instant(
                    fields.get("start_date", ""), fields.get("start_time", ""), desk, "start_date"
                ),
                "end": _instant(
                    fields.get("end_date", ""), fields.get("end_time", ""), desk, "end_date"
                ),
                "reason": fields.get("reason", ""),
            },
            {"start": "start_date", "end": "end_date"},
        )
        await write(database, member, lambda c: catalog.create_time_off(c, member, data))
    except errors.AppError as error:
        return await _time_off_page(request, desk, database, _refusal(error, desk, fields))
    return redirect("/app/settings/time-off?notice=saved")


@router.post(
    "/app/settings/time-off/{item_id}/delete",
    summary="Remove time off",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def delete_time_off(item_id: ItemId, desk: DeskDep, database: DatabaseDep) -> Response:
    member = desk.member
    await write(database, member, lambda c: catalog.delete_time_off(c, member, item_id))
    return redirect("/app/settings/time-off?notice=deleted")


# ------------------------------------------------------------------ policy and profile


def _business_values(found: SettingsRead) -> dict[str, Any]:
    profile, policy = found.profile, found.policy
    return {
        **profile.model_dump(exclude={"embed_origins"}),
        "embed_origins": "\n".join(profile.embed_origins),
        **policy.model_dump(),
    }


async def _business_page(
    request: Request, desk: Desk, database: Database, refused: Refusal | None = None
) -> Response:
    member = desk.member
    catalog.require_manager(member)
    found = await read(database, member, lambda c: catalog.get_settings(c, member))
    return _page(
        request,
        desk,
        "settings/business.html",
        "business",
        TITLE_BUSINESS,
        _business_values(found),
        refused,
        settings=found,
    )


@router.get(
    "/app/settings/business",
    summary="Business profile and booking policy",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def business_page(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    return await _business_page(request, desk, database)


async def _save_settings(
    request: Request, desk: Desk, database: Database, body: dict[str, Any], typed: dict[str, Any]
) -> Response:
    member = desk.member
    try:
        data = validate_form(SettingsUpdate, body)
        await write(database, member, lambda c: catalog.update_settings(c, member, data))
    except errors.AppError as error:
        return await _business_page(request, desk, database, _refusal(error, desk, typed))
    return redirect("/app/settings/business?notice=saved")


@router.post(
    "/app/settings/profile",
    summary="Change the business profile",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_profile(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    fields = await form_fields(request)
    origins = [o.strip() for o in fields.get("embed_origins", "").splitlines() if o.strip()]
    profile: dict[str, Any] = {
        key: fields.get(key, "")
        for key in ("name", "timezone", "locale", "currency", "address", "phone")
    }
    profile["email"] = fields.get("email") or None
    profile["embed_origins"] = origins
    return await _save_settings(request, desk, database, {"profile": profile}, fields)


@router.post(
    "/app/settings/policy",
    summary="Change the booking policy",
    response_class=Response,
    responses=SETTINGS_FORM,
)
async def change_policy(request: Request, desk: DeskDep, database: DatabaseDep) -> Response:
    fields = await form_fields(request)
    policy: dict[str, Any] = {
        key: fields.get(key, "")
        for key in (
            "slot_step_minutes",
            "min_notice_minutes",
            "horizon_days",
            "cancel_cutoff_minutes",
            "reminder_hours",
        )
    }
    policy["auto_confirm"] = checkbox(fields, "auto_confirm")
    values = {**fields, "auto_confirm": policy["auto_confirm"]}
    return await _save_settings(request, desk, database, {"policy": policy}, values)
