"""Which requests are cached, under which key, and which writes name which tenant.

Only public GETs whose answer is a function of the path and these query parameters:
the business profile and the availability listing. Anything unexpected in the query (an
unknown or repeated parameter, a malformed value, a range over 62 days) is not cached, so
the endpoint answers it exactly as without a cache."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal
from urllib.parse import parse_qsl
from uuid import UUID

PROFILE = re.compile(r"^/api/v1/public/businesses/(?P<slug>[a-z0-9][a-z0-9-]{1,38}[a-z0-9])$")
AVAILABILITY = re.compile(
    r"^/api/v1/public/businesses/(?P<slug>[a-z0-9][a-z0-9-]{1,38}[a-z0-9])/availability$"
)
# Paths of writes that name their business by slug (API and booking pages).
SLUG_WRITES = re.compile(
    r"^(?:/api/v1/public/businesses|/b)/(?P<slug>[a-z0-9][a-z0-9-]{1,38}[a-z0-9])(?:/|$)"
)
# ".../bookings/<id>..." or ".../appointments/<id>...": the appointment a write changes.
APPOINTMENT_IN_PATH = re.compile(r"/(?:bookings|appointments)/(?P<id>[0-9a-fA-F-]{32,36})(?:/|$)")
# Writes that create an appointment answer with its "id".
CREATES_APPOINTMENT = re.compile(r"/(?:bookings|appointments)$")

MAX_DAYS = 62


@dataclass(frozen=True, slots=True)
class CachedRequest:
    kind: Literal["profile", "availability"]
    slug: str
    service_id: UUID | None = None
    professional_id: UUID | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def dates(self) -> list[date]:
        if self.date_from is None or self.date_to is None:
            return []
        return [
            self.date_from + timedelta(days=i)
            for i in range((self.date_to - self.date_from).days + 1)
        ]


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if len(value) <= 36 else None
    except ValueError:
        return None


def _date(value: str) -> date | None:
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def cached_request(path: str, query_string: bytes) -> CachedRequest | None:
    """The cacheable request behind ``path`` and its query, or None (not cached)."""
    match = PROFILE.match(path)
    if match:
        return None if query_string else CachedRequest("profile", match["slug"])
    match = AVAILABILITY.match(path)
    if match is None:
        return None
    try:
        pairs = parse_qsl(query_string.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or not {"service_id", "date_from", "date_to"} <= set(params):
        return None
    if set(params) - {"service_id", "date_from", "date_to", "professional_id"}:
        return None
    service_id = _uuid(params["service_id"])
    date_from, date_to = _date(params["date_from"]), _date(params["date_to"])
    professional_id = _uuid(params["professional_id"]) if "professional_id" in params else None
    if service_id is None or date_from is None or date_to is None:
        return None
    if "professional_id" in params and professional_id is None:
        return None
    if not 0 <= (date_to - date_from).days < MAX_DAYS:
        return None
    return CachedRequest(
        "availability", match["slug"], service_id, professional_id, date_from, date_to
    )


def slug_of_write(path: str) -> str | None:
    match = SLUG_WRITES.match(path)
    return match["slug"] if match else None


def appointment_of_write(path: str) -> UUID | None:
    match = APPOINTMENT_IN_PATH.search(path)
    return _uuid(match["id"]) if match else None
