"""The customers API for staff: search, create, read, edit."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import BeforeValidator, StringConstraints

from slotwise.auth.deps import MemberDep
from slotwise.core.deps import DatabaseDep
from slotwise.core.fields import clean_line
from slotwise.core.problems import STAFF_ERROR_STATUSES, openapi_error_responses
from slotwise.customers import service
from slotwise.customers.schemas import CustomerCreate, CustomerPage, CustomerRead, CustomerUpdate

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

SearchText = Annotated[
    str | None,
    BeforeValidator(clean_line),
    StringConstraints(max_length=100),
    Query(description="Part of the name, email or phone number"),
]


@router.get(
    "",
    summary="Search customers (by name, email or phone), a page at a time",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def search_customers(
    member: MemberDep,
    database: DatabaseDep,
    q: SearchText = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> CustomerPage:
    return await database.run(
        lambda conn: service.search_customers(conn, member, q or None, limit, offset),
        member.tenant_id,
        user_id=member.user_id,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a customer (email and/or phone)",
    description="A local phone number is read in the business's country (from its time "
    "zone); numbers of other countries need `+` and the country code.",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def create_customer(
    body: CustomerCreate, member: MemberDep, database: DatabaseDep
) -> CustomerRead:
    return await database.run(
        lambda conn: service.create_customer(conn, member, body),
        member.tenant_id,
        user_id=member.user_id,
    )


@router.get(
    "/{customer_id}",
    summary="Get a customer",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def get_customer(customer_id: UUID, member: MemberDep, database: DatabaseDep) -> CustomerRead:
    return await database.run(
        lambda conn: service.get_customer(conn, member, customer_id),
        member.tenant_id,
        user_id=member.user_id,
    )


@router.patch(
    "/{customer_id}",
    summary="Change a customer",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def update_customer(
    customer_id: UUID, body: CustomerUpdate, member: MemberDep, database: DatabaseDep
) -> CustomerRead:
    return await database.run(
        lambda conn: service.update_customer(conn, member, customer_id, body),
        member.tenant_id,
        user_id=member.user_id,
    )
