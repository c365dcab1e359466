"""Booking page weight and paint: bytes on the wire and first contentful paint in Chromium.

    .venv/bin/python bench/page.py [--loads N]

Starts its own embedded PostgreSQL in a temporary folder (or uses ``DATABASE_URL``, an
owner URL, creating a database ``slotwise_bench_page`` on it), migrates it, seeds the demo
salon (``slotwise.demo.seed.seed_demo``) and serves the app with uvicorn on a free loopback
port, in a process of its own. Then, after one warm-up load, for each page, headless
Chromium (``SLOTWISE_CHROMIUM``, default ``/usr/bin/chromium``) loads it N times, each in a
fresh browser context (an empty cache: a cold load), and the median of the N loads is
printed:

- ``/b/demo``: the landing step (the list of services);
- ``/b/demo?service=<Haircut>&pro=any``: the date strip and a day of free times, the
  heaviest step (its script opens the live-updates stream, which is not counted: it never
  ends and carries no page content).

Columns: HTML+CSS+JS bytes as transferred (compressed bodies, then with HTTP headers),
the same uncompressed, the number of those requests, the time to the first byte of the
HTML and the first contentful paint (ms, from the start of navigation).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from slotwise.db import migrate  # noqa: E402
from slotwise.db.urls import to_libpq, with_database, with_user  # noqa: E402
from slotwise.demo.seed import SERVICES, _id, seed_demo  # noqa: E402
from slotwise.settings import Settings  # noqa: E402

CHROMIUM = os.environ.get("SLOTWISE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DATABASE = "slotwise_bench_page"
SECRET = "bench-secret-key-with-enough-length-0123456789"
PAGE_TYPES = ("navigation", "link", "script", "css")

# Resolves when the first contentful paint is known (buffered: it may already be past).
FCP_SCRIPT = """
() => new Promise((resolve) => {
  new PerformanceObserver((list, observer) => {
    const entry = list.getEntriesByName("first-contentful-paint")[0];
    if (entry) { observer.disconnect(); resolve(entry.startTime); }
  }).observe({ type: "paint", buffered: true });
})
"""
TTFB_SCRIPT = "() => performance.getEntriesByType('navigation')[0].responseStart"
# Navigation, stylesheet and script entries: (compressed body, transfer incl. headers, raw).
WEIGHT_SCRIPT = """
() => performance.getEntries()
  .filter((e) => e.entryType === "navigation" ||
          (e.entryType === "resource" && ["link", "script", "css"].includes(e.initiatorType)))
  .map((e) => [e.encodedBodySize, e.transferSize, e.decodedBodySize])
"""


async def _prepare(server_url: str) -> str:
    """A fresh migrated database on the server; its owner URL."""
    admin = await asyncpg.connect(to_libpq(with_database(server_url, "postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    owner = with_database(server_url, DATABASE)
    await migrate.upgrade(owner)
    return owner


async def _measure(url: str, loads: int) -> list[dict[str, float]]:
    rows = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(loads):
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.goto(url, wait_until="load")
            fcp = await page.evaluate(FCP_SCRIPT)
            weights: list[list[int]] = await page.evaluate(WEIGHT_SCRIPT)
            ttfb = await page.evaluate(TTFB_SCRIPT)
            rows.append(
                {
                    "encoded": sum(w[0] for w in weights),
                    "transfer": sum(w[1] for w in weights),
                    "decoded": sum(w[2] for w in weights),
                    "requests": len(weights),
                    "fcp": float(fcp),
                    "ttfb": float(ttfb),
                }
            )
            await context.close()
        await browser.close()
    return rows


async def run(server_url: str, loads: int) -> None:
    owner = await _prepare(server_url)
    await seed_demo(with_user(owner, "slotwise_app"), Settings(secret_key=SECRET))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)  # requests wait in the backlog until the server accepts them
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    folder = Path(tempfile.mkdtemp(prefix="slotwise-bench-page-app-"))
    env = {
        **os.environ,
        "SLOTWISE_DATABASE_URL": owner,
        "SLOTWISE_ENVIRONMENT": "test",
        "SLOTWISE_SECRET_KEY": SECRET,
        "SLOTWISE_LOG_LEVEL": "WARNING",
        "SLOTWISE_DATA_DIR": str(folder),
        "SLOTWISE_BASE_URL": base,
        "SLOTWISE_RATE_LIMIT_PUBLIC": "100000/minute",
        "SLOTWISE_RATE_LIMIT_TENANT": "100000/minute",
    }
    # The server in its own process, as deployed (not sharing an event loop with Playwright).
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "slotwise.app:create_app",
        "--factory",
        "--fd",
        str(listener.fileno()),
        "--log-level",
        "warning",
        "--no-access-log",
        env=env,
        cwd=folder,
        pass_fds=(listener.fileno(),),
    )
    haircut = _id(SERVICES[0][0])
    pages = {
        "/b/demo": f"{base}/b/demo",
        "/b/demo?service=…&pro=any": f"{base}/b/demo?service={haircut}&pro=any",
    }
    try:
        print(f"{loads} cold loads each, median; Chromium {CHROMIUM}\n")
        print(
            "| page | HTML+CSS+JS compressed (bytes) | with headers | uncompressed "
            "| requests | first byte (ms) | first contentful paint (ms) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        await _measure(pages["/b/demo"], 1)  # the server's first request warms it up
        for name, url in pages.items():
            rows = await _measure(url, loads)

            def median(key: str, rows: list[dict[str, Any]] = rows) -> float:
                return statistics.median(r[key] for r in rows)

            print(
                f"| `{name}` | {median('encoded'):,.0f} | {median('transfer'):,.0f} "
                f"| {median('decoded'):,.0f} | {median('requests'):.0f} "
                f"| {median('ttfb'):.0f} | {median('fcp'):.0f} |"
            )
    finally:
        server.terminate()
        await server.wait()
        listener.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10, help="cold loads per page")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or os.environ.get("SLOTWISE_DATABASE_URL")
    if url:
        asyncio.run(run(url, args.loads))
        return
    from slotwise.db.embedded import start_embedded

    folder = Path(tempfile.mkdtemp(prefix="slotwise-bench-page-"))
    try:
        handle = start_embedded(folder)
        try:
            asyncio.run(run(handle.get_uri(), args.loads))
        finally:
            handle.cleanup()  # stops the server before its folder goes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
