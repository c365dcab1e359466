"""Every SQL statement of the auth domain (users, memberships, tenants at signup)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class MemberRow:
    user_id: UUID
    tenant_id: UUID
    role: str
    professional_id: UUID | None
    email: str
    name: str
    password_hash: str


_MEMBER = text(
    """
    SELECT m.user_id, m.tenant_id, m.role, m.professional_id, u.email, u.name, u.password_hash
    FROM memberships m JOIN users u ON u.id = m.user_id
    WHERE m.tenant_id = :tenant AND m.user_id = :user
    """
)


async def member(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> MemberRow | None:
    """One primary-key lookup: the membership and its user (the per-request auth check)."""
    row = (await conn.execute(_MEMBER, {"tenant": tenant_id, "user": user_id})).first()
    return MemberRow(*row) if row is not None else None


@dataclass(frozen=True, slots=True)
class TenantRow:
    id: UUID
    slug: str
    name: str
    timezone: str
    locale: str
    currency: str


@dataclass(frozen=True, slots=True)
class MembershipOfUser:
    tenant_id: UUID
    slug: str
    role: str


@dataclass(frozen=True, slots=True)
class MemberListRow:
    user_id: UUID
    email: str
    name: str
    role: str
    professional_id: UUID | None
    created_at: datetime


async def lock_members(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Serialize membership changes of one tenant (the last-owner rule reads then writes)."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"members:{tenant_id}"},
    )


async def insert_tenant(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    slug: str,
    name: str,
    timezone: str,
    locale: str,
    currency: str,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO tenants (id, slug, name, timezone, locale, currency)"
            " VALUES (:id, :slug, :name, :timezone, :locale, :currency)"
        ),
        {
            "id": tenant_id,
            "slug": slug,
            "name": name,
            "timezone": timezone,
            "locale": locale,
            "currency": currency,
        },
    )


async def tenant(conn: AsyncConnection, tenant_id: UUID) -> TenantRow | None:
    row = (
        await conn.execute(
            text("SELECT id, slug, name, timezone, locale, currency FROM tenants WHERE id = :id"),
            {"id": tenant_id},
        )
    ).first()
    return TenantRow(*row) if row is not None else None


async def insert_user(
    conn: AsyncConnection, *, user_id: UUID, email: str, name: str, password_hash: str
) -> None:
    await conn.execute(
        text(
            "INSERT INTO users (id, email, name, password_hash)"
            " VALUES (:id, :email, :name, :password_hash)"
        ),
        {"id": user_id, "email": email, "name": name, "password_hash": password_hash},
    )


async def insert_membership(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    user_id: UUID,
    role: str,
    professional_id: UUID | None,
) -> None:
    await conn.execute(
        text(
            "INSERT INTO memberships (tenant_id, user_id, role, professional_id)"
            " VALUES (:tenant, :user, :role, :professional)"
        ),
        {"tenant": tenant_id, "user": user_id, "role": role, "professional": professional_id},
    )


async def create_member_account(
    conn: AsyncConnection,
    *,
    user_id: UUID,
    email: str,
    name: str,
    password_hash: str,
    role: str,
    professional_id: UUID | None,
) -> None:
    """Another person's account and his membership in the caller's tenant (SECURITY
    DEFINER: the ``users`` policies let a transaction insert only its own user)."""
    await conn.execute(
        text(
            "SELECT create_member_account(:user, :email, :name, :password_hash, :role,"
            " :professional)"
        ),
        {
            "user": user_id,
            "email": email,
            "name": name,
            "password_hash": password_hash,
            "role": role,
            "professional": professional_id,
        },
    )


async def memberships_of_user(conn: AsyncConnection, user_id: UUID) -> list[MembershipOfUser]:
    """The businesses of a user, oldest first (SECURITY DEFINER)."""
    rows = await conn.execute(
        text("SELECT tenant_id, slug, role FROM memberships_of_user(:user)"), {"user": user_id}
    )
    return [MembershipOfUser(*row) for row in rows]


_MEMBER_LIST = """
    SELECT m.user_id, u.email, u.name, m.role, m.professional_id, m.created_at
    FROM memberships m JOIN users u ON u.id = m.user_id
    WHERE m.tenant_id = :tenant
