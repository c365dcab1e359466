"""``epoch_us(timestamptz)``: an instant as integer microseconds since the Unix epoch.

The availability loader reads thousands of busy ranges per request; as ``bigint`` they
decode to Python integers (the engine's own unit) instead of timezone-aware ``datetime``
objects it would convert straight back. Exact: PostgreSQL keeps microseconds, and the
``numeric`` result of ``extract`` carries them all. A plain SQL function, so the planner
inlines it.

Revision ID: 0006
Revises: 0005
"""

from slotwise.migrations.sql import execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION epoch_us(p_instant timestamptz) RETURNS bigint
        LANGUAGE sql STABLE PARALLEL SAFE
        AS $$ SELECT (extract(epoch FROM p_instant) * 1000000)::bigint $$;
    REVOKE ALL ON FUNCTION epoch_us(timestamptz) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION epoch_us(timestamptz) TO slotwise_app;
    """)


def downgrade() -> None:
    execute_script("DROP FUNCTION IF EXISTS epoch_us(timestamptz);")
