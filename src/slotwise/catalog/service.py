"""Rules of the catalog: who may change what, and turning refusals into clear problems.

Owners and managers change everything; ``staff`` read everything but change only the hours,
breaks and time off of their own professional. Whole-week replacements take an advisory
lock per tenant (and professional) so two concurrent PUTs never interleave their rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth.deps import CurrentMember
from slotwise.catalog import repository
from slotwise.catalog.schemas import (
    END_BEFORE_START,
    ClosureCreate,
    ClosureRead,
    ClosureUpdate,
    DayIntervalRead,
    OfferingsRead,
    OfferingsUpdate,
    PolicyRead,
    ProfessionalCreate,
    ProfessionalRead,
    ProfessionalUpdate,
    ProfileRead,
    ProfileUpdate,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
    SettingsRead,
    SettingsUpdate,
    SpecialHoursRead,
    SpecialHoursUpdate,
    TimeOffCreate,
    TimeOffRead,
    TimeOffUpdate,
    WeeklyBreakRead,
    WeeklyBreaks,
    WeeklyBreaksRead,
    WeeklyHours,
    WeeklyHoursRead,
    WeeklyIntervalRead,
    format_minutes,
    time_off_range_problem,
)
from slotwise.db.constraints import refusals
from slotwise.errors import (
    AppError,
    ClosureExists,
    Forbidden,
    InUse,
    NotFound,
    ValidationFailed,
)

UNKNOWN_SERVICE = "There is no such service."
UNKNOWN_PROFESSIONAL = "There is no such professional."

T = TypeVar("T")
Problems = dict[str, Callable[[], AppError]]


def _field(field: str, message: str) -> Callable[[], AppError]:
    return lambda: ValidationFailed(errors=[{"field": field, "message": message}])


_SERVICE_PROBLEMS: Problems = {"fk_appointments_service": InUse}
_PROFESSIONAL_PROBLEMS: Problems = {"fk_appointments_professional": InUse}
_OFFERING_PROBLEMS: Problems = {"fk_offerings_service": _field("service_ids", UNKNOWN_SERVICE)}
_CLOSURE_PROBLEMS: Problems = {"uq_closures_date": ClosureExists}
_TIME_OFF_PROBLEMS: Problems = {
    "fk_time_off_professional": _field("professional_id", UNKNOWN_PROFESSIONAL),
    "ck_time_off_range": _field("end", END_BEFORE_START),
}


def _found(row: T | None) -> T:
    if row is None:
        raise NotFound()
    return row


def require_manager(member: CurrentMember) -> None:
    if not member.is_manager:
        raise Forbidden()


def require_own_professional(member: CurrentMember, professional_id: UUID) -> None:
    """Staff change only their own professional's hours, breaks and time off."""
    if not member.is_manager and member.professional_id != professional_id:
        raise Forbidden()


# -- services ---------------------------------------------------------------------------


async def list_services(
    conn: AsyncConnection, member: CurrentMember, active: bool | None
) -> list[ServiceRead]:
    rows = await repository.list_services(conn, member.tenant_id, active)
    return [ServiceRead(**row) for row in rows]


async def get_service(
    conn: AsyncConnection, member: CurrentMember, service_id: UUID
) -> ServiceRead:
    return ServiceRead(
        **_found(await repository.get_row(conn, "services", member.tenant_id, service_id))
    )


async def create_service(
    conn: AsyncConnection, member: CurrentMember, data: ServiceCreate
) -> ServiceRead:
    require_manager(member)
    with refusals():
        row = await repository.insert_service(conn, member.tenant_id, data.model_dump())
    return ServiceRead(**row)


async def update_service(
    conn: AsyncConnection, member: CurrentMember, service_id: UUID, data: ServiceUpdate
) -> ServiceRead:
    require_manager(member)
    with refusals():
        row = await repository.update_row(
            conn, "services", member.tenant_id, service_id, data.changes()
        )
    return ServiceRead(**_found(row))


async def delete_service(conn: AsyncConnection, member: CurrentMember, service_id: UUID) -> None:
    """Refused (409 ``in_use``) while appointments reference it: deactivate it instead."""
    require_manager(member)
    with refusals(_SERVICE_PROBLEMS):
        deleted = await repository.delete_row(conn, "services", member.tenant_id, service_id)
    if not deleted:
        raise NotFound()


# -- professionals ----------------------------------------------------------------------


def _weekly(rows: list[Any]) -> list[WeeklyIntervalRead]:
    return [
        WeeklyIntervalRead(weekday=w, start=format_minutes(s), end=format_minutes(e))
        for w, s, e, *_ in rows
    ]