"""


async def list_members(conn: AsyncConnection, tenant_id: UUID) -> list[MemberListRow]:
    rows = await conn.execute(
        text(_MEMBER_LIST + " ORDER BY m.created_at, u.email"), {"tenant": tenant_id}
    )
    return [MemberListRow(*row) for row in rows]


async def get_member(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> MemberListRow | None:
    row = (
        await conn.execute(
            text(_MEMBER_LIST + " AND m.user_id = :user"), {"tenant": tenant_id, "user": user_id}
        )
    ).first()
    return MemberListRow(*row) if row is not None else None


async def count_owners(conn: AsyncConnection, tenant_id: UUID) -> int:
    value = (
        await conn.execute(
            text("SELECT count(*) FROM memberships WHERE tenant_id = :tenant AND role = 'owner'"),
            {"tenant": tenant_id},
        )
    ).scalar_one()
    return int(value)


async def update_membership(
    conn: AsyncConnection,
    tenant_id: UUID,
    user_id: UUID,
    *,
    role: str,
    professional_id: UUID | None,
) -> None:
    await conn.execute(
        text(
            "UPDATE memberships SET role = :role, professional_id = :professional"
            " WHERE tenant_id = :tenant AND user_id = :user"
        ),
        {"tenant": tenant_id, "user": user_id, "role": role, "professional": professional_id},
    )


async def rename_member(conn: AsyncConnection, user_id: UUID, name: str) -> bool:
    """Rename a member of the transaction's business (SECURITY DEFINER, owner or manager
    callers): False when the account also belongs to another business."""
    result = await conn.execute(
        text("SELECT rename_member(:user, :name)"), {"user": user_id, "name": name}
    )
    return bool(result.scalar_one())


async def delete_membership(conn: AsyncConnection, tenant_id: UUID, user_id: UUID) -> None:
    await conn.execute(
        text("DELETE FROM memberships WHERE tenant_id = :tenant AND user_id = :user"),
        {"tenant": tenant_id, "user": user_id},
    )


async def delete_orphan_account(conn: AsyncConnection, user_id: UUID) -> None:
    """Delete the account if it belongs to no business any more (SECURITY DEFINER)."""
    await conn.execute(text("SELECT delete_orphan_account(:user)"), {"user": user_id})


@dataclass(frozen=True, slots=True)
class LoginCandidate:
    user_id: UUID
    password_hash: str
    memberships: list[MembershipOfUser]


_LOGIN_LOOKUP = text(
    """
    SELECT c.user_id, c.password_hash, m.tenant_id, m.slug, m.role
    FROM login_candidate(:email) c
    LEFT JOIN LATERAL memberships_of_user(c.user_id) m ON true
    """
)


async def login_lookup(conn: AsyncConnection, email: str) -> LoginCandidate | None:
    """The account of ``email`` and its businesses, in one round trip whether it exists or
    not (SECURITY DEFINER functions: ids, hash, slugs and roles only)."""
    rows = (await conn.execute(_LOGIN_LOOKUP, {"email": email})).all()
    if not rows:
        return None
    memberships = [MembershipOfUser(r[2], r[3], r[4]) for r in rows if r[2] is not None]
    return LoginCandidate(rows[0][0], rows[0][1], memberships)


async def replace_password(
    conn: AsyncConnection, user_id: UUID, old_hash: str, new_hash: str
) -> bool:
    """Compare-and-set of the hash: False when it changed since it was read."""
    result = await conn.execute(
        text("UPDATE users SET password_hash = :new WHERE id = :id AND password_hash = :old"),
        {"id": user_id, "old": old_hash, "new": new_hash},
    )
    return bool(result.rowcount)
