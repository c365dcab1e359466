"""Accounts, memberships, tokens and sessions."""
