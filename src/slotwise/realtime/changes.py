"""The change feed's records, as written by the triggers of migration 0004.

A payload is a JSON array of compact objects (ids only, never personal data):
``{"t": tenant, "k": "av"|"ap"|"ca", "p": professional|null, "a": appointment|null,
"d": [local dates]|null, "o": "i"|"u"|"d", "x": availability changed}``. ``d`` null means
"every date"; ``p`` null means "business-wide"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

import structlog

CHANNEL = "slotwise_live"

Kind = Literal["availability", "appointment", "catalog"]
Operation = Literal["insert", "update", "delete"]

_KINDS: dict[str, Kind] = {"av": "availability", "ap": "appointment", "ca": "catalog"}
_OPERATIONS: dict[str, Operation] = {"i": "insert", "u": "update", "d": "delete"}

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One committed change: what it touched, not what it contains."""

    tenant_id: UUID
    kind: Kind
    professional_id: UUID | None
    dates: tuple[date, ...] | None
    appointment_id: UUID | None
    operation: Operation
    affects_availability: bool


def _uuid(value: Any) -> UUID | None:
    return None if value is None else UUID(str(value))


def _change(item: Any) -> Change:
    if not isinstance(item, dict):
        raise ValueError("a change is an object")
    tenant = _uuid(item["t"])
    if tenant is None:
        raise ValueError("a change names its tenant")
    dates = item.get("d")
    return Change(
        tenant_id=tenant,
        kind=_KINDS[item["k"]],
        professional_id=_uuid(item.get("p")),
        dates=None if dates is None else tuple(sorted({date.fromisoformat(d) for d in dates})),
        appointment_id=_uuid(item.get("a")),
        operation=_OPERATIONS[item["o"]],
        affects_availability=bool(item.get("x", True)),
    )


def parse_payload(payload: str) -> list[Change]:
    """The changes of one notification; a malformed item is logged and skipped (the
    database wrote it, so this only happens across incompatible versions)."""
    try:
        items = json.loads(payload)
    except ValueError:
        log.error("live_payload_unreadable", size=len(payload))
        return []
    if not isinstance(items, list):
        items = [items]
    changes = []
    for item in items:
        try:
            changes.append(_change(item))
        except (KeyError, ValueError, TypeError):
            log.error("live_change_unreadable")
    return changes
