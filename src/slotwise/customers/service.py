"""Rules of the customers domain.

Every member (staff included) may list, create and edit the business's customers: the
front desk books on behalf of people. Emails are unique per business. (A booking finds or
creates its customer within its own statement: see ``booking.repository``.)"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth.deps import CurrentMember
from slotwise.customers import repository
from slotwise.customers.phones import normalize_phone, phone_region
from slotwise.customers.schemas import (
    NEED_CONTACT,
    CustomerCreate,
    CustomerPage,
    CustomerRead,
    CustomerUpdate,
)
from slotwise.db.constraints import refusals
from slotwise.errors import CustomerEmailTaken, NotFound, ValidationFailed

_PROBLEMS = {"uq_customers_email": CustomerEmailTaken}


async def _phone(conn: AsyncConnection, tenant_id: UUID, raw: str) -> str:
    """``raw`` in E.164; a local number is read in the business's country."""
    timezone = await repository.tenant_timezone(conn, tenant_id)
    try:
        return normalize_phone(raw, phone_region(timezone) if timezone else None)
    except ValueError as exc:
        raise ValidationFailed(errors=[{"field": "phone", "message": str(exc)}]) from exc


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
    if data.phone is not None:
        values["phone"] = await _phone(conn, member.tenant_id, data.phone)
    with refusals(_PROBLEMS):
        row = await repository.insert(conn, member.tenant_id, values)
    return CustomerRead(**row)


async def update_customer(
    conn: AsyncConnection, member: CurrentMember, customer_id: UUID, data: CustomerUpdate
) -> CustomerRead:
    current = await get_customer(conn, member, customer_id)
    changes = data.changes()
    if changes.get("phone") is not None:
        changes["phone"] = await _phone(conn, member.tenant_id, changes["phone"])
    email = changes.get("email", current.email)
    phone = changes.get("phone", current.phone)
    if email is None and phone is None:
        field = "email" if "email" in changes else "phone"
        raise ValidationFailed(errors=[{"field": field, "message": NEED_CONTACT}])
    with refusals(_PROBLEMS):
        row = await repository.update(conn, member.tenant_id, customer_id, changes)
    if row is None:
        raise NotFound()
    return CustomerRead(**row)
