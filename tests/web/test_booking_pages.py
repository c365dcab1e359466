"""The public booking, confirmation and manage pages, driven like a browser without
JavaScript: plain links and form posts, POST-redirect-GET."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from icalendar import Calendar

from tests.factories import TenantRows, make_appointment
from tests.web.conftest import ZONE, csrf_of, links
from tests.web.test_dashboard import tomorrow_at


async def test_the_whole_booking_flow_works_with_plain_links_and_forms(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    page = await client.get(f"/b/{shop.slug}")
    assert page.status_code == 200
    service_link = links(page.text, "choice")[0]
    page = await client.get(service_link)
    pro_link = links(page.text, "choice")[0]  # "Any professional"
    assert "pro=any" in pro_link
    page = await client.get(pro_link)
    assert 'aria-live="polite"' in page.text
    slot_link = links(page.text, "slot")[0]
    page = await client.get(slot_link)
    assert 'id="booking-form"' in page.text
    start = parse_qs(urlsplit(slot_link).query)["start"][0]

    booked = await client.post(f"/b/{shop.slug}/book", data=details(shop, page.text, start))
    assert booked.status_code == 303, booked.text
    confirmation = await client.get(booked.headers["location"])
    assert confirmation.status_code == 200
    assert "You are booked!" in confirmation.text
    ics_link = next(h for h in links(confirmation.text) if ".ics?" in h)
    ics = await client.get(ics_link)
    assert ics.headers["content-type"].startswith("text/calendar")
    event = Calendar.from_ical(ics.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime.fromisoformat(start)
    assert str(event["summary"]).startswith("Cut at Business ")
    assert "/bookings/" in str(event["url"])
    manage = next(h for h in links(confirmation.text) if "/bookings/" in h)
    assert "Your booking" in (await client.get(manage)).text


def details(rows: TenantRows, html: str, start: str) -> dict[str, str]:
    """What the details form of ``html`` posts for ``start``, filled in for Ana."""
    return {
        "csrf_token": csrf_of(html),
        "service": str(rows.service_ids[0]),
        "pro": "any",
        "start": start,
        "name": "Ana Souza",
        "email": "ana@example.com",
        "phone": "",
        "notes": "",
    }


async def details_form(
    client: httpx.AsyncClient, rows: TenantRows, start: datetime
) -> dict[str, str]:
    """The booking page opened at ``start`` (any professional), and its filled-in form."""
    page = await client.get(
        f"/b/{rows.slug}?service={rows.service_ids[0]}&pro=any&start={start.isoformat()}"
    )
    assert page.status_code == 200
    assert 'id="booking-form"' in page.text
    return details(rows, page.text, start.isoformat())


async def test_refused_details_come_back_with_the_message_next_to_each_field(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    form = await details_form(client, shop, tomorrow_at(10))
    refused = await client.post(f"/b/{shop.slug}/book", data={**form, "name": "", "email": "ana@"})
    assert refused.status_code == 422
    assert 'data-error-for="name">Enter your name.<' in refused.text
    assert 'data-error-for="email">Enter a valid email address.<' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert 'value="ana@"' in refused.text  # what was typed stays
    no_contact = await client.post(f"/b/{shop.slug}/book", data={**form, "email": ""})
    # The booking's own rule (one contact at least) is shown at the email field.
    message = re.search(r'data-error-for="email">([^<]+)<', no_contact.text)
    assert message and "phone" in message.group(1)


async def test_scripts_get_problem_json_with_the_fields_named(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    form = await details_form(client, shop, tomorrow_at(10))
    as_json = {"Accept": "application/json"}
    refused = await client.post(
        f"/b/{shop.slug}/book", data={**form, "name": "", "email": "nope"}, headers=as_json
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"name", "email"}
    booked = await client.post(f"/b/{shop.slug}/book", data=form, headers=as_json)
    assert booked.status_code == 201
    assert booked.json()["redirect"].startswith(f"/b/{shop.slug}/booking/")


async def test_a_taken_time_is_said_plainly_with_alternatives_booked_in_one_click(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    start = tomorrow_at(10)
    await make_appointment(owner_conn, shop, start, professional_index=0)
    await make_appointment(owner_conn, shop, start, professional_index=1)
    form = await details_form(client, shop, start)
    taken = await client.post(f"/b/{shop.slug}/book", data=form)
    assert taken.status_code == 409
    assert "Sorry, that time is no longer available." in taken.text
    choices = re.findall(
        r'<button class="slot" type="submit" name="alternative" value="([^"]+)">', taken.text
    )
    assert 1 <= len(choices) <= 5
    as_json = await client.post(
        f"/b/{shop.slug}/book", data=form, headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 409
    assert [a["value"] for a in as_json.json()["alternatives"]] == [
        c.replace("&#43;", "+") for c in choices
    ]
    assert all(a["label"] for a in as_json.json()["alternatives"])
    one_click = await client.post(
        f"/b/{shop.slug}/book",
        data={**form, "alternative": choices[0].replace("&#43;", "+")},
    )
    assert one_click.status_code == 303, one_click.text
    booked_start = datetime.fromisoformat(choices[0].replace("&#43;", "+").split("|")[0])
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM appointments WHERE tenant_id = $1 AND starts_at = $2",
            shop.tenant_id,
            booked_start,
        )
        == 1
    )


async def test_brazilian_portuguese_by_accept_language_and_by_the_switch(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    page = await client.get(f"/b/{shop.slug}", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert '<html lang="pt-BR">' in page.text
    assert "Serviço" in page.text and "R$\xa060,00" in page.text
    assert page.headers["content-language"] == "pt-BR"
    english = await client.get(f"/b/{shop.slug}", headers={"Accept-Language": "en-US"})
    assert "Service" in english.text and "R$60.00" in english.text
    switch = await client.get(f"/lang/pt_BR?next=/b/{shop.slug}")
    assert switch.status_code == 303
    assert switch.headers["location"] == f"/b/{shop.slug}"
    chosen = await client.get(f"/b/{shop.slug}", headers={"Accept-Language": "en-US"})
    assert "Serviço" in chosen.text
    outside = await client.get("/lang/en?next=https://evil.example/")
    assert outside.headers["location"] == "/"


async def test_the_slots_fragment_lists_one_day_grouped_by_time_of_day(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    day = tomorrow_at(9).date()
    fragment = await client.get(
        f"/b/{shop.slug}/slots?service={shop.service_ids[0]}&pro=any&date={day.isoformat()}"
    )
    assert fragment.status_code == 200
    assert f'data-slots-for="{day.isoformat()}"' in fragment.text
    assert "Morning" in fragment.text and "Afternoon" in fragment.text
    assert "Evening" not in fragment.text  # closes at 17:00
    assert 'data-free="31"' in fragment.text  # 09:00 … 16:30 every 15 minutes
    assert "<html" not in fragment.text


async def booked_manage_link(client: httpx.AsyncClient, rows: TenantRows, start: datetime) -> str:
    form = await details_form(client, rows, start)
    booked = await client.post(f"/b/{rows.slug}/book", data=form)
    assert booked.status_code == 303
    confirmation = await client.get(booked.headers["location"])
    return next(h for h in links(confirmation.text) if "/bookings/" in h)


async def test_a_customer_cancels_through_the_manage_link_after_confirming(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    manage = await booked_manage_link(client, shop, tomorrow_at(11))
    page = await client.get(manage)
    cancel_link = next(h for h in links(page.text) if "/cancel?" in h)
    confirm = await client.get(cancel_link)
    assert "Cancel this booking?" in confirm.text
    done = await client.post(
        cancel_link, data={"csrf_token": csrf_of(confirm.text), "version": "1"}
    )
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert "Your booking is cancelled." in after.text
    assert (
        await owner_conn.fetchval(
            "SELECT status FROM appointments WHERE tenant_id = $1", shop.tenant_id
        )
        == "cancelled"
    )


async def test_changes_after_the_cutoff_are_refused_with_the_clear_sentence(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    manage = await booked_manage_link(client, shop, tomorrow_at(11))
    await owner_conn.execute(
        "UPDATE tenants SET cancel_cutoff_minutes = 43200 WHERE id = $1", shop.tenant_id
    )
    sentence = "It is too late to change or cancel this booking online. Please contact us."
    page = await client.get(manage)
    assert sentence in page.text
    assert "/cancel?" not in page.text
    cancel = manage.replace("?", "/cancel?")
    refused = await client.post(cancel, data={"csrf_token": csrf_of(page.text), "version": "1"})
    assert refused.status_code == 422
    assert sentence in refused.text


async def test_a_customer_moves_the_booking_with_the_same_picker(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    manage = await booked_manage_link(client, shop, tomorrow_at(11))
    picker = await client.get(manage + "&reschedule=1")
    later = (tomorrow_at(11) + timedelta(days=1)).date().isoformat()
    day = next(h for h in links(picker.text, "day") if f"date={later}" in h)
    chosen = await client.get(day)
    slot = links(chosen.text, "slot")[0]
    confirm = await client.get(slot)
    assert "Move your booking to" in confirm.text
    new_start = parse_qs(urlsplit(slot).query)["start"][0]
    moved = await client.post(
        manage.replace("?", "/reschedule?"),
        data={"csrf_token": csrf_of(confirm.text), "start": new_start, "version": "1"},
    )
    assert moved.status_code == 303, moved.text
    assert (
        "Your booking was moved to the new time."
        in (await client.get(moved.headers["location"])).text
    )
    assert await owner_conn.fetchval(
        "SELECT starts_at FROM appointments WHERE tenant_id = $1", shop.tenant_id
    ) == datetime.fromisoformat(new_start).astimezone(ZoneInfo(ZONE))


async def test_a_wrong_manage_token_is_a_not_found_page(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    manage = await booked_manage_link(client, shop, tomorrow_at(11))
    forged = manage[:-6] + "AAAAAA"
    page = await client.get(forged)
    assert page.status_code == 404
    assert "Page not found" in page.text


async def test_a_tampered_form_is_refused_with_a_sentence_at_the_top(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    form = await details_form(client, shop, tomorrow_at(10))
    refused = await client.post(f"/b/{shop.slug}/book", data={**form, "service": "not-an-id"})
    assert refused.status_code == 422
    sentence = "This time is not valid any more. Please choose a time again."
    assert f'<div class="alert" role="alert">{sentence}</div>' in refused.text
