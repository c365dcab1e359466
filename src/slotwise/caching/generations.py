"""Exact invalidation by generation stamps.

Every change bumps the keys it touches to a new global sequence number. A cached answer
remembers the sequence number read *before* it was computed and the keys it depends on;
it is valid while none of those keys was bumped after that. A change that lands while an
answer is being computed therefore invalidates it, and nothing is ever deleted by search.

Keys (T tenant, P professional, d local date):
``("t", T)`` tenant-wide rules; ``("td", T, d)`` business-wide rules of one date;
``("p", T, P)`` one professional's rules; ``("pd", T, P, d)`` one professional's date;
``("a", T)``/``("ad", T, d)`` the same for "any professional" answers (bumped with every
professional's); ``("c", T)`` the public profile/catalog."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from datetime import date
from uuid import UUID

from slotwise.realtime.changes import Change

Key = tuple[Hashable, ...]

# More remembered keys than this: start over (everything cached becomes invalid), which
# keeps memory bounded without having to know which answers depend on a forgotten key.
MAX_KEYS = 200_000


def keys_of_change(change: Change) -> list[Key]:
    """The keys a committed change invalidates (none when it cannot alter the answers)."""
    t, p = change.tenant_id, change.professional_id
    if change.kind == "catalog":
        if p is None:
            return [("t", t), ("c", t)]
        return [("p", t, p), ("a", t), ("c", t)]
    if not change.affects_availability:
        return []
    if p is None:
        if change.dates is None:
            return [("t", t)]
        return [("td", t, d) for d in change.dates]
    if change.dates is None:
        return [("p", t, p), ("a", t)]
    keys: list[Key] = []
    for d in change.dates:
        keys.append(("pd", t, p, d))
        keys.append(("ad", t, d))
    return keys


def availability_dependencies(
    tenant_id: UUID, professional_id: UUID | None, dates: Sequence[date]
) -> tuple[Key, ...]:
    """What an availability answer for these dates depends on."""
    keys: list[Key] = [("t", tenant_id)]
    keys.extend(("td", tenant_id, d) for d in dates)
    if professional_id is None:
        keys.append(("a", tenant_id))
        keys.extend(("ad", tenant_id, d) for d in dates)
    else:
        keys.append(("p", tenant_id, professional_id))
        keys.extend(("pd", tenant_id, professional_id, d) for d in dates)
    return tuple(keys)


def profile_dependencies(tenant_id: UUID) -> tuple[Key, ...]:
    return (("c", tenant_id),)


def tenant_keys(tenant_id: UUID) -> list[Key]:
    """Everything of one tenant: every answer depends on one of these."""
    return [("t", tenant_id), ("c", tenant_id)]


class Generations:
    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.seq = 0
        self.floor = 0
        self.max_keys = max_keys
        self._last: dict[Key, int] = {}

    def bump(self, keys: Iterable[Key]) -> None:
        self.seq += 1
        last = self._last
        for key in keys:
            last[key] = self.seq
        if len(last) > self.max_keys:
            self.bump_all()

    def bump_all(self) -> None:
        """Invalidate everything (a gap in the change feed, or too many keys)."""
        self.seq += 1
        self.floor = self.seq
        self._last.clear()

    def valid(self, created: int, keys: Iterable[Key]) -> bool:
        if created < self.floor:
            return False
        last = self._last
        return all(last.get(key, 0) <= created for key in keys)
