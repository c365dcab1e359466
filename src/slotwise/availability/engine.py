"""The pure availability engine: SPEC §2, with the shapes fixed by docs/engine-contract.md.

Stdlib only and free of I/O, so the same code lists the booking page, re-checks a start in
the booking transaction and runs under property tests.

Internally every instant is an ``int`` of microseconds since the Unix epoch: exact for any
aware ``datetime`` (no float rounding), cheap to compare and bisectable. ``datetime``
objects are built only for output.

For one local date ``d`` and one professional the open windows are built in this order:

1. working time = the business hours of ``d`` (a closure wins over special hours, which
   replace the weekly hours), intersected with the professional's own weekly hours when he
   has any;
2. minus the weekday's business-wide and own breaks, still in local minutes;
3. the bounds of each remaining local interval become instants as ``zoneinfo`` does with
   ``fold=0`` (inside a spring-forward gap a time moves forward by the gap, an ambiguous
   time takes its first occurrence); an interval that becomes empty or inverted is dropped;
4. minus the professional's time off (already absolute).

Each window has its own grid of ``slot_step_minutes`` anchored at its start. Busy ranges
only filter grid points; they never move the grid.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from operator import le, lt
from uuid import UUID
from zoneinfo import ZoneInfo

__all__ = [
    "BusinessRules",
    "Busy",
    "BusyRanges",
    "DaySlots",
    "LocalRange",
    "ProfessionalRules",
    "Rejection",
    "ServiceRules",
    "Slot",
    "Span",
    "check_start",
    "choose_professional",
    "list_slots",
    "local_date_of",
    "minutes_to_instant",
    "nearest_alternatives",
    "open_windows",
    "today",
]

_US = 1_000_000
_US_PER_MINUTE = 60 * _US
_MINUTES_PER_DAY = 1440
_US_PER_DAY = _MINUTES_PER_DAY * _US_PER_MINUTE
_ONE_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class LocalRange:
    """``[start_minute, end_minute)`` in minutes since local midnight (end may be 1440)."""

    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Span:
    """An absolute ``[start, end)`` range of aware datetimes."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Busy:
    """A non-cancelled appointment: its occupied range blocks, its start counts per day."""

    occupied: Span
    appointment_start: datetime


@dataclass(frozen=True, slots=True)
class BusyRanges:
    """A professional's non-cancelled appointments as parallel tuples of epoch microseconds
    (UTC), sorted by occupied start: the form the engine bisects, which the loader fills
    straight from SQL without one object or ``datetime`` per appointment. ``of`` builds it
    from ``Busy`` items; ``items`` gives them back."""

    starts: tuple[int, ...]  # occupied range [start, end)
    ends: tuple[int, ...]
    appointment_starts: tuple[int, ...]

    @classmethod
    def of(cls, items: Iterable[Busy]) -> BusyRanges:
        rows = sorted(
            (_us(b.occupied.start), _us(b.occupied.end), _us(b.appointment_start)) for b in items
        )
        return cls(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows))

    def items(self) -> tuple[Busy, ...]:
        return tuple(
            Busy(Span(_dt(s), _dt(e)), _dt(a))
            for s, e, a in zip(self.starts, self.ends, self.appointment_starts, strict=True)
        )

    def __len__(self) -> int:
        return len(self.starts)


@dataclass(frozen=True, slots=True)
class ServiceRules:
    id: UUID
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    active: bool


@dataclass(frozen=True, slots=True)
class ProfessionalRules:
    id: UUID
    display_order: int
    active: bool
    service_ids: frozenset[UUID]
    weekly_hours: Mapping[int, tuple[LocalRange, ...]]  # empty mapping: no own hours
    breaks: Mapping[int, tuple[LocalRange, ...]]  # own weekly breaks
    time_off: tuple[Span, ...]
    busy: BusyRanges


