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
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _common import database_server, machine, prepare_database, serving  # noqa: E402

from slotwise.db.urls import with_user  # noqa: E402
from slotwise.demo.seed import SERVICES, demo_id, seed_demo  # noqa: E402

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


async def run(server_url: str, folder: Path, loads: int) -> None:
    owner = await prepare_database(server_url, DATABASE)
    await seed_demo(with_user(owner, "slotwise_app"))
    haircut = demo_id(SERVICES[0][0])
    # The server in its own process, as deployed (not sharing an event loop with Playwright).
    async with serving(owner, folder) as served:
        pages = {
            "/b/demo": f"{served.url}/b/demo",
            "/b/demo?service=…&pro=any": f"{served.url}/b/demo?service={haircut}&pro=any",
        }
        print(f"machine: {machine()}")
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
                return float(statistics.median(r[key] for r in rows))

            print(
                f"| `{name}` | {median('encoded'):,.0f} | {median('transfer'):,.0f} "
                f"| {median('decoded'):,.0f} | {median('requests'):.0f} "
                f"| {median('ttfb'):.0f} | {median('fcp'):.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10, help="cold loads per page")
    args = parser.parse_args()
    with database_server() as (server_url, folder):
        asyncio.run(run(server_url, folder, args.loads))


if __name__ == "__main__":
    main()
