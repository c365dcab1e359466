"""Apply and inspect Alembic migrations (as the schema owner)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from slotwise.db.urls import to_sqlalchemy


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "slotwise:migrations")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def _with_owner(owner_url: str, action: str, target: str) -> None:
    engine = create_async_engine(to_sqlalchemy(owner_url), poolclass=NullPool)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_conn
                if action == "upgrade":
                    command.upgrade(config, target)
                else:
                    command.downgrade(config, target)

            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(owner_url: str, target: str = "head", app_password: str | None = None) -> None:
    await _with_owner(owner_url, "upgrade", target)
    if app_password:
        engine = create_async_engine(to_sqlalchemy(owner_url), poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                quoted = app_password.replace("'", "''")
                await conn.execute(text(f"ALTER ROLE slotwise_app PASSWORD '{quoted}'"))
        finally:
            await engine.dispose()


async def downgrade(owner_url: str, target: str = "base") -> None:
    await _with_owner(owner_url, "downgrade", target)


def current_revision(sync_conn: Connection) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()
