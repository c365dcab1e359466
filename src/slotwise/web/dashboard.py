"""The staff dashboard (``/app``): sign-in with a session cookie, the day and week views,
an appointment's page with its status actions and its change form (move it, give it to another
professional, change its notes), the booking form for walk-ins, and the account page
(password; switching to another business of the account).

The session cookie holds the same signed, expiring staff token the JSON API takes as a
bearer token (``auth.tokens``), so ``MemberDep`` knows the caller either way and the
membership (role, own professional) is re-read on every request. Staff see only their own
professional's column and appointments (the booking service's visibility rules)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from slotwise import errors
from slotwise.auth import service as auth
from slotwise.auth.deps import SESSION_COOKIE, CurrentMember, current_member
from slotwise.auth.schemas import PasswordUpdate, TenantRead, TokenRead
from slotwise.availability import service as availability
from slotwise.booking import service as booking
from slotwise.booking.schemas import (
    AppointmentCreate,
    AppointmentRead,
    AppointmentUpdate,
    BusinessProfileRead,
    PublicProfessional,
)
from slotwise.core.deps import DatabaseDep, SettingsDep, TenantResolverDep
from slotwise.core.ratelimit import LoginRateLimitDep, PasswordRateLimitDep
from slotwise.db.database import Database
from slotwise.i18n import gettext
from slotwise.settings import Settings
from slotwise.tenancy.service import TenantResolver
from slotwise.web.i18n import N_, Formats, formats
from slotwise.web.pages import (
    FIELD_INVALID,
    HTML_RESPONSE,
    SEE_OTHER,
    PageRoute,
    form_fields,
    form_schema,
    local_date,
    login_form,
    merge,
    page_error_responses,
    refused_fields,
    use_page_locale,
    validate_form,
)
from slotwise.web.public import alternative_views, customer_of, validate_details, zone_label
from slotwise.web.rendering import local_path, redirect, render
from slotwise.web.schemas import (
    AppointmentActionUpdate,
    AppointmentChangeUpdate,
    BusinessSwitchUpdate,
    LoginFormCreate,
    PasswordFormUpdate,
    WalkInCreate,
    parse_alternative,
    parse_pro,
)
from slotwise.web.security import is_https
from slotwise.web.service import Column, DayGrid, day_grid, minute_of, week_dates

router = APIRouter(route_class=PageRoute, tags=["pages"])

PASSWORDS_DIFFER = N_("The two new passwords are not the same.")
PASSWORD_CHANGED = N_("Your password was changed.")
SIGNED_OUT = N_("You are signed out.")
CHANGES_SAVED = N_("The appointment was updated.")
ANY_PROFESSIONAL = N_("Any professional")
NOTICES = {"password": PASSWORD_CHANGED, "saved": CHANGES_SAVED, "signed-out": SIGNED_OUT}
ACTIONS_BY_STATUS: dict[str, tuple[str, ...]] = {
    "pending": ("confirm", "cancel"),
    "confirmed": ("cancel", "complete", "no-show"),
}
TITLE_PASSWORD = N_("Change your password")
TITLE_DAY = N_("Day")
TITLE_WEEK = N_("Week")
TITLE_APPOINTMENT = N_("Appointment")
TITLE_NEW = N_("New appointment")
PAGE_SIZE = 200
WALK_IN_FIELDS = {"start": "time", "service_id": "service", "professional_id": "pro"}
CHANGE_FIELDS = {"start": "time", "professional_id": "pro", "override_rules": "override"}

DateQuery = Annotated[str | None, Query(max_length=10, description="A local date, YYYY-MM-DD.")]
Notice = Annotated[str | None, Query(max_length=20)]
AppointmentId = Annotated[UUID, Path(description="The appointment's id.")]
SIGN_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in: the sign-in form", "content": {"text/html": {}}}
}
STAFF_PAGE = merge(HTML_RESPONSE, SIGN_IN, page_error_responses(422))
STAFF_FORM = merge(SEE_OTHER, HTML_RESPONSE, page_error_responses(403, 404, 409, 412, 422), SIGN_IN)


# ------------------------------------------------------------------ the signed-in desk


@dataclass(frozen=True, slots=True)
class Desk:
    """Who is working and for which business, with the page's language and formats."""

    member: CurrentMember
    tenant: TenantRead
    locale: str
    fmt: Formats

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant.timezone)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def day(self, asked: str | None) -> date:
        """The local date of a ``date=`` query; today when there is none (or no date)."""
        return local_date(asked) or self.today()

    def context(self, section: str, title: str, notice: str | None = None) -> dict[str, Any]:
        return {
            "member": self.member,
            "tenant": self.tenant,
            "fmt": self.fmt,
            "section": section,
            "page_title": gettext(title, self.locale),
            "notice": gettext(NOTICES[notice], self.locale) if notice in NOTICES else None,
            "zone_label": zone_label(self.locale, self.fmt),
        }


