"""Alembic environment: runs on the connection handed over by ``slotwise.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    # One migrator at a time per database, whatever the number of app processes starting.
    connection.execute(text("SELECT pg_advisory_xact_lock(7202611290)"))
    context.run_migrations()
