"""Manage-link tokens: the secret that lets a customer view, reschedule or cancel a booking.

A token is ``base64url(tenant id ‖ HMAC-SHA256(key, tenant id ‖ appointment id)[:20])``. The
tenant travels inside the token (the public manage paths take their tenant from it, never
from user input); the appointment id is in the path and bound by the MAC. The key is derived
from the settings secret with a purpose label, so these tokens can never be confused with
any other signature the application makes. Tokens do not expire: the link in the
confirmation email must work for the life of the booking.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from uuid import UUID

from slotwise.settings import Settings

_PURPOSE = b"slotwise.booking.manage-token.v1"
_MAC_BYTES = 20
_TOKEN_BYTES = 16 + _MAC_BYTES
TOKEN_LENGTH = len(base64.urlsafe_b64encode(b"\0" * _TOKEN_BYTES))
"""Every token has this many characters (no padding needed: 36 bytes → 48 characters)."""


def _key(settings: Settings) -> bytes:
    return _derived(settings.secret_key.get_secret_value())


@functools.lru_cache(maxsize=4)
def _derived(secret: str) -> bytes:
    """Derived once per secret, not on every booking answer and manage-link check."""
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _mac(key: bytes, tenant_id: UUID, appointment_id: UUID) -> bytes:
    return hmac.new(key, tenant_id.bytes + appointment_id.bytes, hashlib.sha256).digest()[
        :_MAC_BYTES
    ]


def issue_manage_token(settings: Settings, tenant_id: UUID, appointment_id: UUID) -> str:
    """The URL-safe token of one appointment."""
    raw = tenant_id.bytes + _mac(_key(settings), tenant_id, appointment_id)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def read_manage_token(settings: Settings, token: str, appointment_id: UUID) -> UUID | None:
    """The tenant id when ``token`` was issued for ``appointment_id``, else None (callers
    answer 404 without saying whether the token or the id was wrong)."""
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES:
        return None
    tenant_id = UUID(bytes=raw[:16])
    expected = _mac(_key(settings), tenant_id, appointment_id)
    if not hmac.compare_digest(expected, raw[16:]):
        return None
    return tenant_id
