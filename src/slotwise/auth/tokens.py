"""Staff bearer tokens: signed (itsdangerous) and expiring, so the server keeps no sessions.

A token names the user and the tenant; the membership itself is re-read on every request
(``auth.deps``), so removing a member ends his access at once, token or not. A token may
also carry a stamp of the password hash: changing the password then ends older tokens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from itsdangerous import BadSignature, URLSafeTimedSerializer

from slotwise.errors import Unauthorized
from slotwise.settings import Settings

_SALT = "slotwise.staff-token.v1"
_MAX_TOKEN_LENGTH = 1024


@lru_cache(maxsize=4)
def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def password_stamp(password_hash: str) -> str:
    """A short fingerprint of the password hash: tokens carrying it die with the password."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def issue_token(
    settings: Settings, user_id: UUID, tenant_id: UUID, *, stamp: str | None = None
) -> str:
    claims: dict[str, Any] = {"u": user_id.hex, "t": tenant_id.hex}
    if stamp is not None:
        claims["s"] = stamp
    return str(_serializer(settings.secret_key.get_secret_value()).dumps(claims))


def token_expires_at(settings: Settings, issued_at: datetime | None = None) -> datetime:
    return (issued_at or datetime.now(UTC)) + timedelta(seconds=settings.token_ttl_seconds)


def read_token_claims(settings: Settings, token: str) -> tuple[UUID, UUID, str | None]:
    """``(user_id, tenant_id, stamp)``; ``Unauthorized`` if forged, expired or malformed."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise Unauthorized()
    try:
        claims = _serializer(settings.secret_key.get_secret_value()).loads(
            token, max_age=settings.token_ttl_seconds
        )
    except BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise Unauthorized() from exc
    try:
        user_id = UUID(hex=claims["u"])
        tenant_id = UUID(hex=claims["t"])
        stamp = claims.get("s")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unauthorized() from exc
    if stamp is not None and not isinstance(stamp, str):
        raise Unauthorized()
    return user_id, tenant_id, stamp


def read_token(settings: Settings, token: str) -> tuple[UUID, UUID]:
    """``(user_id, tenant_id)`` of a valid token; ``Unauthorized`` otherwise."""
    user_id, tenant_id, _stamp = read_token_claims(settings, token)
    return user_id, tenant_id
