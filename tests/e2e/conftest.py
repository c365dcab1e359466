"""End-to-end fixtures: a real uvicorn server on a free loopback port serving the app on
this test's database (seeded with the demo salon), and Debian's Chromium driven by
Playwright.

The server runs in-process as a task on the session's event loop; it is ready when its
``startup`` has bound the socket (awaited through an event, never by sleeping)."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from slotwise.app import create_app
from slotwise.db.database import Database
from slotwise.db.urls import DatabaseUrls
from slotwise.demo.seed import OWNER_EMAIL, OWNER_PASSWORD, seed_demo
from tests.conftest import _test_settings

CHROMIUM = os.environ.get("SLOTWISE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("SLOTWISE_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / f"slotwise-screenshots-{os.getuid()}"
)
"""Where the browser tests save their screenshots: a temporary folder, so a test run leaves
the working tree alone; ``SLOTWISE_SCREENSHOTS=docs/screenshots`` refreshes the README's."""


class _Server(uvicorn.Server):
    """uvicorn that says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class LiveServer:
    url: str
    owner_email: str = OWNER_EMAIL
    owner_password: str = OWNER_PASSWORD


@pytest.fixture
async def live_server(database: Database, database_urls: DatabaseUrls) -> AsyncIterator[LiveServer]:
    """The app with the demo business ``demo``, on http://127.0.0.1:<free port>."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = _test_settings(base_url=url)
    await seed_demo(database_urls.app)
    app = create_app(settings, database=database)
    # Open event streams would hold a graceful shutdown forever: give them two seconds.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    ready = asyncio.create_task(server.ready.wait())
    done, _pending = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        ready.cancel()
        task.result()
        raise RuntimeError("the server stopped before listening")
    try:
        yield LiveServer(url)
    finally:
        server.should_exit = True
        await task
        listener.close()


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@dataclass
class Watched:
    """A page whose console is listened to: CSP violations and script errors end up here."""

    page: Page
    context: BrowserContext
    problems: list[str]


async def open_page(browser: Browser, **options: Any) -> Watched:
    context = await browser.new_context(**options)
    page = await context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" or "Content Security Policy" in text:
            problems.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return Watched(page, context, problems)


@pytest.fixture
async def browser_page(chromium: Browser) -> AsyncIterator[Watched]:
    """A fresh browser context (desktop viewport, English) and its page."""
    watched = await open_page(chromium, viewport={"width": 1280, "height": 900}, locale="en-US")
    yield watched
    await watched.context.close()


Opener = Callable[..., Awaitable[Watched]]


@pytest.fixture
async def new_page(chromium: Browser) -> AsyncIterator[Opener]:
    """Opens more browser contexts (other customers, other settings); all closed at the end,
    whatever the test's outcome."""
    opened: list[Watched] = []

    async def opener(**options: Any) -> Watched:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        watched = await open_page(chromium, **options)
        opened.append(watched)
        return watched

    yield opener
    for watched in opened:
        await watched.context.close()
