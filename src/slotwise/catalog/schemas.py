"""Bodies of the catalog API. Wall-clock times travel as ``"HH:MM"`` strings (``"24:00"``
allowed as an end) and are stored as minutes since local midnight; every nonsense a form
can produce (end before start, overlaps within one week, weekday 7, ``"25:00"``) is refused
here with the offending field named, e.g. ``hours.2.end``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from slotwise.core.fields import (
    Bool,
    Currency,
    Email,
    Int,
    Label,
    LongText,
    Name,
    PatchModel,
    Reason,
    Timezone,
    clean_line,
    field_error,
)

NOTHING_TO_CHANGE = "Send at least one field to change."

INVALID_TIME = "Use a time of day as HH:MM, from 00:00 to 23:59."
INVALID_END_TIME = "Use a time of day as HH:MM, from 00:01 to 24:00."
END_BEFORE_START = "The end must be after the start."
OVERLAP = "This interval overlaps another one on the same day."
DUPLICATE = "This item is listed twice."
DATE_OUT_OF_RANGE = "Use a date between the years 2000 and 2100."
TOO_LONG_RANGE = "Time off can last at most one year."
INVALID_ORIGIN = "Use an origin such as https://www.example.com (no path)."

MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)
_TIME = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
_INPUT = ConfigDict(extra="forbid")


def parse_minutes(value: Any, *, end: bool) -> Any:
    """``"HH:MM"`` → minutes since midnight; ``"24:00"`` only as an end. Numbers are refused
    (is 900 minutes or 9:00 meant?)."""
    message = INVALID_END_TIME if end else INVALID_TIME
    if not isinstance(value, str):
        raise ValueError(message)
    match = _TIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(message)
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes > 59 or not (1 if end else 0) <= total <= (1440 if end else 1439):
        raise ValueError(message)
    return total


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(DATE_OUT_OF_RANGE)
    return value


def check_instant(value: datetime) -> datetime:
    check_date(value.date())
    return value


StartTime = Annotated[
    int,
    BeforeValidator(lambda v: parse_minutes(v, end=False)),
    Field(
        json_schema_extra={
            "type": "string",
            "pattern": r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
            "examples": ["09:00"],
        }
    ),
]
EndTime = Annotated[
    int,
    BeforeValidator(lambda v: parse_minutes(v, end=True)),
    Field(
        json_schema_extra={
            "type": "string",
            "pattern": r"^(([01]?[0-9]|2[0-3]):[0-5][0-9]|24:00)$",
            "examples": ["17:30"],
        }
    ),
]
Weekday = Annotated[Int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
Day = Annotated[date, AfterValidator(check_date)]
Instant = Annotated[AwareDatetime, AfterValidator(check_instant)]
Order = Annotated[Int, Field(ge=0, le=10_000)]
IdList = Annotated[list[UUID], Field(max_length=500)]


def _end_after_start(end: int, info: ValidationInfo) -> int:
    start = info.data.get("start")
    if isinstance(start, int) and end <= start:
        raise ValueError(END_BEFORE_START)
    return end


class DayInterval(BaseModel):
    """``[start, end)`` on one local date."""

    model_config = _INPUT

    start: StartTime
    end: EndTime

    _check_end = field_validator("end")(_end_after_start)


class WeeklyInterval(BaseModel):
    """``[start, end)`` on a weekday, every week."""

    model_config = _INPUT

    weekday: Weekday
    start: StartTime
    end: EndTime

    _check_end = field_validator("end")(_end_after_start)


class WeeklyBreak(WeeklyInterval):
    label: Label = ""


class _Interval(Protocol):
    start: int
    end: int


IntervalT = TypeVar("IntervalT", bound=_Interval)
WeeklyT = TypeVar("WeeklyT", bound=WeeklyInterval)


def without_overlaps(items: list[IntervalT], day_of: Callable[[IntervalT], int]) -> list[IntervalT]:
    """``items`` sorted by day and start (the order the database gives back), or raise naming
    ``<i>.start`` (pydantic prefixes the list's field) for the first interval overlapping an
    earlier one of the same day; touching intervals (09:00–12:00 and 12:00–17:00) are fine."""
    by_day: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for index, item in enumerate(items):
        by_day[day_of(item)].append((item.start, item.end, index))
    for intervals in by_day.values():
        intervals.sort()
        reached = -1
        for start, end, index in intervals:
            if start < reached:
                raise field_error((index, "start"), OVERLAP, format_minutes(start))
            reached = max(reached, end)
    return sorted(items, key=lambda item: (day_of(item), item.start))


def _sorted_week(items: list[WeeklyT]) -> list[WeeklyT]:
    return without_overlaps(items, lambda item: item.weekday)


class WeeklyHours(BaseModel):
    """A whole week of opening (or working) hours; ``[]`` means none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "hours": [
                        {"weekday": 0, "start": "09:00", "end": "12:00"},
                        {"weekday": 0, "start": "13:00", "end": "18:00"},
                        {"weekday": 5, "start": "09:00", "end": "24:00"},
                    ]
                }
            ]
        },
    )

    hours: Annotated[list[WeeklyInterval], Field(max_length=100)]

    _no_overlaps = field_validator("hours")(_sorted_week)


