"""Property tests: the engine against a naive minute-by-minute reference of SPEC §2.

The reference below shares no code with the engine: it builds each day's working time as a
set of local minutes, converts window bounds with the contract's own formula
(``datetime.combine(d, time(), tzinfo=zone) + timedelta(minutes=m)``, fold=0), removes time
off minute by minute and walks every grid point checking each rule directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    open_windows,
)

SERVICE = uuid.UUID(int=1)
PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Anchor dates per zone, chosen next to real 2026 DST transitions (plus plain days).
ANCHORS: dict[str, list[date]] = {
    "America/New_York": [date(2026, 3, 7), date(2026, 3, 8), date(2026, 11, 1), date(2026, 6, 8)],
    "Australia/Lord_Howe": [date(2026, 4, 4), date(2026, 4, 5), date(2026, 10, 4)],
    "Europe/London": [date(2026, 3, 29), date(2026, 10, 24), date(2026, 10, 25)],
    "America/Sao_Paulo": [date(2026, 6, 8), date(2026, 11, 1)],
    # Nuuk springs forward from 23:00 straight to 00:00: a gap that ends at midnight.
    "America/Nuuk": [date(2026, 3, 28), date(2026, 10, 24)],
}
# Local minutes around the transitions (01:00-03:15, and 22:00-24:00 for Nuuk), so window
# bounds fall in gaps and in repeated hours often.
DST_MINUTES = [60, 75, 90, 105, 120, 135, 150, 165, 180, 195, 1320, 1380, 1395, 1410, 1425, 1440]


# ------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class Scenario:
    rules: BusinessRules
    date_from: date
    date_to: date
    now: datetime

    @property
    def service(self) -> ServiceRules:
        return self.rules.services[SERVICE]


RARELY_FALSE = st.sampled_from([True] * 7 + [False])
minute_st = st.one_of(
    st.integers(0, 96).map(lambda q: q * 15),  # quarter hours: edges line up often
    st.sampled_from(DST_MINUTES),
    st.integers(0, 1440),
)


@st.composite
def local_ranges(
    draw: st.DrawFn, max_size: int = 2, *, min_len: int = 1, max_len: int = 1440
) -> tuple[LocalRange, ...]:
    out = []
    for start, length in draw(
        st.lists(st.tuples(minute_st, st.integers(min_len, max_len)), min_size=1, max_size=max_size)
    ):
        end = min(start + length, 1440)
        if start < end:
            out.append(LocalRange(start, end))
    return tuple(out)


@st.composite
def weekly(
    draw: st.DrawFn,
    max_ranges: int = 2,
    *,
    all_days: bool = False,
    min_len: int = 60,
    max_len: int = 1440,
) -> dict[int, tuple[LocalRange, ...]]:
    """Weekly ranges; ``all_days`` gives every weekday some, so slots are common."""
    weekdays = set(range(7)) if all_days else draw(st.sets(st.integers(0, 6)))
    ranges = local_ranges(max_size=max_ranges, min_len=min_len, max_len=max_len)
    return {weekday: draw(ranges) for weekday in weekdays}


Weekly = dict[int, tuple[LocalRange, ...]]
NO_RANGES: Weekly = {}
hours_st: st.SearchStrategy[Weekly] = st.one_of(weekly(all_days=True), weekly())
breaks_st: st.SearchStrategy[Weekly] = st.one_of(
    st.just(NO_RANGES), weekly(max_ranges=2, min_len=5, max_len=120)
)


@st.composite
def spans(
    draw: st.DrawFn, base: datetime, total_minutes: int, max_len: int, max_size: int
) -> tuple[Span, ...]:
    out = []
    for start, length in draw(
        st.lists(
            st.tuples(st.integers(0, total_minutes), st.integers(1, max_len)), max_size=max_size
        )
    ):
        s = base + timedelta(minutes=start)
        out.append(Span(s, s + timedelta(minutes=length)))
    return tuple(out)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    tz = draw(st.sampled_from(sorted(ANCHORS)))
    date_from = draw(st.sampled_from(ANCHORS[tz]))
    date_to = date_from + timedelta(days=draw(st.integers(0, 2)))
    dates = [date_from + timedelta(days=i) for i in range((date_to - date_from).days + 1)]
    base = datetime.combine(date_from - timedelta(days=1), time(), tzinfo=UTC)
    total = (len(dates) + 2) * 1440

    service = ServiceRules(
        SERVICE,
        duration_minutes=draw(st.integers(5, 120)),
        buffer_before_minutes=draw(st.sampled_from([0, 0, 5, 10, 15, 30])),
        buffer_after_minutes=draw(st.sampled_from([0, 0, 5, 10, 15, 30])),
        active=draw(RARELY_FALSE),
    )
    full_day = {d: (LocalRange(0, 1440),) for d in range(7)}
    business_hours = draw(st.one_of(hours_st, st.just(full_day)))
    pros = []
    for i in range(draw(st.integers(1, 3))):
        busy = BusyRanges.of(
            Busy(s, s.start) for s in draw(spans(base, total, max_len=180, max_size=5))
        )
        pros.append(
            ProfessionalRules(
                id=uuid.UUID(int=100 + i),
                display_order=draw(st.integers(0, 2)),
                active=draw(RARELY_FALSE),
                service_ids=frozenset({SERVICE} if draw(RARELY_FALSE) else set()),
                weekly_hours=draw(st.one_of(st.just({}), hours_st)),
                breaks=draw(breaks_st),
                time_off=draw(spans(base, total, max_len=600, max_size=2)),
                busy=busy,
            )
        )
    rules = BusinessRules(
        timezone=tz,
        slot_step_minutes=draw(st.sampled_from([5, 7, 10, 15, 20, 25, 30, 45, 60])),
        min_notice_minutes=draw(st.integers(0, 300)),
        horizon_days=draw(st.sampled_from([60] * 5 + [0, 1, 2])),
        weekly_hours=business_hours,
        breaks=draw(breaks_st),
        closures=frozenset(draw(st.sets(st.sampled_from(dates), max_size=1))),
        special_hours={
            d: draw(st.one_of(local_ranges(min_len=60), st.just(())))
            for d in draw(st.sets(st.sampled_from(dates), max_size=2))
        },
        services={SERVICE: service},
        professionals=tuple(pros),
    )
    now = base + timedelta(minutes=draw(st.one_of(st.integers(0, 1440), st.integers(0, total))))
    return Scenario(rules, date_from, date_to, now)


# ------------------------------------------------------------------ naive reference


def epoch_minute(instant: datetime) -> int:
    seconds = int(instant.timestamp())
    assert seconds % 60 == 0
    return seconds // 60


def minutes_of(ranges: Iterable[LocalRange]) -> set[int]:
    out: set[int] = set()
    for r in ranges:
        out.update(range(r.start_minute, r.end_minute))
    return out


def runs(minutes: Iterable[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive integers as [start, end)."""
    out: list[tuple[int, int]] = []
    for m in sorted(minutes):
        if out and out[-1][1] == m:
            out[-1] = (out[-1][0], m + 1)
        else:
            out.append((m, m + 1))
    return out


