"""Customer bodies. Emails are validated and lowercased here; phone numbers are normalized
to E.164 by the service, which knows the business's country (see ``phones``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from slotwise.core.fields import Email, LongText, Name, PatchModel, clean_line, field_error

NEED_CONTACT = "Give an email or a phone number."

RawPhone = Annotated[
    str,
    BeforeValidator(clean_line),
    StringConstraints(min_length=1, max_length=40),
    Field(description="E.164 (+5511987654321) or a local number of the business's country"),
]


class CustomerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Maria Silva", "email": "maria@example.com", "phone": "+5511987654321"}
            ]
        },
    )

    name: Name
    email: Email | None = None
    phone: RawPhone | None = None
    notes: LongText = ""

    @model_validator(mode="after")
    def _contact(self) -> CustomerCreate:
        if self.email is None and self.phone is None:
            raise field_error(("email",), NEED_CONTACT)
        return self


class CustomerUpdate(PatchModel):
    """``null`` clears ``email`` or ``phone`` (one of them must remain)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"email", "phone"})

    name: Name | None = None
    email: Email | None = None
    phone: RawPhone | None = None
    notes: LongText | None = None


class CustomerRead(BaseModel):
    id: UUID
    name: str
    email: str | None
    phone: str | None
    notes: str
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerRead]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last")