class WeeklyBreaks(BaseModel):
    """Every weekly break (e.g. lunch 12:00–13:00 on weekdays); ``[]`` means none."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"breaks": [{"weekday": 0, "start": "12:00", "end": "13:00", "label": "Lunch"}]}
            ]
        },
    )

    breaks: Annotated[list[WeeklyBreak], Field(max_length=100)]

    _no_overlaps = field_validator("breaks")(_sorted_week)


class WeeklyIntervalRead(BaseModel):
    weekday: int
    start: str
    end: str


class WeeklyBreakRead(WeeklyIntervalRead):
    label: str


class WeeklyHoursRead(BaseModel):
    hours: list[WeeklyIntervalRead]


class WeeklyBreaksRead(BaseModel):
    breaks: list[WeeklyBreakRead]


# -- services ---------------------------------------------------------------------------

Duration = Annotated[Int, Field(ge=1, le=1440, description="Minutes")]
Buffer = Annotated[Int, Field(ge=0, le=240, description="Minutes")]
Price = Annotated[Int, Field(ge=0, le=100_000_000_000, description="Minor units (cents)")]


class ServiceCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Haircut",
                    "duration_minutes": 30,
                    "buffer_after_minutes": 10,
                    "price_minor": 4500,
                }
            ]
        },
    )

    name: Name
    description: LongText = ""
    duration_minutes: Duration
    buffer_before_minutes: Buffer = 0
    buffer_after_minutes: Buffer = 0
    price_minor: Price = 0
    currency: Currency | None = Field(default=None, description="Defaults to the business's")
    display_order: Order = 0
    active: Bool = True


class ServiceUpdate(PatchModel):
    name: Name | None = None
    description: LongText | None = None
    duration_minutes: Duration | None = None
    buffer_before_minutes: Buffer | None = None
    buffer_after_minutes: Buffer | None = None
    price_minor: Price | None = None
    currency: Currency | None = None
    display_order: Order | None = None
    active: Bool | None = None


class ServiceRead(BaseModel):
    id: UUID
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    price_minor: int
    currency: str
    display_order: int
    active: bool
    created_at: datetime


# -- professionals ----------------------------------------------------------------------


class ProfessionalCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Carla Dias", "email": "carla@example.com"}]},
    )

    name: Name
    email: Email | None = None
    bio: LongText = ""
    display_order: Order = 0
    active: Bool = True


class ProfessionalUpdate(PatchModel):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"email"})

    name: Name | None = None
    email: Email | None = None
    bio: LongText | None = None
    display_order: Order | None = None
    active: Bool | None = None


class ProfessionalRead(BaseModel):
    id: UUID
    name: str
    email: str | None
    bio: str
    display_order: int
    active: bool
    service_ids: list[UUID]
    hours: list[WeeklyIntervalRead]
    breaks: list[WeeklyBreakRead]
    created_at: datetime


class OfferingsUpdate(BaseModel):
    """The complete list of services the professional performs."""

    model_config = _INPUT

    service_ids: IdList

    @field_validator("service_ids")
    @classmethod
    def _unique(cls, ids: list[UUID]) -> list[UUID]:
        seen: set[UUID] = set()
        for index, service_id in enumerate(ids):
            if service_id in seen:
                raise field_error((index,), DUPLICATE, str(service_id))
            seen.add(service_id)
        return ids


class OfferingsRead(BaseModel):
    service_ids: list[UUID]


# -- closures and special hours ---------------------------------------------------------


class ClosureCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"date": "2030-12-25", "reason": "Christmas"}]},
    )

    date: Day
    reason: Reason = ""


class ClosureUpdate(PatchModel):
    date: Day | None = None
    reason: Reason | None = None


class ClosureRead(BaseModel):
    id: UUID
    date: date
    reason: str


class SpecialHoursUpdate(BaseModel):
    """The hours that replace the weekly hours on one date (a closure still wins)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"intervals": [{"start": "10:00", "end": "14:00"}]}]},
    )

    intervals: Annotated[list[DayInterval], Field(min_length=1, max_length=24)]

    @field_validator("intervals")
    @classmethod
    def _no_overlaps(cls, intervals: list[DayInterval]) -> list[DayInterval]:
        return without_overlaps(intervals, lambda item: 0)


