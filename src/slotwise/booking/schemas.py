"""Booking schemas: what customers and staff send, and what they get back.

Inputs forbid unknown fields, trim and NFC-normalize text (``core.fields``), bound every
length and number, and take instants only with a UTC offset (a bare local time would be
ambiguous across time zones and DST changes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StrictBool,
    StringConstraints,
    model_validator,
)

from slotwise.core.fields import Email, LongText, Name
from slotwise.customers.schemas import NEED_CONTACT, RawPhone

Status = Literal["pending", "confirmed", "cancelled", "completed", "no_show"]
"""Appointment states. pending → confirmed | cancelled; confirmed → cancelled | completed |
no_show; the last three are final."""

OUT_OF_RANGE = "Use a date between the years 2000 and 2100."
WHOLE_MINUTES = "Use a time in whole minutes."
ONE_CUSTOMER = "Give exactly one of customer_id and customer."
NO_CHANGES = "Nothing to change."

_MIN_YEAR, _MAX_YEAR = 2000, 2100


def _check_instant(value: datetime) -> datetime:
    if not (_MIN_YEAR <= value.year <= _MAX_YEAR):
        raise ValueError(OUT_OF_RANGE)
    if value.second or value.microsecond:
        raise ValueError(WHOLE_MINUTES)
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_check_instant)]
"""An ISO 8601 instant with its UTC offset, in whole minutes, between 2000 and 2100."""

Notes = Annotated[LongText, StringConstraints(max_length=1000)]

_START_EXAMPLE = "2030-06-03T10:00:00-04:00"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerCreate(_Input):
    """The customer of a booking: found by email (or phone) in the business, else created."""

    name: Name
    email: Email | None = None
    phone: RawPhone | None = None

    @model_validator(mode="after")
    def _one_contact(self) -> CustomerCreate:
        if self.email is None and self.phone is None:
            raise ValueError(NEED_CONTACT)
        return self


class BookingCreate(_Input):
    """A public booking. Without ``professional_id`` the business assigns whoever is free
    (fewest appointments that day, then display order)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service_id": "0b6f3f5e-8a39-4d7e-9a36-2f0c2d1f6a10",
                    "professional_id": None,
                    "start": _START_EXAMPLE,
                    "customer": {"name": "Ana Souza", "email": "ana@example.com", "phone": None},
                    "notes": "First visit",
                }
            ]
        },
    )

    service_id: UUID
    professional_id: UUID | None = None
    start: Instant
    customer: CustomerCreate
    notes: Notes = ""


class BookingUpdate(_Input):
    """A customer's reschedule: a new start, with the same professional unless another is
    named."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"start": _START_EXAMPLE}]}
    )

    start: Instant
    professional_id: UUID | None = None


class BookingRead(BaseModel):
    """The answer to a booking: keep ``manage_token`` — it is the only key to the booking."""

    id: UUID
    status: Status
    start: datetime
    end: datetime
    professional_id: UUID
    service_id: UUID
    manage_token: str
    manage_url: str


class NamedRef(BaseModel):
    id: UUID
    name: str


class ServiceRef(NamedRef):
    duration_minutes: int
    price_minor: int
    currency: str


class BusinessRef(BaseModel):
    name: str
    slug: str
    timezone: str
    phone: str
    address: str


class ManagedBookingRead(BaseModel):
    """What the manage link shows. ``changeable_until`` is the last instant the customer may
    reschedule or cancel online; ``changeable`` says whether that is still possible now."""

    id: UUID
    status: Status
    start: datetime
    end: datetime
    version: int
    business: BusinessRef
    service: ServiceRef
    professional: NamedRef
    changeable_until: datetime
    changeable: bool


class CustomerRef(BaseModel):
    id: UUID
    name: str
    email: str | None
    phone: str | None


class AppointmentRead(BaseModel):
    """An appointment as the dashboard sees it."""

    id: UUID
    status: Status
    start: datetime
    end: datetime
    buffer_before_minutes: int
    buffer_after_minutes: int
    professional: NamedRef
    service: NamedRef
    customer: CustomerRef
    notes: str
    source: Literal["public", "staff"]
    price_minor: int
    currency: str
    version: int
    created_at: datetime
    updated_at: datetime


class AppointmentPage(BaseModel):
    """One page of appointments by start time; pass ``next_cursor`` as ``cursor`` for the
    next page (null: this was the last)."""

    items: list[AppointmentRead]
    next_cursor: str | None


class AppointmentCreate(_Input):
    """An appointment made by staff for a customer (``customer_id`` of an existing one, or
    ``customer`` to find or create one). ``override_rules`` (owners and managers) books off
    the grid or outside hours; never over another appointment."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service_id": "0b6f3f5e-8a39-4d7e-9a36-2f0c2d1f6a10",
                    "professional_id": "5c1d2a8e-0f4e-4a5b-8e2c-77c9d1e0b3a4",
                    "start": _START_EXAMPLE,
                    "customer": {"name": "Ana Souza", "phone": "+55 11 91234-5678"},
                    "notes": "",
                    "override_rules": False,
                }
            ]
        },
    )

    service_id: UUID
    professional_id: UUID | None = None
    start: Instant
    customer_id: UUID | None = None
    customer: CustomerCreate | None = None
    notes: Notes = ""
    override_rules: StrictBool = False

    @model_validator(mode="after")
    def _one_customer(self) -> AppointmentCreate:
        if (self.customer_id is None) == (self.customer is None):
            raise ValueError(ONE_CUSTOMER)
        return self


class AppointmentUpdate(_Input):
    """A change by staff: any of start, professional, service, notes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"start": _START_EXAMPLE, "notes": "Moved by phone"}]},
    )

    start: Instant | None = None
    professional_id: UUID | None = None
    service_id: UUID | None = None
    notes: Notes | None = None
    override_rules: StrictBool = False

    @model_validator(mode="after")
    def _something(self) -> AppointmentUpdate:
        if self.model_fields_set <= {"override_rules"}:
            raise ValueError(NO_CHANGES)
        if self.start is None and "start" in self.model_fields_set:
            raise ValueError(NO_CHANGES)
        return self


class PublicService(BaseModel):
    id: UUID
    name: str
    description: str
    duration_minutes: int
    price_minor: int
    currency: str


class PublicProfessional(BaseModel):
    id: UUID
    name: str
    bio: str
    service_ids: list[UUID]


class BookingPolicyRead(BaseModel):
    slot_step_minutes: int
    min_notice_minutes: int
    horizon_days: int
    cancel_cutoff_minutes: int
    auto_confirm: bool


class BusinessProfileRead(BaseModel):
    """A business as its public booking page shows it."""

    name: str
    slug: str
    timezone: str
    locale: str
    currency: str
    address: str
    phone: str
    policy: BookingPolicyRead
    services: list[PublicService]
    professionals: list[PublicProfessional]
