"""Customer and business mails through a real SMTP server: content, language, branding and
the calendar invitation (parsed back with icalendar)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
from icalendar import Calendar

from slotwise.booking.tokens import read_manage_token
from slotwise.db.database import Database
from slotwise.db.urls import DatabaseUrls, to_libpq
from slotwise.notifications.mail import read_mailbox
from slotwise.notifications.worker import OutboxWorker
from slotwise.settings import Settings
from tests.factories import TenantRows, make_appointment, make_customer, make_tenant
from tests.notifications.conftest import (
    SmtpServer,
    calendar_of,
    future_start,
    html_of,
    outbox_rows,
    text_of,
)

CUSTOMER = "ana@example.com"
DESK = "desk@salon.example.com"


async def _salon(conn: asyncpg.Connection, **overrides: object) -> TenantRows:
    values: dict[str, object] = {
        "timezone": "America/New_York",
        "email": DESK,
        "address": "12 Main St, Springfield",
        "phone": "+1 555 0100",
        "reminder_hours": 24,
    }
    values.update(overrides)
    rows = await make_tenant(conn, **values)
    await conn.execute(
        "UPDATE tenants SET name = 'Ana & Bia <Salon>' WHERE id = $1", rows.tenant_id
    )
    await conn.execute("UPDATE services SET name = 'Haircut' WHERE tenant_id = $1", rows.tenant_id)
    return rows


async def _book(conn: asyncpg.Connection, rows: TenantRows, start: datetime) -> UUID:
    if rows.customer_id is None:
        rows.customer_id = await make_customer(conn, rows.tenant_id, CUSTOMER)
    return await make_appointment(conn, rows, start)


def _event(calendar: Calendar) -> Any:
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return events[0]


def _only(messages: list[EmailMessage]) -> EmailMessage:
    assert len(messages) == 1, [m["Subject"] for m in messages]
    return messages[0]


async def test_confirmation_mail_with_a_valid_invitation(
    owner_conn: asyncpg.Connection,
    worker: OutboxWorker,
    smtp: SmtpServer,
    smtp_settings: Settings,
) -> None:
    rows = await _salon(owner_conn)
    start = future_start(days=3)
    appointment_id = await _book(owner_conn, rows, start)

    stats = await worker.drain(datetime.now(UTC))

    assert stats.count("sent") == 2  # the customer's and the business's; the reminder waits
    mail = _only(smtp.collector.to(CUSTOMER))
    confirmation = next(r for r in await outbox_rows(owner_conn) if r["recipient"] == CUSTOMER)
    assert mail["Message-ID"] == f"<{confirmation['id']}@slotwise>"
    assert mail["Subject"] == "Your booking at Ana & Bia <Salon> is confirmed"
    assert mail["Reply-To"] == DESK
    assert "Ana & Bia <Salon>" in mail["From"]
    text = text_of(mail)
    assert "Hello Ana," in text and "Haircut" in text and "12 Main St, Springfield" in text
    assert "Phone: +1 555 0100" in text
    html = html_of(mail)
    assert "Ana &amp; Bia &lt;Salon&gt;" in html and "<Salon>" not in html  # autoescaped
    # The manage link carries the booking domain's token for this appointment.
    link = next(word for word in text.split() if "/bookings/" in word)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert read_manage_token(smtp_settings, token, appointment_id) == rows.tenant_id
    assert link.startswith(smtp_settings.base_url)

    calendar = calendar_of(mail)
    assert str(calendar["METHOD"]) == "REQUEST"
    event = _event(calendar)
    assert str(event["UID"]) == f"{appointment_id}@slotwise"
    assert int(event["SEQUENCE"]) == 1
    dtstart = event.decoded("DTSTART")
    assert dtstart == start
    assert dtstart.tzinfo == ZoneInfo("America/New_York")
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTEND") - dtstart == timedelta(minutes=30)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(event["LOCATION"]) == "12 Main St, Springfield"
    assert str(event["ORGANIZER"]) == f"mailto:{DESK}"
    assert "Haircut" in str(event["SUMMARY"])

    notice = _only(smtp.collector.to(DESK))
    assert notice["Subject"].startswith("New booking: Haircut with Pro 0 on ")
    assert CUSTOMER in text_of(notice)
    assert not list(notice.iter_attachments())


async def test_reschedule_mail_updates_the_same_event_with_a_higher_sequence(
    owner_conn: asyncpg.Connection, worker: OutboxWorker, smtp: SmtpServer
) -> None:
    rows = await _salon(owner_conn)
    start = future_start(days=3)
    appointment_id = await _book(owner_conn, rows, start)
    await worker.drain(datetime.now(UTC))
    new_start = start + timedelta(days=1, hours=2)
    await owner_conn.execute(
        "UPDATE appointments SET starts_at = $2, ends_at = $3 WHERE id = $1",
        appointment_id,
        new_start,
        new_start + timedelta(minutes=30),
    )

    await worker.drain(datetime.now(UTC))

    mails = smtp.collector.to(CUSTOMER)
    assert [m["Subject"] for m in mails] == [
        "Your booking at Ana & Bia <Salon> is confirmed",
        "Your booking at Ana & Bia <Salon> has a new time",
    ]
    assert "Previously" in text_of(mails[1])
    first, moved = (_event(calendar_of(m)) for m in mails)
    assert str(calendar_of(mails[1])["METHOD"]) == "REQUEST"
    assert str(moved["UID"]) == str(first["UID"])
    assert int(moved["SEQUENCE"]) == int(first["SEQUENCE"]) + 1 == 2
    assert moved.decoded("DTSTART") == new_start
    assert len(smtp.collector.to(DESK)) == 1  # the business is told of new and cancelled only


async def test_cancellation_mail_cancels_the_event(
    owner_conn: asyncpg.Connection, worker: OutboxWorker, smtp: SmtpServer
) -> None:
    rows = await _salon(owner_conn)
    appointment_id = await _book(owner_conn, rows, future_start(days=3))
    await worker.drain(datetime.now(UTC))
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", appointment_id
    )

    await worker.drain(datetime.now(UTC))

    mail = smtp.collector.to(CUSTOMER)[-1]
    assert mail["Subject"] == "Your booking at Ana & Bia <Salon> was cancelled"
    assert "/bookings/" not in text_of(mail)  # no manage link for a cancelled booking
    assert "Book again" in text_of(mail)
    calendar = calendar_of(mail)
    assert str(calendar["METHOD"]) == "CANCEL"
    event = _event(calendar)
    assert str(event["UID"]) == f"{appointment_id}@slotwise"
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 2
    notices = smtp.collector.to(DESK)
    assert [m["Subject"].split(":")[0] for m in notices] == ["New booking", "Booking cancelled"]
    assert not [r for r in await outbox_rows(owner_conn) if r["status"] == "pending"]


async def test_reminder_is_sent_when_due_and_not_before(
    owner_conn: asyncpg.Connection, worker: OutboxWorker, smtp: SmtpServer
) -> None:
    rows = await _salon(owner_conn, reminder_hours=24)
    start = future_start(days=3)
    await _book(owner_conn, rows, start)
    due = start - timedelta(hours=24)

    await worker.drain(datetime.now(UTC))
    early = await worker.drain(due - timedelta(minutes=1))
    assert early.claimed == 0
    assert len(smtp.collector.to(CUSTOMER)) == 1

    late = await worker.drain(due + timedelta(minutes=1))
    assert late.count("sent") == 1
    reminder = smtp.collector.to(CUSTOMER)[-1]
    assert reminder["Subject"].startswith("Reminder: Haircut at Ana & Bia <Salon> on ")
    calendar = calendar_of(reminder)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert _event(calendar).decoded("DTSTART") == start


async def test_a_reminder_outdated_by_a_change_in_flight_is_dropped(
    owner_conn: asyncpg.Connection,
    database_urls: DatabaseUrls,
    worker: OutboxWorker,
    smtp: SmtpServer,
) -> None:
    """A reminder locked by a worker when the appointment moved escapes the trigger's
    clean-up; the worker notices that it describes an old time and drops it."""
    rows = await _salon(owner_conn, reminder_hours=24)
    start = future_start(days=3)
    appointment_id = await _book(owner_conn, rows, start)
    await worker.drain(datetime.now(UTC))
    reminder_id = next(
        r["id"] for r in await outbox_rows(owner_conn) if r["kind"] == "customer_reminder"
    )
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE", reminder_id)
        other = await asyncpg.connect(to_libpq(database_urls.owner))
        try:
            await other.execute(
                "UPDATE appointments SET starts_at = starts_at + interval '1 hour',"
                " ends_at = ends_at + interval '1 hour' WHERE id = $1",
                appointment_id,
            )
        finally:
            await other.close()

    stats = await worker.drain(start - timedelta(hours=1))

    assert stats.count("obsolete") == 1
    assert await owner_conn.fetchval("SELECT count(*) FROM outbox WHERE id = $1", reminder_id) == 0
    subjects = [m["Subject"] for m in smtp.collector.to(CUSTOMER)]
    assert sum(s.startswith("Reminder:") for s in subjects) == 1  # only the new time's


async def test_portuguese_business_sends_portuguese_mail(
    owner_conn: asyncpg.Connection, worker: OutboxWorker, smtp: SmtpServer
) -> None:
    rows = await _salon(owner_conn, locale="pt_BR", timezone="America/Sao_Paulo")
    start = datetime(2031, 6, 3, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
    await _book(owner_conn, rows, start)

    await worker.drain(datetime.now(UTC))

    mail = _only(smtp.collector.to(CUSTOMER))
    assert mail["Subject"] == "Seu agendamento em Ana & Bia <Salon> está confirmado"
    assert mail["Content-Language"] == "pt-BR"
    text = text_of(mail)
    assert "Olá, Ana," in text
    assert "Serviço: Haircut" in text
    assert "terça-feira, 3 de junho de 2031, 10:00" in text
    assert "Gerenciar seu agendamento" in text
    assert '<html lang="pt-BR">' in html_of(mail)
    event = _event(calendar_of(mail))
    assert event["DTSTART"].params["TZID"] == "America/Sao_Paulo"
    assert event.decoded("DTSTART").hour == 10
    notice = _only(smtp.collector.to(DESK))
    assert notice["Subject"].startswith("Novo agendamento: Haircut com Pro 0 em ")


async def test_without_smtp_mails_land_in_the_mailbox_folder_once(
    owner_conn: asyncpg.Connection, database: Database, settings: Settings, tmp_path: Path
) -> None:
    mailbox = tmp_path / "mailbox"
    local = settings.model_copy(update={"smtp_host": None, "mailbox_dir": mailbox})
    rows = await _salon(owner_conn)
    await _book(owner_conn, rows, future_start(days=3))

    async with OutboxWorker(database, local) as outbox_worker:
        await outbox_worker.drain(datetime.now(UTC))
        await outbox_worker.drain(datetime.now(UTC))

    sent = {str(r["id"]) for r in await outbox_rows(owner_conn) if r["status"] == "sent"}
    files = sorted(mailbox.glob("*.eml"))
    assert {f.stem for f in files} == sent and len(sent) == 2
    assert not list(mailbox.glob(".tmp-*"))
    for outbox_id in sent:
        kept = read_mailbox(local, UUID(outbox_id))
        assert kept is not None and kept["Message-ID"] == f"<{outbox_id}@slotwise>"
    assert read_mailbox(local, uuid4()) is None
