"""Rules of the customers domain, and ``find_or_create_customer`` for the booking flow.

Every member (staff included) may list, create and edit the business's customers: the
front desk books on behalf of people. Emails are unique per business."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth.deps import CurrentMember
from slotwise.core.fields import Email, Name
from slotwise.core.problems import validation_error_from
from slotwise.customers import repository
from slotwise.customers.phones import normalize_phone, phone_region
from slotwise.customers.schemas import (
    NEED_CONTACT,
    CustomerCreate,
    CustomerPage,
    CustomerRead,
    CustomerUpdate,
)
from slotwise.db.constraints import is_refusal, problem_for
from slotwise.errors import CustomerEmailTaken, NotFound, ValidationFailed

_PROBLEMS = {"uq_customers_email": CustomerEmailTaken}
_NAME: TypeAdapter[str] = TypeAdapter(Name)
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)


def _phone(raw: str | None, region: str | None, field: str) -> str | None:
    if raw is None:
        return None
    try:
        return normalize_phone(raw, region)
    except ValueError as exc:
        raise ValidationFailed(errors=[{"field": field, "message": str(exc)}]) from exc


def _checked(adapter: TypeAdapter[str], value: Any, field: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        errors = validation_error_from(exc.errors()).errors
        raise ValidationFailed(
            errors=[{"field": field, "message": error["message"]} for error in errors]
        ) from exc


async def find_or_create_customer(
    conn: AsyncConnection,
    tenant_id: UUID,
    name: str,
    email: str | None,
    phone: str | None,
    *,
    region: str | None = None,
    field_prefix: str = "customer",
) -> UUID:
    """The id of the business's customer with this email (renamed to ``name``; his phone
    filled in when he had none), else of a new customer — one INSERT … ON CONFLICT on
    ``uq_customers_email``. Without an email a new customer is always created.

    Inputs are re-checked (``ValidationFailed`` naming ``customer.name|email|phone``): the
    email lowercased, the phone turned into E.164 — a local number needs ``region`` (see
    ``phone_region(tenant timezone)``), else it must start with ``+``."""
    clean_name = _checked(_NAME, name, f"{field_prefix}.name")
    clean_email = _checked(_EMAIL, email, f"{field_prefix}.email") if email else None
    clean_phone = _phone(phone or None, region, f"{field_prefix}.phone")
    if clean_email is None and clean_phone is None:
        raise ValidationFailed(errors=[{"field": f"{field_prefix}.email", "message": NEED_CONTACT}])
    return await repository.find_or_create(conn, tenant_id, clean_name, clean_email, clean_phone)


async def _region(conn: AsyncConnection, tenant_id: UUID) -> str | None:
    timezone = await repository.tenant_timezone(conn, tenant_id)
    return phone_region(timezone) if timezone else None


async def search_customers(
    conn: AsyncConnection, member: CurrentMember, query: str | None, limit: int, offset: int
) -> CustomerPage:
    items, total = await repository.search(conn, member.tenant_id, query, limit, offset)
    following = offset + len(items)
    return CustomerPage(
        items=[CustomerRead(**item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total and items else None,
    )


async def get_customer(
    conn: AsyncConnection, member: CurrentMember, customer_id: UUID
) -> CustomerRead:
    row = await repository.get(conn, member.tenant_id, customer_id)
    if row is None:
        raise NotFound()
    return CustomerRead(**row)


async def create_customer(
    conn: AsyncConnection, member: CurrentMember, data: CustomerCreate
) -> CustomerRead:
    values = data.model_dump()
    values["phone"] = _phone(data.phone, await _region(conn, member.tenant_id), "phone")
    try:
        row = await repository.insert(conn, member.tenant_id, values)
    except DBAPIError as exc:
        if is_refusal(exc):
            raise problem_for(exc, _PROBLEMS) from exc
        raise
    return CustomerRead(**row)


async def update_customer(
    conn: AsyncConnection, member: CurrentMember, customer_id: UUID, data: CustomerUpdate
) -> CustomerRead:
    current = await get_customer(conn, member, customer_id)
    changes = data.changes()
    if changes.get("phone") is not None:
        changes["phone"] = _phone(changes["phone"], await _region(conn, member.tenant_id), "phone")
    email = changes.get("email", current.email)
    phone = changes.get("phone", current.phone)
    if email is None and phone is None:
        field = "email" if "email" in changes else "phone"
        raise ValidationFailed(errors=[{"field": field, "message": NEED_CONTACT}])
    try:
        row = await repository.update(conn, member.tenant_id, customer_id, changes)
    except DBAPIError as exc:
        if is_refusal(exc):
            raise problem_for(exc, _PROBLEMS) from exc
        raise
    if row is None:
        raise NotFound()
    return CustomerRead(**row)
