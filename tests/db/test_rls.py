"""Tenant isolation is the database's job: prove it by reading the catalog and by attacking
every table as the app role."""

from __future__ import annotations

import asyncpg
import pytest

from tests.factories import TenantRows, make_tenant

GLOBAL_TABLES = {"tenants", "users"}  # keyed by their own id, still RLS-protected


async def _tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'"
        " ORDER BY 1"
    )
    return [r["relname"] for r in rows]


async def _tenant_tables(conn: asyncpg.Connection) -> list[str]:
    return [t for t in await _tables(conn) if t not in GLOBAL_TABLES]


async def test_every_table_has_rls_enabled_and_forced(owner_conn: asyncpg.Connection) -> None:
    rows = await owner_conn.fetch(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
        " WHERE relname = ANY($1::text[])",
        await _tables(owner_conn),
    )
    assert rows
    bad = [r["relname"] for r in rows if not (r["relrowsecurity"] and r["relforcerowsecurity"])]
    assert bad == []


async def test_every_table_has_policies_for_all_four_commands(
    owner_conn: asyncpg.Connection,
) -> None:
    missing = []
    for table in await _tables(owner_conn):
        commands = {
            r["cmd"]
            for r in await owner_conn.fetch(
                "SELECT cmd FROM pg_policies WHERE schemaname = 'public' AND tablename = $1", table
            )
        }
        if "ALL" not in commands and not {"SELECT", "INSERT", "UPDATE", "DELETE"} <= commands:
            missing.append((table, sorted(commands)))
    assert missing == []


async def test_tenant_id_leads_every_key_of_tenant_tables(owner_conn: asyncpg.Connection) -> None:
    offenders = []
    for table in await _tenant_tables(owner_conn):
        columns = await owner_conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0",
            table,
        )
        assert "tenant_id" in {c["attname"] for c in columns}, f"{table} has no tenant_id"
        keys = await owner_conn.fetch(
            "SELECT i.indexrelid::regclass::text AS name,"
            "  (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid"
            "     AND attnum = i.indkey[0]) AS first_column"
            " FROM pg_index i WHERE i.indrelid = $1::regclass"
            "   AND (i.indisunique OR i.indisprimary OR i.indisexclusion)",
            table,
        )
        offenders += [(table, k["name"]) for k in keys if k["first_column"] != "tenant_id"]
    assert offenders == []


async def test_app_role_cannot_bypass_rls(owner_conn: asyncpg.Connection) -> None:
    role = await owner_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
        " WHERE rolname = 'slotwise_app'"
    )
    assert role is not None
    assert not any(role.values())
    owned = await owner_conn.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
        " WHERE r.rolname = 'slotwise_app'"
    )
    assert owned == 0


async def test_app_connection_really_is_the_app_role(app_conn: asyncpg.Connection) -> None:
    assert await app_conn.fetchval("SELECT current_user") == "slotwise_app"
    with pytest.raises(asyncpg.PostgresError):
        await app_conn.execute("SET row_security = off; SELECT * FROM tenants")


@pytest.fixture
async def two_tenants(owner_conn: asyncpg.Connection) -> tuple[TenantRows, TenantRows]:
    a = await make_tenant(owner_conn, "tenant-a", with_rows_everywhere=True)
    b = await make_tenant(owner_conn, "tenant-b", with_rows_everywhere=True)
    return a, b


def _tenant_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


async def _scope(conn: asyncpg.Connection, tenant: TenantRows) -> None:
    await conn.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true)",
        str(tenant.tenant_id),
        str(tenant.user_id),
    )


async def test_owner_sees_rows_of_both_tenants_in_every_tenant_table(
    owner_conn: asyncpg.Connection, two_tenants: tuple[TenantRows, TenantRows]
) -> None:
    """The attack tests below are only meaningful if every table holds rows of both."""
    for table in [*await _tenant_tables(owner_conn), "tenants"]:
        column = _tenant_column(table)
        count = await owner_conn.fetchval(f"SELECT count(DISTINCT {column}) FROM {table}")
        assert count == 2, table


