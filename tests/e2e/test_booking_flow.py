"""The booking page in a real Chromium against a real server: booking, live availability,
a race for one slot, the manage link, no JavaScript, a phone-sized screen, Portuguese.
Every test also fails on any console error, CSP violations included."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, LiveServer, Opener, Watched

pytestmark = pytest.mark.browser

SERVICE = "Haircut"
PRO = "Bruno Lima"


async def pick_professional(page: Page, server: LiveServer, pro: str = PRO) -> None:
    await page.goto(f"{server.url}/b/demo")
    await page.get_by_role("link", name=re.compile(SERVICE)).click()
    await page.get_by_role("link", name=pro).click()
    await expect(page.locator("#slots a.slot").first).to_be_visible()


async def pick_slot(page: Page, index: int = 3) -> tuple[str, str]:
    """Click the ``index``-th free time of the shown day: (its label, its day)."""
    slot = page.locator("#slots a.slot").nth(index)
    label = (await slot.inner_text()).strip()
    day = await page.locator("#slots [data-slots-for]").get_attribute("data-slots-for")
    await slot.click()
    await expect(page.locator("#booking-form")).to_be_visible()
    return label, day or ""


async def fill_details(page: Page, name: str, email: str) -> None:
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)


async def book(page: Page, name: str = "Marta Alves", email: str = "marta@example.com") -> None:
    await fill_details(page, name, email)
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page.get_by_role("heading", name="You are booked!")).to_be_visible()


async def slot_labels(page: Page) -> list[str]:
    return [t.strip() for t in await page.locator("#slots a.slot").all_inner_texts()]


def clean(watched: Watched, *expected: str) -> None:
    """No console error, no CSP violation, no script error, but the ``expected`` ones (the
    browser logs a 409 answer the page handles as a failed load)."""
    unexpected = [p for p in watched.problems if not any(e in p for e in expected)]
    assert unexpected == [], unexpected


async def test_a_customer_books_and_the_time_disappears_live_for_the_next_one(
    live_server: LiveServer, new_page: Opener, browser_page: Watched
) -> None:
    first = browser_page.page
    await pick_professional(first, live_server)
    await first.evaluate("window.scrollTo(0, 0)")
    await first.screenshot(path=str(SCREENSHOTS / "booking-desktop.png"))
    second = await new_page(locale="en-US")
    await pick_professional(second.page, live_server)
    label, day = await pick_slot(first)
    await second.page.locator(f'a.day[data-date="{day}"]').click()
    await expect(second.page.locator("#slots a.slot", has_text=label)).to_have_count(1)

    await book(first)
    assert "/booking/" in first.url
    await expect(first.get_by_text(PRO)).to_be_visible()
    await expect(first.get_by_role("link", name="Add to calendar (.ics)")).to_be_visible()

    # The second customer's page drops the time by itself (server-sent event, no reload).
    await expect(second.page.locator("#slots a.slot", has_text=label)).to_have_count(0)
    third = await new_page(locale="en-US")
    await pick_professional(third.page, live_server)
    await third.page.locator(f'a.day[data-date="{day}"]').click()
    await expect(third.page.locator(f'#slots [data-slots-for="{day}"]')).to_be_visible()
    assert label not in await slot_labels(third.page)
    for watched in (browser_page, second, third):
        clean(watched)


async def test_two_customers_race_for_one_time_and_the_loser_books_an_alternative(
    live_server: LiveServer, new_page: Opener, browser_page: Watched
) -> None:
    winner = browser_page
    loser = await new_page(locale="en-US")
    for watched in (winner, loser):
        await pick_professional(watched.page, live_server)
    label, day = await pick_slot(winner.page, 5)
    await loser.page.locator(f'a.day[data-date="{day}"]').click()
    await loser.page.locator("#slots a.slot", has_text=label).first.click()
    await fill_details(loser.page, "Late Comer", "late@example.com")

    await book(winner.page, "Early Bird", "early@example.com")
    await loser.page.get_by_role("button", name="Confirm booking").click()
    conflict = loser.page.locator("[data-conflict]")
    await expect(conflict).to_contain_text("Sorry, that time is no longer available.")
    alternatives = conflict.locator("button.slot")
    await expect(alternatives.first).to_be_visible()
    assert 1 <= await alternatives.count() <= 5
    await alternatives.first.click()
    await expect(loser.page.get_by_role("heading", name="You are booked!")).to_be_visible()
    clean(winner)
    clean(loser, "status of 409 (Conflict)")


async def test_a_customer_cancels_through_the_manage_link(
    live_server: LiveServer, browser_page: Watched
) -> None:
    page = browser_page.page
    await pick_professional(page, live_server)
    await pick_slot(page, 2)
    await book(page)
    await page.get_by_role("link", name="Change or cancel").click()
    await expect(page.get_by_role("heading", name="Your booking")).to_be_visible()
    await page.get_by_role("link", name="Cancel booking").click()
    await expect(page.get_by_role("heading", name="Cancel this booking?")).to_be_visible()
    await page.get_by_role("button", name="Yes, cancel it").click()
    await expect(page.get_by_text("Your booking is cancelled.")).to_be_visible()
    await expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()
    clean(browser_page)


async def test_the_whole_booking_flow_works_with_javascript_disabled(
    live_server: LiveServer, new_page: Opener
) -> None:
    watched = await new_page(java_script_enabled=False)
    page = watched.page
    await pick_professional(page, live_server)
    second_day = page.locator("a.day:not(.full)").nth(1)
    day = await second_day.get_attribute("data-date")
    await second_day.click()
    assert f"date={day}" in page.url  # a plain link: a new page was loaded
    await pick_slot(page, 1)
    await fill_details(page, "No Script", "noscript@example.com")
    await page.get_by_role("button", name="Confirm booking").click()
    await expect(page.get_by_role("heading", name="You are booked!")).to_be_visible()
    await page.get_by_role("link", name="Change or cancel").click()
    await page.get_by_role("link", name="Cancel booking").click()
    await page.get_by_role("button", name="Yes, cancel it").click()
    await expect(page.get_by_text("Your booking is cancelled.")).to_be_visible()
    clean(watched)


async def test_the_page_fits_a_360_pixel_screen_without_horizontal_scrolling(
    live_server: LiveServer, new_page: Opener
) -> None:
    watched = await new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = watched.page
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    await page.goto(f"{live_server.url}/b/demo")
    assert await page.evaluate(overflow) == 0
    await page.get_by_role("link", name=re.compile(SERVICE)).click()
    await page.get_by_role("link", name="Any professional").click()
    await expect(page.locator("#slots a.slot").first).to_be_visible()
    assert await page.evaluate(overflow) == 0
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SCREENSHOTS / "booking-mobile.png"))
    await pick_slot(page, 0)
    assert await page.evaluate(overflow) == 0
    clean(watched)


async def test_brazilian_portuguese_with_accept_language_pt_br(
    live_server: LiveServer, new_page: Opener
) -> None:
    watched = await new_page(locale="pt-BR", extra_http_headers={"Accept-Language": "pt-BR"})
    page = watched.page
    await page.goto(f"{live_server.url}/b/demo")
    await expect(page.get_by_role("heading", name="Serviço")).to_be_visible()
    await page.get_by_role("link", name=re.compile(SERVICE)).click()
    await expect(page.get_by_text("R$ 60,00")).to_be_visible()
    await page.get_by_role("link", name="Qualquer profissional").click()
    await expect(page.get_by_role("heading", name="Data e horário")).to_be_visible()
    assert await page.locator("html").get_attribute("lang") == "pt-BR"
    clean(watched)
