"""``Database.transaction``/``run``, the one way to the database: one tenant per
transaction, commit when the block ends, rollback when it raises, retries of transient
failures only, a dead pooled connection replaced, and a cancelled caller neither retried
nor kept waiting."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.db.database import Database
from tests.factories import make_tenant


async def _customers(owner_conn: asyncpg.Connection, tenant_id: object) -> int:
    return int(
        await owner_conn.fetchval("SELECT count(*) FROM customers WHERE tenant_id = $1", tenant_id)
    )


async def test_the_block_commits_and_the_scope_ends_with_it(
    database: Database, owner_conn: asyncpg.Connection
) -> None:
    rows = await make_tenant(owner_conn)
    user_id = uuid4()
    async with database.transaction(rows.tenant_id, user_id=user_id) as conn:
        scope = (
            await conn.execute(
                text("SELECT current_setting('app.tenant_id'), current_setting('app.user_id')")
            )
        ).one()
        await conn.execute(
            text(
                "INSERT INTO customers (tenant_id, name, email)"
                " VALUES (current_tenant_id(), 'Ana', 'a@x.example')"
            )
        )
    assert tuple(scope) == (str(rows.tenant_id), str(user_id))
    assert await _customers(owner_conn, rows.tenant_id) == 1
    async with database.transaction(None) as conn:
        after = await conn.scalar(text("SELECT current_setting('app.tenant_id', true)"))
        assert not await conn.scalar(text("SELECT count(*) FROM customers"))
    assert after == ""


async def test_an_exception_rolls_back_and_the_connection_serves_again(
    database: Database, owner_conn: asyncpg.Connection
) -> None:
    rows = await make_tenant(owner_conn)
    with pytest.raises(RuntimeError):
        async with database.transaction(rows.tenant_id) as conn:
            await conn.execute(
                text(
                    "INSERT INTO customers (tenant_id, name, email)"
                    " VALUES (current_tenant_id(), 'A', 'a@x.example')"
                )
            )
            raise RuntimeError("the work failed")
    assert await _customers(owner_conn, rows.tenant_id) == 0
    for _ in range(30):  # more than the pool holds: every connection came back usable
        async with database.transaction(rows.tenant_id) as conn:
            assert await conn.scalar(text("SELECT 1")) == 1


async def test_pooled_connections_killed_by_the_server_are_replaced_at_begin(
    database: Database, owner_conn: asyncpg.Connection
) -> None:
    async with database.transaction(None) as conn:
        await conn.execute(text("SELECT 1"))
    await owner_conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE usename = 'slotwise_app' AND datname = current_database()"
    )
    async with database.transaction(None) as conn:
        assert await conn.scalar(text("SELECT 1")) == 1


async def _cancel_during_a_long_query(database: Database, *, driver_turns_it: bool) -> int:
    """Run a 30 s query through ``run``, cancel the caller once it is running, and require
    the caller to end cancelled promptly. ``driver_turns_it``: the work reports the
    cancellation as a lost connection, as a driver may. Returns how often the work ran."""
    started = asyncio.Event()
    runs = 0

    async def slow(conn: AsyncConnection) -> None:
        nonlocal runs
        runs += 1
        started.set()
        try:
            await conn.execute(text("SELECT pg_sleep(30)"))
        except asyncio.CancelledError as exc:
            if driver_turns_it:
                raise InterfaceError("SELECT pg_sleep(30)", {}, ConnectionError("lost")) from exc
            raise

    task = asyncio.create_task(database.run(slow, uuid4()))
    await started.wait()
    task.cancel()
    async with asyncio.timeout(10):
        with pytest.raises(asyncio.CancelledError):
            await task
    return runs


async def test_a_cancelled_caller_ends_cancelled_and_its_work_is_not_run_again(
    database: Database,
) -> None:
    assert await _cancel_during_a_long_query(database, driver_turns_it=False) == 1
    async with database.transaction(None) as conn:  # the pool still serves
        assert await conn.scalar(text("SELECT 1")) == 1


async def test_a_cancellation_the_driver_reports_as_a_lost_connection_stays_a_cancellation(
    database: Database,
) -> None:
    """Retrying it would start the work again for a caller who is gone, and anything
    catching ``Exception`` above would carry on as if nobody had asked it to stop."""
    assert await _cancel_during_a_long_query(database, driver_turns_it=True) == 1


async def test_a_serialization_failure_is_run_again(database: Database) -> None:
    runs = 0

    async def flaky(conn: AsyncConnection) -> int:
        nonlocal runs
        runs += 1
        if runs == 1:
            await conn.execute(
                text("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
            )
        return runs

    assert await database.run(flaky, None) == 2