async def page_member(
    request: Request, database: DatabaseDep, settings: SettingsDep
) -> CurrentMember:
    """The member of the session cookie, by the auth domain's own check (token, expiry,
    password stamp, membership re-read). Pages take no bearer token: the cookie is theirs."""
    return await current_member(request, database, settings, None)


PageMemberDep = Annotated[CurrentMember, Depends(page_member)]


async def current_desk(request: Request, member: PageMemberDep, database: DatabaseDep) -> Desk:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        tenant = await auth.business_of(conn, member)
    locale = use_page_locale(request, tenant.locale)
    return Desk(member, tenant, locale, formats(locale, tenant.timezone))


DeskDep = Annotated[Desk, Depends(current_desk)]


def _set_session(request: Request, response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


# ------------------------------------------------------------------ sign in and out


@router.get(
    "/app",
    summary="Dashboard home (the day view)",
    response_class=Response,
    responses=SEE_OTHER,
)
async def home() -> Response:
    return redirect("/app/day")


@router.get(
    "/app/login",
    summary="Staff sign-in page",
    response_class=Response,
    responses=merge(HTML_RESPONSE, page_error_responses(422)),
)
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    notice: Notice = None,
) -> Response:
    locale = use_page_locale(request, "en")
    message = gettext(NOTICES[notice], locale) if notice in NOTICES else None
    return login_form(request, local_path(next, "/app/day"), notice=message)


@router.post(
    "/app/login",
    summary="Sign in (sets the session cookie)",
    response_class=Response,
    responses=merge(SEE_OTHER, HTML_RESPONSE, page_error_responses(401, 403, 422, 429)),
    openapi_extra=form_schema(LoginFormCreate),
)
async def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    _limit: LoginRateLimitDep,
) -> Response:
    fields = await form_fields(request)
    locale = use_page_locale(request, "en")
    form = validate_form(LoginFormCreate, fields)
    next_url = local_path(form.next, "/app/day")
    async with database.transaction(None) as conn:
        candidate = await auth.find_login(conn, form.email.lower()) if form.email else None
    matches = await auth.password_matches(
        form.password, candidate.password_hash if candidate else None
    )
    if candidate is None or not matches or not form.password:
        problem = gettext(errors.InvalidCredentials.message, locale)
        return login_form(request, next_url, email=form.email, problem=problem, status=401)
    chosen = auth.choose_membership(candidate, None)
    return await _signed_in(
        request, database, settings, chosen, candidate.user_id, candidate.memberships, next_url
    )


async def _signed_in(
    request: Request,
    database: Database,
    settings: Settings,
    chosen: auth.MembershipOfUser,
    user_id: UUID,
    businesses: list[auth.MembershipOfUser],
    next_url: str,
) -> Response:
    """A session in ``chosen`` (its cookie set), then on to ``next_url``."""

    async def work(conn: AsyncConnection) -> TokenRead:
        return await auth.open_session(
            conn, settings, tenant_id=chosen.tenant_id, user_id=user_id, businesses=businesses
        )

    session = await database.run(work, chosen.tenant_id, user_id=user_id)
    response = redirect(next_url)
    _set_session(request, response, session.token, settings)
    return response


@router.post(
    "/app/logout",
    summary="Sign out (clears the session cookie)",
    response_class=Response,
    responses=merge(SEE_OTHER, page_error_responses(403)),
)
async def logout(request: Request) -> Response:
    response = redirect("/app/login?notice=signed-out")
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )
    return response


