"""The catalog API for staff: services, professionals (offerings, hours, breaks), business
hours and breaks, closures, special hours, time off, settings. HTTP only: parse, call the
service inside the request's transaction, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth.deps import CurrentMember, MemberDep
from slotwise.catalog import service
from slotwise.catalog.schemas import (
    ClosureCreate,
    ClosureRead,
    ClosureUpdate,
    OfferingsRead,
    OfferingsUpdate,
    ProfessionalCreate,
    ProfessionalRead,
    ProfessionalUpdate,
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
    WeeklyBreaks,
    WeeklyBreaksRead,
    WeeklyHours,
    WeeklyHoursRead,
    check_date,
)
from slotwise.core.deps import DatabaseDep
from slotwise.core.fields import IsoDate, IsoInstant
from slotwise.core.problems import STAFF_ERROR_STATUSES, openapi_error_responses

T = TypeVar("T")

# Answers any operation can give: hardening (413/415), validation, auth, limits, overload.
_ERRORS = openapi_error_responses(*STAFF_ERROR_STATUSES)
_CONFLICT_ERRORS = openapi_error_responses(*STAFF_ERROR_STATUSES, 409)

router = APIRouter(prefix="/api/v1")

ActiveFilter = Annotated[bool | None, Query(description="Only active (true) or inactive (false)")]
DateFrom = Annotated[IsoDate | None, Query(alias="from", description="First local date")]
DateTo = Annotated[IsoDate | None, Query(alias="to", description="Last local date")]
DayPath = Annotated[date, Path(description="A local date, YYYY-MM-DD"), AfterValidator(check_date)]


async def _run(
    database: DatabaseDep,
    member: CurrentMember,
    work: Callable[[AsyncConnection], Awaitable[T]],
) -> T:
    """The request's one transaction in the member's tenant (retried when transient)."""
    return await database.run(work, member.tenant_id, user_id=member.user_id)


def _no_content() -> Response:
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- services ---------------------------------------------------------------------------


@router.get("/services", tags=["services"], summary="List services", responses=_ERRORS)
async def list_services(
    member: MemberDep, database: DatabaseDep, active: ActiveFilter = None
) -> list[ServiceRead]:
    return await _run(database, member, lambda c: service.list_services(c, member, active))


@router.post(
    "/services",
    tags=["services"],
    status_code=status.HTTP_201_CREATED,
    summary="Create a service (owner or manager)",
    responses=_ERRORS,
)
async def create_service(
    body: ServiceCreate, member: MemberDep, database: DatabaseDep
) -> ServiceRead:
    return await _run(database, member, lambda c: service.create_service(c, member, body))


@router.get("/services/{service_id}", tags=["services"], summary="Get a service", responses=_ERRORS)
async def get_service(service_id: UUID, member: MemberDep, database: DatabaseDep) -> ServiceRead:
    return await _run(database, member, lambda c: service.get_service(c, member, service_id))


@router.patch(
    "/services/{service_id}",
    tags=["services"],
    summary="Change a service (owner or manager)",
    responses=_ERRORS,
)
async def update_service(
    service_id: UUID, body: ServiceUpdate, member: MemberDep, database: DatabaseDep
) -> ServiceRead:
    return await _run(
        database, member, lambda c: service.update_service(c, member, service_id, body)
    )


@router.delete(
    "/services/{service_id}",
    tags=["services"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a service without appointments (else 409 `in_use`: deactivate it)",
    responses=_CONFLICT_ERRORS,
)
async def delete_service(service_id: UUID, member: MemberDep, database: DatabaseDep) -> Response:
    await _run(database, member, lambda c: service.delete_service(c, member, service_id))
    return _no_content()


# -- professionals ----------------------------------------------------------------------


@router.get(
    "/professionals",
    tags=["professionals"],
    summary="List professionals with their services, hours and breaks",
    responses=_ERRORS,
)
async def list_professionals(
    member: MemberDep, database: DatabaseDep, active: ActiveFilter = None
) -> list[ProfessionalRead]:
    return await _run(database, member, lambda c: service.list_professionals(c, member, active))


@router.post(
    "/professionals",
    tags=["professionals"],
    status_code=status.HTTP_201_CREATED,
    summary="Create a professional (owner or manager)",
    responses=_ERRORS,
)
async def create_professional(
    body: ProfessionalCreate, member: MemberDep, database: DatabaseDep
) -> ProfessionalRead:
    return await _run(database, member, lambda c: service.create_professional(c, member, body))


@router.get(
    "/professionals/{professional_id}",
    tags=["professionals"],
    summary="Get a professional",
    responses=_ERRORS,
)
async def get_professional(
    professional_id: UUID, member: MemberDep, database: DatabaseDep
) -> ProfessionalRead:
    return await _run(
        database, member, lambda c: service.get_professional(c, member, professional_id)
    )


@router.patch(
    "/professionals/{professional_id}",
    tags=["professionals"],
    summary="Change a professional (owner or manager)",
    responses=_ERRORS,
)
async def update_professional(
    professional_id: UUID, body: ProfessionalUpdate, member: MemberDep, database: DatabaseDep
) -> ProfessionalRead:
    return await _run(
        database, member, lambda c: service.update_professional(c, member, professional_id, body)
    )


@router.delete(
    "/professionals/{professional_id}",
    tags=["professionals"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a professional without appointments (else 409 `in_use`: deactivate)",
    responses=_CONFLICT_ERRORS,
)
async def delete_professional(
    professional_id: UUID, member: MemberDep, database: DatabaseDep
) -> Response:
    await _run(database, member, lambda c: service.delete_professional(c, member, professional_id))
    return _no_content()


@router.get(
    "/professionals/{professional_id}/services",
    tags=["professionals"],
    summary="The services a professional performs",
    responses=_ERRORS,
)
async def get_offerings(
    professional_id: UUID, member: MemberDep, database: DatabaseDep
) -> OfferingsRead:
    return await _run(database, member, lambda c: service.get_offerings(c, member, professional_id))


@router.put(
    "/professionals/{professional_id}/services",
    tags=["professionals"],
    summary="Replace the services a professional performs (owner or manager)",
    responses=_ERRORS,
)
async def replace_offerings(
    professional_id: UUID, body: OfferingsUpdate, member: MemberDep, database: DatabaseDep
) -> OfferingsRead:
    return await _run(
        database, member, lambda c: service.replace_offerings(c, member, professional_id, body)
    )


@router.get(
    "/professionals/{professional_id}/hours",
    tags=["professionals"],
    summary="A professional's own weekly hours ([]: he follows the business hours)",
    responses=_ERRORS,
)
async def get_professional_hours(
    professional_id: UUID, member: MemberDep, database: DatabaseDep
) -> WeeklyHoursRead:
    return await _run(
        database, member, lambda c: service.get_professional_hours(c, member, professional_id)
    )


@router.put(
    "/professionals/{professional_id}/hours",
    tags=["professionals"],
    summary="Replace a professional's whole week of hours (staff: only their own)",
    responses=_ERRORS,
)
async def replace_professional_hours(
    professional_id: UUID, body: WeeklyHours, member: MemberDep, database: DatabaseDep
) -> WeeklyHoursRead:
    return await _run(
        database,
        member,
        lambda c: service.replace_professional_hours(c, member, professional_id, body),
    )


@router.get(
    "/professionals/{professional_id}/breaks",
    tags=["professionals"],
    summary="A professional's own weekly breaks",
    responses=_ERRORS,
)
async def get_professional_breaks(
    professional_id: UUID, member: MemberDep, database: DatabaseDep
) -> WeeklyBreaksRead:
    return await _run(
        database, member, lambda c: service.get_professional_breaks(c, member, professional_id)
    )


@router.put(
    "/professionals/{professional_id}/breaks",
    tags=["professionals"],
    summary="Replace a professional's weekly breaks (staff: only their own)",
    responses=_ERRORS,
)
async def replace_professional_breaks(
    professional_id: UUID, body: WeeklyBreaks, member: MemberDep, database: DatabaseDep
) -> WeeklyBreaksRead:
    return await _run(
        database,
        member,
        lambda c: service.replace_professional_breaks(c, member, professional_id, body),
    )


# -- business hours and breaks ----------------------------------------------------------


@router.get(
    "/business-hours",
    tags=["hours"],
    summary="The business's weekly opening hours",
    responses=_ERRORS,
)
async def get_business_hours(member: MemberDep, database: DatabaseDep) -> WeeklyHoursRead:
    return await _run(database, member, lambda c: service.get_business_hours(c, member))


@router.put(
    "/business-hours",
    tags=["hours"],
    summary="Replace the whole week of opening hours (owner or manager)",
    responses=_ERRORS,
)
async def replace_business_hours(
    body: WeeklyHours, member: MemberDep, database: DatabaseDep
) -> WeeklyHoursRead:
    return await _run(database, member, lambda c: service.replace_business_hours(c, member, body))


@router.get(
    "/business-breaks",
    tags=["hours"],
    summary="The business-wide weekly breaks",
    responses=_ERRORS,
)
async def get_business_breaks(member: MemberDep, database: DatabaseDep) -> WeeklyBreaksRead:
    return await _run(database, member, lambda c: service.get_business_breaks(c, member))


@router.put(
    "/business-breaks",
    tags=["hours"],
    summary="Replace the business-wide weekly breaks (owner or manager)",
    responses=_ERRORS,
)
async def replace_business_breaks(
    body: WeeklyBreaks, member: MemberDep, database: DatabaseDep
) -> WeeklyBreaksRead:
    return await _run(database, member, lambda c: service.replace_business_breaks(c, member, body))


# -- closures ---------------------------------------------------------------------------


@router.get("/closures", tags=["closures"], summary="List closures", responses=_ERRORS)
async def list_closures(
    member: MemberDep, database: DatabaseDep, date_from: DateFrom = None, date_to: DateTo = None
) -> list[ClosureRead]:
    return await _run(
        database, member, lambda c: service.list_closures(c, member, date_from, date_to)
    )


@router.post(
    "/closures",
    tags=["closures"],
    status_code=status.HTTP_201_CREATED,
    summary="Close the business on a date (owner or manager)",
    responses=_CONFLICT_ERRORS,
)
async def create_closure(
    body: ClosureCreate, member: MemberDep, database: DatabaseDep
) -> ClosureRead:
    return await _run(database, member, lambda c: service.create_closure(c, member, body))


@router.get("/closures/{closure_id}", tags=["closures"], summary="Get a closure", responses=_ERRORS)
async def get_closure(closure_id: UUID, member: MemberDep, database: DatabaseDep) -> ClosureRead:
    return await _run(database, member, lambda c: service.get_closure(c, member, closure_id))


@router.patch(
    "/closures/{closure_id}",
    tags=["closures"],
    summary="Change a closure's date or reason (owner or manager)",
    responses=_CONFLICT_ERRORS,
)
async def update_closure(
    closure_id: UUID, body: ClosureUpdate, member: MemberDep, database: DatabaseDep
) -> ClosureRead:
    return await _run(
        database, member, lambda c: service.update_closure(c, member, closure_id, body)
    )


@router.delete(
    "/closures/{closure_id}",
    tags=["closures"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Reopen: delete a closure (owner or manager)",
    responses=_ERRORS,
)
async def delete_closure(closure_id: UUID, member: MemberDep, database: DatabaseDep) -> Response:
    await _run(database, member, lambda c: service.delete_closure(c, member, closure_id))
    return _no_content()


# -- special hours ----------------------------------------------------------------------


@router.get(
    "/special-hours",
    tags=["special hours"],
    summary="Dates with special hours (they replace the weekly hours)",
    responses=_ERRORS,
)
async def list_special_hours(
    member: MemberDep, database: DatabaseDep, date_from: DateFrom = None, date_to: DateTo = None
) -> list[SpecialHoursRead]:
    return await _run(
        database, member, lambda c: service.list_special_hours(c, member, date_from, date_to)
    )


@router.get(
    "/special-hours/{day}",
    tags=["special hours"],
    summary="The special hours of one date",
    responses=_ERRORS,
)
async def get_special_hours(
    day: DayPath, member: MemberDep, database: DatabaseDep
) -> SpecialHoursRead:
    return await _run(database, member, lambda c: service.get_special_hours(c, member, day))


@router.put(
    "/special-hours/{day}",
    tags=["special hours"],
    summary="Set the hours of one date, replacing its weekly hours (owner or manager)",
    responses=_ERRORS,
)
async def replace_special_hours(
    day: DayPath, body: SpecialHoursUpdate, member: MemberDep, database: DatabaseDep
) -> SpecialHoursRead:
    return await _run(
        database, member, lambda c: service.replace_special_hours(c, member, day, body)
    )


@router.delete(
    "/special-hours/{day}",
    tags=["special hours"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Back to the weekly hours on that date (owner or manager)",
    responses=_ERRORS,
)
async def delete_special_hours(day: DayPath, member: MemberDep, database: DatabaseDep) -> Response:
    await _run(database, member, lambda c: service.delete_special_hours(c, member, day))
    return _no_content()


# -- time off ---------------------------------------------------------------------------


@router.get(
    "/time-off",
    tags=["time off"],
    summary="Time off, optionally of one professional and overlapping [from, to)",
    responses=_ERRORS,
)
async def list_time_off(
    member: MemberDep,
    database: DatabaseDep,
    professional_id: UUID | None = None,
    start: Annotated[IsoInstant | None, Query(alias="from")] = None,
    end: Annotated[IsoInstant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[TimeOffRead]:
    return await _run(
        database,
        member,
        lambda c: service.list_time_off(
            c,
            member,
            professional_id=professional_id,
            start=start,
            end=end,
            limit=limit,
            offset=offset,
        ),
    )


@router.post(
    "/time-off",
    tags=["time off"],
    status_code=status.HTTP_201_CREATED,
    summary="Add time off for a professional (staff: only their own)",
    responses=_ERRORS,
)
async def create_time_off(
    body: TimeOffCreate, member: MemberDep, database: DatabaseDep
) -> TimeOffRead:
    return await _run(database, member, lambda c: service.create_time_off(c, member, body))


@router.get("/time-off/{time_off_id}", tags=["time off"], summary="Get time off", responses=_ERRORS)
async def get_time_off(time_off_id: UUID, member: MemberDep, database: DatabaseDep) -> TimeOffRead:
    return await _run(database, member, lambda c: service.get_time_off(c, member, time_off_id))


@router.patch(
    "/time-off/{time_off_id}",
    tags=["time off"],
    summary="Change time off (staff: only their own)",
    responses=_ERRORS,
)
async def update_time_off(
    time_off_id: UUID, body: TimeOffUpdate, member: MemberDep, database: DatabaseDep
) -> TimeOffRead:
    return await _run(
        database, member, lambda c: service.update_time_off(c, member, time_off_id, body)
    )


@router.delete(
    "/time-off/{time_off_id}",
    tags=["time off"],
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete time off (staff: only their own)",
    responses=_ERRORS,
)
async def delete_time_off(time_off_id: UUID, member: MemberDep, database: DatabaseDep) -> Response:
    await _run(database, member, lambda c: service.delete_time_off(c, member, time_off_id))
    return _no_content()


# -- settings ---------------------------------------------------------------------------


@router.get(
    "/settings",
    tags=["settings"],
    summary="The business profile and booking policy",
    responses=_ERRORS,
)
async def get_settings(member: MemberDep, database: DatabaseDep) -> SettingsRead:
    return await _run(database, member, lambda c: service.get_settings(c, member))


@router.patch(
    "/settings",
    tags=["settings"],
    summary="Change the profile and/or booking policy (owner or manager)",
    responses=_ERRORS,
)
async def update_settings(
    body: SettingsUpdate, member: MemberDep, database: DatabaseDep
) -> SettingsRead:
    return await _run(database, member, lambda c: service.update_settings(c, member, body))
