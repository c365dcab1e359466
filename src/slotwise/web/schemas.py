"""The pages' forms, field by field as the inputs are named.

They check the shape (lengths, required fields, ids, instants) with messages a person
understands; the domain schemas they are turned into (``BookingCreate``…) keep the rules
(email and phone formats, one contact at least)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from slotwise.core.fields import Label, clean_line, clean_multiline, clean_secret
from slotwise.web.i18n import N_

NAME_REQUIRED = N_("Enter your name.")
TIME_GONE = N_("This time is not valid any more. Please choose a time again.")

_FORM = ConfigDict(extra="forbid")


def _blank_to_none(value: Any) -> Any:
    value = clean_line(value)
    return None if value == "" else value


def parse_pro(value: str) -> UUID | None:
    """``any`` (None) or a professional's id; ValueError otherwise."""
    return None if value == "any" else UUID(value)


def parse_alternative(value: str) -> tuple[datetime, str]:
    """An offered alternative, ``<start>|<any or professional id>``, as the start and the
    professional choice; ``ValueError`` for a malformed one."""
    start_text, _, pro = value.partition("|")
    start = datetime.fromisoformat(start_text)
    if start.tzinfo is None:
        raise ValueError(TIME_GONE)
    parse_pro(pro or "any")
    return start, pro or "any"


def _valid_pro(value: str) -> str:
    parse_pro(value)
    return value


def _name_given(value: str) -> str:
    if not value:
        raise ValueError(NAME_REQUIRED)
    return value


CustomerName = Annotated[Label, AfterValidator(_name_given)]
OptionalLine = Annotated[
    Annotated[str, StringConstraints(max_length=254)] | None, BeforeValidator(_blank_to_none)
]
Notes = Annotated[str, BeforeValidator(clean_multiline), StringConstraints(max_length=1000)]
ProChoice = Annotated[
    str, BeforeValidator(clean_line), StringConstraints(max_length=40), AfterValidator(_valid_pro)
]


class BookingDetailsCreate(BaseModel):
    """The booking page's last step: the chosen slot (hidden fields) and the customer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service": "0b6f3f5e-8a39-4d7e-9a36-2f0c2d1f6a10",
                    "pro": "any",
                    "start": "2030-06-03T10:00:00-03:00",
                    "name": "Ana Souza",
                    "email": "ana@example.com",
                    "phone": "",
                    "notes": "",
                }
            ]
        },
    )

    service: UUID
    pro: ProChoice = "any"
    start: AwareDatetime
    alternative: OptionalLine = Field(
        default=None, description="`<start>|<any or professional id>` of an offered slot."
    )
    name: CustomerName = ""
    email: OptionalLine = None
    phone: OptionalLine = None
    notes: Notes = ""

    def chosen(self) -> tuple[datetime, str]:
        """The start and professional choice, an offered alternative winning over the
        original ones; ``ValueError`` for a malformed alternative."""
        if not self.alternative:
            return self.start, self.pro
        return parse_alternative(self.alternative)


class RescheduleCreate(BaseModel):
    """The manage page's new time."""

    model_config = _FORM

    start: AwareDatetime
    version: int | None = Field(default=None, ge=1, le=2_000_000_000)


class CancelCreate(BaseModel):
    """The manage page's cancel confirmation (the version the customer saw)."""

    model_config = _FORM

    version: int | None = Field(default=None, ge=1, le=2_000_000_000)


# --------------------------------------------------------------------------- dashboard


Secret = Annotated[str, BeforeValidator(clean_secret), StringConstraints(max_length=256)]


class LoginFormCreate(BaseModel):
    model_config = _FORM

    email: Annotated[str, BeforeValidator(clean_line), StringConstraints(max_length=254)] = ""
    password: Secret = ""
    next: Annotated[str, StringConstraints(max_length=2000)] = "/app"


class PasswordFormUpdate(BaseModel):
    model_config = _FORM

    current_password: Secret = ""
    new_password: Secret = ""
    confirm_password: Secret = ""


class BusinessSwitchUpdate(BaseModel):
    """The business to work in next, by its address name (one of the account's)."""

    model_config = _FORM

    business: Annotated[str, BeforeValidator(clean_line), StringConstraints(max_length=40)]


class AppointmentActionUpdate(BaseModel):
    """A status change from the appointment page, with the version the page showed."""

    model_config = _FORM

    action: Literal["confirm", "cancel", "complete", "no-show"]
    version: int = Field(ge=1, le=2_000_000_000)
    next: Annotated[str, StringConstraints(max_length=2000)] = ""


Clock = Annotated[
    str, BeforeValidator(clean_line), StringConstraints(pattern=r"^[0-9]{1,2}:[0-9]{2}$")
]


class AppointmentChangeUpdate(BaseModel):
    """A move (date, time and, for managers, professional) or new notes, from the
    appointment page, with the version the page showed."""

    model_config = _FORM

    date: date
    time: Clock
    pro: ProChoice = "any"
    alternative: OptionalLine = None
    notes: Notes = ""
    version: int = Field(ge=1, le=2_000_000_000)
    override: Literal["on"] | None = None


class WalkInCreate(BaseModel):
    """The dashboard's booking form for a customer on the phone or at the desk."""

    model_config = _FORM

    service: UUID
    pro: ProChoice = "any"
    date: date
    time: Clock
    alternative: OptionalLine = None
    name: CustomerName = ""
    email: OptionalLine = None
    phone: OptionalLine = None
    notes: Notes = ""
    override: Literal["on"] | None = None
