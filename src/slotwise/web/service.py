"""Page rules: how availability and appointments are laid out for people. Pure functions —
the data comes from the other domains' services, called by the routers.

* the booking page's date strip (which of the next days have free slots) and the slots of
  one day grouped into morning, afternoon and evening, in the business's time zone;
* the dashboard's day grid: one column per professional, one row per time step, each
  appointment one cell spanning its rows (sized by duration, placed by start), steps in
  breaks, time off or outside the hours shaded, and the row of "now" marked.

The grid is an HTML table with ``rowspan`` (no inline styles: the CSP forbids them), so it
reads the same with JavaScript off and to a screen reader."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from math import gcd
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

STRIP_DAYS = 14
MORNING_END = 12 * 60
AFTERNOON_END = 17 * 60
PERIODS = (("morning", 0, MORNING_END), ("afternoon", MORNING_END, AFTERNOON_END))


class SlotLike(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def professional_ids(self) -> Sequence[UUID]: ...


class DayLike(Protocol):
    @property
    def date(self) -> date: ...
    @property
    def slots(self) -> Sequence[SlotLike]: ...


@dataclass(frozen=True, slots=True)
class DayCell:
    date: date
    free: int
    selected: bool


@dataclass(frozen=True, slots=True)
class SlotGroup:
    period: str  # morning | afternoon | evening
    slots: tuple[SlotLike, ...]


def strip_dates(today: date, days: int = STRIP_DAYS) -> tuple[date, date]:
    """First and last date of the strip that starts today (tenant-local)."""
    return today, today + timedelta(days=days - 1)


def pick_date(requested: date | None, days: Sequence[DayLike]) -> date | None:
    """The day to show: the one asked for when it is in the strip, else the first with free
    slots, else the first day."""
    dates = [d.date for d in days]
    if requested is not None and requested in dates:
        return requested
    for day in days:
        if day.slots:
            return day.date
    return dates[0] if dates else None


def date_strip(days: Sequence[DayLike], selected: date | None) -> list[DayCell]:
    return [DayCell(d.date, len(d.slots), d.date == selected) for d in days]


def slots_of(days: Sequence[DayLike], selected: date | None) -> Sequence[SlotLike]:
    for day in days:
        if day.date == selected:
            return day.slots
    return ()


def group_slots(slots: Iterable[SlotLike], zone: tzinfo) -> list[SlotGroup]:
    """Slots by local time of day; empty periods are left out."""
    buckets: dict[str, list[SlotLike]] = {"morning": [], "afternoon": [], "evening": []}
    for slot in slots:
        local = slot.start.astimezone(zone)
        minute = local.hour * 60 + local.minute
        period = next((p for p, lo, hi in PERIODS if lo <= minute < hi), "evening")
        buckets[period].append(slot)
    return [SlotGroup(period, tuple(items)) for period, items in buckets.items() if items]


# ------------------------------------------------------------------ dashboard day grid


class AppointmentLike(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Column:
    id: UUID
    name: str


@dataclass(slots=True)
class GridCell:
    """One table cell: an appointment spanning ``rowspan`` rows, or one empty step."""

    appointment: AppointmentLike | None = None
    rowspan: int = 1
    off: bool = False
    start: datetime | None = None


@dataclass(slots=True)
class GridRow:
    minute: int
    at: datetime
    hour_mark: bool
    now: bool
    cells: list[GridCell | None] = field(default_factory=list)
    """Per column: a cell, or None where an appointment above spans over this row."""


@dataclass(slots=True)
class DayGrid:
    date: date
    step: int
    columns: list[Column]
    rows: list[GridRow]
    unplaced: list[AppointmentLike]
    """Appointments outside the shown hours or overlapping another (never lost)."""


def minute_of(instant: datetime, day: date, zone: ZoneInfo) -> int:
    """Minutes from local midnight of ``day`` (may be < 0 or > 1440 across days or DST)."""
    midnight = datetime.combine(day, time(), tzinfo=zone)
    return int((instant - midnight).total_seconds() // 60)


def grid_step(minutes: Iterable[int]) -> int:
    """The coarsest of 30/15/10/5 that every boundary falls on (5 at the finest)."""
    divisor = 60
    for m in minutes:
        divisor = gcd(divisor, m % 60)
    for step in (30, 15, 10, 5):
        if divisor % step == 0:
            return step
    return 5


def day_grid(
    day: date,
    zone: ZoneInfo,
    columns: Sequence[Column],
    appointments: Mapping[UUID, Sequence[AppointmentLike]],
    open_ranges: Mapping[UUID, Sequence[tuple[int, int]]],
    now: datetime,
    *,
    default_hours: tuple[int, int] = (8 * 60, 20 * 60),
) -> DayGrid:
    """Lay out one local day. ``open_ranges`` are each column's working minutes (after
    breaks and time off); every other step is shaded. Cancelled appointments are left out."""
    placed: dict[UUID, list[tuple[int, int, AppointmentLike]]] = {}
    boundaries: list[int] = []
    for column in columns:
        items = []
        for appt in appointments.get(column.id, ()):
            if appt.status == "cancelled":
                continue
            start = minute_of(appt.start, day, zone)
            end = minute_of(appt.end, day, zone)
            items.append((start, end, appt))
            boundaries += [start, end]
        placed[column.id] = sorted(items, key=lambda i: i[0])
        for lo, hi in open_ranges.get(column.id, ()):
            boundaries += [lo, hi]
    inside = [b for b in boundaries if 0 <= b <= 1440]
    first = min([default_hours[0], *inside])
    last = max([default_hours[1], *inside])
    step = grid_step(inside)
    first = first // 60 * 60
    last = min(1440, -(-last // 60) * 60)
    now_minute = minute_of(now, day, zone)
    rows = [
        GridRow(
            minute=m,
            at=datetime.combine(day, time(), tzinfo=zone) + timedelta(minutes=m),
            hour_mark=m % 60 == 0,
            now=m <= now_minute < m + step,
        )
        for m in range(first, last, step)
    ]
    unplaced: list[AppointmentLike] = []
    for column in columns:
        ranges = open_ranges.get(column.id, ())
        busy_until = -1
        cells: dict[int, GridCell | None] = {}
        for start, end, appt in placed[column.id]:
            start_row = (start - first) // step
            if start < first or end > last or start < busy_until or start % step:
                unplaced.append(appt)
                continue
            span = max(1, -(-(end - start) // step))
            cells[start_row] = GridCell(appointment=appt, rowspan=span)
            for covered in range(start_row + 1, start_row + span):
                cells[covered] = None
            busy_until = end
        for index, row in enumerate(rows):
            if index in cells:
                row.cells.append(cells[index])
                continue
            is_open = any(lo <= row.minute and row.minute + step <= hi for lo, hi in ranges)
            row.cells.append(GridCell(off=not is_open, start=row.at))
    return DayGrid(day, step, list(columns), rows, unplaced)


def week_dates(day: date) -> list[date]:
    """Monday to Sunday of ``day``'s week."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]
