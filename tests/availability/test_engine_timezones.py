"""Wall-clock rules across real zones and real 2026 DST transitions (SPEC §2.2, fold=0)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from slotwise.availability.engine import (
    BusinessRules,
    BusyRanges,
    LocalRange,
    ProfessionalRules,
    Rejection,
    ServiceRules,
    Span,
    check_start,
    list_slots,
    local_date_of,
    minutes_to_instant,
    open_windows,
)

SERVICE = uuid.UUID(int=1)
PRO = uuid.UUID(int=7)
EARLY = datetime(2025, 12, 1, tzinfo=UTC)  # "now" well before every tested date


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rules_for(
    tz: str,
    start: int,
    end: int,
    *,
    step: int = 15,
    duration: int = 15,
    special: Mapping[date, tuple[LocalRange, ...]] | None = None,
    time_off: tuple[Span, ...] = (),
) -> BusinessRules:
    """A business open every day from local minute ``start`` to ``end``."""
    professional = ProfessionalRules(
        id=PRO,
        display_order=0,
        active=True,
        service_ids=frozenset({SERVICE}),
        weekly_hours={},
        breaks={},
        time_off=time_off,
        busy=BusyRanges((), (), ()),
    )
    return BusinessRules(
        timezone=tz,
        slot_step_minutes=step,
        min_notice_minutes=0,
        horizon_days=400,
        weekly_hours={d: (LocalRange(start, end),) for d in range(7)},
        breaks={},
        closures=frozenset(),
        special_hours=dict(special or {}),
        services={SERVICE: ServiceRules(SERVICE, duration, 0, 0, True)},
        professionals=(professional,),
    )


def slot_starts(rules: BusinessRules, d: date) -> list[datetime]:
    (day,) = list_slots(rules, SERVICE, d, d, EARLY)
    return [s.start for s in day.slots]


def open_minutes(rules: BusinessRules, d: date) -> int:
    return sum(int((w.end - w.start).total_seconds()) // 60 for w in open_windows(rules, PRO, d))


def reference_instant(d: date, minute: int, tz: str) -> datetime:
    """The contract's definition, spelled out with the standard library."""
    local = datetime.combine(d, time(), tzinfo=ZoneInfo(tz)) + timedelta(minutes=minute)
    return local.astimezone(UTC)


# ----------------------------------------------------------------------- São Paulo


@pytest.mark.parametrize("month", range(1, 13))
def test_sao_paulo_has_no_dst_since_2019(month: int) -> None:
    d = date(2026, month, 15)
    assert minutes_to_instant(d, 9 * 60, "America/Sao_Paulo") == datetime.combine(
        d, time(12), tzinfo=UTC
    )
    local = datetime(2026, month, 15, 9, tzinfo=ZoneInfo("America/Sao_Paulo"))
    assert local.utcoffset() == timedelta(hours=-3)


def test_sao_paulo_former_dst_dates_are_plain_days() -> None:
    rules = rules_for("America/Sao_Paulo", 0, 24 * 60, step=60, duration=60)
    for d in [date(2026, 11, 1), date(2026, 2, 15), date(2026, 10, 18)]:
        starts = slot_starts(rules, d)
        assert len(starts) == 24
        assert starts[0] == datetime.combine(d, time(3), tzinfo=UTC)


# ------------------------------------------------------------------------ New York


def test_new_york_offsets_around_spring_forward() -> None:
    tz = "America/New_York"
    assert minutes_to_instant(date(2026, 3, 7), 9 * 60, tz) == utc(2026, 3, 7, 14)
    assert minutes_to_instant(date(2026, 3, 8), 9 * 60, tz) == utc(2026, 3, 8, 13)
    assert minutes_to_instant(date(2026, 3, 8), 60, tz) == utc(2026, 3, 8, 6)
    # 02:30 does not exist: it moves forward by the gap, to 03:30 EDT.
    assert minutes_to_instant(date(2026, 3, 8), 150, tz) == utc(2026, 3, 8, 7, 30)
    assert minutes_to_instant(date(2026, 3, 8), 210, tz) == utc(2026, 3, 8, 7, 30)


def test_new_york_spring_forward_day_loses_exactly_the_missing_hour() -> None:
    rules = rules_for("America/New_York", 0, 6 * 60)
    d = date(2026, 3, 8)
    starts = slot_starts(rules, d)
    assert len(starts) == 20  # 5 real hours of 15-minute slots instead of 6
    assert open_minutes(rules, d) == 300
    assert starts[0] == utc(2026, 3, 8, 5)
    assert starts[-1] == utc(2026, 3, 8, 9, 45)
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(starts))
    # the days around it keep their six hours
    assert len(slot_starts(rules, date(2026, 3, 7))) == 24
    assert len(slot_starts(rules, date(2026, 3, 9))) == 24
    assert open_minutes(rules, date(2026, 3, 9)) == 360


def test_new_york_window_opening_inside_the_gap_moves_forward() -> None:
    rules = rules_for("America/New_York", 2 * 60 + 30, 5 * 60, step=30, duration=30)
    starts = slot_starts(rules, date(2026, 3, 8))
    # 02:30 becomes 03:30 EDT (07:30Z); 05:00 EDT is 09:00Z.
    assert starts == [utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8), utc(2026, 3, 8, 8, 30)]