@router.get(
    "/app/password",
    summary="Your account: change your password, switch to another of your businesses",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def password_page(
    request: Request, desk: DeskDep, database: DatabaseDep, notice: Notice = None
) -> Response:
    return await _account_page(request, desk, database, notice=notice)


async def _account_page(
    request: Request,
    desk: Desk,
    database: Database,
    *,
    notice: str | None = None,
    errors_found: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    member = desk.member
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        businesses = await auth.businesses_of(conn, member.user_id)
    context = desk.context("password", TITLE_PASSWORD, notice)
    context.update(errors=errors_found or {}, businesses=businesses)
    return render(request, "dashboard/password.html", context, status=status)


@router.post(
    "/app/switch",
    summary="Work in another of your businesses (replaces the session cookie)",
    response_class=Response,
    responses=merge(SEE_OTHER, page_error_responses(403, 404, 422), SIGN_IN),
    openapi_extra=form_schema(BusinessSwitchUpdate),
)
async def switch_business(
    request: Request, desk: DeskDep, database: DatabaseDep, settings: SettingsDep
) -> Response:
    form = validate_form(BusinessSwitchUpdate, await form_fields(request))
    member = desk.member
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        businesses = await auth.businesses_of(conn, member.user_id)
    chosen = auth.membership_named(businesses, form.business)
    return await _signed_in(
        request, database, settings, chosen, member.user_id, businesses, "/app/day"
    )


@router.post(
    "/app/password",
    summary="Change your password (keeps you signed in, ends your other sessions)",
    response_class=Response,
    responses=merge(STAFF_FORM, page_error_responses(429)),
    openapi_extra=form_schema(PasswordFormUpdate),
)
async def change_password(
    request: Request,
    desk: DeskDep,
    database: DatabaseDep,
    settings: SettingsDep,
    _limit: PasswordRateLimitDep,
) -> Response:
    member = desk.member
    fields = await form_fields(request)
    try:
        form = validate_form(PasswordFormUpdate, fields)
        if form.new_password != form.confirm_password:
            raise errors.ValidationFailed(
                errors=[{"field": "confirm_password", "message": PASSWORDS_DIFFER}]
            )
        body = validate_form(
            PasswordUpdate,
            {"current_password": form.current_password or " ", "new_password": form.new_password},
        )
        async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
            old_hash = await auth.current_password_hash(conn, member)
        if not await auth.password_matches(body.current_password, old_hash):
            raise auth.wrong_current_password()
        new_hash = await auth.hash_in_thread(body.new_password)

        async def work(conn: AsyncConnection) -> TokenRead:
            return await auth.replace_password(
                conn, settings, member, old_hash=old_hash, new_hash=new_hash
            )

        token = await database.run(work, member.tenant_id, user_id=member.user_id)
    except errors.AppError as error:
        found = refused_fields(error, desk.locale)
        return await _account_page(request, desk, database, errors_found=found, status=error.status)
    response = redirect("/app/password?notice=password")
    _set_session(request, response, token.token, settings)
    return response


# ------------------------------------------------------------------ day and week


async def _profile(database: Database, tenants: TenantResolver, desk: Desk) -> BusinessProfileRead:
    return await booking.get_business_profile(database, tenants, desk.tenant.slug)


async def appointments_between(
    database: Database, member: CurrentMember, first: date, last: date
) -> list[AppointmentRead]:
    """Every appointment the member may see starting on the local dates (all pages)."""
    found: list[AppointmentRead] = []
    cursor: str | None = None
    while True:
        page = await booking.list_appointments(
            database,
            member,
            booking.AppointmentFilter(
                starts_from=first.isoformat(),
                starts_to=last.isoformat(),
                limit=PAGE_SIZE,
                cursor=cursor,
            ),
        )
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _covering_services(professionals: Iterable[PublicProfessional]) -> list[UUID]:
    """A few services such that every professional offers one of them (greedy cover): the
    availability rules are loaded per service, so this reads everyone's hours in few trips."""
    remaining = {p.id: set(p.service_ids) for p in professionals if p.service_ids}
    chosen: list[UUID] = []
    while remaining:
        counts: dict[UUID, int] = defaultdict(int)
        for services in remaining.values():
            for service_id in services:
                counts[service_id] += 1
        best = max(sorted(counts, key=str), key=lambda s: counts[s])
        chosen.append(best)
        remaining = {p: s for p, s in remaining.items() if best not in s}
    return chosen


async def open_minutes(
    database: Database,
    member: CurrentMember,
    professionals: Sequence[PublicProfessional],
    day: date,
    zone: ZoneInfo,
) -> dict[UUID, list[tuple[int, int]]]:
    """Each professional's open windows of the day (hours ∩ own hours − breaks − time off,
    by the availability engine) as minutes from local midnight."""
    wanted = {p.id for p in professionals}
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        windows = await availability.open_windows(
            conn, member.tenant_id, service_ids=_covering_services(professionals), day=day
        )
    return {
        pro: [(minute_of(s.start, day, zone), minute_of(s.end, day, zone)) for s in spans]
        for pro, spans in windows.items()
        if pro in wanted
    }


async def build_day(database: Database, tenants: TenantResolver, desk: Desk, day: date) -> DayGrid:
    member = desk.member
    profile = await _profile(database, tenants, desk)
    visible = [
        p for p in profile.professionals if member.is_manager or p.id == member.professional_id
    ]
    appointments = await appointments_between(database, member, day, day)
    columns = [Column(p.id, p.name) for p in visible]
    known = {c.id for c in columns}
    by_professional: dict[UUID, list[AppointmentRead]] = defaultdict(list)
    for appointment in appointments:
        pro = appointment.professional
        by_professional[pro.id].append(appointment)
        if pro.id not in known and appointment.status != "cancelled":
            columns.append(Column(pro.id, pro.name))
            known.add(pro.id)
    windows = await open_minutes(database, member, visible, day, desk.zone)
    return day_grid(day, desk.zone, columns, by_professional, windows, datetime.now(UTC))


@router.get(
    "/app/day",
    summary="Day view: one column per professional",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def day_page(
    request: Request,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    date: DateQuery = None,
    notice: Notice = None,
) -> Response:
    day = desk.day(date)
    grid = await build_day(database, tenants, desk, day)
    context = desk.context("day", TITLE_DAY, notice)
    context.update(
        grid=grid,
        day=day,
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
    )
    return render(request, "dashboard/day.html", context)


@router.get(
    "/app/day/grid",
    summary="The day view's grid alone (an HTML fragment the page reloads on live events)",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def day_grid_fragment(
    request: Request,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    date: DateQuery = None,
) -> Response:
    day = desk.day(date)
    grid = await build_day(database, tenants, desk, day)
    return render(request, "dashboard/_day_grid.html", {"grid": grid, "fmt": desk.fmt})


@router.get(
    "/app/week",
    summary="Week view: the appointments of each day",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def week_page(
    request: Request,
    desk: DeskDep,
    database: DatabaseDep,
    date: DateQuery = None,
) -> Response:
    days = week_dates(desk.day(date))
    appointments = await appointments_between(database, desk.member, days[0], days[-1])
    by_day: dict[Any, list[AppointmentRead]] = defaultdict(list)
    for appointment in appointments:
        if appointment.status != "cancelled":
            by_day[appointment.start.astimezone(desk.zone).date()].append(appointment)
    context = desk.context("week", TITLE_WEEK)
    context.update(
        days=days,
        by_day=by_day,
        prev_week=days[0] - timedelta(days=7),
        next_week=days[0] + timedelta(days=7),
    )
    return render(request, "dashboard/week.html", context)


# ------------------------------------------------------------------ appointments


@dataclass(frozen=True, slots=True)
class ChangeForm:
    """The appointment page's change form as shown again after a refusal: what was typed,
    the messages next to the fields, the free times offered instead of a taken one."""

    values: Mapping[str, str]
    errors: Mapping[str, str]
    alternatives: Sequence[dict[str, Any]] = ()


async def _appointment_page(
    request: Request,
    desk: Desk,
    database: Database,
    tenants: TenantResolver,
    appointment: AppointmentRead,
    *,
    notice: str | None = None,
    problem: str | None = None,
    change: ChangeForm | None = None,
    profile: BusinessProfileRead | None = None,
    status: int = 200,
) -> Response:
    """``profile``: the business's, when the caller has already read it."""
    context = desk.context("day", TITLE_APPOINTMENT, notice)
    local_start = appointment.start.astimezone(desk.zone)
    movable = appointment.status in booking.ACTIVE_STATUSES
    pro_options: list[tuple[str, str]] = []
    if movable and desk.member.is_manager:
        # Who offers the service now; the appointment's own professional always (first).
        profile = profile or await _profile(database, tenants, desk)
        current = appointment.professional
        pro_options = [(str(current.id), current.name)] + [
            (str(p.id), p.name)
            for p in profile.professionals
            if p.id != current.id and appointment.service.id in p.service_ids
        ]
    shown = change or ChangeForm(
        values={
            "date": local_start.date().isoformat(),
            "time": local_start.strftime("%H:%M"),
            "pro": str(appointment.professional.id),
            "notes": appointment.notes,
        },
        errors={},
    )
    context.update(
        appointment=appointment,
        actions=ACTIONS_BY_STATUS.get(appointment.status, ()),
        local_day=local_start.date(),
        problem=problem,
        movable=movable,
        pro_options=pro_options,
        change=shown,
    )
    return render(request, "dashboard/appointment.html", context, status=status)


@router.get(
    "/app/appointments/new",
    summary="Book for a walk-in or phone customer",
    response_class=Response,
    responses=STAFF_PAGE,
)
async def new_appointment_page(
    request: Request,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    date: DateQuery = None,
) -> Response:
    profile = await _profile(database, tenants, desk)
    values = {"date": desk.day(date).isoformat()}
    return _walk_in_page(request, desk, profile, values)


def _walk_in_page(
    request: Request,
    desk: Desk,
    profile: BusinessProfileRead,
    values: dict[str, str],
    *,
    errors_found: dict[str, str] | None = None,
    conflict: str | None = None,
    alternatives: Sequence[dict[str, Any]] = (),
    status: int = 200,
) -> Response:
    member = desk.member
    pros = [p for p in profile.professionals if member.is_manager or p.id == member.professional_id]
    pro_options = [(str(p.id), p.name) for p in pros]
    if member.is_manager:
        pro_options.insert(0, ("any", gettext(ANY_PROFESSIONAL, desk.locale)))
    context = desk.context("new", TITLE_NEW)
    context.update(
        service_options=[
            (str(s.id), f"{s.name} ({s.duration_minutes} min)") for s in profile.services
        ],
        pro_options=pro_options,
        values=values,
        errors=errors_found or {},
        conflict=conflict,
        alternatives=alternatives,
    )
    return render(request, "dashboard/new_appointment.html", context, status=status)


def _chosen_start(
    form: WalkInCreate | AppointmentChangeUpdate, zone: ZoneInfo
) -> tuple[datetime, str]:
    """The form's local date and time as an instant (fold=0) with its professional choice,
    or the alternative it chose; a 422 on ``time`` for a time or alternative that is not."""
    try:
        if form.alternative:
            return parse_alternative(form.alternative)
        hours, minutes = (int(part) for part in form.time.split(":"))
        return datetime.combine(form.date, time(hours, minutes), tzinfo=zone), form.pro
    except ValueError as exc:
        raise errors.ValidationFailed(errors=[{"field": "time", "message": FIELD_INVALID}]) from exc


@router.post(
    "/app/appointments",
    summary="Book for a walk-in or phone customer (form)",
    response_class=Response,
    responses=STAFF_FORM,
    openapi_extra=form_schema(WalkInCreate),
)
async def create_appointment(
    request: Request,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
) -> Response:
    fields = await form_fields(request)
    pro_choice = fields.get("pro", "any")
    try:
        form = validate_details(WalkInCreate, fields)
        start, pro_choice = _chosen_start(form, desk.zone)
        payload = validate_form(
            AppointmentCreate,
            {
                "service_id": form.service,
                "professional_id": parse_pro(pro_choice),
                "start": start,
                "customer": customer_of(form.name, form.email, form.phone),
                "notes": form.notes,
                "override_rules": form.override == "on",
            },
            {"customer": "email", "start": "time"},
        )
        created = await booking.create_appointment(database, desk.member, payload)
    except errors.SlotUnavailable as error:
        profile = await _profile(database, tenants, desk)
        names = {str(p.id): p.name for p in profile.professionals}
        views = alternative_views(error.alternatives or [], pro_choice, names, desk.fmt)
        return _walk_in_page(
            request,
            desk,
            profile,
            fields,
            conflict=gettext(error.detail_message, desk.locale),
            alternatives=views,
            status=error.status,
        )
    except errors.AppError as error:
        found = {
            WALK_IN_FIELDS.get(name, name): message
            for name, message in refused_fields(error, desk.locale).items()
        }
        profile = await _profile(database, tenants, desk)
        return _walk_in_page(
            request, desk, profile, fields, errors_found=found, status=error.status
        )
    return redirect(f"/app/appointments/{created.id}?notice=saved")


@router.get(
    "/app/appointments/{appointment_id}",
    summary="An appointment, with its status actions",
    response_class=Response,
    responses=merge(STAFF_PAGE, page_error_responses(404)),
)
async def appointment_page(
    request: Request,
    appointment_id: AppointmentId,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    notice: Notice = None,
) -> Response:
    appointment = await booking.get_appointment(database, desk.member, appointment_id)
    return await _appointment_page(request, desk, database, tenants, appointment, notice=notice)


@router.post(
    "/app/appointments/{appointment_id}/status",
    summary="Confirm, cancel, complete or mark a no-show (the version shown must be current)",
    response_class=Response,
    responses=STAFF_FORM,
    openapi_extra=form_schema(AppointmentActionUpdate),
)
async def change_appointment_status(
    request: Request,
    appointment_id: AppointmentId,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
) -> Response:
    form = validate_form(AppointmentActionUpdate, await form_fields(request))
    try:
        await booking.change_status(
            database, desk.member, appointment_id, booking.etag(form.version), form.action
        )
    except errors.AppError as error:
        if error.status not in (409, 412, 422):
            raise
        current = await booking.get_appointment(database, desk.member, appointment_id)
        problem = gettext(error.detail_message, desk.locale, **error.params)
        return await _appointment_page(
            request, desk, database, tenants, current, problem=problem, status=error.status
        )
    return redirect(f"/app/appointments/{appointment_id}?notice=saved")


@router.post(
    "/app/appointments/{appointment_id}/change",
    summary="Move an appointment or change its notes (the version shown must be current)",
    description=(
        "Managers may also give it to another professional and book outside the rules; "
        "staff move their own appointments within the rules. A taken time is answered "
        "with the free times nearest to it, each a one-click choice."
    ),
    response_class=Response,
    responses=STAFF_FORM,
    openapi_extra=form_schema(AppointmentChangeUpdate),
)
async def change_appointment(
    request: Request,
    appointment_id: AppointmentId,
    desk: DeskDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
) -> Response:
    fields = await form_fields(request)
    pro_choice = fields.get("pro", "any")
    try:
        form = validate_form(AppointmentChangeUpdate, fields)
        start, pro_choice = _chosen_start(form, desk.zone)
        payload = validate_form(
            AppointmentUpdate,
            {
                "start": start,
                "professional_id": parse_pro(pro_choice),
                "notes": form.notes,
                "override_rules": form.override == "on",
            },
            {"start": "time"},
        )
        await booking.update_appointment(
            database, desk.member, appointment_id, booking.etag(form.version), payload
        )
    except errors.AppError as error:
        if error.status not in (409, 412, 422):
            raise
        current = await booking.get_appointment(database, desk.member, appointment_id)
        found: dict[str, str] = {}
        offered: list[dict[str, Any]] = []
        profile: BusinessProfileRead | None = None
        if isinstance(error, errors.SlotUnavailable):
            profile = await _profile(database, tenants, desk)
            names = {str(p.id): p.name for p in profile.professionals}
            chosen = pro_choice if pro_choice != "any" else str(current.professional.id)
            offered = alternative_views(error.alternatives or [], chosen, names, desk.fmt)
        elif error.status == 422:
            found = {
                CHANGE_FIELDS.get(name, name): message
                for name, message in refused_fields(error, desk.locale).items()
            }
        problem = None if found else gettext(error.detail_message, desk.locale, **error.params)
        typed = {n: fields.get(n, "") for n in ("date", "time", "pro", "notes", "override")}
        if error.status == 412:
            typed = {}  # someone else changed it: show what it is now
        return await _appointment_page(
            request,
            desk,
            database,
            tenants,
            current,
            problem=problem,
            change=ChangeForm(typed, found, offered) if typed else None,
            profile=profile,
            status=error.status,
        )
    return redirect(f"/app/appointments/{appointment_id}?notice=saved")
