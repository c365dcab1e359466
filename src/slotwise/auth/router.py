"""Sign-up, login, the caller, password change, and the members of a business."""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi import APIRouter, Response, status
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth import service
from slotwise.auth.deps import ManagerDep, MemberDep
from slotwise.auth.schemas import (
    LoginCreate,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    MeRead,
    PasswordUpdate,
    SessionRead,
    SignupCreate,
    TokenRead,
)
from slotwise.core.deps import DatabaseDep, SettingsDep
from slotwise.core.problems import STAFF_ERROR_STATUSES, openapi_error_responses
from slotwise.core.ratelimit import (
    LoginRateLimitDep,
    PasswordRateLimitDep,
    SignupRateLimitDep,
)
from slotwise.errors import InvalidCredentials

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
members_router = APIRouter(prefix="/api/v1/members", tags=["members"])


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    summary="Create a business and its owner account; returns a token",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def signup(
    body: SignupCreate, database: DatabaseDep, settings: SettingsDep, _: SignupRateLimitDep
) -> SessionRead:
    password_hash = await service.hash_in_thread(body.password)
    tenant_id, user_id = uuid4(), uuid4()

    async def work(conn: AsyncConnection) -> SessionRead:
        await service.create_business(
            conn, tenant_id=tenant_id, user_id=user_id, data=body, password_hash=password_hash
        )
        businesses = await service.businesses_of(conn, user_id)
        return await service.open_session(
            conn, settings, tenant_id=tenant_id, user_id=user_id, businesses=businesses
        )

    return await database.run(work, tenant_id, user_id=user_id)


@router.post(
    "/login",
    summary="Exchange email and password for a bearer token",
    description=(
        "An unknown email and a wrong password get the same answer (401 "
        "`invalid_credentials`). Without `slug`, the oldest business of the account is "
        "chosen; `businesses` lists all of them."
    ),
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def login(
    body: LoginCreate, database: DatabaseDep, settings: SettingsDep, _: LoginRateLimitDep
) -> SessionRead:
    async with database.transaction(None) as conn:
        candidate = await service.find_login(conn, body.email)
    matches = await service.password_matches(
        body.password, candidate.password_hash if candidate else None
    )
    if candidate is None or not matches:
        raise InvalidCredentials()
    chosen = service.choose_membership(candidate, body.slug)

    async def work(conn: AsyncConnection) -> SessionRead:
        return await service.open_session(
            conn,
            settings,
            tenant_id=chosen.tenant_id,
            user_id=candidate.user_id,
            businesses=candidate.memberships,
        )

    return await database.run(work, chosen.tenant_id, user_id=candidate.user_id)


@router.get(
    "/me",
    summary="The signed-in member and his business",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def me(member: MemberDep, database: DatabaseDep) -> MeRead:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        return await service.me(conn, member)


@router.post(
    "/password",
    summary="Change the caller's password; returns a new token (older tokens stop working)",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def change_password(
    body: PasswordUpdate,
    member: MemberDep,
    database: DatabaseDep,
    settings: SettingsDep,
    _: PasswordRateLimitDep,
) -> TokenRead:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        old_hash = await service.current_password_hash(conn, member)
    if not await service.password_matches(body.current_password, old_hash):
        raise service.wrong_current_password()
    new_hash = await service.hash_in_thread(body.new_password)

    async def work(conn: AsyncConnection) -> TokenRead:
        return await service.replace_password(
            conn, settings, member, old_hash=old_hash, new_hash=new_hash
        )

    return await database.run(work, member.tenant_id, user_id=member.user_id)


@members_router.get(
    "",
    summary="Members of the business (owner or manager)",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES),
)
async def list_members(member: ManagerDep, database: DatabaseDep) -> list[MemberRead]:
    async with database.transaction(member.tenant_id, user_id=member.user_id) as conn:
        return await service.list_members(conn, member.tenant_id)


@members_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a manager or staff account in the business",
    description="An email that already has an account answers 409 `email_taken`.",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def create_member(
    body: MemberCreate, member: ManagerDep, database: DatabaseDep
) -> MemberRead:
    password_hash = await service.hash_in_thread(body.password)
    user_id = uuid4()

    async def work(conn: AsyncConnection) -> MemberRead:
        return await service.create_member(
            conn, member, user_id=user_id, data=body, password_hash=password_hash
        )

    return await database.run(work, member.tenant_id, user_id=member.user_id)


@members_router.patch(
    "/{user_id}",
    summary="Change a member's role, linked professional or name",
    description="Only owners change owners or grant the owner role; the last owner stays.",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def update_member(
    user_id: UUID, body: MemberUpdate, member: ManagerDep, database: DatabaseDep
) -> MemberRead:
    async def work(conn: AsyncConnection) -> MemberRead:
        return await service.update_member(conn, member, user_id, body)

    return await database.run(work, member.tenant_id, user_id=member.user_id)


@members_router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member; his tokens stop working at once",
    responses=openapi_error_responses(*STAFF_ERROR_STATUSES, 409),
)
async def remove_member(user_id: UUID, member: ManagerDep, database: DatabaseDep) -> Response:
    async def work(conn: AsyncConnection) -> None:
        await service.remove_member(conn, member, user_id)

    await database.run(work, member.tenant_id, user_id=member.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