def test_new_york_window_inside_the_gap_is_dropped_when_inverted() -> None:
    # 02:00-03:00 maps to [07:00Z, 07:00Z): empty.
    rules = rules_for("America/New_York", 2 * 60, 3 * 60)
    assert open_windows(rules, PRO, date(2026, 3, 8)) == []
    assert slot_starts(rules, date(2026, 3, 8)) == []
    # 02:45-03:15 maps to [07:45Z, 07:15Z): inverted, dropped.
    rules = rules_for("America/New_York", 2 * 60 + 45, 3 * 60 + 15)
    assert open_windows(rules, PRO, date(2026, 3, 8)) == []


def test_new_york_fall_back_day_gains_an_hour() -> None:
    rules = rules_for("America/New_York", 0, 6 * 60)
    d = date(2026, 11, 1)
    starts = slot_starts(rules, d)
    assert len(starts) == 28
    assert open_minutes(rules, d) == 420
    assert starts[0] == utc(2026, 11, 1, 4)
    assert starts[-1] == utc(2026, 11, 1, 10, 45)


def test_new_york_ambiguous_time_takes_the_first_occurrence() -> None:
    tz = "America/New_York"
    d = date(2026, 11, 1)
    assert minutes_to_instant(d, 90, tz) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    rules = rules_for(tz, 90, 4 * 60, step=30, duration=30)
    starts = slot_starts(rules, d)
    assert starts[0] == utc(2026, 11, 1, 5, 30)
    # 01:30 EDT .. 04:00 EST is 3.5 real hours: seven 30-minute slots.
    assert len(starts) == 7
    assert starts[-1] == utc(2026, 11, 1, 8, 30)


def test_new_york_check_start_across_the_gap() -> None:
    rules = rules_for("America/New_York", 0, 6 * 60, step=15, duration=30)
    now = EARLY
    # 01:45 EST + 30 min runs into 03:15 EDT: a real 30 minutes, inside the window.
    assert check_start(rules, SERVICE, PRO, utc(2026, 3, 8, 6, 45), now) is None
    # 05:45 EDT + 30 min ends at 06:15 EDT, past closing.
    assert (
        check_start(rules, SERVICE, PRO, utc(2026, 3, 8, 9, 45), now)
        is Rejection.OUTSIDE_WORKING_HOURS
    )


def test_new_york_time_off_is_absolute_across_dst() -> None:
    off = (Span(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8)),)  # 01:00 EST .. 04:00 EDT
    rules = rules_for("America/New_York", 0, 6 * 60, step=60, duration=60, time_off=off)
    assert slot_starts(rules, date(2026, 3, 8)) == [
        utc(2026, 3, 8, 5),
        utc(2026, 3, 8, 8),
        utc(2026, 3, 8, 9),
    ]


# -------------------------------------------------------------------------- London


@pytest.mark.parametrize(
    ("d", "expected_utc_hour", "day_hours"),
    [
        (date(2026, 3, 28), 9, 24),
        (date(2026, 3, 29), 8, 23),
        (date(2026, 3, 30), 8, 24),
        (date(2026, 10, 24), 8, 24),
        (date(2026, 10, 25), 9, 25),
        (date(2026, 10, 26), 9, 24),
    ],
)
def test_london_around_both_transitions(d: date, expected_utc_hour: int, day_hours: int) -> None:
    tz = "Europe/London"
    assert minutes_to_instant(d, 9 * 60, tz) == datetime.combine(
        d, time(expected_utc_hour), tzinfo=UTC
    )
    rules = rules_for(tz, 0, 24 * 60, step=60, duration=60)
    assert open_minutes(rules, d) == day_hours * 60
    assert len(slot_starts(rules, d)) == day_hours


def test_london_gap_and_ambiguity() -> None:
    tz = "Europe/London"
    assert minutes_to_instant(date(2026, 3, 29), 90, tz) == utc(2026, 3, 29, 1, 30)  # 02:30 BST
    assert minutes_to_instant(date(2026, 10, 25), 90, tz) == utc(2026, 10, 25, 0, 30)  # 01:30 BST


# ----------------------------------------------------------------------- Lord Howe


def test_lord_howe_half_hour_dst_end() -> None:
    tz = "Australia/Lord_Howe"
    d = date(2026, 4, 5)  # 02:00 +11:00 becomes 01:30 +10:30
    assert minutes_to_instant(date(2026, 4, 4), 9 * 60, tz) == utc(2026, 4, 3, 22)
    assert minutes_to_instant(d, 9 * 60, tz) == utc(2026, 4, 4, 22, 30)
    # 01:45 happens twice; the first occurrence (+11:00) wins.
    assert minutes_to_instant(d, 105, tz) == utc(2026, 4, 4, 14, 45)
    rules = rules_for(tz, 0, 6 * 60)
    assert open_minutes(rules, d) == 390
    assert len(slot_starts(rules, d)) == 26


