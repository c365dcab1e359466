"""The confirmation's "add to calendar" file: one VEVENT (RFC 5545) built with ``icalendar``.

Times are written in UTC, so every calendar app places the booking right whatever its own
zone; the stable UID lets a second download update the same event instead of adding one."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from slotwise.booking.schemas import ManagedBookingRead
from slotwise.i18n import gettext
from slotwise.web.i18n import N_

ICS_SUMMARY = N_("{service} at {business}")
ICS_DESCRIPTION = N_("With {professional}. Change or cancel: {link}")
_STATUS = {"pending": "TENTATIVE", "cancelled": "CANCELLED"}


def booking_ics(read: ManagedBookingRead, manage_link: str, locale: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Slotwise//Booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{read.id}@slotwise")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", read.start.astimezone(UTC))
    event.add("dtend", read.end.astimezone(UTC))
    event.add(
        "summary",
        gettext(ICS_SUMMARY, locale, service=read.service.name, business=read.business.name),
    )
    event.add(
        "description",
        gettext(ICS_DESCRIPTION, locale, professional=read.professional.name, link=manage_link),
    )
    if read.business.address:
        event.add("location", read.business.address)
    event.add("url", manage_link)
    event.add("status", _STATUS.get(read.status, "CONFIRMED"))
    event.add("sequence", read.version)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
