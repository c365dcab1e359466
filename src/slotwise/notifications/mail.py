"""Emails: what each outbox kind says, rendered as plain text + HTML (Jinja2, autoescaped)
in the business's language, with an iCalendar invitation, and how they leave the building
(SMTP when configured, else ``.eml`` files in the mailbox folder).

Sending is idempotent by the outbox id: it is the ``Message-ID`` (``<outbox-id@slotwise>``)
and the mailbox file name, so a retry after an uncertain failure never makes a second
distinct message."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

import aiosmtplib
from babel.dates import format_date, format_time
from icalendar import Calendar, Event, Timezone, vCalAddress, vText
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from slotwise import __version__
from slotwise.i18n import gettext
from slotwise.settings import Settings

_TEMPLATES = Path(__file__).parent / "templates"
SMTP_TIMEOUT_SECONDS = 30.0
CUSTOMER_KINDS = frozenset(
    {
        "customer_confirmation",
        "customer_reschedule",
        "customer_cancellation",
        "customer_reminder",
    }
)
BUSINESS_KINDS = frozenset({"business_booking", "business_cancellation"})
IcsMethod = Literal["REQUEST", "CANCEL"]


class DeliveryFailed(Exception):
    """The message did not go out; the text is kept as the outbox row's ``last_error``."""


@dataclass(frozen=True, slots=True)
class Appointment:
    """Everything a mail about one appointment shows, in the business's terms."""

    id: UUID
    tenant_id: UUID
    business_name: str
    business_slug: str
    business_address: str
    business_phone: str
    business_email: str
    timezone: str
    locale: str
    service_name: str
    professional_name: str
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    notes: str
    starts_at: datetime
    ends_at: datetime
    version: int
    status: str
    previous_starts_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Links:
    manage: str | None
    booking_page: str
    dashboard: str


@dataclass(frozen=True, slots=True)
class Action:
    label: str
    url: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MailContent:
    """The words of one mail, already translated; the templates only lay them out."""

    lang: str
    subject: str
    headline: str
    greeting: str
    intro: str
    details: list[tuple[str, str]]
    action: Action | None
    calendar_note: str
    business_name: str
    footer: list[str] = field(default_factory=list)
    sent_by: str = ""


# --- words --------------------------------------------------------------------------------


def _when(appointment: Appointment, starts_at: datetime) -> str:
    zone = ZoneInfo(appointment.timezone)
    local_start = starts_at.astimezone(zone)
    local_end = (starts_at + (appointment.ends_at - appointment.starts_at)).astimezone(zone)
    day = format_date(local_start.date(), "full", locale=appointment.locale)
    start = format_time(local_start, "short", locale=appointment.locale)
    end = format_time(local_end, "short", locale=appointment.locale)
    return f"{day}, {start} – {end} ({appointment.timezone})"


