"""Rule sets written into a real database (as the schema owner), for the availability tests
that compare what the database holds with what the engine and ``slot_rejection`` answer.

``random_rule_set(seed)`` draws everything SPEC §2 knows about (hours that touch, breaks that
overlap, closures, special hours, own hours and breaks, time off across midnight, buffers,
cancelled appointments, inactive rows, missing offerings); ``dst_rule_set`` centres one on a
zone's clock change, with hours drawn around the change."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg

ZONES = (
    "America/Sao_Paulo",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
)
STATUSES = ("pending", "confirmed", "confirmed", "completed", "no_show", "cancelled")

Minutes = tuple[int, int]


@dataclass
class Pro:
    id: uuid.UUID
    order: int
    active: bool
    offers: bool
    hours: dict[int, list[Minutes]] = field(default_factory=dict)
    breaks: dict[int, list[Minutes]] = field(default_factory=dict)
    time_off: list[tuple[datetime, datetime]] = field(default_factory=list)
    # (start, minutes, buffer before, buffer after, status)
    appointments: list[tuple[datetime, int, int, int, str]] = field(default_factory=list)


@dataclass
class RuleSet:
    seed: int
    timezone: str
    day0: date
    now: datetime
    step: int
    notice: int
    horizon: int
    duration: int
    before: int
    after: int
    service_active: bool
    hours: dict[int, list[Minutes]]
    breaks: dict[int, list[Minutes]]
    closures: list[date]
    special: dict[date, list[Minutes]]
    pros: list[Pro]
    tenant_id: uuid.UUID = field(default_factory=uuid.uuid4)
    service_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def local(self, d: date, minute: int) -> datetime:
        """Local minute of a date as an instant, the way SPEC §2 says (zoneinfo, fold=0)."""
        wall = datetime.combine(d, time()) + timedelta(minutes=minute)
        return wall.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    def candidates(self, rng: random.Random) -> list[datetime]:
        """Every 5 minutes over the three local days from ``day0``, plus a few starts off
        that lattice (seconds and odd minutes)."""
        first = self.local(self.day0, 0)
        last = self.local(self.day0 + timedelta(days=3), 0)
        out = []
        t = first
        while t < last:
            out.append(t)
            t += timedelta(minutes=5)
        span = int((last - first).total_seconds())
        out += [first + timedelta(seconds=rng.randrange(span)) for _ in range(24)]
        return out


def _intervals(rng: random.Random, points: list[int], count: int) -> list[Minutes]:
    """``count`` non-overlapping intervals over sorted cut points (they may touch)."""
    chosen = sorted(rng.sample(points, min(len(points), 2 * count)))
    out = []
    for i in range(0, len(chosen) - 1, 2):
        out.append((chosen[i], chosen[i + 1]))
    if len(out) >= 2 and rng.random() < 0.3:  # make two of them touch
        (a, b), (_c, d) = out[0], out[1]
        out[0:2] = [(a, b), (b, d)]
    return out


def _overlapping(rng: random.Random, points: list[int], count: int) -> list[Minutes]:
    """Intervals that may overlap each other (breaks have no exclusion constraint)."""
    out = []
    for _ in range(count):
        a, b = sorted(rng.sample(points, 2))
        out.append((a, b))
    return out


def _weekly(
    rng: random.Random, points: list[int], most: int, *, overlap: bool
) -> dict[int, list[Minutes]]:
    out = {}
    for weekday in range(7):
        count = rng.randrange(most + 1)
        if count:
            out[weekday] = (
                _overlapping(rng, points, count) if overlap else _intervals(rng, points, count)
            )
    return out


def random_rule_set(
    seed: int,
    *,
    timezone: str | None = None,
    day0: date | None = None,
    points: list[int] | None = None,
) -> RuleSet:
    rng = random.Random(seed)
    tz = timezone or rng.choice(ZONES)
    d0 = day0 or date(2027, 1, 1) + timedelta(days=rng.randrange(365))
    cut = points or list(range(0, 1441, 5))
    day_points = [p for p in cut if 300 <= p <= 1380] if points is None else cut
    rules = RuleSet(
        seed=seed,
        timezone=tz,
        day0=d0,
        now=datetime(2000, 1, 1, tzinfo=UTC),
        step=rng.choice([5, 10, 15, 20, 25, 30, 45, 60, 90]),
        notice=rng.choice([0, 0, 30, 60, 240, 1440]),
        horizon=rng.choice([1, 2, 3, 60, 60]),
        duration=rng.choice([5, 15, 30, 45, 60, 90, 120]),
        before=rng.choice([0, 0, 5, 10, 15, 30]),
        after=rng.choice([0, 0, 5, 10, 15, 30]),
        service_active=rng.random() < 0.92,
        hours=_weekly(rng, day_points, 3, overlap=False),
        breaks=_weekly(rng, day_points, 2, overlap=True),
        closures=[],
        special={},
        pros=[],
    )
    rules.now = rules.local(d0, 0) + timedelta(minutes=5 * rng.randrange(-288, 288))
    if points is not None:  # around a clock change: the same hours every weekday
        same = _intervals(rng, day_points, rng.randrange(1, 3))
        rules.hours = {weekday: list(same) for weekday in range(7)}
        rules.breaks = {weekday: _overlapping(rng, day_points, 1) for weekday in range(7)}
    for offset in range(-1, 5):
        d = d0 + timedelta(days=offset)
        roll = rng.random()
        if roll < 0.08:
            rules.closures.append(d)
            if rng.random() < 0.5:  # a closure wins over special hours of the same date
                rules.special[d] = _intervals(rng, day_points, 1)
        elif roll < 0.25:
            rules.special[d] = _intervals(rng, day_points, rng.randrange(1, 3))
    origin = rules.local(d0, 0)
    for _ in range(rng.randrange(1, 4)):
        pro = Pro(
            id=uuid.uuid4(),
            order=rng.randrange(3),
            active=rng.random() < 0.85,
            offers=rng.random() < 0.85,
        )
        if rng.random() < 0.4:
            pro.hours = _weekly(rng, day_points, 2, overlap=False)
        if rng.random() < 0.3:
            pro.breaks = _weekly(rng, day_points, 1, overlap=True)
        for _ in range(rng.randrange(3)):
            start = origin + timedelta(minutes=5 * rng.randrange(-288, 1000))
            pro.time_off.append((start, start + timedelta(minutes=5 * rng.randrange(1, 400))))
        for _ in range(rng.randrange(12)):
            start = origin + timedelta(minutes=5 * rng.randrange(-100, 900))
            if rng.random() < 0.1:
                start += timedelta(seconds=rng.randrange(1, 300))
            pro.appointments.append(
                (
                    start,
                    rng.choice([15, 30, 45, 60, 120]),
                    rng.choice([0, 0, 5, 15]),
                    rng.choice([0, 0, 5, 15]),
                    rng.choice(STATUSES),
                )
            )
        rules.pros.append(pro)
    return rules


# Business hours (the same every weekday) cut inside and around the clock changes of the
# zones tested, which happen between 01:00 and 03:00 local time.
DST_HOURS: tuple[list[Minutes], ...] = (
    [(0, 1440)],
    [(60, 130), (130, 200)],
    [(75, 110), (125, 190), (600, 720)],
)


def dst_rule_set(seed: int, timezone: str, change: date, hours: list[Minutes]) -> RuleSet:
    """A rule set over the day before, of and after a clock change, open ``hours`` every
    day, with everything active and bookable from ``now`` on (so that every candidate
    reaches the working-time and grid rules), at most one short break, random time off and
    appointments."""
    points = sorted({0, 30, 60, 90, 100, 110, 120, 125, 130, 150, 170, 180, 200, 240, 1440})
    rules = random_rule_set(seed, timezone=timezone, day0=change - timedelta(days=1), points=points)
    rng = random.Random(-seed)
    rules.hours = {weekday: list(hours) for weekday in range(7)}
    pause = rng.choice([(100, 110), (125, 130), (140, 150), (170, 180)])
    rules.breaks = {weekday: [pause] for weekday in range(7)} if rng.random() < 0.5 else {}
    rules.closures = []
    rules.special = {}
    rules.notice = 0
    rules.horizon = 60
    rules.service_active = True
    rules.now = rules.local(rules.day0, 0) - timedelta(days=1)
    for pro in rules.pros:
        pro.active = pro.offers = True
    # The first professional keeps the business's hours, so the change is always exercised.
    rules.pros[0].hours = {}
    rules.pros[0].breaks = {}
    return rules


async def write(conn: asyncpg.Connection, rules: RuleSet) -> None:
    """Insert ``rules`` as the schema owner. Appointments that the exclusion constraint
    refuses (overlaps drawn at random) are skipped, as the database would."""
    tid = rules.tenant_id
    await conn.execute(
        "INSERT INTO tenants (id, slug, name, timezone, slot_step_minutes, min_notice_minutes,"
        " horizon_days) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tid,
        f"rs-{tid.hex[:12]}",
        f"Rules {rules.seed}",
        rules.timezone,
        rules.step,
        rules.notice,
        rules.horizon,
    )
    await conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes, buffer_before_minutes,"
        " buffer_after_minutes, active) VALUES ($1, $2, 'Service', $3, $4, $5, $6)",
        tid,
        rules.service_id,
        rules.duration,
        rules.before,
        rules.after,
        rules.service_active,
    )
    await conn.executemany(
        "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
        " VALUES ($1, $2, $3, $4)",
        [(tid, wd, s, e) for wd, ranges in rules.hours.items() for s, e in ranges],
    )
    await conn.executemany(
        "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute) VALUES ($1, $2, $3, $4)",
        [(tid, wd, s, e) for wd, ranges in rules.breaks.items() for s, e in ranges],
    )
    await conn.executemany(
        "INSERT INTO closures (tenant_id, date) VALUES ($1, $2)", [(tid, d) for d in rules.closures]
    )
    await conn.executemany(
        "INSERT INTO special_hours (tenant_id, date, start_minute, end_minute)"
        " VALUES ($1, $2, $3, $4)",
        [(tid, d, s, e) for d, ranges in rules.special.items() for s, e in ranges],
    )
    customer = uuid.uuid4()
    await conn.execute(
        "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'Ana', $3)",
        tid,
        customer,
        f"{customer.hex[:8]}@example.com",
    )
    for pro in rules.pros:
        await conn.execute(
            "INSERT INTO professionals (tenant_id, id, name, display_order, active)"
            " VALUES ($1, $2, 'Pro', $3, $4)",
            tid,
            pro.id,
            pro.order,
            pro.active,
        )
        if pro.offers:
            await conn.execute(
                "INSERT INTO offerings (tenant_id, professional_id, service_id)"
                " VALUES ($1, $2, $3)",
                tid,
                pro.id,
                rules.service_id,
            )
        await conn.executemany(
            "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
            " end_minute) VALUES ($1, $2, $3, $4, $5)",
            [(tid, pro.id, wd, s, e) for wd, ranges in pro.hours.items() for s, e in ranges],
        )
        await conn.executemany(
            "INSERT INTO breaks (tenant_id, professional_id, weekday, start_minute, end_minute)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(tid, pro.id, wd, s, e) for wd, ranges in pro.breaks.items() for s, e in ranges],
        )
        await conn.executemany(
            "INSERT INTO time_off (tenant_id, professional_id, starts_at, ends_at)"
            " VALUES ($1, $2, $3, $4)",
            [(tid, pro.id, s, e) for s, e in pro.time_off],
        )
        for start, minutes, before, after, status in pro.appointments:
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO appointments (tenant_id, professional_id, service_id,"
                        " customer_id, starts_at, ends_at, buffer_before_minutes,"
                        " buffer_after_minutes, status, occupied)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'empty')",
                        tid,
                        pro.id,
                        rules.service_id,
                        customer,
                        start,
                        start + timedelta(minutes=minutes),
                        before,
                        after,
                        status,
                    )
            except asyncpg.ExclusionViolationError:
                continue