def _breaks(rows: list[Any]) -> list[WeeklyBreakRead]:
    return [
        WeeklyBreakRead(weekday=w, start=format_minutes(s), end=format_minutes(e), label=label)
        for w, s, e, label in rows
    ]


def _professional(row: dict[str, Any]) -> ProfessionalRead:
    return ProfessionalRead(
        id=row["id"],
        name=row["name"],
        email=row["email"] or None,
        bio=row["bio"],
        display_order=row["display_order"],
        active=row["active"],
        service_ids=list(row["service_ids"]),
        hours=_weekly(row["hours"]),
        breaks=_breaks(row["breaks"]),
        created_at=row["created_at"],
    )


def _empty_for_null(values: dict[str, Any], nullable: frozenset[str]) -> dict[str, Any]:
    """The columns of cleared fields hold "" (they are NOT NULL), not NULL."""
    return {
        key: "" if key in nullable and value is None else value for key, value in values.items()
    }


async def list_professionals(
    conn: AsyncConnection, member: CurrentMember, active: bool | None
) -> list[ProfessionalRead]:
    rows = await repository.list_professionals(conn, member.tenant_id, active)
    return [_professional(row) for row in rows]


async def get_professional(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID
) -> ProfessionalRead:
    return _professional(
        _found(await repository.get_professional(conn, member.tenant_id, professional_id))
    )


async def create_professional(
    conn: AsyncConnection, member: CurrentMember, data: ProfessionalCreate
) -> ProfessionalRead:
    require_manager(member)
    values = _empty_for_null(data.model_dump(), ProfessionalUpdate.NULLABLE)
    with refusals():
        professional_id = await repository.insert_professional(conn, member.tenant_id, values)
    return await get_professional(conn, member, professional_id)


async def update_professional(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID, data: ProfessionalUpdate
) -> ProfessionalRead:
    require_manager(member)
    changes = _empty_for_null(data.changes(), ProfessionalUpdate.NULLABLE)
    with refusals():
        row = await repository.update_row(
            conn, "professionals", member.tenant_id, professional_id, changes
        )
    if row is None:
        raise NotFound()
    return await get_professional(conn, member, professional_id)


async def delete_professional(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID
) -> None:
    """Refused (409 ``in_use``) while appointments reference him: deactivate instead."""
    require_manager(member)
    with refusals(_PROFESSIONAL_PROBLEMS):
        deleted = await repository.delete_row(
            conn, "professionals", member.tenant_id, professional_id
        )
    if not deleted:
        raise NotFound()


async def _require_professional(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID
) -> None:
    if not await repository.professional_exists(conn, member.tenant_id, professional_id):
        raise NotFound()


async def get_offerings(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID
) -> OfferingsRead:
    await _require_professional(conn, member, professional_id)
    ids = await repository.offered_service_ids(conn, member.tenant_id, professional_id)
    return OfferingsRead(service_ids=ids)


async def replace_offerings(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID, data: OfferingsUpdate
) -> OfferingsRead:
    require_manager(member)
    await repository.lock(conn, member.tenant_id, "offerings", professional_id)
    await _require_professional(conn, member, professional_id)
    known = await repository.existing_service_ids(conn, member.tenant_id, data.service_ids)
    unknown = [
        {"field": f"service_ids.{index}", "message": UNKNOWN_SERVICE}
        for index, service_id in enumerate(data.service_ids)
        if service_id not in known
    ]
    if unknown:
        raise ValidationFailed(errors=unknown)
    with refusals(_OFFERING_PROBLEMS):
        await repository.replace_offerings(
            conn, member.tenant_id, professional_id, data.service_ids
        )
    # Python orders UUIDs as PostgreSQL does (by their bytes): the order a read gives.
    return OfferingsRead(service_ids=sorted(data.service_ids))


# -- weekly hours and breaks, of the business or of one professional ---------------------


async def _claim_week(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID | None, what: str
) -> None:
    """The right to replace a whole week, and its lock, so that concurrent replacements never
    interleave their rows: the business's week is the managers'; a professional's is also
    his own staff member's (404 when there is no such professional)."""
    if professional_id is None:
        require_manager(member)
        await repository.lock(conn, member.tenant_id, f"business-{what}")
    else:
        require_own_professional(member, professional_id)
        await repository.lock(conn, member.tenant_id, what, professional_id)
        await _require_professional(conn, member, professional_id)