def test_lord_howe_half_hour_dst_start() -> None:
    tz = "Australia/Lord_Howe"
    d = date(2026, 10, 4)  # 02:00 +10:30 becomes 02:30 +11:00
    assert minutes_to_instant(date(2026, 10, 3), 9 * 60, tz) == utc(2026, 10, 2, 22, 30)
    assert minutes_to_instant(d, 9 * 60, tz) == utc(2026, 10, 3, 22)
    # 02:15 does not exist: it moves forward by the 30-minute gap, to 02:45 +11:00.
    assert minutes_to_instant(d, 135, tz) == utc(2026, 10, 3, 15, 45)
    assert minutes_to_instant(d, 165, tz) == utc(2026, 10, 3, 15, 45)
    rules = rules_for(tz, 0, 6 * 60)
    assert open_minutes(rules, d) == 330
    starts = slot_starts(rules, d)
    assert len(starts) == 22
    assert starts[0] == utc(2026, 10, 3, 13, 30)


# ---------------------------------------------------------------------------- Nuuk


def test_nuuk_gap_ending_at_midnight_keeps_starts_on_their_own_date() -> None:
    # 2026-03-28 23:00 (-02:00) jumps to 03-29 00:00 (-01:00). A window "until 23:30" ends
    # inside the gap, so it runs to 00:30 of the next date; starts after midnight are not
    # offered under Saturday (the booking check judges them by Sunday's hours).
    tz = "America/Nuuk"
    saturday, sunday = date(2026, 3, 28), date(2026, 3, 29)
    assert minutes_to_instant(saturday, 23 * 60 + 30, tz) == utc(2026, 3, 29, 1, 30)
    assert minutes_to_instant(saturday, 24 * 60, tz) == utc(2026, 3, 29, 1)
    rules = rules_for(tz, 22 * 60, 23 * 60 + 30, step=30, duration=30)
    assert open_windows(rules, PRO, saturday) == [
        Span(utc(2026, 3, 29, 0), utc(2026, 3, 29, 1, 30))
    ]
    days = list_slots(rules, SERVICE, saturday, sunday, EARLY)
    assert [s.start for s in days[0].slots] == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 0, 30)]
    assert [s.start for s in days[1].slots] == [
        utc(2026, 3, 29, 23),
        utc(2026, 3, 29, 23, 30),
        utc(2026, 3, 30, 0),
    ]
    assert (
        check_start(rules, SERVICE, PRO, utc(2026, 3, 29, 1), EARLY)
        is Rejection.OUTSIDE_WORKING_HOURS
    )
    # a window entirely inside the gap is empty
    assert open_windows(rules_for(tz, 23 * 60, 24 * 60), PRO, saturday) == []


# ----------------------------------------------------------------------- Kathmandu


def test_kathmandu_quarter_hour_offset() -> None:
    tz = "Asia/Kathmandu"
    d = date(2026, 6, 2)
    assert minutes_to_instant(d, 9 * 60, tz) == utc(2026, 6, 2, 3, 15)
    assert minutes_to_instant(d, 0, tz) == utc(2026, 6, 1, 18, 15)
    rules = rules_for(tz, 9 * 60, 12 * 60, step=60, duration=60)
    assert slot_starts(rules, d) == [
        utc(2026, 6, 2, 3, 15),
        utc(2026, 6, 2, 4, 15),
        utc(2026, 6, 2, 5, 15),
    ]
    assert check_start(rules, SERVICE, PRO, utc(2026, 6, 2, 4, 15), EARLY) is None
    assert check_start(rules, SERVICE, PRO, utc(2026, 6, 2, 4), EARLY) is Rejection.SLOT_UNAVAILABLE
    assert local_date_of(utc(2026, 6, 1, 18, 15), tz) == d
    assert local_date_of(utc(2026, 6, 1, 18, 14), tz) == date(2026, 6, 1)


# --------------------------------------------------------------- the general formula


@pytest.mark.parametrize(
    "tz",
    [
        "America/Sao_Paulo",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
    ],
)
@pytest.mark.parametrize(
    "d",
    [
        date(2026, 3, 8),
        date(2026, 3, 29),
        date(2026, 4, 5),
        date(2026, 10, 4),
        date(2026, 10, 25),
        date(2026, 11, 1),
    ],
)
def test_minutes_to_instant_matches_zoneinfo_fold0_every_15_minutes(tz: str, d: date) -> None:
    for minute in range(0, 24 * 60 + 1, 15):
        assert minutes_to_instant(d, minute, tz) == reference_instant(d, minute, tz)


def test_slot_lists_date_by_local_date_not_utc() -> None:
    # Kathmandu 00:30 local is the previous day in UTC; it must be listed under its local date.
    rules = rules_for("Asia/Kathmandu", 0, 60, step=30, duration=30)
    d = date(2026, 6, 2)
    (day,) = list_slots(rules, SERVICE, d, d, EARLY)
    assert [s.start for s in day.slots] == [utc(2026, 6, 1, 18, 15), utc(2026, 6, 1, 18, 45)]
    assert all(local_date_of(s.start, "Asia/Kathmandu") == d for s in day.slots)
