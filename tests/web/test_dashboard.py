"""The staff dashboard: sign-in with a session cookie, the day and week views, an
appointment's actions with optimistic locking, the walk-in form, role limits."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from tests.factories import (
    DEFAULT_PASSWORD,
    TenantRows,
    make_appointment,
    make_member,
    make_tenant,
)
from tests.web.conftest import ZONE, csrf_of, log_in, sign_in


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    zone = ZoneInfo(ZONE)
    day = datetime.now(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


async def test_signed_out_visitors_get_the_sign_in_form_and_come_back_after_it(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    for path in ("/app/day", "/app/week", "/app/settings/services", "/app/password"):
        response = await client.get(path)
        assert response.status_code == 401
        assert 'action="/app/login"' in response.text
        assert f'name="next" value="{path}"' in response.text
    _user, email = await make_member(owner_conn, shop.tenant_id, "owner")
    form = await client.get("/app/week?date=2030-01-07")
    back = await client.post(
        "/app/login",
        data={
            "email": email,
            "password": DEFAULT_PASSWORD,
            "next": "/app/week?date=2030-01-07",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert back.headers["location"] == "/app/week?date=2030-01-07"


async def test_login_sets_an_httponly_lax_session_cookie_and_logout_clears_it(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    _user, email = await make_member(owner_conn, shop.tenant_id, "owner")
    response = await log_in(client, email)
    assert response.status_code == 303
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and "slotwise_session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; https sets it (see the security tests)
    day = await client.get("/app/day")
    assert day.status_code == 200
    logout = await client.post("/app/logout", data={"csrf_token": csrf_of(day.text)})
    assert logout.status_code == 303
    assert (await client.get("/app/day")).status_code == 401


async def test_a_wrong_password_is_answered_on_the_login_page(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    _user, email = await make_member(owner_conn, shop.tenant_id, "owner")
    response = await log_in(client, email, "not it at all")
    assert response.status_code == 401
    assert "The email or password is not correct." in response.text
    assert "slotwise_session" not in response.headers.get("set-cookie", "")


async def test_a_customer_name_with_markup_is_shown_as_text(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    evil = "<img src=x onerror=alert(1)>"
    shop.customer_id = None
    await make_appointment(owner_conn, shop, tomorrow_at(10))
    await owner_conn.execute(
        "UPDATE customers SET name = $1 WHERE tenant_id = $2", evil, shop.tenant_id
    )
    await sign_in(client, owner_conn, shop)
    day = await client.get(f"/app/day?date={tomorrow_at(10).date().isoformat()}")
    assert day.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in day.text
    assert evil not in day.text
    assert "<img" not in day.text


async def test_the_day_view_sizes_blocks_by_duration_and_shades_breaks(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await owner_conn.execute(
        "INSERT INTO breaks (tenant_id, weekday, start_minute, end_minute, label)"
        " VALUES ($1, $2, 720, 780, 'Lunch')",
        shop.tenant_id,
        tomorrow_at(12).weekday(),
    )
    await make_appointment(owner_conn, shop, tomorrow_at(10), minutes=90)
    await sign_in(client, owner_conn, shop)
    day = await client.get(f"/app/day?date={tomorrow_at(10).date().isoformat()}")
    html = day.text
    assert html.count('<th scope="col">Pro ') == 2
    # 30-minute rows: a 90-minute appointment spans 3 of them.
    assert re.search(r'<td class="appt confirmed" rowspan="3">', html)
    assert 'class="daygrid s30"' in html
    lunch_rows = re.findall(r'data-at="[^"]*T12:(?:00|30):00[^"]*">(.*?)</tr>', html, re.S)
    assert lunch_rows and all(row.count('class="off"') == 2 for row in lunch_rows)


async def test_staff_see_only_their_own_column_and_cannot_open_business_settings(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await make_appointment(owner_conn, shop, tomorrow_at(10), professional_index=1)
    await sign_in(client, owner_conn, shop, role="staff", professional_index=0)
    day = await client.get(f"/app/day?date={tomorrow_at(10).date().isoformat()}")
    assert day.status_code == 200
    assert day.text.count('<th scope="col">Pro ') == 1
    assert "Pro 0" in day.text
    assert 'class="appt ' not in day.text  # the other professional's appointment stays hidden
    for path in ("/app/settings/services", "/app/settings/hours", "/app/settings/business"):
        refused = await client.get(path)
        assert refused.status_code == 403, path
        assert "You are not allowed to do that." in refused.text
    own = await client.get("/app/settings")
    assert own.headers["location"] == f"/app/settings/professionals/{shop.professional_ids[0]}"


async def test_status_actions_use_the_version_shown(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(11))
    await sign_in(client, owner_conn, shop)
    page = await client.get(f"/app/appointments/{appointment_id}")
    token = csrf_of(page.text)
    assert 'name="version" value="1"' in page.text
    done = await client.post(
        f"/app/appointments/{appointment_id}/status",
        data={"action": "cancel", "version": "1", "csrf_token": token},
    )
    assert done.status_code == 303
    stale = await client.post(
        f"/app/appointments/{appointment_id}/status",
        data={"action": "complete", "version": "1", "csrf_token": token},
    )
    assert stale.status_code == 412
    assert "This was changed by someone else." in stale.text
    status = await owner_conn.fetchval(
        "SELECT status FROM appointments WHERE id = $1", appointment_id
    )
    assert status == "cancelled"


async def test_the_walk_in_form_books_and_shows_messages_next_to_fields(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    page = await client.get("/app/appointments/new")
    token = csrf_of(page.text)
    start = tomorrow_at(14)
    form = {
        "csrf_token": token,
        "service": str(shop.service_ids[0]),
        "pro": str(shop.professional_ids[1]),
        "date": start.date().isoformat(),
        "time": "14:00",
        "name": "",
        "email": "not-an-email",
        "phone": "",
        "notes": "",
    }
    refused = await client.post("/app/appointments", data=form)
    assert refused.status_code == 422
    assert re.search(r'id="e-name" data-error-for="name">Enter your name.<', refused.text)
    assert re.search(
        r'id="e-email" data-error-for="email">Enter a valid email address.<', refused.text
    )
    booked = await client.post(
        "/app/appointments", data={**form, "name": "Walk In", "email": "walk@example.com"}
    )
    assert booked.status_code == 303, booked.text
    detail = await client.get(booked.headers["location"])
    assert "Walk In" in detail.text
    assert "By staff" in detail.text
    row = await owner_conn.fetchrow(
        "SELECT starts_at, professional_id, source FROM appointments WHERE tenant_id = $1",
        shop.tenant_id,
    )
    assert row["starts_at"] == start
    assert row["professional_id"] == shop.professional_ids[1]
    assert row["source"] == "staff"


async def test_the_week_view_lists_each_days_appointments(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(9))
    await sign_in(client, owner_conn, shop)
    day = tomorrow_at(9).date().isoformat()
    week = await client.get(f"/app/week?date={day}")
    assert week.status_code == 200
    assert week.text.count('<section class="card" aria-labelledby="d-') == 7
    listed = re.search(rf'aria-labelledby="d-{day}">(.*?)</section>', week.text, re.S)
    assert listed and f"/app/appointments/{appointment_id}" in listed.group(1)
    assert "Ana" in listed.group(1)


async def test_password_change_keeps_the_member_signed_in(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    email = await sign_in(client, owner_conn, shop)
    token = csrf_of((await client.get("/app/password")).text)
    form = {
        "csrf_token": token,
        "current_password": DEFAULT_PASSWORD,
        "new_password": "a brand new secret",
        "confirm_password": "a brand new secret",
    }
    mismatch = await client.post(
        "/app/password", data={**form, "confirm_password": "something else entirely"}
    )
    assert mismatch.status_code == 422
    assert "The two new passwords are not the same." in mismatch.text
    changed = await client.post("/app/password", data=form)
    assert changed.status_code == 303
    assert "Your password was changed." in (await client.get(changed.headers["location"])).text
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as other:
        assert (await log_in(other, email, "a brand new secret")).status_code == 303


# ------------------------------------------------------------------ moving an appointment


def change_form(page: str, **values: str) -> dict[str, str]:
    """The change form of an appointment page as shown (its version and values), changed."""
    version = re.search(
        r'action="/app/appointments/[^"]+/change">.*?name="version" value="(\d+)"', page, re.S
    )
    assert version, "the page has no change form"
    shown = {
        name: re.search(rf'id="f-{name}"[^>]*value="([^"]*)"', page) for name in ("date", "time")
    }
    form = {"csrf_token": csrf_of(page), "version": version.group(1), "notes": ""}
    form.update({name: found.group(1) for name, found in shown.items() if found})
    form.update(values)
    return form


async def test_a_manager_moves_an_appointment_to_another_time_and_professional(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10))
    await sign_in(client, owner_conn, shop)
    page = await client.get(f"/app/appointments/{appointment_id}")
    assert page.status_code == 200
    assert 'value="10:00"' in page.text  # the current local time, ready to change
    form = change_form(
        page.text, time="14:30", pro=str(shop.professional_ids[1]), notes="Moved by phone"
    )
    assert form["date"] == tomorrow_at(10).date().isoformat()
    moved = await client.post(f"/app/appointments/{appointment_id}/change", data=form)
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"] == f"/app/appointments/{appointment_id}?notice=saved"
    row = await owner_conn.fetchrow(
        "SELECT starts_at, ends_at, professional_id, notes, version FROM appointments"
        " WHERE id = $1",
        appointment_id,
    )
    assert row["starts_at"] == tomorrow_at(14, 30)
    assert row["ends_at"] == tomorrow_at(15)
    assert row["professional_id"] == shop.professional_ids[1]
    assert row["notes"] == "Moved by phone"
    assert row["version"] == 2
    shown = await client.get(moved.headers["location"])
    assert "The appointment was updated." in shown.text
    assert "Moved by phone" in shown.text


async def test_a_taken_time_offers_free_ones_and_one_click_moves_there(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10))
    await make_appointment(owner_conn, shop, tomorrow_at(15))
    await sign_in(client, owner_conn, shop)
    page = await client.get(f"/app/appointments/{appointment_id}")
    form = change_form(page.text, time="15:00")
    taken = await client.post(f"/app/appointments/{appointment_id}/change", data=form)
    assert taken.status_code == 409
    assert "Sorry, that time is no longer available." in taken.text
    assert "choose one to move the appointment there" in taken.text
    assert 'value="15:00"' in taken.text  # what was typed stays
    offered = re.findall(r'name="alternative" value="([^"]+)"', taken.text)
    assert offered, "no free times were offered"
    start_text, _, pro = offered[0].partition("|")
    assert pro == str(shop.professional_ids[0])
    moved = await client.post(
        f"/app/appointments/{appointment_id}/change",
        data={**change_form(taken.text), "alternative": offered[0]},
    )
    assert moved.status_code == 303, moved.text
    starts_at = await owner_conn.fetchval(
        "SELECT starts_at FROM appointments WHERE id = $1", appointment_id
    )
    assert starts_at == datetime.fromisoformat(start_text)
    assert starts_at not in (tomorrow_at(10), tomorrow_at(15))


async def test_a_change_to_a_version_no_longer_current_is_refused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10))
    await sign_in(client, owner_conn, shop)
    page = await client.get(f"/app/appointments/{appointment_id}")
    await owner_conn.execute(
        "UPDATE appointments SET notes = 'by someone else', version = version + 1 WHERE id = $1",
        appointment_id,
    )
    stale = await client.post(
        f"/app/appointments/{appointment_id}/change", data=change_form(page.text, time="11:00")
    )
    assert stale.status_code == 412
    assert "This was changed by someone else." in stale.text
    assert 'name="version" value="2"' in stale.text  # the page shows it as it is now
    assert 'value="10:00"' in stale.text
    starts_at = await owner_conn.fetchval(
        "SELECT starts_at FROM appointments WHERE id = $1", appointment_id
    )
    assert starts_at == tomorrow_at(10)


async def test_a_time_that_is_not_one_is_answered_next_to_the_field(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10))
    await sign_in(client, owner_conn, shop)
    page = await client.get(f"/app/appointments/{appointment_id}")
    refused = await client.post(
        f"/app/appointments/{appointment_id}/change", data=change_form(page.text, time="25:99")
    )
    assert refused.status_code == 422
    assert re.search(r'id="e-time" data-error-for="time">[^<]+<', refused.text)
    assert 'value="25:99"' in refused.text
    version = await owner_conn.fetchval(
        "SELECT version FROM appointments WHERE id = $1", appointment_id
    )
    assert version == 1


async def test_staff_move_their_own_appointments_within_the_rules_only(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10))
    await sign_in(client, owner_conn, shop, role="staff", professional_index=0)
    page = await client.get(f"/app/appointments/{appointment_id}")
    assert 'id="f-pro"' not in page.text  # no choice of professional
    assert 'name="override"' not in page.text
    form = change_form(page.text, time="11:00")
    outside = await client.post(
        f"/app/appointments/{appointment_id}/change", data={**form, "time": "20:00"}
    )
    assert outside.status_code == 422
    assert "outside" in outside.text.lower()
    other = await client.post(
        f"/app/appointments/{appointment_id}/change",
        data={**form, "pro": str(shop.professional_ids[1])},
    )
    assert other.status_code == 403
    moved = await client.post(f"/app/appointments/{appointment_id}/change", data=form)
    assert moved.status_code == 303, moved.text
    row = await owner_conn.fetchrow(
        "SELECT starts_at, professional_id FROM appointments WHERE id = $1", appointment_id
    )
    assert row["starts_at"] == tomorrow_at(11)
    assert row["professional_id"] == shop.professional_ids[0]


async def test_a_finished_appointment_has_no_change_form(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10), status="completed")
    await sign_in(client, owner_conn, shop)
    page = await client.get(f"/app/appointments/{appointment_id}")
    assert page.status_code == 200
    assert "/change" not in page.text


# ------------------------------------------------------------------ several businesses


async def test_an_account_in_two_businesses_switches_between_them(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    email = await sign_in(client, owner_conn, shop)
    alone = await client.get("/app/password")
    assert "Your businesses" not in alone.text  # one business: nothing to switch to
    other = await make_tenant(owner_conn, timezone=ZONE)
    await owner_conn.execute(
        "UPDATE tenants SET name = 'Second Salon' WHERE id = $1", other.tenant_id
    )
    await owner_conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role)"
        " SELECT $1, id, 'manager' FROM users WHERE email = $2",
        other.tenant_id,
        email,
    )
    page = await client.get("/app/password")
    assert "Your businesses" in page.text
    assert f'name="business" value="{other.slug}"' in page.text
    assert f'name="business" value="{shop.slug}"' not in page.text  # the one worked in
    switched = await client.post(
        "/app/switch", data={"business": other.slug, "csrf_token": csrf_of(page.text)}
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == "/app/day"
    day = await client.get("/app/day")
    assert "<strong>Second Salon</strong>" in day.text

    stranger = await make_tenant(owner_conn)
    refused = await client.post(
        "/app/switch", data={"business": stranger.slug, "csrf_token": csrf_of(day.text)}
    )
    assert refused.status_code == 404
    still = await client.get("/app/day")
    assert "<strong>Second Salon</strong>" in still.text
