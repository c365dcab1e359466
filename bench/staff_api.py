"""Staff API latency and throughput: what the per-request membership check costs, and the
typical staff calls on top of it.

    .venv/bin/python bench/staff_api.py [--seconds S] [--clients N] [--keep]

Uses ``DATABASE_URL`` (an owner URL; a database ``slotwise_bench_staff`` is created on it)
or starts its own embedded PostgreSQL in a temporary folder. Seeds one business (owner,
20 professionals, 10 services, 500 customers) and drives the whole ASGI app (middleware,
auth, validation, JSON) over httpx's ASGI transport, one process, N concurrent clients:

- ``auth only``: a bare endpoint depending only on ``MemberDep`` (token check + the one
  membership query in its own transaction) — the fixed cost of every staff request;
- ``GET /api/v1/services``, ``GET /api/v1/professionals`` (services, hours, breaks
  aggregated in one statement), ``GET /api/v1/customers?q=`` (search + count);
- ``PUT /api/v1/professionals/{id}/hours`` (advisory lock, delete + insert of a week);
- ``POST /api/v1/auth/login`` (argon2id verification dominates, by design);

printing requests per second, p50 and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _common import database_server, machine, postgres, prepare_database  # noqa: E402

from slotwise.app import create_app  # noqa: E402
from slotwise.auth.deps import CurrentMember, MemberDep  # noqa: E402
from slotwise.auth.passwords import hash_password  # noqa: E402
from slotwise.auth.tokens import issue_token  # noqa: E402
from slotwise.db.database import Database  # noqa: E402
from slotwise.db.urls import to_libpq, with_user  # noqa: E402
from slotwise.settings import Settings  # noqa: E402

BENCH_DB = "slotwise_bench_staff"
PASSWORD = "bench password 123"


async def seed(conn: asyncpg.Connection) -> dict[str, Any]:
    tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "INSERT INTO tenants (id, slug, name, timezone) VALUES ($1, 'bench-staff', 'Bench',"
        " 'America/Sao_Paulo')",
        tenant_id,
    )
    await conn.execute(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'owner@bench.test',"
        " 'Owner', $2)",
        user_id,
        hash_password(PASSWORD),
    )
    await conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1, $2, 'owner')",
        tenant_id,
        user_id,
    )
    services = [uuid.uuid4() for _ in range(10)]
    await conn.executemany(
        "INSERT INTO services (tenant_id, id, name, duration_minutes) VALUES ($1, $2, $3, 30)",
        [(tenant_id, sid, f"Service {i}") for i, sid in enumerate(services)],
    )
    professionals = [uuid.uuid4() for _ in range(20)]
    await conn.executemany(
        "INSERT INTO professionals (tenant_id, id, name, display_order) VALUES ($1, $2, $3, $4)",
        [(tenant_id, pid, f"Pro {i}", i) for i, pid in enumerate(professionals)],
    )
    await conn.executemany(
        "INSERT INTO offerings (tenant_id, professional_id, service_id) VALUES ($1, $2, $3)",
        [(tenant_id, pid, sid) for pid in professionals for sid in services],
    )
    await conn.executemany(
        "INSERT INTO professional_hours (tenant_id, professional_id, weekday, start_minute,"
        " end_minute) VALUES ($1, $2, $3, 540, 1080)",
        [(tenant_id, pid, day) for pid in professionals for day in range(6)],
    )
    await conn.executemany(
        "INSERT INTO customers (tenant_id, name, email, phone) VALUES ($1, $2, $3, $4)",
        [(tenant_id, f"Customer {i}", f"c{i}@bench.test", f"+55119876{i:05d}") for i in range(500)],
    )
    await conn.execute("ANALYZE")
    return {"tenant_id": tenant_id, "user_id": user_id, "professionals": professionals}


Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def measure(
    client: httpx.AsyncClient, call: Call, seconds: float, clients: int
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p95 ms) of ``call`` from ``clients`` concurrent loops."""
    for index in range(3):
        response = await call(client, index)
        assert response.status_code < 300, response.text
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(worker: int) -> None:
        index = worker
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await call(client, index)
            latencies.append(time.perf_counter() - started)
            assert response.status_code < 300, response.text
            index += clients

    started = time.perf_counter()
    await asyncio.gather(*(loop(worker) for worker in range(clients)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p95 * 1000


async def run(server_url: str, seconds: float, clients: int) -> None:
    owner = await prepare_database(server_url, BENCH_DB)
    conn = await asyncpg.connect(to_libpq(owner))
    try:
        seeded = await seed(conn)
    finally:
        await conn.close()

    settings = Settings(
        environment="test",
        log_level="WARNING",
        secret_key="bench-secret-key-with-enough-length-0123456789",
        rate_limit_login="100000000/minute",
        rate_limit_public="100000000/minute",
        rate_limit_tenant="100000000/minute",
    )
    database = Database(with_user(owner, "slotwise_app"), pool_size=clients, max_overflow=4)
    app = create_app(settings, database=database)

    @app.get("/bench/whoami", include_in_schema=False)
    async def whoami(member: MemberDep) -> dict[str, str]:
        assert isinstance(member, CurrentMember)
        return {"role": member.role}

    token = issue_token(settings, seeded["user_id"], seeded["tenant_id"])
    headers = {"Authorization": f"Bearer {token}"}
    professionals = seeded["professionals"]
    week = {"hours": [{"weekday": day, "start": "09:00", "end": "18:00"} for day in range(6)]}

    cases: list[tuple[str, Call, int]] = [
        ("auth only (MemberDep)", lambda c, i: c.get("/bench/whoami", headers=headers), clients),
        ("GET /api/v1/services", lambda c, i: c.get("/api/v1/services", headers=headers), clients),
        (
            "GET /api/v1/professionals (20)",
            lambda c, i: c.get("/api/v1/professionals", headers=headers),
            clients,
        ),
        (
            "GET /api/v1/customers?q=",
            lambda c, i: c.get(
                "/api/v1/customers", params={"q": f"customer {i % 50}"}, headers=headers
            ),
            clients,
        ),
        (
            "PUT /professionals/{id}/hours",
            lambda c, i: c.put(
                f"/api/v1/professionals/{professionals[i % len(professionals)]}/hours",
                json=week,
                headers=headers,
            ),
            clients,
        ),
        (
            "POST /api/v1/auth/login",
            lambda c, i: c.post(
                "/api/v1/auth/login", json={"email": "owner@bench.test", "password": PASSWORD}
            ),
            min(clients, os.cpu_count() or 1),
        ),
    ]
    print(f"machine: {machine()}\n{await postgres(owner)}")
    print(f"{seconds:g} s per case after 3 warm-up calls, in-process ASGI (httpx)\n")
    print(f"{'case':34} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, call, concurrency in cases:
                rate, p50, p95 = await measure(client, call, seconds, concurrency)
                print(f"{name:34} {concurrency:>7} {rate:>8.0f} {p50:>8.2f} {p95:>8.2f}")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per case")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary embedded server's folder"
    )
    args = parser.parse_args()
    with database_server(keep=args.keep) as (server_url, _folder):
        asyncio.run(run(server_url, args.seconds, args.clients))


if __name__ == "__main__":
    main()
