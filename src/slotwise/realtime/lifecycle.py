"""Live updates of one app process: the listener, the relay candidate, the hub, and the
observers (the response cache) that must see every change before subscribers do.

Started and stopped by the app lifespan (``start_live_updates``)."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import asyncpg
import structlog

from slotwise.db.database import Database
from slotwise.db.urls import to_libpq
from slotwise.realtime import repository
from slotwise.realtime.changes import Change
from slotwise.realtime.hub import Hub
from slotwise.realtime.listener import Listener
from slotwise.realtime.relay import Relay
from slotwise.settings import Settings

log = structlog.get_logger(__name__)

# Outbox rows can be left behind by sessions still writing in outbox mode after a switch to
# notify: the relay still drains them, slowly.
NOTIFY_MODE_RELAY_INTERVAL = 1.0
# A stream whose client has not taken a write for this long is ended.
STALLED_WRITE_SECONDS = 30.0
# How often uvicorn's shutdown flag is looked at (uvicorn itself looks every 0.1 s).
SERVER_EXIT_POLL_SECONDS = 0.1


class ChangeObserver(Protocol):
    """Sees every change before the subscribers do (so a refetch finds a fresh cache)."""

    def apply_changes(self, changes: Sequence[Change]) -> None: ...

    def feed_connected(self, gap: bool) -> None:
        """Listening (again); ``gap``: changes may have been missed meanwhile."""

    def feed_lost(self) -> None: ...


def app_dsn(database: Database) -> str:
    """The app role's libpq URL of ``database`` (its dedicated sessions use it too)."""
    url = database.engine.url.render_as_string(hide_password=False)
    return to_libpq(url)


class LiveUpdates:
    def __init__(
        self,
        settings: Settings,
        observers: Sequence[ChangeObserver] = (),
        *,
        can_listen: bool = True,
    ) -> None:
        self.settings = settings
        self.can_listen = can_listen
        self.hub = Hub(max_streams_per_client=settings.live_max_streams_per_client)
        self.observers = list(observers)
        self.listener: Listener | None = None
        self.relay: Relay | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._server_watch: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """Listening here (the deployment may publish changes while this process cannot
        listen: it then serves no streams and caches nothing)."""
        return self.settings.live_updates and self.can_listen

    def _notify(self, call: Callable[[ChangeObserver], None]) -> None:
        """Every observer, even if one fails (a failing cache must not mute the streams)."""
        for observer in self.observers:
            try:
                call(observer)
            except Exception:
                log.exception("live_observer_failed", observer=type(observer).__name__)

    def _changes(self, changes: list[Change]) -> None:
        self._notify(lambda observer: observer.apply_changes(changes))
        self.hub.publish(changes)

    def _connected(self, gap: bool) -> None:
        self._notify(lambda observer: observer.feed_connected(gap))
        if gap:
            self.hub.resync()

    def _lost(self) -> None:
        self._notify(lambda observer: observer.feed_lost())

    async def start(self, dsn: str, owner_dsn: str | None = None) -> None:
        """Apply the mode (when the owner is at hand), then listen and relay."""
        if owner_dsn is not None:
            await self._apply_mode(owner_dsn)
        if not self.enabled:
            return
        self.listener = Listener(
            dsn, on_changes=self._changes, on_connected=self._connected, on_lost=self._lost
        )
        interval = (
            self.settings.live_relay_interval_ms / 1000
            if self.settings.live_updates_mode == "outbox"
            else NOTIFY_MODE_RELAY_INTERVAL
        )
        self.relay = Relay(dsn, interval_seconds=interval)
        await self.listener.start()
        self.relay.start()
        self._heartbeat = asyncio.create_task(self._beat(), name="slotwise-live-heartbeat")
        self._watch_server_shutdown()

    async def _beat(self) -> None:
        """Heartbeat comments keep idle streams (and the proxies in between) open."""
        while True:
            await asyncio.sleep(self.settings.live_heartbeat_seconds)
            self.hub.heartbeat(stalled_after=STALLED_WRITE_SECONDS)

    async def _apply_mode(self, owner_dsn: str) -> None:
        # Nobody listening means nobody relaying: outbox rows would only pile up.
        mode: repository.Mode = self.settings.live_updates_mode if self.enabled else "off"
        try:
            conn = await repository.connect(to_libpq(owner_dsn), "slotwise_setup")
        except (OSError, asyncpg.PostgresError) as exc:
            log.error("live_mode_not_applied", mode=mode, error=type(exc).__name__)
            return
        try:
            await repository.apply_mode(conn, mode)
        except asyncpg.PostgresError as exc:
            # Not the database owner: the database keeps its mode; say so once.
            log.error("live_mode_not_applied", mode=mode, error=type(exc).__name__)
        finally:
            await conn.close()

    def _watch_server_shutdown(self) -> None:
        """Under uvicorn, end the streams as soon as its shutdown starts: uvicorn waits for
        open responses before the lifespan shutdown, and a stream never ends by itself. The
        server is the owner of the SIGTERM handler uvicorn installs while serving (read,
        not replaced); its ``should_exit`` flag is watched, as uvicorn's own loop does."""
        if threading.current_thread() is not threading.main_thread():
            return
        import uvicorn

        server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
        if isinstance(server, uvicorn.Server):
            self._server_watch = asyncio.create_task(
                self._close_on_exit(server), name="slotwise-live-shutdown-watch"
            )

    async def _close_on_exit(self, server: Any) -> None:
        while not server.should_exit:  # noqa: ASYNC110 - uvicorn's flag comes with no event
            await asyncio.sleep(SERVER_EXIT_POLL_SECONDS)
        self.hub.close()

    async def stop(self) -> None:
        self.hub.close()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        if self._server_watch is not None:
            self._server_watch.cancel()
            await asyncio.gather(self._server_watch, return_exceptions=True)
        if self.relay is not None:
            await self.relay.stop()
        if self.listener is not None:
            await self.listener.stop()


async def start_live_updates(
    settings: Settings,
    database: Database,
    owner_dsn: str | None,
    observers: Sequence[ChangeObserver] = (),
    *,
    app_url: str | None = None,
) -> LiveUpdates:
    """The app lifespan's hook: ``owner_dsn`` is known when the app runs its own migrations
    (it then applies ``settings.live_updates_mode`` to the database); ``app_url`` is the
    app role's URL as configured (else it is read back from the engine).

    ``LISTEN`` and session advisory locks need a session of their own: behind PgBouncer in
    transaction mode they need ``settings.live_database_url`` (the app role, straight to
    PostgreSQL); without it live updates stay off (and so does the cache they feed)."""
    can_listen = bool(settings.live_database_url) or not settings.db_pgbouncer
    if not can_listen:
        log.error("live_updates_need_a_direct_connection", setting="SLOTWISE_LIVE_DATABASE_URL")
    live = LiveUpdates(settings, observers, can_listen=can_listen)
    dsn = settings.live_database_url or app_url or app_dsn(database)
    await live.start(to_libpq(dsn), owner_dsn)
    return live


@asynccontextmanager
async def live_updates(app: Any) -> AsyncIterator[LiveUpdates]:
    """For the app lifespan: live updates of ``app.state.database``, feeding
    ``app.state.cache`` (if any) first; ``app.state.live`` while running."""
    state = app.state
    server = getattr(state, "db_server", None)
    cache = getattr(state, "cache", None)
    live = await start_live_updates(
        state.settings,
        state.database,
        server.urls.owner if server is not None else None,
        [cache] if cache is not None else [],
        app_url=server.urls.app if server is not None else None,
    )
    state.live = live
    try:
        yield live
    finally:
        await live.stop()
