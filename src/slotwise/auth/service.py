"""Rules of sign-up, login and membership. Functions take the caller's connection (the
request boundary opens and commits the transaction); password hashing runs in a worker
thread so argon2 never stalls the event loop."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.concurrency import run_in_threadpool

from slotwise.auth import repository
from slotwise.auth.deps import CurrentMember
from slotwise.auth.passwords import hash_password, verify_password
from slotwise.auth.schemas import (
    BusinessChoice,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    MeRead,
    SessionRead,
    SignupCreate,
    TenantRead,
    TokenRead,
    UserRead,
)
from slotwise.auth.tokens import issue_token, password_stamp, token_expires_at
from slotwise.db.constraints import refusals
from slotwise.errors import (
    AppError,
    Conflict,
    EmailTaken,
    Forbidden,
    InvalidCredentials,
    LastOwner,
    MemberOfOtherBusinesses,
    NotFound,
    SlugTaken,
    ValidationFailed,
)
from slotwise.settings import Settings

UNKNOWN_PROFESSIONAL = "There is no such professional."
WRONG_PASSWORD = "The current password is not correct."  # noqa: S105 - a message


def _unknown_professional() -> ValidationFailed:
    return ValidationFailed(errors=[{"field": "professional_id", "message": UNKNOWN_PROFESSIONAL}])


_ACCOUNT_CONSTRAINTS: dict[str, Callable[[], AppError]] = {
    "uq_tenants_slug": SlugTaken,
    "uq_users_email": EmailTaken,
    "fk_memberships_professional": _unknown_professional,
}


async def hash_in_thread(password: str) -> str:
    return await run_in_threadpool(hash_password, password)


async def password_matches(password: str, password_hash: str | None) -> bool:
    """Always one full argon2 verification (a dummy one when the account is unknown), so an
    unknown email and a wrong password take the same time."""
    return await run_in_threadpool(verify_password, password, password_hash)


def _tenant_read(row: repository.TenantRow) -> TenantRead:
    return TenantRead.model_validate(row, from_attributes=True)


def _user_read(row: repository.MemberRow) -> UserRead:
    return UserRead(
        id=row.user_id,
        email=row.email,
        name=row.name,
        role=row.role,
        professional_id=row.professional_id,
    )


def _member_read(row: repository.MemberListRow) -> MemberRead:
    return MemberRead.model_validate(row, from_attributes=True)


async def create_business(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    user_id: UUID,
    data: SignupCreate,
    password_hash: str,
) -> None:
    """Tenant, owner account and owner membership; the transaction must act as that tenant
    and that user (the RLS insert policies of ``tenants`` and ``users``)."""
    with refusals(_ACCOUNT_CONSTRAINTS):
        await repository.insert_tenant(
            conn,
            tenant_id=tenant_id,
            slug=data.slug,
            name=data.business_name,
            timezone=data.timezone,
            locale=data.locale,
            currency=data.currency,
        )
        await repository.insert_user(
            conn,
            user_id=user_id,
            email=data.email,
            name=data.owner_name,
            password_hash=password_hash,
        )
        await repository.insert_membership(
            conn, tenant_id=tenant_id, user_id=user_id, role="owner", professional_id=None
        )


def choose_membership(
    candidate: repository.LoginCandidate, slug: str | None
) -> repository.MembershipOfUser:
    """The business to log into: the one named by ``slug``, else the oldest membership. No
    membership (or not that one) answers exactly like a wrong password."""
    for membership in candidate.memberships:
        if slug is None or membership.slug == slug:
            return membership
    raise InvalidCredentials()


MembershipOfUser = repository.MembershipOfUser
"""A business of an account (its id, slug and the account's role there)."""


def membership_named(businesses: list[MembershipOfUser], slug: str) -> MembershipOfUser:
    """One of the account's businesses by its slug; any other is "not found", whether or
    not such a business exists."""
    for membership in businesses:
        if membership.slug == slug:
            return membership
    raise NotFound()


async def open_session(
    conn: AsyncConnection,
    settings: Settings,
    *,
    tenant_id: UUID,
    user_id: UUID,
    businesses: list[repository.MembershipOfUser],
) -> SessionRead:
    """A fresh token for a member (the transaction acts as that tenant and user)."""
    member = await repository.member(conn, tenant_id, user_id)
    tenant = await repository.tenant(conn, tenant_id)
    if member is None or tenant is None:
        raise InvalidCredentials()
    token = issue_token(settings, user_id, tenant_id, stamp=password_stamp(member.password_hash))
    return SessionRead(
        token=token,
        expires_at=token_expires_at(settings),
        tenant=_tenant_read(tenant),
        user=_user_read(member),
        businesses=[
            BusinessChoice(tenant_id=b.tenant_id, slug=b.slug, role=b.role) for b in businesses
        ],
    )


async def me(conn: AsyncConnection, member: CurrentMember) -> MeRead:
    row = await repository.member(conn, member.tenant_id, member.user_id)
    if row is None:
        raise NotFound()
    return MeRead(tenant=await business_of(conn, member), user=_user_read(row))


async def business_of(conn: AsyncConnection, member: CurrentMember) -> TenantRead:
    """The member's business (the dashboard's header and settings need no more)."""
    tenant = await repository.tenant(conn, member.tenant_id)
    if tenant is None:
        raise NotFound()
    return _tenant_read(tenant)


async def current_password_hash(conn: AsyncConnection, member: CurrentMember) -> str:
    row = await repository.member(conn, member.tenant_id, member.user_id)
    if row is None:
        raise NotFound()
    return row.password_hash


def wrong_current_password() -> ValidationFailed:
    return ValidationFailed(errors=[{"field": "current_password", "message": WRONG_PASSWORD}])


async def replace_password(
    conn: AsyncConnection,
    settings: Settings,
    member: CurrentMember,
    *,
    old_hash: str,
    new_hash: str,
) -> TokenRead:
    """Store the new hash unless the password changed meanwhile; older tokens die with the
    old hash (their stamp no longer matches)."""
    if not await repository.replace_password(conn, member.user_id, old_hash, new_hash):
        raise Conflict()
    token = issue_token(settings, member.user_id, member.tenant_id, stamp=password_stamp(new_hash))
    return TokenRead(token=token, expires_at=token_expires_at(settings))


async def list_members(conn: AsyncConnection, tenant_id: UUID) -> list[MemberRead]:
    return [_member_read(row) for row in await repository.list_members(conn, tenant_id)]


async def _member_of(
    conn: AsyncConnection, tenant_id: UUID, user_id: UUID
) -> repository.MemberListRow:
    row = await repository.get_member(conn, tenant_id, user_id)
    if row is None:
        raise NotFound()
    return row


async def create_member(
    conn: AsyncConnection,
    actor: CurrentMember,
    *,
    user_id: UUID,
    data: MemberCreate,
    password_hash: str,
) -> MemberRead:
    """A new account and its membership in the actor's business."""
    if not actor.is_manager:
        raise Forbidden()
    with refusals(_ACCOUNT_CONSTRAINTS):
        await repository.create_member_account(
            conn,
            user_id=user_id,
            email=data.email,
            name=data.name,
            password_hash=password_hash,
            role=data.role,
            professional_id=data.professional_id,
        )
    return _member_read(await _member_of(conn, actor.tenant_id, user_id))


async def _target(
    conn: AsyncConnection, actor: CurrentMember, user_id: UUID
) -> repository.MemberListRow:
    await repository.lock_members(conn, actor.tenant_id)
    return await _member_of(conn, actor.tenant_id, user_id)


async def update_member(
    conn: AsyncConnection, actor: CurrentMember, user_id: UUID, data: MemberUpdate
) -> MemberRead:
    """Role, linked professional and name. Only owners touch owners or make owners; the
    last owner keeps his role."""
    if not actor.is_manager:
        raise Forbidden()
    target = await _target(conn, actor, user_id)
    changes = data.changes()
    role = changes.get("role", target.role)
    if (target.role == "owner" or role == "owner") and actor.role != "owner":
        raise Forbidden()
    if (
        target.role == "owner"
        and role != "owner"
        and await repository.count_owners(conn, actor.tenant_id) <= 1
    ):
        raise LastOwner()
    professional_id = changes.get("professional_id", target.professional_id)
    with refusals(_ACCOUNT_CONSTRAINTS):
        await repository.update_membership(
            conn, actor.tenant_id, user_id, role=role, professional_id=professional_id
        )
        if "name" in changes and not await repository.rename_member(conn, user_id, changes["name"]):
            raise MemberOfOtherBusinesses()
    return _member_read(await _member_of(conn, actor.tenant_id, user_id))


async def remove_member(conn: AsyncConnection, actor: CurrentMember, user_id: UUID) -> None:
    """Ends the membership (its tokens stop working at once) and deletes the account when
    it belongs to no other business, so the email can be used again."""
    if not actor.is_manager:
        raise Forbidden()
    target = await _target(conn, actor, user_id)
    if target.role == "owner":
        if actor.role != "owner":
            raise Forbidden()
        if await repository.count_owners(conn, actor.tenant_id) <= 1:
            raise LastOwner()
    await repository.delete_membership(conn, actor.tenant_id, user_id)
    await repository.delete_orphan_account(conn, user_id)


async def find_login(conn: AsyncConnection, email: str) -> repository.LoginCandidate | None:
    """The account behind a login attempt (in a transaction without a tenant)."""
    return await repository.login_lookup(conn, email)


async def businesses_of(conn: AsyncConnection, user_id: UUID) -> list[repository.MembershipOfUser]:
    return await repository.memberships_of_user(conn, user_id)
