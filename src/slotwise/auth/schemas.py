"""Request and response bodies of sign-up, login, the caller and the members API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from slotwise.core.fields import (
    Currency,
    Email,
    Name,
    Password,
    PatchModel,
    Timezone,
    clean_line,
    clean_secret,
)

INVALID_SLUG = (
    "Use 3 to 40 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
)
RESERVED_SLUG = "This address is reserved. Please choose another one."
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")
RESERVED_SLUGS = frozenset(
    {
        "about", "account", "accounts", "admin", "api", "app", "assets", "auth", "b",
        "billing", "blog", "book", "booking", "bookings", "cdn", "dashboard", "demo", "dev",
        "docs", "email", "events", "healthz", "help", "login", "logout", "mail", "metrics",
        "new", "null", "openapi", "privacy", "public", "readyz", "register", "root",
        "security", "settings", "signin", "signup", "slotwise", "staging", "static",
        "status", "support", "system", "terms", "test", "undefined", "www",
    }
)  # fmt: skip


def _lowercase(value: Any) -> Any:
    value = clean_line(value)
    return value.lower() if isinstance(value, str) else value


def check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(INVALID_SLUG)
    if value in RESERVED_SLUGS:
        raise ValueError(RESERVED_SLUG)
    return value


Slug = Annotated[
    str,
    BeforeValidator(_lowercase),
    StringConstraints(max_length=64),
    AfterValidator(check_slug),
    Field(
        description="The booking page address: /b/<slug>",
        json_schema_extra={"pattern": _SLUG.pattern},
        examples=["studio-ana"],
    ),
]
# Login takes any text: a malformed email is just another wrong login (no hints given).
LoginEmail = Annotated[
    str, BeforeValidator(_lowercase), StringConstraints(min_length=1, max_length=254)
]
LoginPassword = Annotated[
    str, BeforeValidator(clean_secret), StringConstraints(min_length=1, max_length=256)
]
LoginSlug = Annotated[
    str, BeforeValidator(_lowercase), StringConstraints(min_length=1, max_length=64)
]
MemberRole = Literal["owner", "manager", "staff"]

_INPUT = ConfigDict(extra="forbid")


class SignupCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "business_name": "Studio Ana",
                    "slug": "studio-ana",
                    "timezone": "America/Sao_Paulo",
                    "owner_name": "Ana Souza",
                    "email": "ana@example.com",
                    "password": "correct horse battery",
                    "locale": "pt_BR",
                    "currency": "BRL",
                }
            ]
        },
    )

    business_name: Name
    slug: Slug
    timezone: Timezone
    owner_name: Name
    email: Email
    password: Password
    locale: Literal["en", "pt_BR"] = "en"
    currency: Currency = "USD"


class LoginCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ana@example.com", "password": "correct horse battery"}]
        },
    )

    email: LoginEmail
    password: LoginPassword
    slug: LoginSlug | None = Field(
        default=None, description="Which business, when the account belongs to several."
    )


class PasswordUpdate(BaseModel):
    model_config = _INPUT

    current_password: LoginPassword
    new_password: Password


class TenantRead(BaseModel):
    id: UUID
    slug: str
    name: str
    timezone: str
    locale: str
    currency: str


class UserRead(BaseModel):
    id: UUID
    email: str
    name: str
    role: MemberRole
    professional_id: UUID | None


class BusinessChoice(BaseModel):
    """A business the account belongs to (log in again with its ``slug`` to switch)."""

    tenant_id: UUID
    slug: str
    role: MemberRole


class TokenRead(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name
    expires_at: datetime


class SessionRead(TokenRead):
    tenant: TenantRead
    user: UserRead
    businesses: list[BusinessChoice]


class MeRead(BaseModel):
    tenant: TenantRead
    user: UserRead


class MemberCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "bruno@example.com",
                    "name": "Bruno Lima",
                    "password": "another long secret",
                    "role": "staff",
                }
            ]
        },
    )

    email: Email
    name: Name
    password: Password
    role: Literal["manager", "staff"] = "staff"
    professional_id: UUID | None = None


class MemberUpdate(PatchModel):
    """``professional_id: null`` unlinks the member from his professional."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"professional_id"})

    role: MemberRole | None = None
    professional_id: UUID | None = None
    name: Name | None = None


class MemberRead(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: MemberRole
    professional_id: UUID | None
    created_at: datetime