async def test_tenant_a_reads_only_its_own_rows(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    two_tenants: tuple[TenantRows, TenantRows],
) -> None:
    a, _ = two_tenants
    for table in [*await _tenant_tables(owner_conn), "tenants"]:
        column = _tenant_column(table)
        async with app_conn.transaction():
            await _scope(app_conn, a)
            seen = {r[0] for r in await app_conn.fetch(f"SELECT {column} FROM {table}")}
            assert seen == {a.tenant_id}, table


async def test_tenant_a_cannot_update_or_delete_tenant_b_rows(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    two_tenants: tuple[TenantRows, TenantRows],
) -> None:
    a, b = two_tenants
    for table in [*await _tenant_tables(owner_conn), "tenants"]:
        column = _tenant_column(table)
        async with app_conn.transaction():
            await _scope(app_conn, a)
            updated = await app_conn.execute(
                f"UPDATE {table} SET {column} = {column} WHERE {column} = $1", b.tenant_id
            )
            deleted = await app_conn.execute(
                f"DELETE FROM {table} WHERE {column} = $1", b.tenant_id
            )
            assert updated.endswith(" 0") and deleted.endswith(" 0"), table
        remaining = await owner_conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} = $1", b.tenant_id
        )
        assert remaining > 0, table
    users_b = await owner_conn.fetchval("SELECT count(*) FROM users WHERE id = $1", b.user_id)
    async with app_conn.transaction():
        await _scope(app_conn, a)
        await app_conn.execute("DELETE FROM users WHERE id = $1", b.user_id)
        await app_conn.execute("UPDATE users SET name = 'x' WHERE id = $1", b.user_id)
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM users WHERE id = $1 AND name <> 'x'", b.user_id
        )
        == users_b
        == 1
    )


async def test_tenant_a_cannot_insert_rows_for_tenant_b(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    two_tenants: tuple[TenantRows, TenantRows],
) -> None:
    a, b = two_tenants
    for table in await _tenant_tables(owner_conn):
        # Copy one of A's own (visible) rows, relabelled as B's (generated columns are
        # the database's to fill).
        columns = ", ".join(
            r["attname"]
            for r in await owner_conn.fetch(
                "SELECT quote_ident(attname) AS attname FROM pg_attribute"
                " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped"
                "   AND attgenerated = '' ORDER BY attnum",
                table,
            )
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_conn.transaction():
                await _scope(app_conn, a)
                await app_conn.execute(
                    f"INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE"
                    f" SELECT {columns} FROM jsonb_populate_record(NULL::{table},"
                    f"   (SELECT to_jsonb(x) FROM {table} x LIMIT 1)"
                    f"   || jsonb_build_object('tenant_id', $1::uuid))",
                    b.tenant_id,
                )


async def test_tenant_a_cannot_move_its_rows_to_tenant_b(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    two_tenants: tuple[TenantRows, TenantRows],
) -> None:
    a, b = two_tenants
    for table in [*await _tenant_tables(owner_conn), "tenants"]:
        column = _tenant_column(table)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_conn.transaction():
                await _scope(app_conn, a)
                await app_conn.execute(f"UPDATE {table} SET {column} = $1", b.tenant_id)


async def test_without_tenant_setting_nothing_is_visible_or_writable(
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
    two_tenants: tuple[TenantRows, TenantRows],
) -> None:
    a, _ = two_tenants
    for table in await _tables(owner_conn):
        assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute(
            "INSERT INTO services (tenant_id, id, name, duration_minutes)"
            " VALUES ($1, gen_random_uuid(), 'x', 10)",
            a.tenant_id,
        )


async def test_definer_functions_have_a_fixed_search_path(owner_conn: asyncpg.Connection) -> None:
    rows = await owner_conn.fetch(
        "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.prosecdef"
    )
    assert rows
    for row in rows:
        assert any(c.startswith("search_path=") for c in (row["proconfig"] or [])), row["proname"]
