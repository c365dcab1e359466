"""Booking throughput: the app under uvicorn against the raw INSERT, in one run.

    .venv/bin/python bench/booking.py [--clients 16] [--seconds 10] [--professionals 64]
                                      [--workers N] [--profile FILE] [--keep]

Uses ``DATABASE_URL`` (an owner URL; a database ``slotwise_bench_booking`` is created on
it) or starts its own embedded PostgreSQL in a temporary folder. Seeds one business in
America/New_York open around the clock with ``--professionals`` professionals, a 30-minute
service on a 30-minute grid, no notice, a 730-day horizon. Then, with ``--clients``
concurrent clients:

1. app, distinct slots: ``POST /api/v1/public/businesses/{slug}/bookings`` through uvicorn
   (``--workers`` processes, by default one per CPU as a deployment runs it; loopback,
   keep-alive), each request a new slot and a new customer —
   bookings/s, p50/p95 latency;
2. app, contention: every round all clients ask for the same slot (one 201, the others
   409 ``slot_unavailable`` with alternatives) — rounds/s, requests/s, p50/p95;
3. raw database: the same INSERT into ``appointments`` (exclusion constraint, RLS, audit,
   live-update and outbox triggers) from ``--clients`` asyncpg connections as the app
   role, one autocommit statement per booking on distinct slots — inserts/s, p50/p95;
4. raw booking statement: the app's own transaction without the app (``BEGIN`` + scope,
   the booking statement with its customer upsert and ``slot_rejection``, ``COMMIT``) from
   the same bare connections — what the database alone allows;

with the CPU each used per booking (app server, PostgreSQL processes, bench clients), and
prints app/raw; then where the app's CPU goes per booking (the app in-process, one request
at a time: the whole booking, the HTTP layer alone, the transaction skeleton, one more
statement, and the statements counted on the engine). The clients speak HTTP/1.1 over raw
asyncio streams so that they cost the shared CPUs as little as possible. ``--profile FILE``
runs the server under cProfile and writes its stats to FILE (the figures are then not
comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _common import database_server, machine, postgres, prepare_database, serving  # noqa: E402

from slotwise.db.urls import to_libpq, with_user  # noqa: E402

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
BENCH_DB = "slotwise_bench_booking"
SLUG = "bench-booking"
STEP = 30
SLOTS_PER_DAY = 1440 // STEP


@dataclass
class Business:
    professionals: int
    tenant_id: uuid.UUID = field(default_factory=uuid.uuid4)
    service_id: uuid.UUID = field(default_factory=uuid.uuid4)
    customer_id: uuid.UUID = field(default_factory=uuid.uuid4)
    professional_ids: list[uuid.UUID] = field(default_factory=list)


class Slots:
    """Distinct (professional, start) pairs, professional fastest, from ``first_day`` on."""

    def __init__(self, business: Business, first_day: date) -> None:
        self.business = business
        self.first_day = first_day
        self.next = 0

    def take(self) -> tuple[uuid.UUID, datetime]:
        i = self.next
        self.next += 1
        pros = self.business.professional_ids
        pro = pros[i % len(pros)]
        k = (i // len(pros)) % SLOTS_PER_DAY
        day = self.first_day + timedelta(days=i // (len(pros) * SLOTS_PER_DAY))
        start = datetime.combine(day, dtime(), tzinfo=ZONE) + timedelta(minutes=STEP * k)
        return pro, start


# ------------------------------------------------------------------------ database


async def seed(owner_url: str, business: Business) -> None:
    conn = await asyncpg.connect(to_libpq(owner_url))
    try:
        tid = business.tenant_id
        await conn.execute(
            "INSERT INTO tenants (id, slug, name, timezone, slot_step_minutes,"
            " min_notice_minutes, horizon_days) VALUES ($1, $2, 'Bench Salon', $3, $4, 0, 730)",
            tid,
            SLUG,
            TZ,
            STEP,
        )
        await conn.execute(
            "INSERT INTO services (tenant_id, id, name, duration_minutes)"
            " VALUES ($1, $2, 'Cut', 30)",
            tid,
            business.service_id,
        )
        await conn.executemany(
            "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
            " VALUES ($1, $2, 0, 1440)",
            [(tid, weekday) for weekday in range(7)],
        )
        for index in range(business.professionals):
            pid = uuid.uuid4()
            business.professional_ids.append(pid)
            await conn.execute(
                "INSERT INTO professionals (tenant_id, id, name, display_order)"
                " VALUES ($1, $2, $3, $4)",
                tid,
                pid,
                f"Pro {index}",
                index,
            )
            await conn.execute(
                "INSERT INTO offerings (tenant_id, professional_id, service_id)"
                " VALUES ($1, $2, $3)",
                tid,
                pid,
                business.service_id,
            )
        await conn.execute(
            "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'Raw', $3)",
            tid,
            business.customer_id,
            "raw@bench.example",
        )
    finally:
        await conn.close()


# ------------------------------------------------------------------------ HTTP client


class HttpClient:
    """One keep-alive HTTP/1.1 connection; just enough protocol for these JSON answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        payload = await self.reader.readexactly(length)
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def booking_body(business: Business, professional: uuid.UUID, start: datetime, n: int) -> bytes:
    return json.dumps(
        {
            "service_id": str(business.service_id),
            "professional_id": str(professional),
            "start": start.isoformat(),
            "customer": {"name": f"Client {n}", "email": f"c{n}@bench.example"},
        }
    ).encode()


