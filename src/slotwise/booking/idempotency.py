"""``Idempotency-Key`` for booking POSTs (SPEC §3).

The key is claimed INSIDE the booking transaction (an insert into ``idempotency_keys``
first), and the response is stored in the same transaction before it commits. So:

* a retry with the same key and body replays the stored answer — status, body and headers,
  byte for byte (the first answer is sent from the very bytes that were stored);
* a concurrent duplicate blocks on the key's primary key until the first transaction ends,
  then replays its answer — two requests can never both book;
* if the first transaction fails, its claim vanishes with it and the duplicate books;
* the same key with another body is ``409 idempotency_key_reused``;
* keys live 24 hours; an expired key is taken over by the next request that uses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.booking import repository
from slotwise.errors import IdempotencyKeyReused, ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
INVALID_KEY = "Use an Idempotency-Key of 1 to 255 visible ASCII characters."
REPLAYED_HEADERS = ("content-type", "content-language", "cache-control", "etag", "location")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer as it was (or will be) sent: status, exact body bytes, headers in order."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def check_key(value: str | None) -> str | None:
    """The header's key, or None when absent; 422 for an unusable one."""
    if value is None:
        return None
    if not (1 <= len(value) <= MAX_KEY_LENGTH) or not all("!" <= char <= "~" for char in value):
        raise ValidationFailed(errors=[{"field": HEADER, "message": INVALID_KEY}])
    return value


def fingerprint(route: str, payload: Any) -> str:
    """What "the same request" means: the same route (method, path) and the same JSON
    document (key order and whitespace do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


async def claim(conn: AsyncConnection, key: str, request_hash: str) -> StoredResponse | None:
    """Take ``key`` in this transaction. None: it is ours, go on and ``store`` the answer.
    A stored answer: replay it. ``IdempotencyKeyReused`` when it was used for another body."""
    if await repository.claim_key(conn, key, request_hash):
        return None
    stored = await repository.stored_key(conn, key)
    if stored is None or stored.status_code is None or stored.body is None:
        # Unreachable by design (claim and answer commit together); refuse rather than guess.
        raise IdempotencyKeyReused()
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return StoredResponse(stored.status_code, stored.body, stored.headers)


async def store(conn: AsyncConnection, key: str, response: StoredResponse) -> None:
    """Keep the answer with the claim; commits (or vanishes) with the booking itself."""
    headers = [(k, v) for k, v in response.headers if k.lower() in REPLAYED_HEADERS]
    await repository.store_response(conn, key, response.status, response.body, headers)
