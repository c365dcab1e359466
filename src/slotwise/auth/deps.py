"""Who is calling: the staff member behind a bearer token (or the dashboard cookie).

The token only says who the caller was when it was issued; the membership is re-read on
every request (one primary-key query in the caller's tenant), so a removed member or a
changed role takes effect at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, cast
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection

from slotwise.auth import repository
from slotwise.auth.tokens import password_stamp, read_token_claims
from slotwise.core.deps import DatabaseDep, SettingsDep
from slotwise.errors import Forbidden, Unauthorized

Role = Literal["owner", "manager", "staff"]
SESSION_COOKIE = "slotwise_session"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="slotwise"'}

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffToken",
    description="The `token` from `POST /api/v1/auth/login` or `/signup`.",
)


@dataclass(frozen=True, slots=True)
class CurrentMember:
    user_id: UUID
    tenant_id: UUID
    role: Role
    professional_id: UUID | None
    email: str
    name: str

    @property
    def is_manager(self) -> bool:
        """Owners and managers manage the business; staff run their own day."""
        return self.role in ("owner", "manager")


async def current_member(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CurrentMember:
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthorized(headers=_CHALLENGE)
    try:
        user_id, tenant_id, stamp = read_token_claims(settings, token)
    except Unauthorized as exc:
        raise Unauthorized(headers=_CHALLENGE) from exc

    async def load(conn: AsyncConnection) -> repository.MemberRow | None:
        return await repository.member(conn, tenant_id, user_id)

    row = await database.run(load, tenant_id, user_id=user_id)
    if row is None or (stamp is not None and stamp != password_stamp(row.password_hash)):
        raise Unauthorized(headers=_CHALLENGE)
    return CurrentMember(
        user_id=row.user_id,
        tenant_id=row.tenant_id,
        role=cast(Role, row.role),
        professional_id=row.professional_id,
        email=row.email,
        name=row.name,
    )


MemberDep = Annotated[CurrentMember, Depends(current_member)]


async def current_manager(member: MemberDep) -> CurrentMember:
    if not member.is_manager:
        raise Forbidden()
    return member


ManagerDep = Annotated[CurrentMember, Depends(current_manager)]