# ------------------------------------------------------------------------ figures


@dataclass
class Figure:
    name: str
    seconds: float
    latencies: list[float]
    ok: int
    refused: int = 0
    other: int = 0
    rounds: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process group

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    @classmethod
    def pooled(cls, figures: list[Figure]) -> Figure:
        """The rounds of one figure as one: counts, time, latencies and CPU added up."""
        cpu: dict[str, float] = {}
        for figure in figures:
            for k, v in figure.cpu.items():
                cpu[k] = cpu.get(k, 0.0) + v
        return cls(
            figures[0].name,
            sum(f.seconds for f in figures),
            [x for f in figures for x in f.latencies],
            sum(f.ok for f in figures),
            refused=sum(f.refused for f in figures),
            other=sum(f.other for f in figures),
            rounds=sum(f.rounds for f in figures),
            cpu=cpu,
        )

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000 if lat else float("nan")
        p95 = lat[int(len(lat) * 0.95) - 1] * 1000 if lat else float("nan")
        extra = (
            f"  ({self.rounds / self.seconds:7.1f} rounds/s, "
            f"{len(lat) / self.seconds:7.1f} requests/s, {self.refused} x 409)"
            if self.rounds
            else ""
        )
        bad = f"  UNEXPECTED: {self.other}" if self.other else ""
        cpu = ""
        if self.cpu and self.ok:
            per = ", ".join(f"{k} {v * 1000 / self.ok:.2f}" for k, v in self.cpu.items())
            cpu = f"\n{'':<28} CPU ms per booking: {per}"
        return (
            f"{self.name:<28} {self.rate:8.1f} bookings/s   p50 {p50:6.2f} ms   "
            f"p95 {p95:6.2f} ms{extra}{bad}{cpu}"
        )


class CpuMeter:
    """CPU seconds used meanwhile by the app server, the PostgreSQL processes of this
    machine and this bench process (the clients): where the two cores went."""

    def __init__(self, server_pid: int | None) -> None:
        self.server = psutil.Process(server_pid) if server_pid else None
        self.began = self._sample()

    def _sample(self) -> dict[str, float]:
        def total(process: psutil.Process) -> float:
            try:
                times = process.cpu_times()
            except psutil.Error:
                return 0.0
            return float(times.user + times.system)

        postgres = 0.0
        for process in psutil.process_iter(["name"]):
            if process.info["name"] == "postgres":
                postgres += total(process)
        sample = {"database": postgres, "bench clients": total(psutil.Process())}
        if self.server is not None:
            # uvicorn with --workers N: the supervisor and its worker processes
            workers = sum(total(p) for p in self.server.children(recursive=True))
            sample = {"app": total(self.server) + workers, **sample}
        return sample

    def used(self) -> dict[str, float]:
        now = self._sample()
        return {k: now[k] - self.began[k] for k in now}


