"""The ``data`` of each server-sent event, documented in OpenAPI (the streams are not JSON
responses, so these models describe lines of ``text/event-stream``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class AvailabilityEventRead(BaseModel):
    """``event: availability`` — refetch the slots of ``date`` (every date when null)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"date": "2026-12-01", "professional_id": "0b7e2d1c-5a43-4f0e-8f6e-2a9d7c3b1e44"},
                {"date": None, "professional_id": None},
            ]
        }
    )

    date: dt.date | None = Field(description="Local date touched; null: every date.")
    professional_id: UUID | None = Field(description="Professional touched; null: everyone.")


class AppointmentEventRead(BaseModel):
    """``event: appointment`` — an appointment was created, moved, changed status or removed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "appointment_id": "9d1c7a52-3a0e-4a53-9d0b-0d1d3c1e9b10",
                    "professional_id": "0b7e2d1c-5a43-4f0e-8f6e-2a9d7c3b1e44",
                    "dates": ["2026-12-01"],
                    "operation": "insert",
                }
            ]
        }
    )

    appointment_id: UUID
    professional_id: UUID | None
    dates: list[dt.date] | None = Field(description="Local dates touched; null: many dates.")
    operation: Literal["insert", "update", "delete"]


EVENT_STREAM = "text/event-stream"

PUBLIC_STREAM_EXAMPLE = (
    "retry: 3000\n\n"
    "id: 3f9a01c2-17\nevent: availability\n"
    'data: {"date":"2026-12-01","professional_id":"0b7e2d1c-5a43-4f0e-8f6e-2a9d7c3b1e44"}\n\n'
    ": heartbeat\n\n"
    "id: 3f9a01c2-18\nevent: resync\ndata: {}\n\n"
)

STAFF_STREAM_EXAMPLE = (
    "retry: 3000\n\n"
    "id: 3f9a01c2-19\nevent: appointment\n"
    'data: {"appointment_id":"9d1c7a52-3a0e-4a53-9d0b-0d1d3c1e9b10",'
    '"professional_id":"0b7e2d1c-5a43-4f0e-8f6e-2a9d7c3b1e44","dates":["2026-12-01"],'
    '"operation":"insert"}\n\n'
)
