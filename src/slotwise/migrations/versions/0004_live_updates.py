"""Live updates: the change feed written by triggers and relayed to listeners.

Revision ID: 0004
Revises: 0003
"""

from slotwise.migrations.sql import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("SELECT 1")


def downgrade() -> None:
    execute_script("SELECT 1")