async def app_distinct(
    port: int,
    business: Business,
    slots: Slots,
    clients: int,
    seconds: float,
    server_pid: int | None = None,
) -> Figure:
    path = f"/api/v1/public/businesses/{SLUG}/bookings"
    latencies: list[float] = []
    counts = {"ok": 0, "other": 0}
    deadline = time.perf_counter() + seconds
    serial = iter(range(10**9))

    async def client() -> None:
        http = HttpClient(port)
        try:
            while time.perf_counter() < deadline:
                professional, start = slots.take()
                body = booking_body(business, professional, start, next(serial))
                began = time.perf_counter()
                status, _ = await http.post(path, body)
                latencies.append(time.perf_counter() - began)
                counts["ok" if status == 201 else "other"] += 1
        finally:
            await http.close()

    meter = CpuMeter(server_pid)
    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Figure(
        "app, distinct slots",
        time.perf_counter() - began,
        latencies,
        counts["ok"],
        other=counts["other"],
        cpu=meter.used(),
    )


async def app_contention(
    port: int, business: Business, slots: Slots, clients: int, seconds: float
) -> Figure:
    path = f"/api/v1/public/businesses/{SLUG}/bookings"
    https = [HttpClient(port) for _ in range(clients)]
    latencies: list[float] = []
    ok = refused = other = rounds = 0
    serial = iter(range(10**9))
    began = time.perf_counter()
    try:
        while time.perf_counter() - began < seconds:
            professional, start = slots.take()

            async def one(
                http: HttpClient, professional: Any = professional, start: datetime = start
            ) -> int:
                body = booking_body(business, professional, start, next(serial))
                t0 = time.perf_counter()
                status, _ = await http.post(path, body)
                latencies.append(time.perf_counter() - t0)
                return status

            statuses = await asyncio.gather(*(one(http) for http in https))
            rounds += 1
            ok += statuses.count(201)
            refused += statuses.count(409)
            other += len(statuses) - statuses.count(201) - statuses.count(409)
            if statuses.count(201) != 1:
                other += 1
    finally:
        for http in https:
            await http.close()
    return Figure(
        "app, contention (1 slot)",
        time.perf_counter() - began,
        latencies,
        ok,
        refused=refused,
        other=other,
        rounds=rounds,
    )


RAW_INSERT = """
INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id, starts_at,
    ends_at, buffer_before_minutes, buffer_after_minutes, occupied, status, source, notes,
    price_minor, currency)
VALUES (current_tenant_id(), $1, $2, $3, $4, $5, 0, 0, 'empty', 'confirmed', 'public', '',
    0, 'USD')
"""


async def on_bare_connections(
    app_url: str,
    clients: int,
    seconds: float,
    client: Callable[[asyncpg.Connection, float], Awaitable[None]],
) -> tuple[float, dict[str, float]]:
    """``client(connection, deadline)`` on ``clients`` connections of the app role at once:
    (seconds it took, CPU by process group). The connections are opened before and closed
    after the timed part, so that the CPU of their backends is all counted."""
    connections = [await asyncpg.connect(to_libpq(app_url)) for _ in range(clients)]
    try:
        meter = CpuMeter(None)
        began = time.perf_counter()
        await asyncio.gather(*(client(conn, began + seconds) for conn in connections))
        return time.perf_counter() - began, meter.used()
    finally:
        for conn in connections:
            await conn.close()


