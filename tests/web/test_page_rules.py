"""The pure layout rules of the pages: the date strip, slots by time of day, the day grid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from slotwise.web.service import (
    Column,
    date_strip,
    day_grid,
    grid_step,
    group_slots,
    pick_date,
    week_dates,
)

ZONE = ZoneInfo("America/Sao_Paulo")
DAY = date(2030, 6, 3)  # a Monday


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    professional_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Day:
    date: date
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Appointment:
    id: uuid.UUID
    start: datetime
    end: datetime
    status: str = "confirmed"


def test_slots_are_grouped_by_local_time_of_day() -> None:
    slots = [
        Slot(at(h, m).astimezone(UTC), at(h, m) + timedelta(minutes=30))
        for h, m in [(9, 0), (11, 45), (12, 0), (16, 59), (17, 0), (20, 30)]
    ]
    groups = group_slots(slots, ZONE)
    assert [(g.period, len(g.slots)) for g in groups] == [
        ("morning", 2),
        ("afternoon", 2),
        ("evening", 2),
    ]
    assert [g.period for g in group_slots(slots[:1], ZONE)] == ["morning"]


def test_the_strip_picks_the_asked_day_else_the_first_with_free_times() -> None:
    one = Slot(at(10), at(10, 30))
    days = [Day(DAY, ()), Day(DAY + timedelta(days=1), (one,)), Day(DAY + timedelta(days=2), ())]
    assert pick_date(None, days) == DAY + timedelta(days=1)
    assert pick_date(DAY + timedelta(days=2), days) == DAY + timedelta(days=2)
    assert pick_date(DAY + timedelta(days=30), days) == DAY + timedelta(days=1)
    assert pick_date(None, [Day(DAY, ())]) == DAY
    cells = date_strip(days, DAY + timedelta(days=1))
    assert [(c.free, c.selected) for c in cells] == [(0, False), (1, True), (0, False)]


def test_the_grid_step_is_the_coarsest_every_boundary_falls_on() -> None:
    assert grid_step([540, 600, 630]) == 30
    assert grid_step([540, 555]) == 15
    assert grid_step([540, 550]) == 10
    assert grid_step([540, 545, 547]) == 5
    assert grid_step([]) == 30


def test_the_day_grid_spans_appointments_and_shades_closed_steps() -> None:
    pro, other = uuid.uuid4(), uuid.uuid4()
    long = Appointment(uuid.uuid4(), at(10), at(11, 30))
    cancelled = Appointment(uuid.uuid4(), at(14), at(14, 30), "cancelled")
    outside = Appointment(uuid.uuid4(), at(23), at(23, 30))
    grid = day_grid(
        DAY,
        ZONE,
        [Column(pro, "Ana"), Column(other, "Bruno")],
        {pro: [long, cancelled, outside]},
        {pro: [(540, 720), (780, 1080)], other: [(540, 1080)]},
        at(10, 40),
    )
    assert grid.step == 30
    assert grid.rows[0].minute == 8 * 60
    assert grid.rows[-1].minute == 23 * 60 + 30  # stretched to show the 23:00 one
    by_minute = {row.minute: row for row in grid.rows}
    start = by_minute[600].cells[0]
    assert start is not None and start.appointment is long and start.rowspan == 3
    assert by_minute[630].cells[0] is None and by_minute[660].cells[0] is None
    lunch = by_minute[720].cells[0]
    assert lunch is not None and lunch.off
    assert not by_minute[720].cells[1].off  # type: ignore[union-attr]
    assert by_minute[8 * 60].cells[1].off  # type: ignore[union-attr]
    assert all(
        cell is None or cell.appointment is not cancelled
        for cell in [r.cells[0] for r in grid.rows]
    )
    assert [row.minute for row in grid.rows if row.now] == [630]
    late = by_minute[23 * 60].cells[0]
    assert late is not None and late.appointment is outside and grid.unplaced == []


def test_overlapping_appointments_are_listed_rather_than_lost() -> None:
    pro = uuid.uuid4()
    first = Appointment(uuid.uuid4(), at(10), at(11))
    overlapping = Appointment(uuid.uuid4(), at(10, 30), at(11, 30))
    grid = day_grid(DAY, ZONE, [Column(pro, "Ana")], {pro: [first, overlapping]}, {}, at(8))
    assert grid.unplaced == [overlapping]


def test_the_week_runs_from_monday_to_sunday() -> None:
    week = week_dates(DAY + timedelta(days=3))
    assert week[0] == DAY and week[-1] == DAY + timedelta(days=6) and len(week) == 7