def eligible(rules: BusinessRules, pro: ProfessionalRules) -> bool:
    svc = rules.services.get(SERVICE)
    return svc is not None and svc.active and pro.active and SERVICE in pro.service_ids


def ref_windows(rules: BusinessRules, pro: ProfessionalRules, d: date) -> list[tuple[int, int]]:
    """Open windows of ``pro`` on ``d`` in epoch minutes, straight from SPEC §2."""
    zone = ZoneInfo(rules.timezone)
    weekday = d.weekday()
    if d in rules.closures:
        working: set[int] = set()
    elif d in rules.special_hours:
        working = minutes_of(rules.special_hours[d])
    else:
        working = minutes_of(rules.weekly_hours.get(weekday, ()))
    if pro.weekly_hours:
        working &= minutes_of(pro.weekly_hours.get(weekday, ()))
    working -= minutes_of(rules.breaks.get(weekday, ()))
    working -= minutes_of(pro.breaks.get(weekday, ()))
    off: set[int] = set()
    for span in pro.time_off:
        off.update(range(epoch_minute(span.start), epoch_minute(span.end)))
    midnight = datetime.combine(d, time(), tzinfo=zone)
    windows = []
    for a, b in runs(working):
        ws = epoch_minute(midnight + timedelta(minutes=a))
        we = epoch_minute(midnight + timedelta(minutes=b))
        if ws < we:
            windows.extend(runs(m for m in range(ws, we) if m not in off))
    return windows


def ref_slot_starts(scenario: Scenario, pro: ProfessionalRules, d: date) -> set[int]:
    """Slot starts (epoch minutes) of ``pro`` on ``d``.

    A start must also fall on ``d`` itself: a window whose end lies in a gap that runs to
    midnight (Nuuk) reaches into the next date, and the booking check (in Python and in
    SQL) judges a start by the windows of its own local date.
    """
    rules = scenario.rules
    if not eligible(rules, pro):
        return set()
    zone = ZoneInfo(rules.timezone)
    if d > scenario.now.astimezone(zone).date() + timedelta(days=rules.horizon_days):
        return set()
    svc = scenario.service
    earliest = epoch_minute(scenario.now) + rules.min_notice_minutes
    busy = [
        (epoch_minute(b.occupied.start), epoch_minute(b.occupied.end)) for b in pro.busy.items()
    ]
    out = set()
    for ws, we in ref_windows(rules, pro, d):
        t = ws
        while t <= we:
            lo = t - svc.buffer_before_minutes
            hi = t + svc.duration_minutes + svc.buffer_after_minutes
            if (
                lo >= ws
                and hi <= we
                and t >= earliest
                and not any(bs < hi and lo < be for bs, be in busy if bs < be)
                and minute_instant(t).astimezone(zone).date() == d
            ):
                out.add(t)
            t += rules.slot_step_minutes
    return out