async def raw_inserts(
    app_url: str, business: Business, slots: Slots, clients: int, seconds: float
) -> Figure:
    latencies: list[float] = []
    counts = {"ok": 0}

    async def client(conn: asyncpg.Connection, deadline: float) -> None:
        await conn.execute("SELECT set_config('app.tenant_id', $1, false)", str(business.tenant_id))
        statement = await conn.prepare(RAW_INSERT)
        while time.perf_counter() < deadline:
            professional, start = slots.take()
            t0 = time.perf_counter()
            await statement.fetch(
                professional,
                business.service_id,
                business.customer_id,
                start,
                start + timedelta(minutes=30),
            )
            latencies.append(time.perf_counter() - t0)
            counts["ok"] += 1

    elapsed, cpu = await on_bare_connections(app_url, clients, seconds, client)
    return Figure("raw INSERT, distinct slots", elapsed, latencies, counts["ok"], cpu=cpu)


async def raw_booking_statements(
    app_url: str, business: Business, slots: Slots, clients: int, seconds: float
) -> Figure:
    """The app's own booking transaction without the app: ``BEGIN`` + scope, the booking
    statement of ``booking/repository.py`` (customer upsert, ``slot_rejection``, INSERT),
    ``COMMIT``, from bare asyncpg connections. What the database alone allows a booking."""
    from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

    from slotwise.booking.repository import _BOOK

    compiled = _BOOK.compile(dialect=asyncpg_dialect.dialect())
    order = list(compiled.positiontup or [])
    # BEGIN and the tenant scope in one simple-protocol message (the UUID needs no quoting).
    begin = f"BEGIN; SELECT set_config('app.tenant_id', '{business.tenant_id}', true)"
    latencies: list[float] = []
    counts = {"ok": 0, "other": 0}
    serial = iter(range(2 * 10**9, 3 * 10**9))

    async def client(conn: asyncpg.Connection, deadline: float) -> None:
        statement = await conn.prepare(compiled.string)
        while time.perf_counter() < deadline:
            professional, start = slots.take()
            n = next(serial)
            values = {
                "customer": None,
                "name": f"Client {n}",
                "email": f"c{n}@bench.example",
                "phone": None,
                "check": True,
                "professional": professional,
                "service": business.service_id,
                "start": start,
                "now": datetime.now(UTC),
                "notes": "",
                "source": "public",
            }
            t0 = time.perf_counter()
            await conn.execute(begin)
            row = await statement.fetchrow(*[values[name] for name in order])
            await conn.execute("COMMIT")
            latencies.append(time.perf_counter() - t0)
            counts["ok" if row is not None and row["id"] is not None else "other"] += 1

    elapsed, cpu = await on_bare_connections(app_url, clients, seconds, client)
    return Figure(
        "raw booking statement",
        elapsed,
        latencies,
        counts["ok"],
        other=counts["other"],
        cpu=cpu,
    )


@dataclass
class Rounds:
    """One live-updates mode: the figures of each round, app and raw interleaved so that
    whatever else the machine does falls on both."""

    distinct: list[Figure] = field(default_factory=list)
    raw: list[Figure] = field(default_factory=list)
    statement: list[Figure] = field(default_factory=list)
    contention: Figure | None = None

    def ratios(self, of: list[Figure], to: list[Figure]) -> str:
        each = [a.rate / b.rate for a, b in zip(of, to, strict=True)]
        rounds = ", ".join(f"{r:.0%}" for r in each)
        return f"median {statistics.median(each):.0%} (rounds: {rounds})"


async def drop_change_feed(owner_url: str) -> None:
    conn = await asyncpg.connect(to_libpq(owner_url))
    try:
        await conn.execute("TRUNCATE live_changes")
    finally:
        await conn.close()