async def _replace_hours(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID | None, data: WeeklyHours
) -> WeeklyHoursRead:
    await _claim_week(conn, member, professional_id, "hours")
    rows = [(item.weekday, item.start, item.end) for item in data.hours]
    with refusals():
        await repository.replace_hours(conn, member.tenant_id, professional_id, rows)
    return WeeklyHoursRead(hours=_weekly(rows))  # sorted as a read would be, by the schema


async def _replace_breaks(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID | None, data: WeeklyBreaks
) -> WeeklyBreaksRead:
    await _claim_week(conn, member, professional_id, "breaks")
    rows = [(item.weekday, item.start, item.end, item.label) for item in data.breaks]
    with refusals():
        await repository.replace_breaks(conn, member.tenant_id, professional_id, rows)
    return WeeklyBreaksRead(breaks=_breaks(rows))  # sorted as a read would be, by the schema


async def get_professional_hours(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID
) -> WeeklyHoursRead:
    return WeeklyHoursRead(hours=(await get_professional(conn, member, professional_id)).hours)


async def replace_professional_hours(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID, data: WeeklyHours
) -> WeeklyHoursRead:
    """The professional's whole week at once (``[]``: he follows the business hours)."""
    return await _replace_hours(conn, member, professional_id, data)


async def get_professional_breaks(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID
) -> WeeklyBreaksRead:
    return WeeklyBreaksRead(breaks=(await get_professional(conn, member, professional_id)).breaks)


async def replace_professional_breaks(
    conn: AsyncConnection, member: CurrentMember, professional_id: UUID, data: WeeklyBreaks
) -> WeeklyBreaksRead:
    return await _replace_breaks(conn, member, professional_id, data)


async def get_business_hours(conn: AsyncConnection, member: CurrentMember) -> WeeklyHoursRead:
    return WeeklyHoursRead(hours=_weekly(await repository.business_hours(conn, member.tenant_id)))


async def replace_business_hours(
    conn: AsyncConnection, member: CurrentMember, data: WeeklyHours
) -> WeeklyHoursRead:
    return await _replace_hours(conn, member, None, data)


async def get_business_breaks(conn: AsyncConnection, member: CurrentMember) -> WeeklyBreaksRead:
    return WeeklyBreaksRead(
        breaks=_breaks(await repository.business_breaks(conn, member.tenant_id))
    )


async def replace_business_breaks(
    conn: AsyncConnection, member: CurrentMember, data: WeeklyBreaks
) -> WeeklyBreaksRead:
    return await _replace_breaks(conn, member, None, data)


# -- closures and special hours ---------------------------------------------------------


async def list_closures(
    conn: AsyncConnection, member: CurrentMember, date_from: date | None, date_to: date | None
) -> list[ClosureRead]:
    rows = await repository.list_closures(conn, member.tenant_id, date_from, date_to)
    return [ClosureRead(**row) for row in rows]


async def get_closure(
    conn: AsyncConnection, member: CurrentMember, closure_id: UUID
) -> ClosureRead:
    return ClosureRead(
        **_found(await repository.get_row(conn, "closures", member.tenant_id, closure_id))
    )


async def create_closure(
    conn: AsyncConnection, member: CurrentMember, data: ClosureCreate
) -> ClosureRead:
    require_manager(member)
    with refusals(_CLOSURE_PROBLEMS):
        row = await repository.insert_closure(conn, member.tenant_id, data.date, data.reason)
    return ClosureRead(**row)


async def update_closure(
    conn: AsyncConnection, member: CurrentMember, closure_id: UUID, data: ClosureUpdate
) -> ClosureRead:
    require_manager(member)
    with refusals(_CLOSURE_PROBLEMS):
        row = await repository.update_row(
            conn, "closures", member.tenant_id, closure_id, data.changes()
        )
    return ClosureRead(**_found(row))


async def delete_closure(conn: AsyncConnection, member: CurrentMember, closure_id: UUID) -> None:
    require_manager(member)
    if not await repository.delete_row(conn, "closures", member.tenant_id, closure_id):
        raise NotFound()


def _special_days(rows: list[tuple[date, int, int]]) -> list[SpecialHoursRead]:
    days: dict[date, list[DayIntervalRead]] = {}
    for day, start, end in rows:
        days.setdefault(day, []).append(
            DayIntervalRead(start=format_minutes(start), end=format_minutes(end))
        )
    return [SpecialHoursRead(date=day, intervals=intervals) for day, intervals in days.items()]


async def list_special_hours(
    conn: AsyncConnection, member: CurrentMember, date_from: date | None, date_to: date | None
) -> list[SpecialHoursRead]:
    rows = await repository.list_special_hours(conn, member.tenant_id, date_from, date_to)
    return _special_days(rows)


