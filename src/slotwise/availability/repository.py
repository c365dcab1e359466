"""Every SQL statement of the availability domain.

``load_rules`` reads everything one availability answer needs in ONE statement, whatever the
number of days and professionals: the tenant's zone and policy, the business hours, breaks,
closures and special hours, the service, the professionals offering it with their own hours,
breaks, time off and busy ranges. Rows come back as parallel arrays (one row in all), which
asyncpg decodes in C; per-professional rows carry the professional's index in the ``pros``
arrays, so grouping them is a list append.

Only what the dates can use is read: closures and special hours of the dates, and time off
and non-cancelled appointments overlapping ``[date_from - 1 day, date_to + 2 days)`` in UTC.
Local date ``d`` lies within ``[d - 14 h, d + 1 day + 12 h]`` in UTC whatever the zone, and
a slot's occupied range lies inside one of its windows, so these bounds keep a margin of ten
hours or more on each side without knowing the zone: they are constants, which lets an
index of ``appointments`` find the busy ranges. With ``now``, dates before its UTC date
minus one (never today or later anywhere) are not read: no slot can lie there.

Ranges are compared with plain ``timestamptz`` operators, never ``&&``: under row level
security only leakproof conditions may use an index (migration 0008). A professional's
busy ranges are those starting inside the range plus the last one starting before it when
it reaches in (they never overlap each other): two probes of ``ix_appointments_busy``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.availability.engine import (
    BusinessRules,
    BusyRanges,
    LocalRange,
    ProfessionalRules,
    ServiceRules,
    Span,
)
from slotwise.errors import NotFound, ServiceNotOffered

# One row. ``pros`` numbers the professionals (display order, then id); every per-professional
# row carries that index (-1: the business). Weekly rows: kind 0 = hours, 1 = breaks. Dated
# rows: a closure has no minutes. Busy ranges come as epoch microseconds (``epoch_us``,
# migration 0006), ordered by professional then start: integers decode far faster than
# timestamps, and each professional's ranges are one slice. Few aggregates over UNION ALLs
# keep the statement cheap to plan (it is planned on every call when PostgreSQL prefers
# custom plans).
_LOAD_RULES = text("""
WITH pros AS MATERIALIZED (
    SELECT (row_number() OVER (ORDER BY p.display_order, p.id) - 1)::integer AS ix,
           p.id, p.display_order, p.active
      FROM offerings o
      JOIN professionals p ON p.tenant_id = o.tenant_id AND p.id = o.professional_id
     WHERE o.tenant_id = CAST(:tenant AS uuid)
       AND o.service_id = CAST(:service AS uuid)
       AND (CAST(:professional AS uuid) IS NULL
            OR o.professional_id = CAST(:professional AS uuid))
)
SELECT t.timezone, t.slot_step_minutes, t.min_notice_minutes, t.horizon_days,
       s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes,
       s.active AS service_active,
       (CAST(:professional AS uuid) IS NULL OR EXISTS (
            SELECT 1 FROM professionals kp
             WHERE kp.tenant_id = CAST(:tenant AS uuid)
               AND kp.id = CAST(:professional AS uuid))) AS professional_known,
       (SELECT array_agg(p.id ORDER BY p.ix) FROM pros p) AS pro_id,
       (SELECT array_agg(p.display_order ORDER BY p.ix) FROM pros p) AS pro_order,
       (SELECT array_agg(p.active ORDER BY p.ix) FROM pros p) AS pro_active,
       wk.*, dt.*, tf.*, ab.*
  FROM tenants t
  LEFT JOIN services s
         ON s.tenant_id = CAST(:tenant AS uuid) AND s.id = CAST(:service AS uuid)
 CROSS JOIN LATERAL (
    SELECT array_agg(w.pro) AS w_pro, array_agg(w.kind) AS w_kind,
           array_agg(w.weekday) AS w_weekday, array_agg(w.start_minute) AS w_start,
           array_agg(w.end_minute) AS w_end
      FROM (SELECT -1 AS pro, 0 AS kind, h.weekday, h.start_minute, h.end_minute
              FROM business_hours h WHERE h.tenant_id = CAST(:tenant AS uuid)
            UNION ALL
            SELECT coalesce(p.ix, -1), 1, b.weekday, b.start_minute, b.end_minute
              FROM breaks b LEFT JOIN pros p ON p.id = b.professional_id
             WHERE b.tenant_id = CAST(:tenant AS uuid)
               AND (b.professional_id IS NULL OR p.ix IS NOT NULL)
            UNION ALL
            SELECT p.ix, 0, h.weekday, h.start_minute, h.end_minute
              FROM pros p
              JOIN professional_hours h
                ON h.tenant_id = CAST(:tenant AS uuid) AND h.professional_id = p.id) w) wk
 CROSS JOIN LATERAL (
    SELECT array_agg(d.date) AS d_date, array_agg(d.start_minute) AS d_start,
           array_agg(d.end_minute) AS d_end
      FROM (SELECT c.date, NULL::smallint AS start_minute, NULL::smallint AS end_minute
              FROM closures c
             WHERE c.tenant_id = CAST(:tenant AS uuid)
               AND c.date BETWEEN CAST(:date_from AS date) AND CAST(:date_to AS date)
            UNION ALL
            SELECT x.date, x.start_minute, x.end_minute
              FROM special_hours x
             WHERE x.tenant_id = CAST(:tenant AS uuid)
               AND x.date BETWEEN CAST(:date_from AS date) AND CAST(:date_to AS date)) d) dt
 CROSS JOIN LATERAL (
    SELECT array_agg(p.ix) AS o_pro, array_agg(o.starts_at) AS o_lo,
           array_agg(o.ends_at) AS o_hi
      FROM pros p
      JOIN time_off o ON o.tenant_id = CAST(:tenant AS uuid) AND o.professional_id = p.id
     WHERE o.starts_at < CAST(:hi AS timestamptz) AND o.ends_at > CAST(:lo AS timestamptz)) tf
 CROSS JOIN LATERAL (
    SELECT array_agg(b.ix ORDER BY b.ix, b.lo) AS a_pro,
           array_agg(epoch_us(b.lo) ORDER BY b.ix, b.lo) AS a_lo,
           array_agg(epoch_us(b.hi) ORDER BY b.ix, b.lo) AS a_hi,
           array_agg(epoch_us(b.starts_at) ORDER BY b.ix, b.lo) AS a_start
      FROM (SELECT p.ix, a.occupied_from AS lo, a.occupied_to AS hi, a.starts_at
              FROM pros p
              JOIN appointments a
                ON a.tenant_id = CAST(:tenant AS uuid) AND a.professional_id = p.id
             WHERE a.status <> 'cancelled'
               AND a.occupied_from >= CAST(:lo AS timestamptz)
               AND a.occupied_from < CAST(:hi AS timestamptz)
            UNION ALL
            SELECT p.ix, last.occupied_from, last.occupied_to, last.starts_at
              FROM pros p
             CROSS JOIN LATERAL (
                   SELECT a.occupied_from, a.occupied_to, a.starts_at
                     FROM appointments a
                    WHERE a.tenant_id = CAST(:tenant AS uuid) AND a.professional_id = p.id
                      AND a.status <> 'cancelled'
                      AND a.occupied_from < CAST(:lo AS timestamptz)
                    ORDER BY a.occupied_from DESC LIMIT 1) last
             WHERE last.occupied_to > CAST(:lo AS timestamptz)) b) ab
 WHERE t.id = CAST(:tenant AS uuid)