@dataclass(frozen=True, slots=True)
class BusinessRules:
    timezone: str  # IANA name
    slot_step_minutes: int
    min_notice_minutes: int
    horizon_days: int
    weekly_hours: Mapping[int, tuple[LocalRange, ...]]
    breaks: Mapping[int, tuple[LocalRange, ...]]  # business-wide weekly breaks
    closures: frozenset[date]
    special_hours: Mapping[date, tuple[LocalRange, ...]]  # replaces weekly hours that date
    services: Mapping[UUID, ServiceRules]
    professionals: tuple[ProfessionalRules, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    """``[start, end)`` in UTC; ``professional_ids`` are the ones free then, by display order."""

    start: datetime
    end: datetime
    professional_ids: tuple[UUID, ...]


@dataclass(frozen=True, slots=True)
class DaySlots:
    date: date
    slots: tuple[Slot, ...]


class Rejection(StrEnum):
    """Why a start cannot be booked; the values are the public error codes."""

    SERVICE_NOT_OFFERED = "service_not_offered"
    INSUFFICIENT_NOTICE = "insufficient_notice"
    BEYOND_HORIZON = "beyond_horizon"
    OUTSIDE_WORKING_HOURS = "outside_working_hours"
    SLOT_UNAVAILABLE = "slot_unavailable"


_Interval = tuple[int, int]


# --------------------------------------------------------------------------- time helpers


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    """``ZoneInfo(name)`` validates the key on every call; this is one dict hit."""
    return ZoneInfo(name)


def _us(instant: datetime) -> int:
    """Exact epoch microseconds; a naive datetime raises TypeError instead of being guessed."""
    return (instant - _EPOCH) // _ONE_US


def _dt(us: int) -> datetime:
    """UTC datetime of epoch microseconds (the whole-second path is the common, fast one)."""
    if us % _US == 0:
        return datetime.fromtimestamp(us // _US, UTC)
    return _EPOCH + timedelta(microseconds=us)


def _local_us(zone: ZoneInfo, ordinal: int, minute: int) -> int:
    """Local minute of a date as epoch microseconds, exactly as ``zoneinfo`` with fold=0."""
    wall = datetime.fromordinal(ordinal) + timedelta(minutes=minute)
    offset = zone.utcoffset(wall)
    offset_us = offset // _ONE_US if offset is not None else 0
    wall_us = (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY + minute * _US_PER_MINUTE
    return wall_us - offset_us


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("an aware datetime is required")


def minutes_to_instant(d: date, minute: int, tz: str) -> datetime:
    """Local minute ``minute`` of ``d`` in zone ``tz`` as a UTC instant (fold=0; 1440 is the
    next date's midnight)."""
    return _dt(_local_us(_zone(tz), d.toordinal(), minute))


def local_date_of(instant: datetime, timezone: str) -> date:
    """The tenant-local calendar date of an aware instant."""
    _require_aware(instant)
    return instant.astimezone(_zone(timezone)).date()


def today(timezone: str, now: datetime) -> date:
    """The tenant's local date at ``now``; horizons count from it."""
    return local_date_of(now, timezone)


# ------------------------------------------------------------------ local interval algebra


def _normalize(ranges: Iterable[LocalRange]) -> list[_Interval]:
    """Sorted, merged, clipped to the day; touching ranges merge (union of minutes)."""
    items = sorted((max(r.start_minute, 0), min(r.end_minute, _MINUTES_PER_DAY)) for r in ranges)
    out: list[_Interval] = []
    for s, e in items:
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _intersect(a: list[_Interval], b: list[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[_Interval], b: list[_Interval]) -> list[_Interval]:
    out: list[_Interval] = []
    j = 0
    for s, e in a:
        cur = s
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def _merge_absolute(pairs: Iterable[_Interval]) -> tuple[list[int], list[int]]:
    """Sorted merged ``[start, end)`` ranges as parallel start/end lists, ready for bisect."""
    starts: list[int] = []
    ends: list[int] = []
    for s, e in sorted(pairs):
        if s >= e:
            continue
        if ends and s <= ends[-1]:
            if e > ends[-1]:
                ends[-1] = e
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


# ------------------------------------------------------------------------------- the engine


def _cut_time_off(
    windows: list[_Interval], off_starts: list[int], off_ends: list[int]
) -> list[_Interval]:
    """Windows minus the (sorted, merged) time off; most windows meet none of it."""
    out: list[_Interval] = []
    n = len(off_starts)
    for ws, we in windows:
        i = bisect_right(off_ends, ws)
        if i == n or off_starts[i] >= we:
            out.append((ws, we))
            continue
        cur = ws
        while i < n and off_starts[i] < we:
            if off_starts[i] > cur:
                out.append((cur, off_starts[i]))
            if off_ends[i] > cur:
                cur = off_ends[i]
            i += 1
        if cur < we:
            out.append((cur, we))
    return out


def _grid(
    windows: list[_Interval],
    overlapping: bool,
    los: list[int],
    his: list[int],
    head: int,
    tail: int,
    step: int,
    earliest: int,
) -> list[int]:
    """Slot starts of some windows, ascending: each window's grid points ``t`` with
    ``[t - head, t + tail)`` inside it, ``t >= earliest``, and ``t`` in no forbidden open
    range ``(los[i], his[i])``. Runs of free grid points are emitted with ``range``."""
    nf = len(los)
    out: list[int] = []
    for ws, we in windows:
        hi = we - tail  # the last start whose occupied range still fits
        lo = ws + head
        if lo < earliest:
            lo = earliest
        if lo > hi:
            continue
        t = ws - ((ws - lo) // step) * step  # the first grid point >= lo
        i = bisect_right(his, t)
        while t <= hi:
            while i < nf and his[i] <= t:
                i += 1
            if i == nf or los[i] >= hi:
                out.extend(range(t, hi + 1, step))
                break
            if los[i] >= t:
                out.extend(range(t, los[i] + 1, step))
            # Every grid point inside the open range (los[i], his[i]) is taken; his[i] is free.
            t = ws - ((ws - his[i]) // step) * step
            i += 1
    if overlapping:
        out = sorted(set(out))
    return out


_DayKey = tuple[tuple[LocalRange, ...] | None, tuple[LocalRange, ...]]
_Converted = tuple[list[_Interval], bool, int | None]  # windows, overlapping, spill bound


class _Engine:
    """Per-call memo of everything several professionals or dates share: the zone, the
    local-to-instant conversions, each date's business hours and the converted windows of
    each distinct (own hours, own breaks) combination."""

    __slots__ = (
        "_business",
        "_converted",
        "_group_ids",
        "_group_keys",
        "_instants",
        "earliest",
        "last_date",
        "rules",
        "step",
        "today",
        "zone",
    )

    def __init__(self, rules: BusinessRules, now: datetime) -> None:
        if rules.slot_step_minutes <= 0:
            raise ValueError("slot_step_minutes must be positive")
        self.rules = rules
        self.zone = _zone(rules.timezone)
        self.step = rules.slot_step_minutes * _US_PER_MINUTE
        self._instants: dict[tuple[int, int], int] = {}
        self._business: dict[date, list[_Interval]] = {}
        self._group_ids: dict[_DayKey, int] = {}
        self._group_keys: list[_DayKey] = []
        self._converted: dict[tuple[date, int], _Converted] = {}
        now_us = _us(now)
        self.earliest = now_us + rules.min_notice_minutes * _US_PER_MINUTE
        self.today = self.day_of(now_us)
        self.last_date = self.today + timedelta(days=rules.horizon_days)

    def local_date(self, us: int) -> date:
        return _dt(us).astimezone(self.zone).date()

    def instant(self, ordinal: int, minute: int) -> int:
        """Local minute of a date as epoch microseconds, memoised for this call."""
        key = (ordinal, minute)
        hit = self._instants.get(key)
        if hit is None:
            hit = self._instants[key] = _local_us(self.zone, ordinal, minute)
        return hit

    def midnight(self, d: date) -> int:
        """The first instant of local date ``d`` (fold=0, as every wall time here)."""
        return self.instant(d.toordinal(), 0)

    def day_of(self, us: int) -> date:
        """The local date of an instant, bounded by the same fold=0 midnights that bound
        each date's slots. It is the wall-clock date in every zone except one whose gap
        spans midnight, where this keeps listing and checking in agreement."""
        d = self.local_date(us)
        if us < self.midnight(d):
            return d - _ONE_DAY
        if us >= self.midnight(d + _ONE_DAY):
            return d + _ONE_DAY
        return d

    def eligible(
        self, service: ServiceRules | None, professional_id: UUID | None
    ) -> list[ProfessionalRules]:
        """Active professionals offering an active service, by display order then id."""
        if service is None or not service.active:
            return []
        pros = [
            p
            for p in self.rules.professionals
            if p.active
            and service.id in p.service_ids
            and (professional_id is None or p.id == professional_id)
        ]
        pros.sort(key=lambda p: (p.display_order, p.id))
        return pros

    def group(self, pro: ProfessionalRules, weekday: int) -> int:
        """An id shared by every professional with the same own hours and breaks on that
        weekday, so their windows are computed once per date."""
        hours = pro.weekly_hours.get(weekday, ()) if pro.weekly_hours else None
        key = (hours, pro.breaks.get(weekday, ()))
        gid = self._group_ids.get(key)
        if gid is None:
            gid = self._group_ids[key] = len(self._group_keys)
            self._group_keys.append(key)
        return gid

    def _business_local(self, d: date) -> list[_Interval]:
        """The business's working minutes of ``d`` minus its breaks (shared by everyone)."""
        hit = self._business.get(d)
        if hit is not None:
            return hit
        r = self.rules
        weekday = d.weekday()
        special = r.special_hours.get(d)
        if d in r.closures:
            local: list[_Interval] = []
        elif special is not None:
            local = _normalize(special)
        else:
            local = _normalize(r.weekly_hours.get(weekday, ()))
        breaks = r.breaks.get(weekday)
        if local and breaks:
            local = _subtract(local, _normalize(breaks))
        self._business[d] = local
        return local

    def converted(self, d: date, gid: int) -> _Converted:
        """Windows of ``d`` as instants before time off, sorted by start, for one group.

        Also whether two overlap, and the first instant of ``d + 1`` when a window reaches
        past it (both only possible around a spring-forward gap): starts must stay on
        ``d``, which is where ``check_start`` looks for them."""
        hit = self._converted.get((d, gid))
        if hit is not None:
            return hit
        hours, breaks = self._group_keys[gid]
        local = self._business_local(d)
        if hours is not None and local:
            local = _intersect(local, _normalize(hours))
        if breaks and local:
            local = _subtract(local, _normalize(breaks))
        ordinal = d.toordinal()
        instant = self.instant
        windows: list[_Interval] = []
        for s, e in local:
            ws = instant(ordinal, s)
            we = instant(ordinal, e)
            if ws < we:
                windows.append((ws, we))
        windows.sort()
        overlapping = any(windows[i + 1][0] < windows[i][1] for i in range(len(windows) - 1))
        day_end = self.instant(ordinal + 1, 0)
        spill = day_end if any(we > day_end for _, we in windows) else None
        hit = (windows, overlapping, spill)
        self._converted[(d, gid)] = hit
        return hit

    def windows(self, pro: ProfessionalRules, d: date) -> list[_Interval]:
        """Open windows of ``pro`` on local date ``d``, sorted by start."""
        windows = self.converted(d, self.group(pro, d.weekday()))[0]
        off_starts, off_ends = _time_off(pro)
        if off_starts and windows:
            windows = _cut_time_off(windows, off_starts, off_ends)
        return windows

    def check(self, svc: ServiceRules, pro: ProfessionalRules, t: int) -> Rejection | None:
        """The rules after the offering check, in the documented order."""
        if t < self.earliest:
            return Rejection.INSUFFICIENT_NOTICE
        d = self.day_of(t)
        if d > self.last_date:
            return Rejection.BEYOND_HORIZON
        lo = t - svc.buffer_before_minutes * _US_PER_MINUTE
        hi = t + (svc.duration_minutes + svc.buffer_after_minutes) * _US_PER_MINUTE
        inside = on_grid = False
        for ws, we in self.windows(pro, d):
            if ws <= lo and hi <= we:
                inside = True
                if (t - ws) % self.step == 0:
                    on_grid = True
                    break
        if not inside:
            return Rejection.OUTSIDE_WORKING_HOURS
        if not on_grid:
            return Rejection.SLOT_UNAVAILABLE
        busy = pro.busy
        ends = busy.ends
        # Only ranges starting before ``hi`` can meet [lo, hi); starts are sorted.
        for i in range(bisect_left(busy.starts, hi)):
            if lo < ends[i] and busy.starts[i] < ends[i]:
                return Rejection.SLOT_UNAVAILABLE
        return None


def _time_off(pro: ProfessionalRules) -> tuple[list[int], list[int]]:
    """The professional's time off as sorted merged start/end lists."""
    if not pro.time_off:
        return [], []
    return _merge_absolute((_us(x.start), _us(x.end)) for x in pro.time_off)


def _forbidden(pro: ProfessionalRules, svc: ServiceRules) -> tuple[list[int], list[int]]:
    """Open ranges ``(lo, hi)`` of starts whose occupied range would meet a busy one:
    ``[t - before, t + duration + after)`` meets ``[bs, be)`` exactly when
    ``bs - duration - after < t < be + before``.

    Both lists come back sorted, which is all ``_grid`` and ``check`` need; ranges are
    merged only when one would end after a later one.
    """
    if not pro.busy:
        return [], []
    tail = (svc.duration_minutes + svc.buffer_after_minutes) * _US_PER_MINUTE
    head = svc.buffer_before_minutes * _US_PER_MINUTE
    starts: Sequence[int] = pro.busy.starts
    ends: Sequence[int] = pro.busy.ends
    if not all(map(lt, starts, ends)):  # drop empty ranges: they block nothing
        kept = [(bs, be) for bs, be in zip(starts, ends, strict=True) if bs < be]
        starts = [bs for bs, _ in kept]
        ends = [be for _, be in kept]
    if not all(map(le, starts, starts[1:])):
        pairs = sorted(zip(starts, ends, strict=True))
        starts = [bs for bs, _ in pairs]
        ends = [be for _, be in pairs]
    los = [bs - tail for bs in starts]
    his = [be + head for be in ends]
    if all(map(le, his, his[1:])):
        return los, his
    merged_los: list[int] = []
    merged_his: list[int] = []
    for lo, hi in zip(los, his, strict=True):
        # Open ranges: ranges that merely touch stay apart (the shared point is free).
        if merged_his and lo < merged_his[-1]:
            if hi > merged_his[-1]:
                merged_his[-1] = hi
        else:
            merged_los.append(lo)
            merged_his.append(hi)
    return merged_los, merged_his


def _offering(
    rules: BusinessRules, service_id: UUID, professional_id: UUID
) -> tuple[ServiceRules, ProfessionalRules] | None:
    svc = rules.services.get(service_id)
    if svc is None or not svc.active:
        return None
    for pro in rules.professionals:
        if pro.id == professional_id:
            if pro.active and service_id in pro.service_ids:
                return svc, pro
            return None
    return None


# ------------------------------------------------------------------------------ public API


def open_windows(rules: BusinessRules, professional_id: UUID, d: date) -> list[Span]:
    """The open windows of one professional on local date ``d``, before notice, horizon,
    offering and busy checks: what the grid is anchored to, for explanations and tests."""
    eng = _Engine(rules, _EPOCH)
    for pro in rules.professionals:
        if pro.id == professional_id:
            return [Span(_dt(s), _dt(e)) for s, e in eng.windows(pro, d)]
    return []


def list_slots(
    rules: BusinessRules,
    service_id: UUID,
    date_from: date,
    date_to: date,
    now: datetime,
    professional_id: UUID | None = None,
) -> list[DaySlots]:
    """Slots of ``service_id`` per local date, every date of ``[date_from, date_to]`` listed.

    Without ``professional_id`` the professionals' slots are merged: one slot per start,
    listing every professional free then by display order.
    """
    eng = _Engine(rules, now)
    svc = rules.services.get(service_id)
    pros = eng.eligible(svc, professional_id)
    dates: list[date] = []
    d = date_from
    while d <= date_to:
        dates.append(d)
        d += _ONE_DAY
    # Only dates from today to the horizon can hold a slot (a window of date d never
    # reaches past the first instant of d + 1).
    open_dates = [x for x in dates if eng.today <= x <= eng.last_date]
    if svc is None or not pros or not open_dates:
        return [DaySlots(x, ()) for x in dates]

    step = eng.step
    earliest = eng.earliest
    head = svc.buffer_before_minutes * _US_PER_MINUTE
    tail = (svc.duration_minutes + svc.buffer_after_minutes) * _US_PER_MINUTE
    duration = svc.duration_minutes * _US_PER_MINUTE
    weekdays = [x.weekday() for x in open_dates]
    buckets: defaultdict[int, list[UUID]] = defaultdict(list)
    for pro in pros:
        pid = pro.id
        gids = [eng.group(pro, weekday) for weekday in range(7)]
        off_starts, off_ends = _time_off(pro)
        los, his = _forbidden(pro, svc)
        for k, x in enumerate(open_dates):
            windows, overlapping, spill = eng.converted(x, gids[weekdays[k]])
            if not windows:
                continue
            if off_starts:
                windows = _cut_time_off(windows, off_starts, off_ends)
            starts = _grid(windows, overlapping, los, his, head, tail, step, earliest)
            if spill is not None:
                starts = [t for t in starts if t < spill]
            for t in starts:
                buckets[t].append(pid)

    # Build each distinct instant's datetime once: a slot's end is usually another's start.
    starts = sorted(buckets)
    needed = set(starts)
    needed.update([t + duration for t in starts])
    fromtimestamp = datetime.fromtimestamp
    dts = {t: fromtimestamp(t // _US, UTC) if t % _US == 0 else _dt(t) for t in needed}
    # Each date's starts lie between its first instant and the next date's.
    bounds = [eng.midnight(x) for x in open_dates]
    bounds.append(eng.midnight(open_dates[-1] + _ONE_DAY))
    by_date: dict[date, tuple[Slot, ...]] = {}
    for k, x in enumerate(open_dates):
        first = bisect_left(starts, bounds[k])
        last = bisect_left(starts, bounds[k + 1], first)
        by_date[x] = tuple(
            [Slot(dts[t], dts[t + duration], tuple(buckets[t])) for t in starts[first:last]]
        )
    return [DaySlots(x, by_date.get(x, ())) for x in dates]


def check_start(
    rules: BusinessRules,
    service_id: UUID,
    professional_id: UUID,
    start: datetime,
    now: datetime,
) -> Rejection | None:
    """Why ``start`` cannot be booked with ``professional_id``, or None when it can.

    Codes come in the documented order: service_not_offered, insufficient_notice,
    beyond_horizon, outside_working_hours, slot_unavailable.
    """
    found = _offering(rules, service_id, professional_id)
    if found is None:
        return Rejection.SERVICE_NOT_OFFERED
    svc, pro = found
    return _Engine(rules, now).check(svc, pro, _us(start))


def choose_professional(
    rules: BusinessRules, service_id: UUID, start: datetime, now: datetime
) -> UUID | None:
    """The free professional with the fewest appointments that local date, ties by display
    order then id; None when nobody is free (an "any professional" booking)."""
    eng = _Engine(rules, now)
    svc = rules.services.get(service_id)
    t = _us(start)
    best: tuple[int, int, UUID] | None = None
    day_start = day_end = t
    for pro in eng.eligible(svc, None):
        assert svc is not None  # eligible() is empty otherwise
        if eng.check(svc, pro, t) is not None:
            continue
        if best is None:
            day = eng.day_of(t)
            day_start = eng.midnight(day)
            day_end = eng.midnight(day + _ONE_DAY)
        count = sum(1 for a in pro.busy.appointment_starts if day_start <= a < day_end)
        key = (count, pro.display_order, pro.id)
        if best is None or key < best:
            best = key
    return best[2] if best is not None else None


def nearest_alternatives(
    rules: BusinessRules,
    service_id: UUID,
    professional_id: UUID | None,
    around: datetime,
    now: datetime,
    *,
    limit: int = 5,
    search_days: int = 14,
    exclude: datetime | None = None,
) -> list[Slot]:
    """Up to ``limit`` slots nearest in time to ``around``: the given professional's first,
    then anyone's; each lists every professional free then. ``exclude`` (the start just
    lost) is never offered."""
    if limit <= 0:
        return []
    centre = local_date_of(around, rules.timezone)
    span = timedelta(days=search_days)
    days = list_slots(rules, service_id, centre - span, centre + span, now)

    def distance(slot: Slot) -> tuple[timedelta, datetime]:
        return (abs(slot.start - around), slot.start)

    candidates = [s for day in days for s in day.slots if exclude is None or s.start != exclude]
    own: list[Slot] = []
    if professional_id is not None:
        own = sorted((s for s in candidates if professional_id in s.professional_ids), key=distance)
        own = own[:limit]
    taken = {s.start for s in own}
    rest = sorted((s for s in candidates if s.start not in taken), key=distance)
    return (own + rest)[:limit]
