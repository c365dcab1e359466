"""Shapes of the public availability answer (SPEC §5) and of its query string."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

INVALID_DATE = "Use a date in the format YYYY-MM-DD."
DATE_OUT_OF_RANGE = "Use a date between the years 1900 and 2999."
INVALID_ID = "Use a valid identifier."

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FIRST_DATE = date(1900, 1, 1)
_LAST_DATE = date(2999, 12, 31)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def parse_local_date(value: Any) -> date:
    """A calendar date written exactly ``YYYY-MM-DD`` (no timestamps, no times), within years
    that every date computation here handles."""
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    else:
        value = _clean(value)
        if not isinstance(value, str) or _ISO_DATE.fullmatch(value) is None:
            raise ValueError(INVALID_DATE)
        try:
            parsed = date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(INVALID_DATE) from exc
    if not _FIRST_DATE <= parsed <= _LAST_DATE:
        raise ValueError(DATE_OUT_OF_RANGE)
    return parsed


def parse_identifier(value: Any) -> UUID:
    """A UUID in its usual text form."""
    if isinstance(value, UUID):
        return value
    value = _clean(value)
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError(INVALID_ID)
    try:
        return UUID(value)
    except ValueError as exc:
        raise ValueError(INVALID_ID) from exc


LocalDate = Annotated[date, BeforeValidator(parse_local_date)]
# ``DayRead.date`` would shadow the type inside its class body.
CalendarDate = date
Identifier = Annotated[UUID, BeforeValidator(parse_identifier)]


class AvailabilityQuery(BaseModel):
    """``?service_id=&date_from=&date_to=[&professional_id=]`` — local dates of the business."""

    model_config = ConfigDict(extra="forbid")

    service_id: Identifier = Field(description="The service to book.")
    date_from: LocalDate = Field(description="First local date, YYYY-MM-DD.")
    date_to: LocalDate = Field(description="Last local date (inclusive, at most 62 days).")
    professional_id: Identifier | None = Field(
        default=None, description="Only this professional; omitted: any professional."
    )


# A listing holds up to thousands of slots: ``SlotRead`` and ``DayRead`` are plain frozen
# dataclasses, which pydantic validates, documents and serializes like models but which cost
# a tenth of a model to build from the engine's trusted values.


@dataclass(frozen=True, slots=True)
class SlotRead:
    start: Annotated[
        datetime, Field(description="Start, ISO 8601 with the business's local offset.")
    ]
    end: Annotated[datetime, Field(description="End of the service (buffers not included).")]
    professional_ids: Annotated[
        tuple[UUID, ...], Field(description="The professionals free then, in display order.")
    ]


@dataclass(frozen=True, slots=True)
class DayRead:
    date: Annotated[CalendarDate, Field(description="A local date of the business.")]
    slots: Annotated[tuple[SlotRead, ...], Field(description="Its slots, by start.")]


class AvailabilityRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "timezone": "America/Sao_Paulo",
                    "service_id": "6f1c7a52-3a0e-4a53-9d0b-0d1d3c1e9b10",
                    "days": [
                        {
                            "date": "2026-12-01",
                            "slots": [
                                {
                                    "start": "2026-12-01T09:00:00-03:00",
                                    "end": "2026-12-01T09:30:00-03:00",
                                    "professional_ids": ["0b7e2d1c-5a43-4f0e-8f6e-2a9d7c3b1e44"],
                                }
                            ],
                        },
                        {"date": "2026-12-02", "slots": []},
                    ],
                }
            ]
        }
    )

    timezone: str = Field(description="The business's IANA time zone.")
    service_id: UUID
    days: tuple[DayRead, ...] = Field(description="Every date of the range, empty or not.")
