"""Each availability rule of SPEC §2 alone and in combination, on fixed hand-checked days."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from slotwise.availability.engine import (
    BusinessRules,
    Busy,
    BusyRanges,
    DaySlots,
    LocalRange,
    ProfessionalRules,
    Rejection,
    ServiceRules,
    Span,
    check_start,
    choose_professional,
    list_slots,
    local_date_of,
    minutes_to_instant,
    nearest_alternatives,
    today,
)

TZ = "America/Sao_Paulo"  # UTC-03:00 all year, so hand-computed instants stay simple
ZONE = ZoneInfo(TZ)
MON = date(2026, 6, 1)
TUE = date(2026, 6, 2)
WED = date(2026, 6, 3)
SUN = date(2026, 6, 7)
NOW = datetime(2026, 6, 1, 0, 0, tzinfo=ZONE)  # Monday 00:00 local
SERVICE = uuid.UUID(int=1)
OTHER_SERVICE = uuid.UUID(int=2)
A = uuid.UUID(int=101)
B = uuid.UUID(int=102)
C = uuid.UUID(int=103)


def hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def lr(start: str, end: str) -> LocalRange:
    return LocalRange(hm(start), hm(end))


def at(d: date, hhmm: str) -> datetime:
    """A local wall time as a UTC instant (fold=0)."""
    return (datetime.combine(d, time(), tzinfo=ZONE) + timedelta(minutes=hm(hhmm))).astimezone(UTC)


def every_day(
    *ranges: LocalRange, days: Iterable[int] = range(7)
) -> dict[int, tuple[LocalRange, ...]]:
    return {weekday: tuple(ranges) for weekday in days}


WEEKDAYS_9_18 = every_day(lr("09:00", "18:00"), days=range(5))


def service(
    duration: int = 60,
    before: int = 0,
    after: int = 0,
    *,
    active: bool = True,
    sid: uuid.UUID = SERVICE,
) -> ServiceRules:
    return ServiceRules(sid, duration, before, after, active)


def busy(d: date, start: str, end: str) -> Busy:
    return Busy(Span(at(d, start), at(d, end)), at(d, start))


def pro(
    pid: uuid.UUID = A,
    *,
    order: int = 0,
    services: Iterable[uuid.UUID] = (SERVICE,),
    hours: Mapping[int, tuple[LocalRange, ...]] | None = None,
    breaks: Mapping[int, tuple[LocalRange, ...]] | None = None,
    time_off: Sequence[Span] = (),
    appointments: Sequence[Busy] = (),
    active: bool = True,
) -> ProfessionalRules:
    return ProfessionalRules(
        id=pid,
        display_order=order,
        active=active,
        service_ids=frozenset(services),
        weekly_hours=dict(hours or {}),
        breaks=dict(breaks or {}),
        time_off=tuple(time_off),
        busy=BusyRanges.of(appointments),
    )


def business(
    *pros: ProfessionalRules,
    services: Sequence[ServiceRules] = (),
    hours: Mapping[int, tuple[LocalRange, ...]] = WEEKDAYS_9_18,
    breaks: Mapping[int, tuple[LocalRange, ...]] | None = None,
    closures: Iterable[date] = (),
    special: Mapping[date, tuple[LocalRange, ...]] | None = None,
    step: int = 60,
    notice: int = 0,
    horizon: int = 60,
    tz: str = TZ,
) -> BusinessRules:
    all_services = list(services) or [service()]
    return BusinessRules(
        timezone=tz,
        slot_step_minutes=step,
        min_notice_minutes=notice,
        horizon_days=horizon,
        weekly_hours=dict(hours),
        breaks=dict(breaks or {}),
        closures=frozenset(closures),
        special_hours=dict(special or {}),
        services={s.id: s for s in all_services},
        professionals=pros or (pro(),),
    )


def local_starts(days: Sequence[DaySlots], d: date) -> list[str]:
    (day,) = [x for x in days if x.date == d]
    return [s.start.astimezone(ZONE).strftime("%H:%M") for s in day.slots]


def starts_on(
    rules: BusinessRules,
    d: date,
    *,
    now: datetime = NOW,
    service_id: uuid.UUID = SERVICE,
    professional_id: uuid.UUID | None = None,
) -> list[str]:
    return local_starts(list_slots(rules, service_id, d, d, now, professional_id), d)


def hours_list(first: str, last: str, step_minutes: int = 60) -> list[str]:
    out = []
    m = hm(first)
    while m <= hm(last):
        out.append(f"{m // 60:02d}:{m % 60:02d}")
        m += step_minutes
    return out


# ------------------------------------------------------------------------ working time


def test_plain_day_slots_are_utc_and_last_slot_ends_at_closing() -> None:
    days = list_slots(business(), SERVICE, TUE, TUE, NOW)
    (day,) = days
    assert [s.start for s in day.slots][:2] == [at(TUE, "09:00"), at(TUE, "10:00")]
    assert all(s.start.tzinfo is UTC and s.end - s.start == timedelta(hours=1) for s in day.slots)
    assert day.slots[-1].end == at(TUE, "18:00")
    assert day.slots[0].professional_ids == (A,)
    assert local_starts(days, TUE) == hours_list("09:00", "17:00")


def test_lunch_break_splits_the_day() -> None:
    rules = business(breaks=every_day(lr("12:00", "13:00")))
    assert starts_on(rules, TUE) == ["09:00", "10:00", "11:00", *hours_list("13:00", "17:00")]


def test_slot_never_straddles_a_break() -> None:
    rules = business(breaks=every_day(lr("12:30", "13:00")), step=30)
    got = starts_on(rules, TUE)
    assert "11:30" in got and "12:00" not in got and "12:30" not in got and "13:00" in got


def test_professional_hours_narrower_than_business_hours() -> None:
    rules = business(pro(hours=every_day(lr("10:00", "14:00"))))
    assert starts_on(rules, TUE) == ["10:00", "11:00", "12:00", "13:00"]


def test_professional_hours_wider_than_business_hours_are_clipped() -> None:
    rules = business(pro(hours=every_day(lr("06:00", "22:00"))))
    assert starts_on(rules, TUE) == hours_list("09:00", "17:00")


def test_professional_with_own_hours_on_some_weekdays_is_off_the_others() -> None:
    rules = business(pro(hours={0: (lr("09:00", "12:00"),)}))  # Mondays only
    assert starts_on(rules, MON) == ["09:00", "10:00", "11:00"]
    assert starts_on(rules, TUE) == []
    assert starts_on(rules, WED) == []


def test_professional_own_break_applies_only_to_him() -> None:
    rules = business(
        pro(A, order=1, breaks={1: (lr("10:00", "11:00"),)}),
        pro(B, order=2),
    )
    days = list_slots(rules, SERVICE, TUE, TUE, NOW)
    ten = next(s for s in days[0].slots if s.start == at(TUE, "10:00"))
    nine = next(s for s in days[0].slots if s.start == at(TUE, "09:00"))
    assert ten.professional_ids == (B,)
    assert nine.professional_ids == (A, B)


def test_break_outside_working_time_changes_nothing() -> None:
    rules = business(breaks=every_day(lr("19:00", "20:00")))
    assert starts_on(rules, TUE) == hours_list("09:00", "17:00")


def test_special_hours_replace_weekly_hours() -> None:
    rules = business(special={TUE: (lr("14:00", "16:00"),)})
    assert starts_on(rules, TUE) == ["14:00", "15:00"]
    assert starts_on(rules, WED) == hours_list("09:00", "17:00")


def test_special_hours_open_a_normally_closed_day() -> None:
    rules = business(special={SUN: (lr("10:00", "12:00"),)})
    assert starts_on(rules, SUN) == ["10:00", "11:00"]


def test_special_hours_still_intersect_professional_hours_and_breaks() -> None:
    rules = business(
        pro(hours=every_day(lr("11:00", "20:00"))),
        special={TUE: (lr("08:00", "16:00"),)},
        breaks=every_day(lr("13:00", "14:00")),
    )
    assert starts_on(rules, TUE) == ["11:00", "12:00", "14:00", "15:00"]


def test_closure_empties_the_day() -> None:
    rules = business(closures=[TUE])
    assert starts_on(rules, TUE) == []
    assert starts_on(rules, WED) != []


def test_closure_wins_over_special_hours() -> None:
    rules = business(closures=[TUE], special={TUE: (lr("09:00", "12:00"),)})
    assert starts_on(rules, TUE) == []


def test_time_off_across_midnight() -> None:
    rules = business(
        pro(time_off=[Span(at(TUE, "22:00"), at(WED, "02:00"))]),
        hours=every_day(lr("00:00", "24:00")),
    )
    days = list_slots(rules, SERVICE, TUE, WED, NOW)
    assert local_starts(days, TUE) == hours_list("00:00", "21:00")
    assert local_starts(days, WED) == hours_list("02:00", "23:00")


def test_time_off_inside_a_day_reanchors_the_grid() -> None:
    rules = business(pro(time_off=[Span(at(TUE, "10:00"), at(TUE, "10:20"))]))
    assert starts_on(rules, TUE) == ["09:00", *hours_list("10:20", "16:20")]


def test_all_day_whole_window_edge_at_minute_1440() -> None:
    rules = business(hours=every_day(lr("23:00", "24:00")))
    assert starts_on(rules, TUE) == ["23:00"]
    assert minutes_to_instant(TUE, 1440, TZ) == at(WED, "00:00")


# ------------------------------------------------------------------ buffers, steps, grid


def test_buffers_keep_off_the_window_edges() -> None:
    rules = business(
        services=[service(30, before=15, after=15)],
        hours=every_day(lr("09:00", "11:00")),
        step=15,
    )
    # The grid starts at 09:00, but [t - 15, t + 45) must fit in 09:00-11:00.
    assert starts_on(rules, TUE) == ["09:15", "09:30", "09:45", "10:00", "10:15"]


def test_buffer_after_blocks_the_next_neighbour() -> None:
    rules = business(
        pro(appointments=[busy(TUE, "10:00", "11:00")]),
        services=[service(30, after=15)],
        hours=every_day(lr("09:00", "12:00")),
        step=15,
    )
    # [t, t + 45) must end by 10:00, and may start at 11:00.
    assert starts_on(rules, TUE) == ["09:00", "09:15", "11:00", "11:15"]


def test_buffer_before_blocks_after_a_neighbour() -> None:
    rules = business(
        pro(appointments=[busy(TUE, "09:00", "09:30")]),
        services=[service(30, before=20)],
        hours=every_day(lr("09:00", "11:00")),
        step=10,
    )
    # [t - 20, t + 30) must begin at or after 09:30 and end by 11:00.
    assert starts_on(rules, TUE) == ["09:50", "10:00", "10:10", "10:20", "10:30"]


def test_busy_occupied_range_includes_its_own_buffers() -> None:
    # The stored occupied range of the neighbour (buffers included) is what blocks.
    neighbour = Busy(Span(at(TUE, "09:50"), at(TUE, "11:10")), at(TUE, "10:00"))
    rules = business(pro(appointments=[neighbour]), hours=every_day(lr("09:00", "13:00")), step=10)
    got = starts_on(rules, TUE)
    assert "08:50" not in got and got[0] == "11:10"
    assert got[-1] == "12:00"


def test_touching_busy_range_does_not_block() -> None:
    rules = business(pro(appointments=[busy(TUE, "10:00", "11:00")]))
    assert starts_on(rules, TUE) == ["09:00", *hours_list("11:00", "17:00")]


def test_overlapping_busy_ranges_still_leave_touching_starts_free() -> None:
    # Overlapping appointments cannot be stored, but rules may be built from any data:
    # a long range containing a short one, and a later range touching the free 12:00 start.
    rules = business(
        pro(
            appointments=[
                busy(TUE, "10:00", "12:00"),
                busy(TUE, "10:30", "11:00"),
                busy(TUE, "13:00", "14:00"),
            ]
        )
    )
    assert starts_on(rules, TUE) == ["09:00", "12:00", "14:00", "15:00", "16:00", "17:00"]


def test_step_not_dividing_the_window() -> None:
    rules = business(
        services=[service(30)],
        hours=every_day(lr("09:00", "10:10")),
        step=20,
    )
    assert starts_on(rules, TUE) == ["09:00", "09:20", "09:40"]


def test_grid_is_anchored_at_each_open_window_start() -> None:
    rules = business(
        services=[service(30)],
        hours=every_day(lr("09:00", "12:00")),
        breaks=every_day(lr("09:50", "10:05")),
        step=20,
    )
    assert starts_on(rules, TUE) == ["09:00", "09:20", "10:05", "10:25", "10:45", "11:05", "11:25"]


def test_grid_is_not_moved_by_busy_ranges() -> None:
    rules = business(
        pro(appointments=[busy(TUE, "09:00", "09:50")]),
        services=[service(30)],
        hours=every_day(lr("09:00", "11:00")),
        step=20,
    )
    # Grid 09:00, 09:20, ...; 09:50 is not a grid point, so the first slot is 10:00.
    assert starts_on(rules, TUE) == ["10:00", "10:20"]


# -------------------------------------------------------------------- notice and horizon


def test_min_notice_cuts_todays_early_slots() -> None:
    now = at(TUE, "10:10")
    rules = business(notice=60, step=15)
    got = starts_on(rules, TUE, now=now)
    assert got[0] == "11:15"  # 10:10 + 60 min = 11:10, next grid point 11:15
    assert starts_on(rules, WED, now=now)[0] == "09:00"
    assert check_start(rules, SERVICE, A, at(TUE, "11:00"), now) is Rejection.INSUFFICIENT_NOTICE
    assert check_start(rules, SERVICE, A, at(TUE, "11:15"), now) is None


def test_min_notice_boundary_is_inclusive() -> None:
    rules = business(notice=60)
    now = at(TUE, "09:00")
    assert starts_on(rules, TUE, now=now)[0] == "10:00"
    assert check_start(rules, SERVICE, A, at(TUE, "10:00"), now) is None


def test_past_dates_are_listed_empty() -> None:
    rules = business()
    days = list_slots(rules, SERVICE, MON - timedelta(days=7), MON, at(TUE, "08:00"))
    assert all(day.slots == () for day in days)
    assert len(days) == 8


def test_horizon_limits_the_listed_dates() -> None:
    rules = business(horizon=1, hours=every_day(lr("09:00", "12:00")))
    now = at(MON, "12:00")
    days = list_slots(rules, SERVICE, MON, WED, now)
    assert [d.date for d in days] == [MON, TUE, WED]
    assert days[1].slots and not days[2].slots
    assert check_start(rules, SERVICE, A, at(WED, "09:00"), now) is Rejection.BEYOND_HORIZON
    assert check_start(rules, SERVICE, A, at(TUE, "09:00"), now) is None


def test_horizon_counts_from_the_tenant_local_date() -> None:
    rules = business(horizon=1, hours=every_day(lr("09:00", "12:00")))
    late_monday_local = at(MON, "23:30")  # already Tuesday in UTC
    assert today(TZ, late_monday_local) == MON
    assert local_date_of(late_monday_local, TZ) == MON
    days = list_slots(rules, SERVICE, TUE, WED, late_monday_local)
    assert days[0].slots and not days[1].slots


# -------------------------------------------------------------------- offering checks


@pytest.mark.parametrize(
    "rules",
    [
        business(services=[service(active=False)]),
        business(pro(active=False)),
        business(pro(services=[OTHER_SERVICE]), services=[service(), service(sid=OTHER_SERVICE)]),
        business(services=[service(sid=OTHER_SERVICE)]),
    ],
    ids=["inactive-service", "inactive-professional", "offering-missing", "service-missing"],
)
def test_service_not_offered(rules: BusinessRules) -> None:
    days = list_slots(rules, SERVICE, TUE, WED, NOW)
    assert [d.date for d in days] == [TUE, WED]
    assert all(d.slots == () for d in days)
    assert check_start(rules, SERVICE, A, at(TUE, "09:00"), NOW) is Rejection.SERVICE_NOT_OFFERED
    assert choose_professional(rules, SERVICE, at(TUE, "09:00"), NOW) is None


def test_unknown_professional_is_not_offered() -> None:
    assert (
        check_start(business(), SERVICE, C, at(TUE, "09:00"), NOW) is Rejection.SERVICE_NOT_OFFERED
    )
    assert list_slots(business(), SERVICE, TUE, TUE, NOW, professional_id=C)[0].slots == ()


def test_inactive_professional_left_out_of_any() -> None:
    rules = business(pro(A, order=1, active=False), pro(B, order=2))
    days = list_slots(rules, SERVICE, TUE, TUE, NOW)
    assert {s.professional_ids for s in days[0].slots} == {(B,)}


# ------------------------------------------------------------------ any professional


def test_any_professional_merges_and_lists_by_display_order() -> None:
    rules = business(
        pro(A, order=2, hours=every_day(lr("09:00", "12:00"))),
        pro(B, order=1, hours=every_day(lr("11:00", "14:00"))),
        pro(C, order=3, services=[OTHER_SERVICE]),
        services=[service(), service(sid=OTHER_SERVICE)],
    )
    (day,) = list_slots(rules, SERVICE, TUE, TUE, NOW)
    got = [(s.start.astimezone(ZONE).strftime("%H:%M"), s.professional_ids) for s in day.slots]
    assert got == [
        ("09:00", (A,)),
        ("10:00", (A,)),
        ("11:00", (B, A)),
        ("12:00", (B,)),
        ("13:00", (B,)),
    ]
    only_a = list_slots(rules, SERVICE, TUE, TUE, NOW, professional_id=A)[0]
    assert [s.professional_ids for s in only_a.slots] == [(A,)] * 3


def test_display_order_ties_broken_by_id() -> None:
    rules = business(pro(B, order=1), pro(A, order=1))
    (day,) = list_slots(rules, SERVICE, TUE, TUE, NOW)
    assert day.slots[0].professional_ids == (A, B)


def test_any_professional_one_slot_per_start_with_different_grids() -> None:
    rules = business(
        pro(A, order=1, hours=every_day(lr("09:00", "11:00"))),
        pro(B, order=2, hours=every_day(lr("09:30", "11:00"))),
    )
    (day,) = list_slots(rules, SERVICE, TUE, TUE, NOW)
    got = [(s.start.astimezone(ZONE).strftime("%H:%M"), s.professional_ids) for s in day.slots]
    assert got == [("09:00", (A,)), ("09:30", (B,)), ("10:00", (A,))]


def test_choose_professional_fewest_appointments_that_local_date() -> None:
    rules = business(
        pro(A, order=1, appointments=[busy(TUE, "09:00", "10:00"), busy(TUE, "10:00", "11:00")]),
        pro(B, order=2, appointments=[busy(TUE, "11:00", "12:00")]),
        pro(C, order=3, appointments=[busy(TUE, "12:00", "13:00"), busy(TUE, "16:00", "17:00")]),
    )
    assert choose_professional(rules, SERVICE, at(TUE, "14:00"), NOW) == B
    # B is busy at 11:00: among A and C (two each), A wins by display order.
    assert choose_professional(rules, SERVICE, at(TUE, "11:00"), NOW) == A
    assert choose_professional(rules, SERVICE, at(TUE, "09:00"), NOW) == B


def test_choose_professional_ties_by_display_order() -> None:
    rules = business(pro(A, order=5), pro(B, order=2), pro(C, order=9))
    assert choose_professional(rules, SERVICE, at(TUE, "09:00"), NOW) == B


def test_choose_professional_counts_only_the_same_local_date() -> None:
    # A's three appointments are Monday evening local (Tuesday in UTC): they do not count
    # against him on Tuesday.
    late = [busy(MON, "20:00", "21:00"), busy(MON, "21:00", "22:00"), busy(MON, "22:00", "23:00")]
    rules = business(
        pro(A, order=2, appointments=late),
        pro(B, order=1, appointments=[busy(TUE, "15:00", "16:00")]),
        hours=every_day(lr("09:00", "24:00")),
    )
    assert choose_professional(rules, SERVICE, at(TUE, "10:00"), NOW) == A


def test_choose_professional_none_when_nobody_free() -> None:
    rules = business(
        pro(A, order=1, appointments=[busy(TUE, "09:00", "10:00")]),
        pro(B, order=2, appointments=[busy(TUE, "09:30", "10:30")]),
    )
    assert choose_professional(rules, SERVICE, at(TUE, "09:00"), NOW) is None
    assert choose_professional(rules, SERVICE, at(TUE, "08:00"), NOW) is None
    assert choose_professional(rules, SERVICE, at(TUE, "10:00"), NOW) == A


# ------------------------------------------------------------------------ alternatives


def test_nearest_alternatives_same_professional_first_then_any() -> None:
    rules = business(
        pro(A, order=1, hours={1: (lr("09:00", "11:00"),)}),  # Tuesdays only
        pro(B, order=2),
    )
    now = at(TUE, "08:00")
    taken = at(TUE, "10:00")
    got = nearest_alternatives(rules, SERVICE, A, taken, now, exclude=taken, search_days=3)
    assert [s.start for s in got] == [
        at(TUE, "09:00"),  # A's only other slot
        at(TUE, "11:00"),  # then anyone's, nearest first (10:00 itself is excluded)
        at(TUE, "12:00"),
        at(TUE, "13:00"),
        at(TUE, "14:00"),
    ]
    assert got[0].professional_ids == (A, B)
    assert got[1].professional_ids == (B,)
    # With the default 14-day search, A's next Tuesdays outrank anyone's nearer slots.
    wide = nearest_alternatives(rules, SERVICE, A, taken, now, exclude=taken)
    assert [s.start for s in wide] == [
        at(TUE, "09:00"),
        at(TUE + timedelta(days=7), "09:00"),
        at(TUE + timedelta(days=7), "10:00"),
        at(TUE + timedelta(days=14), "09:00"),
        at(TUE + timedelta(days=14), "10:00"),
    ]


def test_nearest_alternatives_own_slots_first_even_when_farther() -> None:
    rules = business(
        pro(A, order=1, hours={2: (lr("09:00", "11:00"),)}),  # Wednesdays only
        pro(B, order=2),
    )
    now = at(TUE, "08:00")
    around = at(TUE, "10:00")
    got = nearest_alternatives(
        rules, SERVICE, A, around, now, exclude=around, limit=4, search_days=3
    )
    assert [s.start for s in got] == [
        at(WED, "09:00"),
        at(WED, "10:00"),
        at(TUE, "09:00"),  # ties in distance: the earlier first
        at(TUE, "11:00"),
    ]


def test_nearest_alternatives_limit_and_any_order() -> None:
    rules = business(pro(A, order=1), pro(B, order=2))
    around = at(TUE, "13:00")
    got = nearest_alternatives(rules, SERVICE, None, around, NOW, exclude=around)
    assert [s.start for s in got] == [
        at(TUE, "12:00"),
        at(TUE, "14:00"),
        at(TUE, "11:00"),
        at(TUE, "15:00"),
        at(TUE, "10:00"),
    ]
    assert all(s.professional_ids == (A, B) for s in got)
    two = nearest_alternatives(rules, SERVICE, None, around, NOW, limit=2)
    assert [s.start for s in two] == [at(TUE, "13:00"), at(TUE, "12:00")]
    assert nearest_alternatives(rules, SERVICE, None, around, NOW, limit=0) == []


def test_nearest_alternatives_respects_notice_and_unavailable_professional() -> None:
    rules = business(pro(A, order=1, active=False), pro(B, order=2), notice=120)
    now = at(TUE, "12:30")
    got = nearest_alternatives(rules, SERVICE, A, at(TUE, "13:00"), now, limit=3)
    assert [s.start for s in got] == [at(TUE, "15:00"), at(TUE, "16:00"), at(TUE, "17:00")]
    assert all(s.professional_ids == (B,) for s in got)


def test_nearest_alternatives_empty_when_nothing_bookable() -> None:
    rules = business(closures=[TUE + timedelta(days=i) for i in range(-20, 20)])
    assert nearest_alternatives(rules, SERVICE, A, at(TUE, "10:00"), NOW) == []


# -------------------------------------------------------------------------- listing


def test_every_date_of_the_range_is_listed_even_empty() -> None:
    rules = business(closures=[WED])
    days = list_slots(rules, SERVICE, MON, SUN, NOW)
    assert [d.date for d in days] == [MON + timedelta(days=i) for i in range(7)]
    assert [bool(d.slots) for d in days] == [True, True, False, True, True, False, False]


def test_empty_range_lists_nothing() -> None:
    assert list_slots(business(), SERVICE, WED, TUE, NOW) == []


def test_slots_sorted_and_unique() -> None:
    rules = business(
        pro(A, order=1), pro(B, order=2, hours=every_day(lr("09:30", "18:00"))), step=30
    )
    (day,) = list_slots(rules, SERVICE, TUE, TUE, NOW)
    starts = [s.start for s in day.slots]
    assert starts == sorted(set(starts))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(TypeError):
        check_start(business(), SERVICE, A, datetime(2026, 6, 2, 9), NOW)
    with pytest.raises(ValueError, match="aware"):
        today(TZ, datetime(2026, 6, 2, 9))


def test_non_positive_step_is_refused() -> None:
    with pytest.raises(ValueError, match="slot_step_minutes"):
        list_slots(business(step=0), SERVICE, TUE, TUE, NOW)


# ---------------------------------------------------------------------- check_start


def test_check_start_accepts_a_listed_slot() -> None:
    rules = business(breaks=every_day(lr("12:00", "13:00")))
    for s in list_slots(rules, SERVICE, TUE, TUE, NOW)[0].slots:
        assert check_start(rules, SERVICE, A, s.start, NOW) is None


def test_check_start_outside_working_hours() -> None:
    rules = business(breaks=every_day(lr("12:00", "13:00")))
    for hhmm in ["08:00", "17:30", "18:00", "11:30", "12:00", "12:30"]:
        assert check_start(rules, SERVICE, A, at(TUE, hhmm), NOW) is Rejection.OUTSIDE_WORKING_HOURS
    assert check_start(rules, SERVICE, A, at(SUN, "10:00"), NOW) is Rejection.OUTSIDE_WORKING_HOURS


def test_check_start_off_grid_is_unavailable() -> None:
    rules = business(step=30)
    assert check_start(rules, SERVICE, A, at(TUE, "09:10"), NOW) is Rejection.SLOT_UNAVAILABLE
    assert check_start(rules, SERVICE, A, at(TUE, "09:30"), NOW) is None
    odd = at(TUE, "09:30") + timedelta(seconds=1)
    assert check_start(rules, SERVICE, A, odd, NOW) is Rejection.SLOT_UNAVAILABLE


def test_check_start_busy_is_unavailable() -> None:
    rules = business(pro(appointments=[busy(TUE, "10:30", "11:30")]), step=30)
    assert check_start(rules, SERVICE, A, at(TUE, "10:00"), NOW) is Rejection.SLOT_UNAVAILABLE
    assert check_start(rules, SERVICE, A, at(TUE, "11:00"), NOW) is Rejection.SLOT_UNAVAILABLE
    assert check_start(rules, SERVICE, A, at(TUE, "09:30"), NOW) is None
    assert check_start(rules, SERVICE, A, at(TUE, "11:30"), NOW) is None


def test_check_start_time_off_is_outside_working_hours() -> None:
    rules = business(pro(time_off=[Span(at(TUE, "09:00"), at(TUE, "13:00"))]))
    assert check_start(rules, SERVICE, A, at(TUE, "10:00"), NOW) is Rejection.OUTSIDE_WORKING_HOURS
    assert check_start(rules, SERVICE, A, at(TUE, "13:00"), NOW) is None


def test_check_start_codes_in_documented_order() -> None:
    now = at(TUE, "10:00")
    # service_not_offered before insufficient_notice (start in the past, professional inactive)
    rules = business(pro(active=False))
    assert check_start(rules, SERVICE, A, at(MON, "09:00"), now) is Rejection.SERVICE_NOT_OFFERED
    # insufficient_notice before beyond_horizon (notice longer than the horizon)
    rules = business(notice=10 * 24 * 60, horizon=2)
    far = at(TUE, "10:00") + timedelta(days=5)
    assert check_start(rules, SERVICE, A, far, now) is Rejection.INSUFFICIENT_NOTICE
    # beyond_horizon before outside_working_hours (a closed Sunday beyond the horizon)
    rules = business(horizon=2)
    assert check_start(rules, SERVICE, A, at(SUN, "03:00"), now) is Rejection.BEYOND_HORIZON
    # outside_working_hours before slot_unavailable (off-grid and outside the window)
    rules = business(pro(appointments=[busy(TUE, "17:00", "18:00")]), step=60)
    assert check_start(rules, SERVICE, A, at(TUE, "17:30"), now) is Rejection.OUTSIDE_WORKING_HOURS
    # inside a window but off-grid and overlapping busy: slot_unavailable
    assert check_start(rules, SERVICE, A, at(TUE, "16:30"), now) is Rejection.SLOT_UNAVAILABLE
    assert check_start(rules, SERVICE, A, at(TUE, "17:00"), now) is Rejection.SLOT_UNAVAILABLE
    assert check_start(rules, SERVICE, A, at(TUE, "16:00"), now) is None
