"""The staff dashboard in a real Chromium: sign in, see a fresh online booking in the day
view (it arrives live), cancel it, and the time is free again on the public page; move a
booking to a later time from its page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, LiveServer, Opener, Watched
from tests.e2e.test_booking_flow import (
    PRO,
    book,
    clean,
    pick_professional,
    pick_slot,
    slot_labels,
)

pytestmark = pytest.mark.browser


def clock_of(label: str) -> str:
    """A slot's label on an en-US page ("2:30 PM") as a time input's value ("14:30")."""
    found = re.search(r"(\d{1,2}):(\d{2})\s*([AP]M)", label.replace("\u202f", " "))
    assert found, label
    hours = int(found.group(1)) % 12 + (12 if found.group(3) == "PM" else 0)
    return f"{hours:02d}:{found.group(2)}"


async def sign_in_as_owner(staff: Page, live_server: LiveServer) -> None:
    await staff.goto(f"{live_server.url}/app/login")
    await staff.get_by_label("Email").fill(live_server.owner_email)
    await staff.get_by_label("Password").fill(live_server.owner_password)
    await staff.get_by_role("button", name="Sign in").click()
    await expect(staff.locator("table.daygrid")).to_be_visible()


async def test_staff_cancel_a_booking_from_the_day_view_and_the_time_is_free_again(
    live_server: LiveServer, new_page: Opener, browser_page: Watched
) -> None:
    staff = browser_page.page
    await sign_in_as_owner(staff, live_server)

    customer = await new_page(locale="en-US")
    await pick_professional(customer.page, live_server)
    label, day = await pick_slot(customer.page, 4)
    await staff.goto(f"{live_server.url}/app/day?date={day}")
    await expect(staff.get_by_text("Live: updates appear here by themselves.")).to_be_visible()
    await book(customer.page, "Paula Reis", "paula@example.com")

    # The booking appears in the open day view without a reload.
    block = staff.locator("td.appt a", has_text="Paula Reis")
    await expect(block).to_be_visible()
    await staff.screenshot(path=str(SCREENSHOTS / "dashboard-day.png"))
    await block.click()
    await expect(staff.get_by_role("heading", name="Paula Reis")).to_be_visible()
    staff.once("dialog", lambda dialog: dialog.accept())
    await staff.get_by_role("button", name="Cancel appointment").click()
    await expect(staff.get_by_text("The appointment was updated.")).to_be_visible()
    await expect(staff.get_by_text("Cancelled", exact=True)).to_be_visible()

    await pick_professional(customer.page, live_server, PRO)
    await customer.page.locator(f'a.day[data-date="{day}"]').click()
    await expect(customer.page.locator("#slots a.slot", has_text=label)).to_have_count(1)
    clean(browser_page)
    clean(customer)


async def test_staff_move_a_booking_to_a_later_time_from_its_page(
    live_server: LiveServer, new_page: Opener, browser_page: Watched
) -> None:
    staff = browser_page.page
    await sign_in_as_owner(staff, live_server)

    customer = await new_page(locale="en-US")
    await pick_professional(customer.page, live_server)
    ahead = customer.page.locator("a.day").nth(3)  # a day ahead: all its hours free
    day = await ahead.get_attribute("data-date")
    await ahead.click()
    await expect(customer.page.locator(f'#slots [data-slots-for="{day}"]')).to_have_count(1)
    later = clock_of((await slot_labels(customer.page))[-1])  # its last free time
    await pick_slot(customer.page, 0)
    await book(customer.page, "Rui Lima", "rui@example.com")

    await staff.goto(f"{live_server.url}/app/day?date={day}")
    await staff.locator("td.appt a", has_text="Rui Lima").click()
    time_field = staff.get_by_label("Time", exact=True)
    await time_field.fill(later)
    await staff.get_by_label("Notes (optional)").fill("Asked for a later time")
    await staff.screenshot(path=str(SCREENSHOTS / "dashboard-move.png"), full_page=True)
    await staff.get_by_role("button", name="Save changes").click()
    await expect(staff.get_by_text("The appointment was updated.")).to_be_visible()
    await expect(time_field).to_have_value(later)
    await expect(staff.get_by_text("Asked for a later time").first).to_be_visible()
    clean(browser_page)
    clean(customer)
