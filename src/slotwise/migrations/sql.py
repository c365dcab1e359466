"""Run a multi-statement SQL script in a migration.

asyncpg prepares every statement, and a prepared statement holds one command; a script of
many is sent with the simple query protocol on the driver connection instead."""

from __future__ import annotations

from alembic import op
from sqlalchemy.util import await_


def execute_script(script: str) -> None:
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_(driver_connection.execute(script))
