"""Password hashing with argon2id (pwdlib)."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Verified when the email is unknown, so both answers take the same time.
DUMMY_HASH = _hasher.hash("slotwise-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return bool(_hasher.verify(password, password_hash or DUMMY_HASH)) and bool(password_hash)
    except Exception:
        return False