""")

_Weekly = dict[int, tuple[LocalRange, ...]]
_ONE_DAY = timedelta(days=1)
_FIRST_DAY = date.min + _ONE_DAY
_LAST_DAY = date.max - 2 * _ONE_DAY
_BUSINESS = -1
_NOT_BUSY = BusyRanges((), (), ())
_HOURS = 0


def _by_weekday(rows: list[tuple[int, int, int]]) -> _Weekly:
    """(weekday, start, end) rows as sorted ranges per weekday."""
    grouped: defaultdict[int, list[LocalRange]] = defaultdict(list)
    for weekday, start, end in sorted(rows):
        grouped[weekday].append(LocalRange(start, end))
    return {weekday: tuple(ranges) for weekday, ranges in grouped.items()}


def _weekly(row: Any, count: int) -> tuple[_Weekly, _Weekly, list[_Weekly], list[_Weekly]]:
    """Business hours, business breaks, and per professional index his hours and breaks."""
    hours: list[list[tuple[int, int, int]]] = [[] for _ in range(count + 1)]
    breaks: list[list[tuple[int, int, int]]] = [[] for _ in range(count + 1)]
    if row.w_pro:
        for pro, kind, weekday, start, end in zip(
            row.w_pro, row.w_kind, row.w_weekday, row.w_start, row.w_end, strict=True
        ):
            # The business (-1) goes last, at index ``count``.
            (hours if kind == _HOURS else breaks)[pro].append((weekday, start, end))
    return (
        _by_weekday(hours[_BUSINESS]),
        _by_weekday(breaks[_BUSINESS]),
        [_by_weekday(rows) if rows else {} for rows in hours[:count]],
        [_by_weekday(rows) if rows else {} for rows in breaks[:count]],
    )


def _dated(row: Any) -> tuple[frozenset[date], dict[date, tuple[LocalRange, ...]]]:
    """Closures, and special hours per date."""
    closures: set[date] = set()
    special: defaultdict[date, list[LocalRange]] = defaultdict(list)
    if row.d_date:
        for day, start, end in zip(row.d_date, row.d_start, row.d_end, strict=True):
            if start is None:
                closures.add(day)
            else:
                special[day].append(LocalRange(start, end))
    return frozenset(closures), {
        day: tuple(sorted(ranges, key=lambda r: (r.start_minute, r.end_minute)))
        for day, ranges in special.items()
    }


def _absolute(row: Any, count: int) -> tuple[list[tuple[Span, ...]], list[BusyRanges]]:
    """Per professional index: time off, and busy ranges (epoch microseconds, ordered by
    professional then start by the query, so each professional's are one slice)."""
    time_off: list[list[Span]] = [[] for _ in range(count)]
    if row.o_pro:
        for pro, lo, hi in zip(row.o_pro, row.o_lo, row.o_hi, strict=True):
            time_off[pro].append(Span(lo, hi))
    busy = [_NOT_BUSY] * count
    if row.a_pro:
        pros: list[int] = row.a_pro
        los: list[int] = row.a_lo
        his: list[int] = row.a_hi
        starts: list[int] = row.a_start
        for ix in set(pros):
            i = bisect_left(pros, ix)
            j = bisect_right(pros, ix, i)
            busy[ix] = BusyRanges(tuple(los[i:j]), tuple(his[i:j]), tuple(starts[i:j]))
    return [tuple(spans) for spans in time_off], busy


async def load_rules(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    service_id: UUID,
    date_from: date,
    date_to: date,
    professional_id: UUID | None = None,
    now: datetime | None = None,
) -> BusinessRules:
    """The rules of ``service_id`` for the local dates ``[date_from, date_to]``, in one round
    trip: every professional offering it (active or not), or only ``professional_id``.

    ``NotFound`` for an unknown tenant, service or professional; ``ServiceNotOffered`` when
    ``professional_id`` exists but does not offer the service. With ``now``, the dates
    before its UTC date minus one are skipped (they never hold a slot)."""
    first = date_from
    if now is not None:
        # Local today is never before the UTC date minus one.
        first = max(first, now.astimezone(UTC).date() - _ONE_DAY)
    # Clamped so that dates at the ends of the calendar cannot overflow.
    lo = datetime.combine(max(first, _FIRST_DAY) - _ONE_DAY, time(), UTC)
    hi = datetime.combine(min(date_to, _LAST_DAY) + 2 * _ONE_DAY, time(), UTC)
    if first > date_to:  # an all-past range reads no busy range nor time off
        hi = lo
    result = await conn.execute(
        _LOAD_RULES,
        {
            "tenant": tenant_id,
            "service": service_id,
            "professional": professional_id,
            "date_from": first,
            "date_to": date_to,
            "lo": lo,
            "hi": hi,
        },
    )
    row: Any = result.one_or_none()
    if row is None or row.duration_minutes is None or not row.professional_known:
        raise NotFound()
    pro_ids: list[UUID] = row.pro_id or []
    if professional_id is not None and not pro_ids:
        raise ServiceNotOffered()
    count = len(pro_ids)
    business_hours, business_breaks, own_hours, own_breaks = _weekly(row, count)
    closures, special_hours = _dated(row)
    time_off, busy = _absolute(row, count)
    offered = frozenset((service_id,))
    professionals = tuple(
        ProfessionalRules(
            id=UUID(int=pro_ids[ix].int),
            display_order=row.pro_order[ix],
            active=row.pro_active[ix],
            service_ids=offered,
            weekly_hours=own_hours[ix],
            breaks=own_breaks[ix],
            time_off=time_off[ix],
            busy=busy[ix],
        )
        for ix in range(count)
    )
    return BusinessRules(
        timezone=row.timezone,
        slot_step_minutes=row.slot_step_minutes,
        min_notice_minutes=row.min_notice_minutes,
        horizon_days=row.horizon_days,
        weekly_hours=business_hours,
        breaks=business_breaks,
        closures=closures,
        special_hours=special_hours,
        services={
            service_id: ServiceRules(
                id=service_id,
                duration_minutes=row.duration_minutes,
                buffer_before_minutes=row.buffer_before_minutes,
                buffer_after_minutes=row.buffer_after_minutes,
                active=row.service_active,
            )
        },
        professionals=professionals,
    )