async def measure(
    owner_url: str,
    business: Business,
    args: argparse.Namespace,
    data_dir: Path,
    live: bool,
    first_day: date,
) -> Rounds:
    """The figures with live updates on or off (the app applies the mode to the database
    at start-up, so the raw statements run under the same mode), ``--rounds`` times in
    turn: the app (a fresh server each round), the raw INSERT, the raw booking statement."""
    app_slots = Slots(business, first_day)
    contention_slots = Slots(business, first_day + timedelta(days=100))
    raw_slots = Slots(business, first_day + timedelta(days=200))
    statement_slots = Slots(business, first_day + timedelta(days=250))
    settings = {"SLOTWISE_LIVE_UPDATES": "true" if live else "false"}
    app_url = with_user(owner_url, "slotwise_app")
    rounds = Rounds()
    await raw_inserts(app_url, business, raw_slots, args.clients, 1.0)  # warm-up
    for _ in range(args.rounds):
        # The server is stopped while the raw figures run, and their change-feed rows are
        # dropped after them: relaying those would charge the raw figures' CPU to the app's.
        async with serving(owner_url, data_dir, settings, args.profile, args.workers) as served:
            await app_distinct(served.port, business, app_slots, args.clients, 1.0)  # warm-up
            rounds.distinct.append(
                await app_distinct(
                    served.port,
                    business,
                    app_slots,
                    args.clients,
                    args.seconds,
                    served.process.pid,
                )
            )
        rounds.raw.append(
            await raw_inserts(app_url, business, raw_slots, args.clients, args.seconds)
        )
        rounds.statement.append(
            await raw_booking_statements(
                app_url, business, statement_slots, args.clients, args.seconds
            )
        )
        await drop_change_feed(owner_url)
    async with serving(owner_url, data_dir, settings, args.profile, args.workers) as served:
        rounds.contention = await app_contention(
            served.port, business, contention_slots, args.clients, args.seconds
        )
    return rounds


