"""Notifications: the transactional outbox, its worker, customer and business emails with
calendar invitations, and signed outgoing webhooks."""
