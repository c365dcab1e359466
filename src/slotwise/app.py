"""The ASGI application: wires the domains together, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from slotwise import __version__
from slotwise.core import problems
from slotwise.core.logging import configure_logging
from slotwise.core.middleware import RequestContextMiddleware
from slotwise.core.openapi import install_openapi
from slotwise.db.database import Database
from slotwise.db.server import DatabaseServer, locate, prepare
from slotwise.health.router import router as health_router
from slotwise.settings import Settings, get_settings
from slotwise.tenancy.service import TenantResolver


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """``database`` given (tests): use it as is. Otherwise locate, migrate and connect."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server: DatabaseServer | None = None
        own_database = database is None
        if own_database:
            server = locate(settings)
            await prepare(settings, server)
            app.state.database = Database(
                server.urls.app,
                pool_size=settings.db_pool_size,
                pgbouncer=settings.db_pgbouncer,
            )
        else:
            app.state.database = database
        app.state.db_server = server
        try:
            yield
        finally:
            if own_database:
                await app.state.database.dispose()

    app = FastAPI(
        title="Slotwise",
        version=__version__,
        summary="Multi-tenant appointment booking",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.tenants = TenantResolver()
    if database is not None:
        app.state.database = database
    problems.install(app)
    app.include_router(health_router)
    install_openapi(app)
    app.add_middleware(RequestContextMiddleware, max_in_flight=settings.max_in_flight)
    return app