class DayIntervalRead(BaseModel):
    start: str
    end: str


class SpecialHoursRead(BaseModel):
    date: date
    intervals: list[DayIntervalRead]


# -- time off ---------------------------------------------------------------------------

MAX_TIME_OFF_DAYS = 366


class TimeOffCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "professional_id": "6f1c1c35-3b53-4a0a-9d0e-0f1f8e0e6b11",
                    "start": "2030-07-01T00:00:00-03:00",
                    "end": "2030-07-15T00:00:00-03:00",
                    "reason": "Vacation",
                }
            ]
        },
    )

    professional_id: UUID
    start: Instant
    end: Instant
    reason: Reason = ""

    @model_validator(mode="after")
    def _range(self) -> TimeOffCreate:
        problem = time_off_range_problem(self.start, self.end)
        if problem is not None:
            raise field_error(("end",), problem, self.end.isoformat())
        return self


def time_off_range_problem(start: datetime, end: datetime) -> str | None:
    """What is wrong with ``[start, end)`` as time off (always the ``end``'s fault), if
    anything; the service checks a change against the stored start or end with it too."""
    if end <= start:
        return END_BEFORE_START
    if (end - start).days > MAX_TIME_OFF_DAYS:
        return TOO_LONG_RANGE
    return None


class TimeOffUpdate(PatchModel):
    start: Instant | None = None
    end: Instant | None = None
    reason: Reason | None = None


class TimeOffRead(BaseModel):
    id: UUID
    professional_id: UUID
    start: datetime
    end: datetime
    reason: str


# -- settings ---------------------------------------------------------------------------


def check_origin(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ValueError(INVALID_ORIGIN)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(INVALID_ORIGIN) from exc
    host = parts.hostname.lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


Origin = Annotated[
    str,
    BeforeValidator(clean_line),
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(check_origin),
]
Phone = Annotated[str, BeforeValidator(clean_line), StringConstraints(max_length=40)]
Locale = Literal["en", "pt_BR"]


class ProfileRead(BaseModel):
    name: str
    timezone: str
    locale: str
    currency: str
    address: str
    phone: str
    email: str
    embed_origins: list[str]


class PolicyRead(BaseModel):
    slot_step_minutes: int
    min_notice_minutes: int
    horizon_days: int
    cancel_cutoff_minutes: int
    auto_confirm: bool
    reminder_hours: int


class SettingsRead(BaseModel):
    id: UUID
    slug: str
    profile: ProfileRead
    policy: PolicyRead


class ProfileUpdate(PatchModel):
    """``null`` clears ``address``, ``phone`` and ``email``."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"address", "phone", "email"})

    name: Name | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None
    currency: Currency | None = None
    address: Annotated[LongText, StringConstraints(max_length=500)] | None = None
    phone: Phone | None = None
    email: Email | None = None
    embed_origins: Annotated[list[Origin], Field(max_length=20)] | None = None


class PolicyUpdate(PatchModel):
    slot_step_minutes: Annotated[Int, Field(ge=5, le=240)] | None = None
    min_notice_minutes: Annotated[Int, Field(ge=0, le=43_200)] | None = None
    horizon_days: Annotated[Int, Field(ge=1, le=730)] | None = None
    cancel_cutoff_minutes: Annotated[Int, Field(ge=0, le=43_200)] | None = None
    auto_confirm: Bool | None = None
    reminder_hours: Annotated[Int, Field(ge=0, le=336)] | None = None


class SettingsUpdate(PatchModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "minProperties": 1,
            "examples": [
                {
                    "profile": {
                        "phone": "+55 11 3333-4444",
                        "embed_origins": ["https://studio.example"],
                    },
                    "policy": {"slot_step_minutes": 30, "auto_confirm": False},
                }
            ],
        },
    )

    profile: ProfileUpdate | None = None
    policy: PolicyUpdate | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> SettingsUpdate:
        if not self.model_fields_set:
            raise ValueError(NOTHING_TO_CHANGE)
        return self