def _short_date(appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(ZoneInfo(appointment.timezone))
    return format_date(local.date(), "medium", locale=appointment.locale)


def compose(kind: str, appointment: Appointment, links: Links) -> MailContent:
    """The translated words of an outbox ``kind`` about ``appointment``."""
    locale = appointment.locale

    def _(message: str, **params: str) -> str:
        return gettext(message, locale, **params)

    business = appointment.business_name
    names = {
        "business": business,
        "service": appointment.service_name,
        "professional": appointment.professional_name,
        "date": _short_date(appointment),
    }
    details = [
        (_("Service"), appointment.service_name),
        (_("With"), appointment.professional_name),
        (_("When"), _when(appointment, appointment.starts_at)),
    ]
    if appointment.business_address:
        details.append((_("Where"), appointment.business_address))
    greeting = _("Hello {name},", name=appointment.customer_name)
    manage = (
        Action(
            _("Manage your booking"),
            links.manage,
            _("Use this link to reschedule or cancel your booking."),
        )
        if links.manage
        else None
    )
    invitation = _("The attached invitation adds this appointment to your calendar.")
    action: Action | None = manage
    calendar_note = invitation
    if kind == "customer_confirmation" and appointment.status == "pending":
        subject = _("We received your booking request at {business}", **names)
        headline = _("Booking request received")
        intro = _("We received your request. {business} will confirm it shortly.", **names)
    elif kind == "customer_confirmation":
        subject = _("Your booking at {business} is confirmed", **names)
        headline = _("Your booking is confirmed")
        intro = _("See you soon! Here are the details of your appointment.")
    elif kind == "customer_reschedule":
        subject = _("Your booking at {business} has a new time", **names)
        headline = _("Your booking was moved")
        intro = _("Your appointment was moved. Here are the new details.")
        if appointment.previous_starts_at is not None:
            details.append((_("Previously"), _when(appointment, appointment.previous_starts_at)))
    elif kind == "customer_cancellation":
        subject = _("Your booking at {business} was cancelled", **names)
        headline = _("Your booking was cancelled")
        intro = _("The appointment below was cancelled. We hope to see you another time.")
        action = Action(_("Book again"), links.booking_page)
        calendar_note = _("The attached file removes this appointment from your calendar.")
    elif kind == "customer_reminder":
        subject = _("Reminder: {service} at {business} on {date}", **names)
        headline = _("See you soon")
        intro = _("This is a reminder of your upcoming appointment.")
    elif kind in BUSINESS_KINDS:
        greeting = ""
        calendar_note = ""
        details.append((_("Customer"), appointment.customer_name))
        if appointment.customer_email:
            details.append((_("Email"), appointment.customer_email))
        if appointment.customer_phone:
            details.append((_("Phone"), appointment.customer_phone))
        if appointment.notes:
            details.append((_("Notes"), appointment.notes))
        action = Action(_("Open the dashboard"), links.dashboard)
        if kind == "business_booking":
            subject = _("New booking: {service} with {professional} on {date}", **names)
            headline = _("New booking")
            intro = _("A new appointment was booked.")
        else:
            subject = _("Booking cancelled: {service} with {professional} on {date}", **names)
            headline = _("Booking cancelled")
            intro = _("This appointment was cancelled. The time is free again.")
    else:
        raise ValueError(f"no mail for outbox kind {kind!r}")
    footer = [line for line in (business, appointment.business_address) if line]
    if appointment.business_phone:
        footer.append(_("Phone: {phone}", phone=appointment.business_phone))
    return MailContent(
        lang=locale.replace("_", "-"),
        subject=subject,
        headline=headline,
        greeting=greeting,
        intro=intro,
        details=details,
        action=action,
        calendar_note=calendar_note,
        business_name=business,
        footer=footer,
        sent_by=_("Sent by Slotwise on behalf of {business}.", **names),
    )


# --- calendar -----------------------------------------------------------------------------


def ics_method(kind: str) -> IcsMethod | None:
    """REQUEST adds or updates the event in the customer's calendar, CANCEL removes it;
    business notices carry none (their calendar is the dashboard)."""
    if kind == "customer_cancellation":
        return "CANCEL"
    if kind in CUSTOMER_KINDS:
        return "REQUEST"
    return None


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, year: int) -> Timezone:
    """VTIMEZONE rules for the years around an event (computing them is slow: cached)."""
    return Timezone.from_tzinfo(
        ZoneInfo(tzid), tzid=tzid, first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1)
    )


