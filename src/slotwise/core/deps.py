"""FastAPI dependencies shared by every domain, as ``Annotated`` aliases.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread
pool, a thread hop per dependency per request on the hot path."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from slotwise.core.problems import request_locale
from slotwise.db.database import Database
from slotwise.settings import Settings
from slotwise.tenancy.service import TenantResolver


async def get_database(request: Request) -> Database:
    return cast(Database, request.app.state.database)


async def get_app_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def get_tenant_resolver(request: Request) -> TenantResolver:
    return cast(TenantResolver, request.app.state.tenants)


async def get_locale(request: Request) -> str:
    return request_locale(request)


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LocaleDep = Annotated[str, Depends(get_locale)]
TenantResolverDep = Annotated[TenantResolver, Depends(get_tenant_resolver)]