async def asgi_call(app: Any, method: str, path: str, body: bytes = b"") -> int:
    """One request straight into the ASGI app (no sockets, no client library)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def breakdown(owner_url: str, business: Business, data_dir: Path, first_day: date) -> None:
    """Where the app's CPU goes per booking: the app in this process, one request at a time,
    ``time.process_time`` around N requests, and the round trips counted on its engine."""
    from sqlalchemy import event, text

    from slotwise.app import create_app
    from slotwise.settings import Settings

    settings = Settings(
        environment="production",
        secret_key=uuid.uuid4().hex * 2,
        database_url=owner_url,
        data_dir=data_dir,
        log_level="WARNING",
        rate_limit_public="100000000/minute",
        rate_limit_tenant="100000000/minute",
        live_updates=False,
    )
    app = create_app(settings)
    slots = Slots(business, first_day)
    path = f"/api/v1/public/businesses/{SLUG}/bookings"
    rounds = 100  # requests per block; blocks interleave the cases, medians are shown
    counts: dict[str, int] = {"statements": 0}
    serial = iter(range(10**6, 10**9))

    async def book() -> None:
        professional, start = slots.take()
        status = await asgi_call(
            app, "POST", path, booking_body(business, professional, start, next(serial))
        )
        assert status == 201, status

    async def cpu_ms(action: Any) -> float:
        began = time.process_time()
        for _ in range(rounds):
            await action()
        return (time.process_time() - began) / rounds * 1000

    async with app.router.lifespan_context(app):
        database = app.state.database
        engine = database.engine.sync_engine

        def bump(name: str) -> Any:
            def listener(*_: Any, **__: Any) -> None:
                counts[name] += 1

            return listener

        event.listen(engine, "before_cursor_execute", bump("statements"))

        async def empty_transaction() -> None:
            async def work(conn: Any) -> None:
                return None

            await database.run(work, business.tenant_id)

        async def one_more_statement() -> None:
            async def work(conn: Any) -> None:
                await conn.execute(text("SELECT 1"))

            await database.run(work, business.tenant_id)

        async def refused_before_the_database() -> None:
            status = await asgi_call(app, "POST", path, b'{"notes": "no service"}')
            assert status == 422, status

        for action in (book, empty_transaction, one_more_statement, refused_before_the_database):
            for _ in range(20):  # warm-up: prepared statements, pool, caches
                await action()
        before = dict(counts)
        await book()
        per_booking = {k: counts[k] - before[k] for k in counts}
        samples: dict[str, list[float]] = {"booking": [], "http": [], "skeleton": [], "more": []}
        for _ in range(5):
            samples["booking"].append(await cpu_ms(book))
            samples["http"].append(await cpu_ms(refused_before_the_database))
            samples["skeleton"].append(await cpu_ms(empty_transaction))
            samples["more"].append(await cpu_ms(one_more_statement))
    booking, http, skeleton, more = (
        statistics.median(samples[k]) for k in ("booking", "http", "skeleton", "more")
    )
    statement = more - skeleton
    print("-- where the app's CPU goes per booking (in-process, one at a time)")
    print(f"booking request, whole: {booking:6.2f} ms CPU")
    print(f"  HTTP + middleware + deps + validation (a 422 before any SQL): {http:6.2f} ms")
    print(f"  Database.run skeleton (BEGIN with the scope, COMMIT): {skeleton:6.2f} ms")
    print(f"  one more statement in that transaction: {statement:6.2f} ms")
    rest = booking - http - skeleton
    print(f"  the rest (booking statement, service, answer): {rest:6.2f} ms")
    print(
        f"  round trips: BEGIN with the scope, {per_booking['statements']} statement(s)"
        " (the booking), COMMIT"
    )


async def run(server_url: str, args: argparse.Namespace, data_dir: Path) -> None:
    owner_url = await prepare_database(server_url, BENCH_DB)
    business = Business(args.professionals)
    await seed(owner_url, business)
    today = datetime.now(ZONE).date()
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.live]

    print(f"machine: {machine()}\n{await postgres(owner_url)}")
    print(
        f"{args.clients} clients, {args.rounds} rounds of {args.seconds:.0f} s per figure, "
        f"{args.professionals} professionals; app = uvicorn, {args.workers} worker(s)"
    )
    unexpected = 0
    for index, live in enumerate(modes):
        rounds = await measure(
            owner_url, business, args, data_dir, live, today + timedelta(days=1 + 300 * index)
        )
        assert rounds.contention is not None
        print(f"-- live updates {'on (outbox)' if live else 'off'}")
        for figures in (rounds.distinct, [rounds.contention], rounds.raw, rounds.statement):
            print(Figure.pooled(figures).line())
        print(f"app/raw INSERT: {rounds.ratios(rounds.distinct, rounds.raw)}")
        print(f"app/raw booking statement: {rounds.ratios(rounds.distinct, rounds.statement)}")
        print(f"raw booking statement/raw INSERT: {rounds.ratios(rounds.statement, rounds.raw)}")
        unexpected += sum(f.other for f in (*rounds.distinct, *rounds.statement))
        unexpected += rounds.contention.other
    if args.breakdown:
        await breakdown(owner_url, business, data_dir, today + timedelta(days=650))
    if unexpected:
        raise SystemExit("unexpected answers: see UNEXPECTED above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="per figure and round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="app and raw figures measured in turn, N times"
    )
    parser.add_argument("--professionals", type=int, default=64)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn worker processes (default: one per CPU, as `slotwise serve --workers`)",
    )
    parser.add_argument(
        "--live", choices=("on", "off", "both"), default="both", help="live updates"
    )
    parser.add_argument("--profile", help="run the server under cProfile, stats to this file")
    parser.add_argument(
        "--no-breakdown",
        dest="breakdown",
        action="store_false",
        help="skip the per-booking CPU breakdown of the app",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
        args.workers = 1  # cProfile sees the process it starts, not uvicorn's workers
    with database_server(keep=args.keep) as (server_url, folder):
        asyncio.run(run(server_url, args, folder))


if __name__ == "__main__":
    main()
