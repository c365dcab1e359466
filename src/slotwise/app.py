"""The ASGI application: wires the domains together, nothing more."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from slotwise import __version__
from slotwise.auth.router import members_router
from slotwise.auth.router import router as auth_router
from slotwise.availability.router import router as availability_router
from slotwise.booking.router import public_router as booking_public_router
from slotwise.booking.router import staff_router as appointments_router
from slotwise.caching.cache import ResponseCache
from slotwise.caching.middleware import CacheMiddleware
from slotwise.caching.warming import cache_warming
from slotwise.catalog.router import router as catalog_router
from slotwise.core import problems
from slotwise.core.hardening import HardeningMiddleware
from slotwise.core.logging import configure_logging
from slotwise.core.middleware import RequestContextMiddleware
from slotwise.core.openapi import install_openapi
from slotwise.customers.router import router as customers_router
from slotwise.db.database import Database
from slotwise.db.server import DatabaseServer, locate, prepare
from slotwise.health.router import router as health_router
from slotwise.notifications.router import outbox_router, webhooks_router
from slotwise.notifications.worker import in_process_worker
from slotwise.realtime.lifecycle import live_updates
from slotwise.realtime.router import router as realtime_router
from slotwise.settings import Settings, get_settings
from slotwise.tenancy.service import TenantResolver
from slotwise.web.router import router as web_router
from slotwise.web.security import CsrfMiddleware, SecurityHeadersMiddleware


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
            async with (
                in_process_worker(settings, app.state.database),
                live_updates(app),
                cache_warming(app),
            ):
                if own_database:
                    # A server process: its start-up objects (modules, routes, the app) live
                    # as long as it does. Frozen, the collector stops re-scanning them on
                    # every full collection a request's allocations trigger (measured in
                    # bench/availability.py --gc-freeze). Not for apps given a database
                    # (tests), which come and go in one process.
                    gc.collect()
                    gc.freeze()
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
    app.state.cache = ResponseCache(settings)
    if database is not None:
        app.state.database = database
    problems.install(app)
    app.include_router(health_router)
    app.include_router(availability_router)
    app.include_router(booking_public_router)
    app.include_router(appointments_router)
    app.include_router(auth_router)
    app.include_router(members_router)
    app.include_router(catalog_router)
    app.include_router(customers_router)
    app.include_router(outbox_router)
    app.include_router(webhooks_router)
    app.include_router(realtime_router)
    app.include_router(web_router)
    install_openapi(app)
    app.add_middleware(CacheMiddleware)
    app.add_middleware(CsrfMiddleware, settings=settings)
    app.add_middleware(HardeningMiddleware)
    app.add_middleware(RequestContextMiddleware, max_in_flight=settings.max_in_flight)
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    return app
