"""What a booking costs the database, part by part: backend CPU per booking on one connection.

    .venv/bin/python bench/booking_parts.py [--bookings 2000] [--rounds 3]

The business of ``bench/booking.py`` (same seed, own database ``slotwise_bench_booking``),
one asyncpg connection as the app role; the PostgreSQL backend's own CPU time (``psutil``)
over ``--bookings`` bookings per case, the cases interleaved ``--rounds`` times, medians:

- raw INSERT: the INSERT of ``bench/booking.py`` alone, autocommit;
- raw INSERT in a transaction: the same between ``BEGIN`` + scope and ``COMMIT``;
- booking statement, known customer, no rules: the app's statement (``booking/repository.py``)
  with a customer id and ``check`` off;
- booking statement, new customer, no rules: its customer upsert inserting a customer;
- booking statement, new customer, with rules: the app's booking (``slot_rejection`` on);

then ``slot_rejection`` alone, as a statement of its own in a transaction, and called 1,000
times inside one statement (per call). Why the app cannot get closer to the raw INSERT than
the database allows its own booking: see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import psutil
from _common import database_server, machine, postgres, prepare_database
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from booking import BENCH_DB, RAW_INSERT, ZONE, Business, Slots, seed
from slotwise.booking.repository import _BOOK
from slotwise.db.urls import to_libpq, with_user


async def backend_cpu_us(
    conn: asyncpg.Connection, action: Callable[[], Awaitable[None]], n: int
) -> float:
    """CPU microseconds the connection's backend spends per call of ``action``."""
    backend = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
    before = sum(backend.cpu_times()[:2])
    for _ in range(n):
        await action()
    return (sum(backend.cpu_times()[:2]) - before) / n * 1e6


async def run(server_url: str, args: argparse.Namespace) -> None:
    owner_url = await prepare_database(server_url, BENCH_DB)
    business = Business(64)
    await seed(owner_url, business)
    print(f"machine: {machine()}\n{await postgres(owner_url)}")
    conn = await asyncpg.connect(to_libpq(with_user(owner_url, "slotwise_app")))
    compiled = _BOOK.compile(dialect=asyncpg_dialect.dialect())
    order = list(compiled.positiontup or [])
    booking_statement = await conn.prepare(compiled.string)
    raw_insert = await conn.prepare(RAW_INSERT)
    begin = f"BEGIN; SELECT set_config('app.tenant_id', '{business.tenant_id}', true)"
    # The autocommit INSERT runs under this session scope; transactions set their own.
    await conn.execute(f"SELECT set_config('app.tenant_id', '{business.tenant_id}', false)")
    first_day = datetime.now(ZONE).date() + timedelta(days=1)
    serial = iter(range(10**9))

    def case(
        *, raw: bool, transaction: bool, known: bool = False, rules: bool = False
    ) -> Callable[[], Awaitable[None]]:
        slots = Slots(business, first_day + timedelta(days=40 * next(serial)))

        async def book() -> None:
            professional, start = slots.take()
            if transaction:
                await conn.execute(begin)
            if raw:
                await raw_insert.fetch(
                    professional, business.service_id, business.customer_id, start,
                    start + timedelta(minutes=30),
                )  # fmt: skip
            else:
                n = next(serial)
                values = {
                    "customer": business.customer_id if known else None,
                    "name": f"Client {n}", "email": f"c{n}@parts.example", "phone": None,
                    "check": rules, "professional": professional,
                    "service": business.service_id, "start": start,
                    "now": datetime.now(UTC), "notes": "", "source": "public",
                }  # fmt: skip
                row = await booking_statement.fetchrow(*[values[name] for name in order])
                assert row is not None and row["id"] is not None, "not booked"
            if transaction:
                await conn.execute("COMMIT")

        return book

    cases = {
        "raw INSERT": case(raw=True, transaction=False),
        "raw INSERT in a transaction": case(raw=True, transaction=True),
        "booking statement, known customer, no rules": case(
            raw=False, transaction=True, known=True
        ),
        "booking statement, new customer, no rules": case(raw=False, transaction=True),
        "booking statement, new customer, with rules": case(
            raw=False, transaction=True, rules=True
        ),
    }
    figures: dict[str, list[float]] = {name: [] for name in cases}
    for action in cases.values():
        await backend_cpu_us(conn, action, 100)  # warm-up: plans, caches
    for _ in range(args.rounds):
        for name, action in cases.items():
            figures[name].append(await backend_cpu_us(conn, action, args.bookings))
    print(
        f"backend CPU per booking, one connection, median of {args.rounds} rounds"
        f" of {args.bookings}:"
    )
    for name, values in figures.items():
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"  {name:46s} {statistics.median(values):7.0f} us   (rounds: {rounds})")

    professional = business.professional_ids[0]
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=ZONE) + timedelta(hours=10)
    check = await conn.prepare("SELECT slot_rejection($1, $2, $3, $4)")

    async def one_check() -> None:
        await conn.execute(begin)
        await check.fetchval(professional, business.service_id, start, datetime.now(UTC))
        await conn.execute("COMMIT")

    async def empty() -> None:
        await conn.execute(begin)
        await conn.execute("COMMIT")

    alone = statistics.median(
        [
            await backend_cpu_us(conn, one_check, args.bookings)
            - await backend_cpu_us(conn, empty, args.bookings)
            for _ in range(args.rounds)
        ]
    )
    began = time.perf_counter()
    await conn.fetchval(
        "SELECT count(slot_rejection($1, $2, $3, now())) FROM generate_series(1, 1000)",
        professional, business.service_id, start,
    )  # fmt: skip
    looped = (time.perf_counter() - began) / 1000 * 1e6
    print(f"slot_rejection as a statement of its own: {alone:.0f} us of backend CPU per call")
    print(f"slot_rejection 1,000 times inside one statement: {looped:.0f} us per call (wall)")
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=2000, help="per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with database_server() as (server_url, _folder):
        asyncio.run(run(server_url, args))


if __name__ == "__main__":
    main()
