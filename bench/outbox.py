"""Notifications: what the outbox trigger costs a booking, and how fast workers deliver.

    .venv/bin/python bench/outbox.py [--bookings N] [--clients C] [--keep]

Uses ``DATABASE_URL`` (an owner URL; a database ``slotwise_bench_outbox`` is created on
it) or starts its own embedded PostgreSQL in a temporary folder. One business (with its
own email, reminders 24 h ahead) and 10 professionals.

1. Booking write cost: ``N`` appointment INSERTs, each in its own tenant transaction as
   the app role (what the booking transaction does at its end), from ``C`` concurrent
   clients, with the ``appointments_outbox`` trigger enabled and disabled (``--rounds``
   rounds each, interleaved; medians shown). Each booking writes 3 outbox
   rows (customer confirmation, business notice, reminder).
2. Delivery: the 2N due mails (the reminders are not due) rendered (text + HTML + .ics)
   and delivered by the worker, to a mailbox folder and to a local SMTP server (aiosmtpd),
   with one and with two workers at once: messages per second, end to end (claim, lock,
   render, send, mark sent, commit).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _common import (  # noqa: E402
    database_server,
    free_port,
    machine,
    postgres,
    prepare_database,
)

from slotwise.core.logging import configure_logging  # noqa: E402
from slotwise.db.database import Database  # noqa: E402
from slotwise.db.urls import to_libpq, with_user  # noqa: E402
from slotwise.notifications.mail import MailboxMailer  # noqa: E402
from slotwise.notifications.worker import OutboxWorker  # noqa: E402
from slotwise.settings import Settings  # noqa: E402

BENCH_DB = "slotwise_bench_outbox"
PROFESSIONALS = 10

_INSERT = text(
    "INSERT INTO appointments (tenant_id, professional_id, service_id, customer_id,"
    " starts_at, ends_at, occupied) VALUES (:t, :p, :s, :c, :start, :end, 'empty')"
)


class Sink:
    """aiosmtpd handler that accepts and counts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


async def seed(conn: asyncpg.Connection) -> dict[str, Any]:
    tenant_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO tenants (id, slug, name, timezone, email, address, phone)"
        " VALUES ($1, 'bench-salon', 'Bench Salon', 'America/New_York',"
        " 'desk@bench.example.com', '1 Main St', '+1 555 0100')",
        tenant_id,
    )
    service_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, 'Cut', 30)",
        tenant_id,
        service_id,
    )
    professionals = [uuid.uuid4() for _ in range(PROFESSIONALS)]
    for index, professional_id in enumerate(professionals):
        await conn.execute(
            "INSERT INTO professionals (tenant_id, id, name) VALUES ($1, $2, $3)",
            tenant_id,
            professional_id,
            f"Pro {index}",
        )
    return {"t": tenant_id, "s": service_id, "professionals": professionals}


async def book(
    database: Database,
    owner: asyncpg.Connection,
    business: dict[str, Any],
    first: datetime,
    count: int,
    clients: int,
) -> tuple[float, float, float]:
    """``count`` bookings from ``clients`` concurrent clients: (per second, p50 ms, p95 ms)."""
    customers = [(uuid.uuid4(), f"c{i}-{uuid.uuid4().hex[:6]}@example.com") for i in range(count)]
    await owner.executemany(
        "INSERT INTO customers (tenant_id, id, name, email) VALUES ($1, $2, 'Customer', $3)",
        [(business["t"], cid, email) for cid, email in customers],
    )
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)
    latencies: list[float] = []

    async def client() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            professional = business["professionals"][index % PROFESSIONALS]
            start = first + timedelta(minutes=30 * (index // PROFESSIONALS))
            params = {
                "t": business["t"],
                "p": professional,
                "s": business["s"],
                "c": customers[index][0],
                "start": start,
                "end": start + timedelta(minutes=30),
            }
            began = time.perf_counter()
            async with database.transaction(business["t"]) as conn:
                await conn.execute(_INSERT, params)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return count / elapsed, statistics.median(ordered) * 1e3, p95 * 1e3


async def deliver(
    database: Database, settings: Settings, workers: int, mailbox: Path | None
) -> float:
    """Messages per second for ``workers`` workers draining every due row."""
    started = time.perf_counter()
    pool = [
        OutboxWorker(
            database,
            settings,
            mailer=MailboxMailer(mailbox) if mailbox else None,
            batch_size=50,
        )
        for _ in range(workers)
    ]
    now = datetime.now(UTC)
    try:
        results = await asyncio.gather(*(w.drain(now) for w in pool))
    finally:
        for w in pool:
            await w.aclose()
    elapsed = time.perf_counter() - started
    sent = sum(r.count("sent") for r in results)
    return sent / elapsed


async def run(server_url: str, folder: Path, bookings: int, clients: int, rounds: int) -> None:
    owner_db = await prepare_database(server_url, BENCH_DB)
    configure_logging("WARNING", json_logs=False)
    owner = await asyncpg.connect(to_libpq(owner_db))
    database = Database(with_user(owner_db, "slotwise_app"), pool_size=clients + 4)
    print(f"machine: {machine()}\n{await postgres(owner_db)}")
    print(
        f"{bookings} bookings per round, {clients} concurrent clients, {rounds} rounds each"
        " (interleaved; medians shown)\n"
    )
    try:
        business = await seed(owner)
        first = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        figures: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}
        for round_ in range(2 * rounds):
            enabled = round_ % 2 == 0
            state = "ENABLE" if enabled else "DISABLE"
            await owner.execute(f"ALTER TABLE appointments {state} TRIGGER appointments_outbox")
            offset = timedelta(days=30 * round_)
            figures[enabled].append(
                await book(database, owner, business, first + offset, bookings, clients)
            )
        await owner.execute("ALTER TABLE appointments ENABLE TRIGGER appointments_outbox")
        print("| outbox trigger | bookings/s | p50 ms | p95 ms |")
        print("|---|---|---|---|")
        for enabled in (False, True):
            rate, p50, p95 = (statistics.median(f[i] for f in figures[enabled]) for i in range(3))
            label = "on (3 rows per booking)" if enabled else "off"
            print(f"| {label} | {rate:.0f} | {p50:.1f} | {p95:.1f} |")

        due = await owner.fetchval(
            "SELECT count(*) FROM outbox WHERE next_attempt_at <= now() AND status = 'pending'"
        )
        print(f"\ndelivery of {due} due mails (text + HTML + .ics each):\n")
        print("| delivery | workers | messages/s |")
        print("|---|---|---|")
        settings = Settings(environment="test", log_level="WARNING")
        sink = Sink()
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        smtp = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        try:
            for label, config, mailbox, workers in (
                ("mailbox folder", settings, folder / "mailbox", 1),
                ("SMTP (aiosmtpd, loopback)", smtp, None, 1),
                ("SMTP (aiosmtpd, loopback)", smtp, None, 2),
            ):
                await owner.execute(
                    "UPDATE outbox SET status = 'pending', sent_at = NULL, attempts = 0,"
                    " leased_until = NULL WHERE next_attempt_at <= now()"
                )
                rate = await deliver(database, config, workers, mailbox)
                print(f"| {label} | {workers} | {rate:.0f} |")
        finally:
            controller.stop()
    finally:
        await owner.close()
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1000, help="bookings per round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent booking clients")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with and without")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary embedded server's folder"
    )
    args = parser.parse_args()
    with database_server(keep=args.keep) as (server_url, folder):
        asyncio.run(run(server_url, folder, args.bookings, args.clients, args.rounds))


if __name__ == "__main__":
    main()
