"""The in-process cache of public answers (business profile, availability listings).

Answers are invalidated exactly by the live change feed (``generations``), in every process,
since every process listens to the same feed; TTLs only bound the damage of a change the
feed could not describe (time passing: notice periods, "today"). While the feed is down
nothing is served from or stored in the cache: a gap in the feed could hide a change.

Read-your-writes in this process: a successful write under a tenant invalidates that
tenant's answers at once; a write that names an appointment (a booking, a cancellation)
instead fences the tenant — its reads bypass the cache — until the feed delivers that
appointment's change (exact invalidation), or a short deadline passes (then the tenant's
answers are dropped)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from slotwise.caching.generations import Generations, Key, keys_of_change, tenant_keys
from slotwise.realtime.changes import Change
from slotwise.settings import Settings

# A write's own change normally arrives within milliseconds; past this, assume it never will.
FENCE_SECONDS = 2.0
RECENT_APPOINTMENTS = 4096
HOT_QUERIES_PER_TENANT = 8
TRACKED_TENANTS = 2000

CacheKey = tuple[object, ...]


@dataclass(slots=True)
class Entry:
    """A cached 200 answer and what it depends on."""

    created: int
    dependencies: tuple[Key, ...]
    expires: float
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes
    cache_control: bytes


@dataclass(frozen=True, slots=True)
class HotQuery:
    path: str
    query_string: bytes
    date_to: date | None


class ResponseCache:
    def __init__(self, settings: Settings) -> None:
        self.enabled = (
            settings.cache_enabled and settings.live_updates and settings.cache_max_entries > 0
        )
        self.max_entries = settings.cache_max_entries
        self.profile_ttl = float(settings.cache_profile_ttl_seconds)
        self.availability_ttl = float(settings.cache_availability_ttl_seconds)
        self.warm_tenants = settings.cache_warm_tenants
        self.generations = Generations()
        self.feed_up = False
        # Counts the changes received: a write compares it to tell its own change arrived.
        self.feed_seq = 0
        self.inflight: dict[CacheKey, asyncio.Future[Entry | None]] = {}
        self._entries: OrderedDict[CacheKey, Entry] = OrderedDict()
        # tenant (None: not known) -> appointment -> deadline (monotonic)
        self._fences: dict[UUID | None, dict[UUID, float]] = {}
        self._seen_appointments: OrderedDict[UUID, int] = OrderedDict()
        self.views: Counter[UUID] = Counter()
        self._hot: dict[UUID, Counter[HotQuery]] = {}
        self.on_invalidated: Callable[[UUID], None] | None = None
        self.hits = self.misses = self.bypasses = self.stores = 0

    # -- the change feed (realtime.lifecycle.ChangeObserver) ------------------------------

    def apply_changes(self, changes: Sequence[Change]) -> None:
        touched: set[UUID] = set()
        for change in changes:
            self.feed_seq += 1
            keys = keys_of_change(change)
            if keys:
                self.generations.bump(keys)
                touched.add(change.tenant_id)
            if change.appointment_id is not None:
                self._appointment_seen(change.tenant_id, change.appointment_id)
        if self.on_invalidated is not None:
            for tenant_id in touched:
                self.on_invalidated(tenant_id)

    def feed_connected(self, gap: bool) -> None:
        if gap:
            self.generations.bump_all()
            self._fences.clear()
        self.feed_up = True

    def feed_lost(self) -> None:
        self.feed_up = False

    # -- reads ---------------------------------------------------------------------------

    def usable(self, tenant_id: UUID) -> bool:
        """Whether answers of ``tenant_id`` may be served from and stored in the cache."""
        return self.enabled and self.feed_up and not self._fenced(tenant_id)

    def ttl(self, kind: str) -> float:
        return self.profile_ttl if kind == "profile" else self.availability_ttl

    def lookup(self, key: CacheKey) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= time.monotonic() or not self.generations.valid(
            entry.created, entry.dependencies
        ):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def is_current(self, entry: Entry) -> bool:
        return self.generations.valid(entry.created, entry.dependencies)

    def store(self, key: CacheKey, entry: Entry) -> bool:
        """Keep ``entry`` unless a change landed while it was computed."""
        if not self.is_current(entry):
            return False
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        self.stores += 1
        return True

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self.generations.bump_all()
        self._entries.clear()

    # -- writes of this process ----------------------------------------------------------

    def note_write(self, tenant_id: UUID | None, appointment_id: UUID | None, since: int) -> None:
        """A write succeeded (``since``: ``feed_seq`` when it started)."""
        if appointment_id is not None:
            seen = self._seen_appointments.get(appointment_id)
            if seen is not None and seen > since:
                return  # its change already arrived (and invalidated what it touched)
            fences = self._fences.setdefault(tenant_id, {})
            fences[appointment_id] = time.monotonic() + FENCE_SECONDS
        elif tenant_id is not None:
            self.generations.bump(tenant_keys(tenant_id))

    def _appointment_seen(self, tenant_id: UUID, appointment_id: UUID) -> None:
        self._seen_appointments[appointment_id] = self.feed_seq
        self._seen_appointments.move_to_end(appointment_id)
        if len(self._seen_appointments) > RECENT_APPOINTMENTS:
            self._seen_appointments.popitem(last=False)
        for owner in (tenant_id, None):
            fences = self._fences.get(owner)
            if fences is not None and fences.pop(appointment_id, None) is not None and not fences:
                del self._fences[owner]

    def _fenced(self, tenant_id: UUID) -> bool:
        if not self._fences:
            return False
        now = time.monotonic()
        for owner, fences in list(self._fences.items()):
            for appointment_id, deadline in list(fences.items()):
                if deadline <= now:
                    # The change never came (or the write changed nothing): drop instead.
                    del fences[appointment_id]
                    if owner is None:
                        self.generations.bump_all()
                    else:
                        self.generations.bump(tenant_keys(owner))
            if not fences:
                del self._fences[owner]
        return tenant_id in self._fences or None in self._fences

    # -- what to warm ----------------------------------------------------------------------

    def record_view(self, tenant_id: UUID, query: HotQuery) -> None:
        self.views[tenant_id] += 1
        hot = self._hot.setdefault(tenant_id, Counter())
        hot[query] += 1
        if len(hot) > HOT_QUERIES_PER_TENANT * 4:
            self._hot[tenant_id] = Counter(dict(hot.most_common(HOT_QUERIES_PER_TENANT)))
        if len(self.views) > TRACKED_TENANTS:
            keep = dict(self.views.most_common(TRACKED_TENANTS // 2))
            self.views = Counter(keep)
            self._hot = {t: q for t, q in self._hot.items() if t in keep}

    def hottest_tenants(self) -> list[UUID]:
        return [t for t, _ in self.views.most_common(self.warm_tenants)]

    def hot_queries(self, tenant_id: UUID, not_before: date) -> list[HotQuery]:
        """The most asked answers of ``tenant_id`` that are not about the past."""
        counter = self._hot.get(tenant_id)
        if not counter:
            return []
        return [
            q
            for q, _ in counter.most_common(HOT_QUERIES_PER_TENANT)
            if q.date_to is None or q.date_to >= not_before
        ][: HOT_QUERIES_PER_TENANT // 2]
