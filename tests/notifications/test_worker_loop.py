"""The long-running worker: started by the app in development (the demo mails without a
second command), woken by LISTEN, stopped cleanly. Waits are on events, never sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import httpx

from slotwise.app import create_app
from slotwise.db.database import Database
from slotwise.notifications.worker import OutboxWorker, runs_in_process
from slotwise.settings import Settings
from tests.factories import bearer, make_appointment, make_member, make_tenant
from tests.notifications.conftest import SmtpServer, future_start, outbox_rows


def test_in_process_worker_runs_in_development_only_unless_configured(
    settings: Settings,
) -> None:
    def with_(**update: object) -> Settings:
        return settings.model_copy(update=update)

    assert runs_in_process(with_(environment="development"))
    assert not runs_in_process(with_(environment="test"))
    assert not runs_in_process(with_(environment="production"))
    assert runs_in_process(with_(environment="production", run_worker_in_process=True))
    assert not runs_in_process(with_(environment="development", run_worker_in_process=False))


async def test_the_app_delivers_mail_with_its_in_process_worker(
    owner_conn: asyncpg.Connection,
    database: Database,
    smtp_settings: Settings,
    smtp: SmtpServer,
) -> None:
    app = create_app(
        smtp_settings.model_copy(update={"run_worker_in_process": True}), database=database
    )
    rows = await make_tenant(owner_conn, email="desk@salon.example.com", reminder_hours=0)
    async with app.router.lifespan_context(app):
        await make_appointment(owner_conn, rows, future_start())
        assert await smtp.collector.wait_for(2)
    assert {r["status"] for r in await outbox_rows(owner_conn)} == {"sent"}


async def test_a_retry_wakes_a_listening_worker_at_once(
    owner_conn: asyncpg.Connection,
    database: Database,
    smtp_settings: Settings,
    smtp: SmtpServer,
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    rows = await make_tenant(owner_conn, reminder_hours=0)
    manager_id, _ = await make_member(owner_conn, rows.tenant_id, "manager")
    await make_appointment(owner_conn, rows, future_start())
    await owner_conn.execute("UPDATE outbox SET status = 'dead', attempts = 8, last_error = 'x'")
    dead_id = (await outbox_rows(owner_conn))[0]["id"]
    # Polling once a minute: only the NOTIFY of the retry can make it deliver in time.
    slow_poll = smtp_settings.model_copy(update={"worker_poll_seconds": 60.0})
    stop = asyncio.Event()
    async with OutboxWorker(database, slow_poll) as worker:
        task = asyncio.create_task(worker.run_forever(stop))
        await asyncio.wait_for(worker.listening.wait(), timeout=10)

        answer = await client.post(
            f"/api/v1/outbox/{dead_id}/retry", headers=bearer(settings, manager_id, rows.tenant_id)
        )
        assert answer.status_code == 200
        assert await smtp.collector.wait_for(1)

        stop.set()
        await asyncio.wait_for(task, timeout=10)
    row = (await outbox_rows(owner_conn))[0]
    assert row["status"] == "sent" and row["sent_at"] <= datetime.now(UTC)
