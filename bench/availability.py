"""Availability latency: the pure engine, the loader, the service call and the HTTP endpoint.

    .venv/bin/python bench/availability.py [--rounds N] [--history-days N] [--gc-freeze]

Uses ``DATABASE_URL`` (an owner URL; a database ``slotwise_bench`` is created on it) or
starts its own embedded PostgreSQL in a temporary folder. Seeds one business per staff
size (1, 10, 25, 50 professionals) in America/New_York, open Monday to Saturday
09:00-18:00 with a 12:00-13:00 lunch break, a 30-minute service on a 15-minute grid, and
about 40% of every professional's working time booked with 30- and 60-minute
appointments over the next 63 days, and as much over the past ``--history-days`` (365 by
default: a year of a salon's history, which no answer needs and none may read). Then
prints median and p95 (milliseconds) of:

- engine:  ``engine.list_slots`` on rules already in memory;
- load:    a transaction running ``repository.load_rules`` (BEGIN, the tenant setting, the
           one statement, COMMIT), decoded into engine rules;
- to_read: ``service.to_read``, the engine's slots as the response model;
- JSON:    ``AvailabilityRead.model_dump_json()``;
- service: ``service.list_availability`` — what the server does for one request
           (slug lookup, transaction, load, engine, response model);
- http:    ``GET /api/v1/public/businesses/{slug}/availability`` through the whole ASGI
           app (middleware, rate limiter, validation, JSON) over httpx's ASGI transport,
           with the public GET cache (``caching/``) off: the endpoint's own cost;
- cached:  the same request answered by that cache (a hit: no SQL, no engine);

for (a) 1 professional x 1 day, (b) 10 professionals x 30 days, (c) 50 professionals x 62
days, and a growth table of the service call over days x professionals.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _common import database_server, machine, postgres, prepare_database  # noqa: E402

from slotwise.app import create_app  # noqa: E402
from slotwise.availability import engine, repository, service  # noqa: E402
from slotwise.availability.schemas import AvailabilityQuery  # noqa: E402
from slotwise.db.database import Database  # noqa: E402
from slotwise.db.urls import to_libpq, with_user  # noqa: E402
from slotwise.settings import Settings  # noqa: E402
from slotwise.tenancy.service import TenantResolver  # noqa: E402

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
STAFF_SIZES = (1, 10, 25, 50)
GROWTH_DAYS = (1, 7, 15, 30, 62)
SEED_DAYS = 63
BOOKED_SHARE = 0.4
OPEN, LUNCH, REOPEN, CLOSE = 9 * 60, 12 * 60, 13 * 60, 18 * 60
BENCH_DB = "slotwise_bench"


class Business:
    def __init__(self, professionals: int) -> None:
        self.tenant_id = uuid.uuid4()
        self.slug = f"bench-{professionals}-pros"
        self.service_id = uuid.uuid4()
        self.professionals = professionals
        self.professional_ids = [uuid.uuid4() for _ in range(professionals)]
        self.customer_id = uuid.uuid4()
        self.appointments = 0
        self.history = 0
        self.booked_minutes = 0
        self.working_minutes = 0


def _local(d: date, minute: int) -> datetime:
    return datetime.combine(d, dtime(), tzinfo=ZONE) + timedelta(minutes=minute)


async def seed(
    conn: asyncpg.Connection, business: Business, first_day: date, history_days: int
) -> None:
    """One business, its hours and ~40% of its working time booked, ahead and over the past
    ``history_days`` (as the schema owner). ``working_minutes``/``booked_minutes`` count the
    days ahead only."""
    rng = random.Random(business.professionals)
    tid = business.tenant_id
    await conn.execute(
        "INSERT INTO tenants (id, slug, name, timezone) VALUES ($1, $2, $3, $4)",
        tid,
        business.slug,
        f"Bench salon {business.professionals}",
        TZ,
    )
    await conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, 'Cut', 30)",
        tid,
        business.service_id,
    )
    await conn.executemany(
        "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
        " VALUES ($1, $2, $3, $4)",
        [(tid, weekday, OPEN, CLOSE) for weekday in range(6)],
    )
    await conn.executemany(
        "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute, label)"
        " VALUES ($1, $2, $3, $4, 'Lunch')",
        [(tid, weekday, LUNCH, REOPEN) for weekday in range(6)],
    )
    await conn.executemany(
        "INSERT INTO professionals (tenant_id, id, name, display_order) VALUES ($1, $2, $3, $4)",
        [(tid, pid, f"Pro {i}", i) for i, pid in enumerate(business.professional_ids)],
    )
    await conn.executemany(
        "INSERT INTO offerings (tenant_id, professional_id, service_id) VALUES ($1, $2, $3)",
        [(tid, pid, business.service_id) for pid in business.professional_ids],
    )
    await conn.execute(
        "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'Bench', $3)",
        tid,
        business.customer_id,
        f"bench-{business.professionals}@example.com",
    )
    records: list[tuple[Any, ...]] = []
    history = 0
    for offset in range(-history_days, SEED_DAYS):
        d = first_day + timedelta(days=offset)
        if d.weekday() == 6:
            continue
        ahead = offset >= 0
        for pid in business.professional_ids:
            for lo, hi in ((OPEN, LUNCH), (REOPEN, CLOSE)):
                business.working_minutes += (hi - lo) if ahead else 0
                minute = lo
                while minute < hi:
                    length = 60 if rng.random() < 0.3 and minute + 60 <= hi else 30
                    if rng.random() < BOOKED_SHARE:
                        start = _local(d, minute)
                        records.append(
                            (
                                tid,
                                uuid.uuid4(),
                                pid,
                                business.service_id,
                                business.customer_id,
                                start,
                                start + timedelta(minutes=length),
                                asyncpg.Range(empty=True),
                                "confirmed" if ahead else "completed",
                            )
                        )
                        business.booked_minutes += length if ahead else 0
                        history += 0 if ahead else 1
                    minute += length
    await conn.copy_records_to_table(
        "appointments",
        records=records,
        columns=[
            "tenant_id",
            "id",
            "professional_id",
            "service_id",
            "customer_id",
            "starts_at",
            "ends_at",
            "occupied",
            "status",
        ],
    )
    business.appointments = len(records) - history
    business.history = history


def _ms(samples_ns: list[int]) -> tuple[float, float, float]:
    """Median, p95 and minimum in milliseconds (the minimum shows the cost without
    interference from other processes on a shared machine)."""
    ordered = sorted(samples_ns)
    median = statistics.median(ordered) / 1e6
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] / 1e6
    return median, p95, ordered[0] / 1e6


async def measure(work: Callable[[], Awaitable[Any]], rounds: int, warmup: int = 3) -> list[int]:
    for _ in range(warmup):
        await work()
    samples: list[int] = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        await work()
        samples.append(time.perf_counter_ns() - started)
    return samples


async def run(server_url: str, rounds: int, freeze: bool, history_days: int) -> None:
    owner = await prepare_database(server_url, BENCH_DB)

    now = datetime.now(UTC)
    first_day = now.astimezone(ZONE).date() + timedelta(days=1)
    businesses = {size: Business(size) for size in STAFF_SIZES}
    conn = await asyncpg.connect(to_libpq(owner))
    try:
        seeding = time.perf_counter()
        for business in businesses.values():
            await seed(conn, business, first_day, history_days)
        # What the seeding left to the background is done now, not while the figures are
        # taken: the change feed it wrote (a relay would publish it and the cache re-warm
        # on every batch), vacuum, statistics, dirty pages.
        await conn.execute("TRUNCATE live_changes")
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
        seeded_in = time.perf_counter() - seeding
    finally:
        await conn.close()

    print(f"machine: {machine()}\n{await postgres(owner)}")
    for business in businesses.values():
        share = business.booked_minutes / business.working_minutes
        print(
            f"seeded {business.slug}: {business.appointments} appointments ahead,"
            f" {share:.0%} of working time booked; {business.history} in the past"
            f" {history_days} days"
        )
    print(f"seeding took {seeded_in:.1f} s; {rounds} rounds per figure (after 3 warm-up)\n")

    database = Database(with_user(owner, "slotwise_app"), pool_size=4)
    settings = Settings(
        environment="test",
        log_level="WARNING",
        rate_limit_public="100000000/minute",
        rate_limit_tenant="100000000/minute",
    )
    app = create_app(settings, database=database)
    # The same app without the public GET cache: what the endpoint itself costs.
    uncached = create_app(settings.model_copy(update={"cache_enabled": False}), database=database)
    resolver = TenantResolver()

    async def case(
        business: Business, days: int, what: tuple[str, ...]
    ) -> tuple[dict[str, tuple[float, float, float]], int]:
        """Median and p95 of each of ``what``, and the number of slots listed."""
        date_from = first_day
        date_to = first_day + timedelta(days=days - 1)
        query = AvailabilityQuery(
            service_id=business.service_id, date_from=date_from, date_to=date_to
        )
        out: dict[str, tuple[float, float, float]] = {}

        async def load() -> engine.BusinessRules:
            async with database.transaction(business.tenant_id) as conn:
                return await repository.load_rules(
                    conn,
                    business.tenant_id,
                    service_id=business.service_id,
                    date_from=date_from,
                    date_to=date_to,
                    now=now,
                )

        rules = await load()
        listed = engine.list_slots(rules, business.service_id, date_from, date_to, now)
        if "engine" in what:

            async def pure() -> None:
                engine.list_slots(rules, business.service_id, date_from, date_to, now)

            out["engine"] = _ms(await measure(pure, rounds))
        if "shape" in what:

            async def shape() -> None:
                service.to_read(rules, business.service_id, listed)

            out["shape"] = _ms(await measure(shape, rounds))
            answer = service.to_read(rules, business.service_id, listed)

            async def dump() -> None:
                answer.model_dump_json()

            out["json"] = _ms(await measure(dump, rounds))
        if "load" in what:
            # The transaction's round trips (BEGIN, set_config, COMMIT) are counted too.
            out["load"] = _ms(await measure(load, rounds))
        if "service" in what:

            async def call() -> None:
                await service.list_availability(database, resolver, business.slug, query, now=now)

            out["service"] = _ms(await measure(call, rounds))
        if "http" in what:
            params = {
                "service_id": str(business.service_id),
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
            }
            url = f"/api/v1/public/businesses/{business.slug}/availability"

            for key, http in (("http", direct), ("cached", client)):

                async def get(http: httpx.AsyncClient = http) -> None:
                    response = await http.get(url, params=params)
                    if response.status_code != 200:
                        raise RuntimeError(f"{response.status_code}: {response.text}")

                out[key] = _ms(await measure(get, rounds))
        return out, sum(len(day.slots) for day in listed)

    everything = ("engine", "load", "shape", "json", "service", "http", "cached")
    print(f"garbage collector: {'frozen after start-up' if freeze else 'default'}\n")
    async with (
        app.router.lifespan_context(app),
        uncached.router.lifespan_context(uncached),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=uncached), base_url="http://b"
        ) as direct,
    ):
        if freeze:
            # Start-up objects (modules, the app) move out of the collector's way, so the
            # full collections that a request's allocations trigger stay short.
            gc.collect()
            gc.freeze()
        scenarios = (
            ("(a) 1 professional x 1 day", businesses[1], 1),
            ("(b) 10 professionals x 30 days", businesses[10], 30),
            ("(c) 50 professionals x 62 days", businesses[50], 62),
        )
        print(
            "| scenario | slots | engine | load_rules | to_read | JSON | service call"
            " | HTTP, no cache | HTTP, cache hit |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for label, business, days in scenarios:
            figures, slots = await case(business, days, everything)
            cells = " | ".join(
                "{:.2f} / {:.2f} / {:.2f}".format(*figures[key]) for key in everything
            )
            print(f"| {label} | {slots} | {cells} |")
        print("\nmedian / p95 / min in ms\n")

        print("service call, median ms (p95), by days x professionals:\n")
        print("| days \\ professionals | " + " | ".join(str(s) for s in STAFF_SIZES) + " |")
        print("|---" * (len(STAFF_SIZES) + 1) + "|")
        for days in GROWTH_DAYS:
            growth: list[str] = []
            for size in STAFF_SIZES:
                figures, _ = await case(businesses[size], days, ("service",))
                median, p95, _least = figures["service"]
                growth.append(f"{median:.2f} ({p95:.2f})")
            print(f"| {days} | " + " | ".join(growth) + " |")
    print("\nload average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="timed calls per figure")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() once the app is up, as a server would after start-up",
    )
    parser.add_argument(
        "--history-days", type=int, default=365, help="days of past appointments to seed"
    )
    args = parser.parse_args()
    with database_server() as (server_url, _folder):
        asyncio.run(run(server_url, args.rounds, args.gc_freeze, args.history_days))


if __name__ == "__main__":
    main()
