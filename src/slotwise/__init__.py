"""Slotwise: multi-tenant appointment booking for service businesses."""

__version__ = "0.1.0"