async def get_special_hours(
    conn: AsyncConnection, member: CurrentMember, day: date
) -> SpecialHoursRead:
    days = _special_days(await repository.list_special_hours(conn, member.tenant_id, day, day))
    if not days:
        raise NotFound()
    return days[0]


async def replace_special_hours(
    conn: AsyncConnection, member: CurrentMember, day: date, data: SpecialHoursUpdate
) -> SpecialHoursRead:
    require_manager(member)
    await repository.lock(conn, member.tenant_id, "special-hours", day)
    intervals = [(item.start, item.end) for item in data.intervals]
    with refusals():
        await repository.replace_special_hours(conn, member.tenant_id, day, intervals)
    # Sorted by the schema as a read would be.
    return _special_days([(day, start, end) for start, end in intervals])[0]


async def delete_special_hours(conn: AsyncConnection, member: CurrentMember, day: date) -> None:
    require_manager(member)
    await repository.lock(conn, member.tenant_id, "special-hours", day)
    if not await repository.delete_special_hours(conn, member.tenant_id, day):
        raise NotFound()


# -- time off ---------------------------------------------------------------------------


async def list_time_off(
    conn: AsyncConnection,
    member: CurrentMember,
    *,
    professional_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> list[TimeOffRead]:
    rows = await repository.list_time_off(
        conn,
        member.tenant_id,
        professional_id=professional_id,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )
    return [TimeOffRead(**row) for row in rows]


async def get_time_off(
    conn: AsyncConnection, member: CurrentMember, time_off_id: UUID
) -> TimeOffRead:
    return TimeOffRead(
        **_found(await repository.get_row(conn, "time_off", member.tenant_id, time_off_id))
    )


async def create_time_off(
    conn: AsyncConnection, member: CurrentMember, data: TimeOffCreate
) -> TimeOffRead:
    require_own_professional(member, data.professional_id)
    with refusals(_TIME_OFF_PROBLEMS):
        row = await repository.insert_time_off(
            conn,
            member.tenant_id,
            professional_id=data.professional_id,
            start=data.start,
            end=data.end,
            reason=data.reason,
        )
    return TimeOffRead(**row)


_TIME_OFF_COLUMNS = {"start": "starts_at", "end": "ends_at", "reason": "reason"}


async def update_time_off(
    conn: AsyncConnection, member: CurrentMember, time_off_id: UUID, data: TimeOffUpdate
) -> TimeOffRead:
    current = await get_time_off(conn, member, time_off_id)
    require_own_professional(member, current.professional_id)
    changes = data.changes()
    problem = time_off_range_problem(
        changes.get("start", current.start), changes.get("end", current.end)
    )
    if problem is not None:
        raise ValidationFailed(errors=[{"field": "end", "message": problem}])
    with refusals(_TIME_OFF_PROBLEMS):
        row = await repository.update_row(
            conn,
            "time_off",
            member.tenant_id,
            time_off_id,
            {_TIME_OFF_COLUMNS[key]: value for key, value in changes.items()},
        )
    return TimeOffRead(**_found(row))


async def delete_time_off(conn: AsyncConnection, member: CurrentMember, time_off_id: UUID) -> None:
    current = await get_time_off(conn, member, time_off_id)
    require_own_professional(member, current.professional_id)
    await repository.delete_row(conn, "time_off", member.tenant_id, time_off_id)


# -- settings ---------------------------------------------------------------------------

_PROFILE_FIELDS = tuple(ProfileRead.model_fields)
_POLICY_FIELDS = tuple(PolicyRead.model_fields)


def _settings(row: dict[str, Any]) -> SettingsRead:
    return SettingsRead(
        id=row["id"],
        slug=row["slug"],
        profile=ProfileRead(**{key: row[key] for key in _PROFILE_FIELDS}),
        policy=PolicyRead(**{key: row[key] for key in _POLICY_FIELDS}),
    )


async def get_settings(conn: AsyncConnection, member: CurrentMember) -> SettingsRead:
    return _settings(_found(await repository.get_settings(conn, member.tenant_id)))


async def update_settings(
    conn: AsyncConnection, member: CurrentMember, data: SettingsUpdate
) -> SettingsRead:
    require_manager(member)
    changes: dict[str, Any] = {}
    if data.profile is not None:
        changes.update(_empty_for_null(data.profile.changes(), ProfileUpdate.NULLABLE))
    if data.policy is not None:
        changes.update(data.policy.changes())
    if not changes:
        return await get_settings(conn, member)
    with refusals():
        row = await repository.update_settings(conn, member.tenant_id, changes)
    return _settings(_found(row))
