"""Live updates: booking throughput per publication mode, and commit-to-browser latency.

    .venv/bin/python bench/realtime.py [--part throughput|latency|all] [--seconds S]
        [--connections 1,8,32] [--rounds R] [--subscribers 1000] [--rates 10,40]
        [--duration D] [--keep]

Uses ``DATABASE_URL`` (an owner URL; a database ``slotwise_bench_live`` is created on it)
or starts its own embedded PostgreSQL (default settings: fsync and synchronous_commit on)
in a temporary folder.

throughput (SPEC §8): N connections as the app role each commit single-row appointment
INSERTs (the triggers of migration 0004 run) for S seconds, with the publication mode
``off`` (no change feed), ``notify`` (``pg_notify`` in every booking transaction) and
``outbox`` (a ``live_changes`` row; the real relay and a real listener run meanwhile).
Modes alternate for R rounds; the median commits/s is printed, and the outbox backlog.

latency: the app under uvicorn in a subprocess, N SSE subscribers (raw sockets, in a
second subprocess so they do not take the server's CPU) on one business's public stream,
bookings committed at a steady rate, each touching its own (professional, date): the time
from each commit to each subscriber's receipt of the matching ``availability`` event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _common import (  # noqa: E402
    database_server,
    machine,
    postgres,
    prepare_database,
    serving,
)

from slotwise.db.urls import to_libpq, with_user  # noqa: E402
from slotwise.realtime import repository  # noqa: E402
from slotwise.realtime.changes import Change  # noqa: E402
from slotwise.realtime.listener import Listener  # noqa: E402
from slotwise.realtime.relay import Relay  # noqa: E402

BENCH_DB = "slotwise_bench_live"
MODES = ("off", "notify", "outbox")
PROFESSIONALS = 64
FIRST_DAY = date(2031, 1, 6)


# --------------------------------------------------------------------------- setup


async def seed(owner: str, slug: str) -> tuple[uuid.UUID, list[uuid.UUID], uuid.UUID, uuid.UUID]:
    """A business open every day 00:00-24:00 UTC with PROFESSIONALS professionals offering a
    30-minute service: (tenant, professionals, service, customer)."""
    conn = await asyncpg.connect(to_libpq(owner))
    try:
        await conn.execute("SET slotwise.live_updates_mode = 'off'")
        tenant = uuid.uuid4()
        service = uuid.uuid4()
        customer = uuid.uuid4()
        await conn.execute(
            "INSERT INTO tenants (id, slug, name, timezone, min_notice_minutes, horizon_days)"
            " VALUES ($1, $2, 'Bench', 'UTC', 0, 730)",
            tenant,
            slug,
        )
        await conn.execute(
            "INSERT INTO services (tenant_id, id, name, duration_minutes)"
            " VALUES ($1, $2, 'Cut', 30)",
            tenant,
            service,
        )
        await conn.execute(
            "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'Bench',"
            " 'bench@example.com')",
            tenant,
            customer,
        )
        for weekday in range(7):
            await conn.execute(
                "INSERT INTO business_hours (tenant_id, weekday, start_minute, end_minute)"
                " VALUES ($1, $2, 0, 1440)",
                tenant,
                weekday,
            )
        professionals = [uuid.uuid4() for _ in range(PROFESSIONALS)]
        for index, professional in enumerate(professionals):
            await conn.execute(
                "INSERT INTO professionals (tenant_id, id, name, display_order)"
                " VALUES ($1, $2, $3, $4)",
                tenant,
                professional,
                f"Pro {index}",
                index,
            )
            await conn.execute(
                "INSERT INTO offerings (tenant_id, professional_id, service_id)"
                " VALUES ($1, $2, $3)",
                tenant,
                professional,
                service,
            )
        return tenant, professionals, service, customer
    finally:
        await conn.close()


INSERT = (
    "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
    " starts_at, ends_at, occupied) VALUES ($1, $2, $3, $4, $5, $6, 'empty')"
)
SCOPE = "SELECT set_config('app.tenant_id', $1, true)"


async def book(
    conn: asyncpg.Connection,
    tenant: uuid.UUID,
    professional: uuid.UUID,
    service: uuid.UUID,
    customer: uuid.UUID,
    start: datetime,
) -> None:
    """One booking transaction as the app role (scope, insert, commit)."""
    async with conn.transaction():
        await conn.execute(SCOPE, str(tenant))
        await conn.execute(
            INSERT, tenant, professional, service, customer, start, start + timedelta(minutes=30)
        )


# ---------------------------------------------------------------------- throughput


async def throughput_run(
    owner: str,
    app: str,
    seeded: tuple[uuid.UUID, list[uuid.UUID], uuid.UUID, uuid.UUID],
    mode: str,
    connections: int,
    seconds: float,
    slot_offset: list[int],
) -> tuple[float, int]:
    """Commits per second with ``mode``, and the outbox rows left when the run ends."""
    tenant, professionals, service, customer = seeded
    admin = await asyncpg.connect(to_libpq(owner))
    await repository.apply_mode(admin, mode)  # type: ignore[arg-type]
    await admin.execute("DELETE FROM live_changes")
    received: list[int] = [0]

    def on_changes(changes: list[Change]) -> None:
        received[0] += len(changes)

    listener = Listener(
        to_libpq(app), on_changes=on_changes, on_connected=lambda _gap: None, on_lost=lambda: None
    )
    relay = Relay(to_libpq(app), interval_seconds=0.02)
    await listener.start()
    if mode == "outbox":
        relay.start()
    pool = [await asyncpg.connect(to_libpq(app)) for _ in range(connections)]
    stop = time.perf_counter() + seconds
    done = [0] * connections

    async def worker(index: int) -> None:
        conn = pool[index]
        professional = professionals[index % len(professionals)]
        base = datetime.combine(FIRST_DAY, datetime.min.time(), UTC)
        k = slot_offset[0] + index * 1_000_000
        while time.perf_counter() < stop:
            await book(
                conn, tenant, professional, service, customer, base + timedelta(minutes=30 * k)
            )
            k += 1
            done[index] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    slot_offset[0] += 100_000
    backlog = int(await admin.fetchval("SELECT count(*) FROM live_changes"))
    await relay.stop()
    await listener.stop()
    for conn in pool:
        await conn.close()
    await admin.close()
    return sum(done) / elapsed, backlog


async def throughput(owner: str, app: str, args: argparse.Namespace) -> None:
    seeded = await seed(owner, "bench-throughput")
    offsets = [0]
    results: dict[int, dict[str, list[float]]] = {}
    backlogs: dict[int, list[int]] = {}
    levels = [int(c) for c in args.connections.split(",")]
    for connections in levels:
        results[connections] = {mode: [] for mode in MODES}
        backlogs[connections] = []
        for _round in range(args.rounds):
            for mode in MODES:
                rate, backlog = await throughput_run(
                    owner, app, seeded, mode, connections, args.seconds, offsets
                )
                results[connections][mode].append(rate)
                if mode == "outbox":
                    backlogs[connections].append(backlog)
    print("\n## booking throughput (commits/s, median of rounds)\n")
    print("| connections | " + " | ".join(MODES) + " | notify vs off | outbox vs off |")
    print("|---" * (len(MODES) + 3) + "|")
    for connections in levels:
        medians = {m: statistics.median(results[connections][m]) for m in MODES}
        cells = " | ".join(f"{medians[m]:.0f}" for m in MODES)
        print(
            f"| {connections} | {cells} | {medians['notify'] / medians['off']:.0%}"
            f" | {medians['outbox'] / medians['off']:.0%} |"
        )
    print(
        "\noutbox rows not yet relayed when a run ended (max):",
        {c: max(b) for c, b in backlogs.items()},
    )


# ------------------------------------------------------------------------- latency


async def subscribe_all(host: str, port: int, slug: str, count: int, out: Path) -> None:
    """(Runs in the subscriber process.) ``count`` raw SSE streams; on SIGTERM, writes
    {"date|professional": [receive time ns, ...]} to ``out``."""
    receipts: dict[bytes, list[int]] = {}
    ready = 0
    all_ready = asyncio.Event()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    request = (
        f"GET /api/v1/public/businesses/{slug}/events HTTP/1.1\r\nHost: {host}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()

    async def one() -> None:
        nonlocal ready
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode(errors="replace"))
        ready += 1
        if ready == count:
            all_ready.set()
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.time_ns()
            buffer += chunk
            # chunked transfer framing lines are skipped: only "data:" lines matter here
            # The raw data line is the key (parsed once, at the end, not per receipt).
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                if b"event: availability" in event:
                    data = event[event.index(b"data: ") + 6 :]
                    receipts.setdefault(data.split(b"\n", 1)[0], []).append(now)

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    await all_ready.wait()
    print("ready", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    by_key: dict[str, list[int]] = {}
    for data, times in receipts.items():
        parsed = json.loads(data)
        by_key.setdefault(f"{parsed['date']}|{parsed['professional_id']}", []).extend(times)
    await asyncio.to_thread(out.write_text, json.dumps(by_key))


async def _wait_line(stream: asyncio.StreamReader, needle: str, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while True:
            line = await stream.readline()
            if not line:
                raise RuntimeError(f"process ended before printing {needle!r}")
            if needle in line.decode(errors="replace"):
                return


async def latency(owner: str, app: str, folder: Path, args: argparse.Namespace) -> None:
    slug = "bench-live"
    tenant, professionals, service, customer = await seed(owner, slug)
    admin = await asyncpg.connect(to_libpq(owner))
    await repository.apply_mode(admin, "outbox")
    await admin.close()
    settings = {
        "SLOTWISE_LIVE_MAX_STREAMS_PER_CLIENT": str(args.subscribers + 10),
        "SLOTWISE_CACHE_WARM_TENANTS": "0",
    }
    async with serving(owner, folder, settings) as served:
        conn = await asyncpg.connect(to_libpq(app))
        counter = 0
        for rate in [float(r) for r in args.rates.split(",")]:
            out = folder / f"sse-{rate:g}.json"
            subscribers = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--part", "subscribe", "--port", str(served.port),
                "--slug", slug, "--subscribers", str(args.subscribers), "--out", str(out),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert subscribers.stdout is not None
            await _wait_line(subscribers.stdout, "ready", 120)
            commits: dict[str, int] = {}
            interval = 1 / rate
            began = time.perf_counter()
            total = int(rate * args.duration)
            base = datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(hours=12)
            for i in range(total):
                due = began + i * interval
                pause = due - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                professional = professionals[counter % PROFESSIONALS]
                day = counter // PROFESSIONALS
                counter += 1
                start = base + timedelta(days=day)
                await book(conn, tenant, professional, service, customer, start)
                commits[f"{start.date().isoformat()}|{professional}"] = time.time_ns()
            booked_for = time.perf_counter() - began
            await asyncio.sleep(2)  # stragglers
            subscribers.send_signal(signal.SIGTERM)
            await subscribers.wait()
            receipts: dict[str, list[int]] = json.loads(await asyncio.to_thread(out.read_text))
            latencies = [
                (received - commits[key]) / 1e6
                for key, times in receipts.items()
                if key in commits
                for received in times
            ]
            expected = len(commits) * args.subscribers
            latencies.sort()
            p50 = p99 = worst = float("nan")
            if latencies:
                p50, p99 = statistics.median(latencies), latencies[int(0.99 * (len(latencies) - 1))]
                worst = latencies[-1]
            print(
                f"| {rate:.0f}/s | {args.subscribers} | {len(latencies)}/{expected} |"
                f" {p50:.1f} | {p99:.1f} | {worst:.1f} | {len(latencies) / booked_for:.0f} |",
                flush=True,
            )
        await conn.close()


# ---------------------------------------------------------------------------- main


async def run(server_url: str, folder: Path, args: argparse.Namespace) -> None:
    owner = await prepare_database(server_url, BENCH_DB)
    app = with_user(owner, "slotwise_app")
    print(f"machine: {machine()}\n{await postgres(owner)}")
    if args.part in ("throughput", "all"):
        await throughput(owner, app, args)
    if args.part in ("latency", "all"):
        print("\n## commit -> SSE receipt latency (1 business, outbox mode)\n")
        print("| bookings | subscribers | delivered | p50 ms | p99 ms | max ms | events/s |")
        print("|---|---|---|---|---|---|---|")
        await latency(owner, app, folder, args)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", default="all", choices=["throughput", "latency", "all", "subscribe"]
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput run")
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rates", default="10,40", help="bookings per second")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per rate")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--slug", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part == "subscribe":
        import uvloop  # installed with uvicorn[standard]; the server runs on it too

        uvloop.run(
            subscribe_all("127.0.0.1", args.port, args.slug, args.subscribers, Path(args.out))
        )
        return
    with database_server(keep=args.keep) as (server_url, folder):
        asyncio.run(run(server_url, folder, args))


if __name__ == "__main__":
    main()