def ordered(pros: Iterable[ProfessionalRules]) -> list[ProfessionalRules]:
    return sorted(pros, key=lambda p: (p.display_order, p.id))


def ref_list(scenario: Scenario) -> list[tuple[date, list[tuple[int, tuple[uuid.UUID, ...]]]]]:
    rules = scenario.rules
    out = []
    d = scenario.date_from
    while d <= scenario.date_to:
        merged: dict[int, list[uuid.UUID]] = {}
        for pro in ordered(rules.professionals):
            for t in ref_slot_starts(scenario, pro, d):
                merged.setdefault(t, []).append(pro.id)
        out.append((d, [(t, tuple(merged[t])) for t in sorted(merged)]))
        d += timedelta(days=1)
    return out


def as_minutes(days: list[DaySlots]) -> list[tuple[date, list[tuple[int, tuple[uuid.UUID, ...]]]]]:
    return [
        (day.date, [(epoch_minute(s.start), s.professional_ids) for s in day.slots]) for day in days
    ]


def minute_instant(m: int) -> datetime:
    return datetime.fromtimestamp(m * 60, UTC)


# ---------------------------------------------------------------------------- tests


@PROPERTY_SETTINGS
@given(scenarios())
def test_list_slots_matches_the_naive_reference(scenario: Scenario) -> None:
    days = list_slots(scenario.rules, SERVICE, scenario.date_from, scenario.date_to, scenario.now)
    assert as_minutes(days) == ref_list(scenario)
    for pro in scenario.rules.professionals:
        for day in days:
            windows = open_windows(scenario.rules, pro.id, day.date)
            got = sorted((epoch_minute(w.start), epoch_minute(w.end)) for w in windows)
            assert got == sorted(ref_windows(scenario.rules, pro, day.date))
    duration = timedelta(minutes=scenario.service.duration_minutes)
    for day in days:
        for s in day.slots:
            assert s.end - s.start == duration
            assert s.start.tzinfo is UTC


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(0, 5 * 1440), max_size=40))
def test_check_start_accepts_exactly_the_listed_slots(
    scenario: Scenario, extra_offsets: list[int]
) -> None:
    rules = scenario.rules
    zone = ZoneInfo(rules.timezone)
    svc = scenario.service
    today = scenario.now.astimezone(zone).date()
    earliest = epoch_minute(scenario.now) + rules.min_notice_minutes
    first = epoch_minute(datetime.combine(scenario.date_from, time(), tzinfo=UTC)) - 1440
    dates = [
        scenario.date_from + timedelta(days=i)
        for i in range((scenario.date_to - scenario.date_from).days + 1)
    ]
    for pro in rules.professionals:
        windows = [w for d in dates for w in ref_windows(rules, pro, d)]
        slots = set().union(*(ref_slot_starts(scenario, pro, d) for d in dates))
        candidates = {first + x for x in extra_offsets}
        for ws, we in windows:
            candidates.update(range(ws, we + 1, rules.slot_step_minutes))
            candidates.update({ws - 1, ws + 1, we - 1, we})
        for t in slots:
            candidates.update({t - 1, t + 1, t + rules.slot_step_minutes // 2})
        for t in sorted(candidates):
            instant = minute_instant(t)
            if instant.astimezone(zone).date() not in dates:
                continue
            got = check_start(rules, SERVICE, pro.id, instant, scenario.now)
            assert (got is None) == (t in slots), (t, got)
            # and when refused, the documented reason in the documented order
            lo = t - svc.buffer_before_minutes
            hi = t + svc.duration_minutes + svc.buffer_after_minutes
            if not eligible(rules, pro):
                expected: Rejection | None = Rejection.SERVICE_NOT_OFFERED
            elif t < earliest:
                expected = Rejection.INSUFFICIENT_NOTICE
            elif instant.astimezone(zone).date() > today + timedelta(days=rules.horizon_days):
                expected = Rejection.BEYOND_HORIZON
            elif not any(ws <= lo and hi <= we for ws, we in windows):
                expected = Rejection.OUTSIDE_WORKING_HOURS
            elif t not in slots:
                expected = Rejection.SLOT_UNAVAILABLE
            else:
                expected = None
            assert got == expected, (t, got, expected)


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_booking_a_slot_removes_every_overlapping_slot(
    scenario: Scenario, data: st.DataObject
) -> None:
    rules = scenario.rules
    days = list_slots(rules, SERVICE, scenario.date_from, scenario.date_to, scenario.now)
    all_slots = [s for day in days for s in day.slots]
    if not all_slots:
        return
    slot = data.draw(st.sampled_from(all_slots))
    pid = data.draw(st.sampled_from(slot.professional_ids))
    svc = scenario.service
    occupied = Span(
        slot.start - timedelta(minutes=svc.buffer_before_minutes),
        slot.end + timedelta(minutes=svc.buffer_after_minutes),
    )
    booked = replace(
        rules,
        professionals=tuple(
            replace(p, busy=BusyRanges.of((*p.busy.items(), Busy(occupied, slot.start))))
            if p.id == pid
            else p
            for p in rules.professionals
        ),
    )
    assert check_start(booked, SERVICE, pid, slot.start, scenario.now) is Rejection.SLOT_UNAVAILABLE
    after = list_slots(booked, SERVICE, scenario.date_from, scenario.date_to, scenario.now, pid)
    for day in after:
        for s in day.slots:
            lo = s.start - timedelta(minutes=svc.buffer_before_minutes)
            hi = s.end + timedelta(minutes=svc.buffer_after_minutes)
            assert not (lo < occupied.end and occupied.start < hi)
    # the other professionals are untouched
    again = list_slots(booked, SERVICE, scenario.date_from, scenario.date_to, scenario.now)
    for before_day, after_day in zip(days, again, strict=True):
        drop_pid = [
            (s.start, tuple(x for x in s.professional_ids if x != pid)) for s in before_day.slots
        ]
        kept = [
            (s.start, tuple(x for x in s.professional_ids if x != pid)) for s in after_day.slots
        ]
        assert [x for x in kept if x[1]] == [x for x in drop_pid if x[1]]


@PROPERTY_SETTINGS
@given(scenarios())
def test_any_professional_is_the_union_of_each_professional(scenario: Scenario) -> None:
    rules = scenario.rules
    args = (rules, SERVICE, scenario.date_from, scenario.date_to, scenario.now)
    merged = list_slots(*args)
    union: list[dict[datetime, list[uuid.UUID]]] = [{} for _ in merged]
    for pro in ordered(rules.professionals):
        per = list_slots(*args, professional_id=pro.id)
        assert [d.date for d in per] == [d.date for d in merged]
        for bucket, day in zip(union, per, strict=True):
            for s in day.slots:
                assert s.professional_ids == (pro.id,)
                bucket.setdefault(s.start, []).append(pro.id)
    for bucket, day in zip(union, merged, strict=True):
        assert [(s.start, s.professional_ids) for s in day.slots] == [
            (start, tuple(bucket[start])) for start in sorted(bucket)
        ]


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(0, 5 * 1440), max_size=10))
def test_choose_professional_picks_a_free_one_with_fewest_appointments(
    scenario: Scenario, extra_offsets: list[int]
) -> None:
    rules = scenario.rules
    zone = ZoneInfo(rules.timezone)
    days = list_slots(rules, SERVICE, scenario.date_from, scenario.date_to, scenario.now)
    by_id = {p.id: p for p in rules.professionals}
    listed = {s.start: s for day in days for s in day.slots}
    for slot in listed.values():
        chosen = choose_professional(rules, SERVICE, slot.start, scenario.now)
        assert chosen in slot.professional_ids
        assert check_start(rules, SERVICE, chosen, slot.start, scenario.now) is None
        local_day = slot.start.astimezone(zone).date()

        def load(pid: uuid.UUID, local_day: date = local_day) -> tuple[int, int, uuid.UUID]:
            pro = by_id[pid]
            count = sum(
                1
                for b in pro.busy.items()
                if b.appointment_start.astimezone(zone).date() == local_day
            )
            return (count, pro.display_order, pid)

        assert load(chosen) == min(load(pid) for pid in slot.professional_ids)
    first = datetime.combine(scenario.date_from, time(), tzinfo=UTC) - timedelta(days=1)
    for offset in extra_offsets:
        instant = first + timedelta(minutes=offset)
        if (
            instant.astimezone(zone).date() < scenario.date_from
            or instant.astimezone(zone).date() > scenario.date_to
        ):
            continue
        if instant not in listed:
            assert choose_professional(rules, SERVICE, instant, scenario.now) is None