def build_ics(
    appointment: Appointment,
    method: IcsMethod,
    *,
    organizer_email: str,
    summary: str,
    description: str,
    url: str | None,
    now: datetime,
) -> bytes:
    """An iTIP message: a stable UID per appointment, SEQUENCE = the appointment's version,
    start and end in the business's zone with its VTIMEZONE."""
    zone = ZoneInfo(appointment.timezone)
    calendar = Calendar()
    calendar.add("prodid", f"-//Slotwise//Slotwise {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    local_start = appointment.starts_at.astimezone(zone)
    calendar.add_component(_vtimezone(appointment.timezone, local_start.year))
    event = Event()
    event.add("uid", f"{appointment.id}@slotwise")
    event.add("sequence", appointment.version)
    event.add("dtstamp", now)
    event.add("dtstart", local_start)
    event.add("dtend", appointment.ends_at.astimezone(zone))
    event.add("summary", summary)
    event.add("description", description)
    if appointment.business_address:
        event.add("location", appointment.business_address)
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(appointment.business_name)
    event.add("organizer", organizer)
    if appointment.customer_email:
        attendee = vCalAddress(f"mailto:{appointment.customer_email}")
        attendee.params["cn"] = vText(appointment.customer_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("ACCEPTED")
        event.add("attendee", attendee)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


# --- the message --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(content: MailContent) -> tuple[str, str]:
    """``(plain text, HTML)`` of a mail."""
    environment = _environment()
    return (
        environment.get_template("mail.txt").render(mail=content),
        environment.get_template("mail.html").render(mail=content),
    )


def _header(value: str) -> str:
    """Header values never carry line breaks (no header injection through a name)."""
    return " ".join(value.split())


def message_id(outbox_id: UUID) -> str:
    return f"<{outbox_id}@slotwise>"


def sender_address(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1] or "no-reply@slotwise.local"


def build_message(
    outbox_id: UUID,
    kind: str,
    appointment: Appointment,
    links: Links,
    *,
    recipient: str,
    reply_to: str | None,
    settings: Settings,
    now: datetime,
) -> EmailMessage:
    content = compose(kind, appointment, links)
    plain, html = render(content)
    sender = sender_address(settings)
    message = EmailMessage()
    message["Subject"] = _header(content.subject)
    message["From"] = formataddr((_header(appointment.business_name), sender))
    message["To"] = recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(outbox_id)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Slotwise-Outbox-Id"] = str(outbox_id)
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    method = ics_method(kind)
    if method is not None:
        ics = build_ics(
            appointment,
            method,
            organizer_email=reply_to or sender,
            summary=f"{appointment.service_name} – {appointment.business_name}",
            description="\n".join(
                line
                for line in (
                    f"{appointment.service_name} · {appointment.professional_name}",
                    links.manage if method == "REQUEST" else None,
                )
                if line
            ),
            url=links.manage if method == "REQUEST" else None,
            now=now,
        )
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": method, "charset": "utf-8"},
        )
    # Last: setting the content moves or clears every Content-* header set before.
    message["Content-Language"] = content.lang
    return message


# --- delivery -----------------------------------------------------------------------------


class Mailer(Protocol):
    async def send(self, message: EmailMessage, outbox_id: UUID) -> None:
        """Deliver ``message`` or raise ``DeliveryFailed``."""


class SmtpMailer:
    """Hands the message to the configured SMTP server (aiosmtplib, one connection each)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings

    async def send(self, message: EmailMessage, outbox_id: UUID) -> None:
        settings = self.settings
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=(
                    settings.smtp_password.get_secret_value() if settings.smtp_password else None
                ),
                start_tls=settings.smtp_starttls,
                timeout=SMTP_TIMEOUT_SECONDS,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.code}: {exc.message}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise DeliveryFailed(f"SMTP recipients refused: {refused}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"SMTP unavailable: {type(exc).__name__}: {exc}") from exc


class MailboxMailer:
    """Writes ``<outbox-id>.eml`` into a folder (the embedded/demo default): a new user sees
    every mail without configuring anything. Written atomically; a retry overwrites."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage, outbox_id: UUID) -> None:
        try:
            await asyncio.to_thread(self._write, message.as_bytes(), outbox_id)
        except OSError as exc:
            raise DeliveryFailed(f"mailbox not writable: {exc.strerror or exc}") from exc

    def _write(self, data: bytes, outbox_id: UUID) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, self.folder / f"{outbox_id}.eml")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def read_mailbox(settings: Settings, outbox_id: UUID) -> EmailMessage | None:
    """The mail an outbox row left in the mailbox folder (for the staff outbox page), or
    None when it is not there (not sent yet, or sent by SMTP)."""
    path = settings.mailbox_path / f"{outbox_id}.eml"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    message = message_from_bytes(data, policy=policy.default)
    return message if isinstance(message, EmailMessage) else None


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return MailboxMailer(settings.mailbox_path)
