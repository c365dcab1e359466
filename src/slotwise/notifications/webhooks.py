"""Outgoing webhooks: where they may point (no private networks: SSRF guard), what they
carry (ids only), how they are signed, and how they are posted — to the very address that
was checked, so a host name that resolves differently a moment later (DNS rebinding)
cannot steer the post into a private network."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit
from uuid import UUID

import httpx

from slotwise import __version__
from slotwise.errors import ValidationFailed
from slotwise.notifications.mail import DeliveryFailed
from slotwise.settings import Settings

WEBHOOK_TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-Slotwise-Signature"
EVENT_HEADER = "X-Slotwise-Event"
DELIVERY_HEADER = "X-Slotwise-Delivery"

URL_NOT_HTTP = "Use an http or https address without a user name or password."
URL_NOT_FOUND = "We could not find the server of this address."
URL_PRIVATE = "This address points to a private network and cannot receive webhooks."


class UnsafeUrl(Exception):
    """The URL may not receive webhooks; ``message`` is a catalog sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a post goes: ``url`` with its host replaced by a checked address, the
    ``Host`` header the receiver expects, and the name TLS must verify (https)."""

    url: str
    host: str
    tls_name: str | None


def _http_parts(url: str) -> tuple[SplitResult, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(URL_NOT_HTTP)
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(URL_NOT_HTTP)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(URL_NOT_HTTP) from exc
    return parts, port


async def _checked_addresses(host: str, port: int, settings: Settings) -> list[str]:
    """Every address ``host`` resolves to, all public (the test environment allows local
    receivers)."""
    try:
        addresses = await _resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(URL_NOT_FOUND) from exc
    if not addresses:
        raise UnsafeUrl(URL_NOT_FOUND)
    if settings.environment != "test" and not all(_public(a) for a in addresses):
        raise UnsafeUrl(URL_PRIVATE)
    return addresses


async def ensure_safe_url(url: str, settings: Settings) -> None:
    """Raise ``UnsafeUrl`` unless ``url`` is http(s) and every address its host resolves to
    is public. In the test environment local receivers are allowed and the host is not
    looked up (API tests save addresses of hosts that do not exist)."""
    parts, port = _http_parts(url)
    if settings.environment == "test":
        return
    assert parts.hostname is not None  # _http_parts refuses a URL without one
    await _checked_addresses(parts.hostname, port, settings)


async def pinned_target(url: str, settings: Settings) -> Target:
    """``url`` checked as ``ensure_safe_url`` does, then pinned to the first address
    checked: the connection goes there and nowhere else, whatever the DNS answers next."""
    parts, port = _http_parts(url)
    assert parts.hostname is not None  # _http_parts refuses a URL without one
    address = (await _checked_addresses(parts.hostname, port, settings))[0]
    literal = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, ""))
    tls_name = parts.hostname if parts.scheme == "https" else None
    return Target(pinned, parts.netloc, tls_name)


async def check_webhook_url(url: str, settings: Settings) -> str:
    """``url`` when it may receive webhooks, else 422 naming the ``url`` field."""
    try:
        await ensure_safe_url(url, settings)
    except UnsafeUrl as exc:
        raise ValidationFailed(errors=[{"field": "url", "message": exc.message}]) from exc
    return url


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body keyed by the webhook's secret>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(outbox_id: UUID, created_at: datetime, payload: Mapping[str, Any]) -> bytes:
    """The JSON posted: the delivery id, the event, and the appointment's ids and times —
    never a name, an email or a phone number."""
    data = {key: value for key, value in payload.items() if key != "event"}
    document = {
        "id": str(outbox_id),
        "event": str(payload.get("event", "")),
        "created_at": created_at.isoformat(),
        "data": data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def headers_of(outbox_id: UUID, event: str, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": f"Slotwise-Webhooks/{__version__}",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(outbox_id),
        SIGNATURE_HEADER: sign(secret, body),
    }


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    settings: Settings,
) -> None:
    """POST once; anything but a 2xx answer is a ``DeliveryFailed``. The URL is checked
    again right before (its DNS may have changed since it was saved) and the post goes to
    the address checked, on a connection of its own (a pooled one could belong to
    another host name on the same address); redirects are not followed."""
    try:
        target = await pinned_target(url, settings)
    except UnsafeUrl as exc:
        raise DeliveryFailed(f"webhook URL refused: {exc.message}") from exc
    try:
        response = await client.post(
            target.url,
            content=body,
            headers={**headers, "Host": target.host, "Connection": "close"},
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
            extensions={"sni_hostname": target.tls_name} if target.tls_name else None,
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"webhook answered HTTP {response.status_code}")
