"""Availability rules at the edges: the public listing, and the helpers booking calls inside
its own transaction (alternatives after a conflict, the professional for "anyone").

The rules themselves are the pure engine's; this module validates the request, loads the
rules in one round trip (``repository.load_rules``) and shapes the answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.availability import engine, repository
from slotwise.availability.engine import BusinessRules, DaySlots, Rejection, Slot, Span
from slotwise.availability.schemas import AvailabilityQuery, AvailabilityRead, DayRead, SlotRead
from slotwise.db.database import Database
from slotwise.errors import ValidationFailed
from slotwise.tenancy.service import TenantResolver

MAX_DAYS = 62
DATE_TO_BEFORE_FROM = "The last date must not be before the first date."
RANGE_TOO_LONG = "Ask for at most 62 days at a time."

# Alternatives are looked for this many local days on each side of the lost start; the
# rules are loaded for one more day on each side, since the local date of ``around`` is at
# most one day away from its UTC date.
ALTERNATIVE_SEARCH_DAYS = 7


def check_range(date_from: date, date_to: date) -> None:
    """``ValidationFailed`` naming ``date_to`` for a reversed or too long range."""
    if date_to < date_from:
        raise ValidationFailed(errors=[{"field": "date_to", "message": DATE_TO_BEFORE_FROM}])
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise ValidationFailed(errors=[{"field": "date_to", "message": RANGE_TOO_LONG}])


def to_read(rules: BusinessRules, service_id: UUID, days: Sequence[DaySlots]) -> AvailabilityRead:
    """The engine's UTC slots as the public answer, times in the business's local offset.

    The values come straight from the engine, so nothing is validated again."""
    zone = ZoneInfo(rules.timezone)
    local: dict[datetime, datetime] = {}

    def at_zone(instant: datetime) -> datetime:
        # A slot's end is usually the next one's start: convert each instant once.
        hit = local.get(instant)
        if hit is None:
            hit = local[instant] = instant.astimezone(zone)
        return hit

    return AvailabilityRead.model_construct(
        timezone=rules.timezone,
        service_id=service_id,
        days=tuple(
            [
                DayRead(
                    d.date,
                    tuple(
                        [
                            SlotRead(at_zone(s.start), at_zone(s.end), s.professional_ids)
                            for s in d.slots
                        ]
                    ),
                )
                for d in days
            ]
        ),
    )


async def list_availability(
    database: Database,
    tenants: TenantResolver,
    slug: str,
    query: AvailabilityQuery,
    *,
    now: datetime | None = None,
) -> AvailabilityRead:
    """The public listing of a business's slots (SPEC §5): every date of the range listed.

    The request boundary of a read: one transaction (retried on transient failures) for the
    one statement of ``load_rules``; the engine runs after it, off the connection."""
    check_range(query.date_from, query.date_to)
    tenant_id = await tenants.resolve(database, slug)
    moment = now or datetime.now(UTC)

    async def load(conn: AsyncConnection) -> BusinessRules:
        return await repository.load_rules(
            conn,
            tenant_id,
            service_id=query.service_id,
            date_from=query.date_from,
            date_to=query.date_to,
            professional_id=query.professional_id,
            now=moment,
        )

    rules = await database.run(load, tenant_id)
    days = engine.list_slots(
        rules, query.service_id, query.date_from, query.date_to, moment, query.professional_id
    )
    return to_read(rules, query.service_id, days)


class Alternatives(NamedTuple):
    """Slots near a lost start, and the business's zone (which the rules already carry) to
    show them in."""

    timezone: str
    slots: list[Slot]


async def alternatives(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    service_id: UUID,
    professional_id: UUID | None,
    around: datetime,
    now: datetime,
    exclude: datetime | None = None,
    limit: int = 5,
) -> Alternatives:
    """Up to ``limit`` slots nearest to ``around`` (same professional first, then anyone),
    for a conflict answer; runs in the caller's transaction."""
    centre = around.astimezone(UTC).date()
    margin = timedelta(days=ALTERNATIVE_SEARCH_DAYS + 1)
    rules = await repository.load_rules(
        conn,
        tenant_id,
        service_id=service_id,
        date_from=centre - margin,
        date_to=centre + margin,
        now=now,
    )
    slots = engine.nearest_alternatives(
        rules,
        service_id,
        professional_id,
        around,
        now,
        limit=limit,
        search_days=ALTERNATIVE_SEARCH_DAYS,
        exclude=exclude,
    )
    return Alternatives(rules.timezone, slots)


async def choose_professional(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    service_id: UUID,
    start: datetime,
    now: datetime,
) -> UUID | None:
    """The professional an "any professional" booking at ``start`` gets (SPEC §2: free, the
    fewest appointments that local date, then display order), or None when nobody is free;
    runs in the caller's transaction."""
    day = start.astimezone(UTC).date()
    one = timedelta(days=1)
    rules = await repository.load_rules(
        conn, tenant_id, service_id=service_id, date_from=day - one, date_to=day + one, now=now
    )
    return engine.choose_professional(rules, service_id, start, now)


async def rejections_at(
    conn: AsyncConnection, tenant_id: UUID, *, service_id: UUID, start: datetime, now: datetime
) -> list[Rejection | None]:
    """Why each professional offering ``service_id`` could not take ``start`` (None: he
    could), in the caller's transaction: for explaining a refused booking. ``NotFound``
    for an unknown service."""
    day = start.astimezone(UTC).date()
    one = timedelta(days=1)
    rules = await repository.load_rules(
        conn, tenant_id, service_id=service_id, date_from=day - one, date_to=day + one, now=now
    )
    return [engine.check_start(rules, service_id, p.id, start, now) for p in rules.professionals]


async def open_windows(
    conn: AsyncConnection, tenant_id: UUID, *, service_ids: Sequence[UUID], day: date
) -> dict[UUID, list[Span]]:
    """Each professional's open windows of local date ``day`` (hours ∩ own hours − breaks −
    time off), for a staff day view; the first of ``service_ids`` he offers supplies his
    rules. In the caller's transaction."""
    found: dict[UUID, list[Span]] = {}
    for service_id in service_ids:
        rules = await repository.load_rules(
            conn, tenant_id, service_id=service_id, date_from=day, date_to=day
        )
        for pro in rules.professionals:
            if pro.id not in found:
                found[pro.id] = engine.open_windows(rules, pro.id, day)
    return found
