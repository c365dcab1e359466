"""Schemathesis against ``/openapi.json`` of the real server: every operation, every check.

The app runs under uvicorn in a subprocess on a loopback socket bound here (no port race),
against a fresh migrated database holding one business and its owner; the owner's token
goes on every request (``-H``), so the staff operations are explored too (and
``ignored_auth`` removes it to prove they refuse anonymous callers).

``positive_data_acceptance`` is excluded: it demands a 2xx for any schema-valid request,
while a correct booking API refuses schema-valid requests on business rules (422
``outside_working_hours`` for a well-formed time the business is closed, 409
``slot_unavailable``, 412 for a stale but well-formed ``If-Match``)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import asyncpg
import pytest

from slotwise.db.urls import DatabaseUrls
from slotwise.settings import Settings
from tests.factories import bearer, make_member, make_tenant

ROOT = Path(__file__).resolve().parent.parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
SECRET = "schemathesis-secret-key-with-enough-length-0123456789"
# Every operation of the document, in disjoint groups run side by side: separate processes
# with one worker each (threads of one run trip a CPython 3.11 ``ast`` race in Hypothesis).
_CATALOG = r"(professionals|services|business-|closures|special-hours|time-off)"
GROUPS = (
    r"^/api/v1/(public|appointments)(?!.*/events$)",
    rf"^/api/v1/{_CATALOG}",
    rf"^/api/v1/(?!public|appointments|{_CATALOG})(?!.*/events$)",
    r"/events$",
    r"^/app",
    r"^/(?!api/|app)",
)


@pytest.fixture
def port() -> int:
    """A free loopback port for uvicorn. (Not an inherited socket with ``--fd``: uvicorn
    takes it for a Unix one and leaves Nagle's algorithm on, adding the client's 40 ms
    delayed ACK to every keep-alive answer.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_schemathesis_finds_nothing(
    database_urls: DatabaseUrls,
    owner_conn: asyncpg.Connection,
    port: int,
    tmp_path: Path,
) -> None:
    rows = await make_tenant(owner_conn, timezone="America/New_York")
    user_id, _ = await make_member(owner_conn, rows.tenant_id, "owner")
    settings = Settings(environment="test", secret_key=SECRET)
    authorization = bearer(settings, user_id, rows.tenant_id)["Authorization"]
    env = {
        **os.environ,
        "SLOTWISE_DATABASE_URL": database_urls.owner,
        "SLOTWISE_ENVIRONMENT": "test",
        "SLOTWISE_SECRET_KEY": SECRET,
        "SLOTWISE_LOG_LEVEL": "WARNING",
        "SLOTWISE_DATA_DIR": str(tmp_path),
        "SLOTWISE_RATE_LIMIT_PUBLIC": "1000000/minute",
        "SLOTWISE_RATE_LIMIT_TENANT": "1000000/minute",
        "SLOTWISE_RATE_LIMIT_LOGIN": "1000000/minute",
        # Event streams never end: schemathesis reads one until 20 events or the request
        # timeout; frequent heartbeats end each read early.
        "SLOTWISE_LIVE_HEARTBEAT_SECONDS": "0.05",
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "slotwise.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        env=env,
        cwd=tmp_path,
    )
    base = [
        str(SCHEMATHESIS),
        "run",
        f"http://127.0.0.1:{port}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "10",
        "--seed",
        "1",
        "--workers",
        "1",
        "--wait-for-schema",
        "60",
        "--request-timeout",
        "3",
        "-H",
        f"Authorization: {authorization}",
    ]
    logs = [tmp_path / f"schemathesis-{index}.txt" for index in range(len(GROUPS))]
    try:
        runs = []
        for group, log in zip(GROUPS, logs, strict=True):
            with log.open("w") as out:
                runs.append(
                    await asyncio.create_subprocess_exec(
                        *base,
                        "--include-path-regex",
                        group,
                        cwd=tmp_path,
                        stdout=out,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
        async with asyncio.timeout(600):
            codes = [await run.wait() for run in runs]
    finally:
        server.terminate()
        await server.wait()
    failed = [
        f"--- {group}\n{log.read_text()[-6000:]}"
        for group, log, code in zip(GROUPS, logs, codes, strict=True)
        if code != 0
    ]
    assert failed == [], "\n".join(failed)
