"""The settings pages: every form shows the server's message next to its field and saves
through the catalog service; staff reach only their own hours and time off."""

from __future__ import annotations

import re

import asyncpg
import httpx

from tests.factories import TenantRows, make_appointment
from tests.web.conftest import csrf_of, sign_in
from tests.web.test_dashboard import tomorrow_at

PAGES = (
    "/app/settings/services",
    "/app/settings/professionals",
    "/app/settings/hours",
    "/app/settings/closures",
    "/app/settings/time-off",
    "/app/settings/business",
)


def error_of(html: str, field: str) -> str:
    match = re.search(rf'data-error-for="{field}">([^<]*)<', html)
    assert match, f"no error slot for {field}"
    return match.group(1)


async def test_every_settings_page_opens_for_an_owner(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    for path in (
        *PAGES,
        f"/app/settings/services/{shop.service_ids[0]}",
        f"/app/settings/professionals/{shop.professional_ids[0]}",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert 'name="csrf_token"' in page.text


async def test_a_service_form_answers_next_to_each_field_then_saves(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    token = csrf_of((await client.get("/app/settings/services")).text)
    form = {"csrf_token": token, "name": "", "duration_minutes": "0", "active": "on"}
    refused = await client.post("/app/settings/services", data={**form, "price": "abc"})
    assert refused.status_code == 422
    assert error_of(refused.text, "price") == "Write an amount such as 45.00."
    assert 'value="abc"' in refused.text  # what was typed stays
    fixed = await client.post("/app/settings/services", data={**form, "price": "45.50"})
    assert fixed.status_code == 422
    assert error_of(fixed.text, "name") == "This field is required."
    assert error_of(fixed.text, "duration_minutes") == "This number is too small."
    saved = await client.post(
        "/app/settings/services",
        data={
            **form,
            "name": "Beard trim",
            "duration_minutes": "20",
            "buffer_after_minutes": "5",
            "price": "45.50",
        },
    )
    assert saved.status_code == 303, saved.text
    row = await owner_conn.fetchrow(
        "SELECT duration_minutes, buffer_after_minutes, price_minor, active FROM services"
        " WHERE tenant_id = $1 AND name = 'Beard trim'",
        shop.tenant_id,
    )
    assert tuple(row) == (20, 5, 4550, True)


async def test_weekly_hours_name_the_day_at_fault_and_save_a_valid_week(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    page = await client.get("/app/settings/hours")
    assert 'value="09:00-17:00"' in page.text
    token = csrf_of(page.text)
    week = {f"hours{d}": "09:00-17:00" for d in range(7)}
    garbled = await client.post(
        "/app/settings/hours", data={**week, "hours2": "nine to five", "csrf_token": token}
    )
    assert garbled.status_code == 422
    assert error_of(garbled.text, "hours2") == "Write times like 09:00-12:00, 13:00-18:00."
    overlap = await client.post(
        "/app/settings/hours",
        data={**week, "hours0": "09:00-12:00, 11:00-13:00", "csrf_token": token},
    )
    assert overlap.status_code == 422
    assert error_of(overlap.text, "hours0") == "This interval overlaps another one on the same day."
    saved = await client.post(
        "/app/settings/hours",
        data={**week, "hours0": "09:00-12:00, 13:00-18:00", "hours6": "", "csrf_token": token},
    )
    assert saved.status_code == 303
    rows = await owner_conn.fetch(
        "SELECT weekday, start_minute, end_minute FROM business_hours WHERE tenant_id = $1"
        " ORDER BY weekday, start_minute",
        shop.tenant_id,
    )
    assert [tuple(r) for r in rows[:2]] == [(0, 540, 720), (0, 780, 1080)]
    assert all(r["weekday"] != 6 for r in rows)


async def test_closures_special_days_and_breaks_save(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    token = csrf_of((await client.get("/app/settings/closures")).text)
    closed = await client.post(
        "/app/settings/closures",
        data={"csrf_token": token, "closure_date": "2030-12-25", "reason": "Christmas"},
    )
    assert closed.status_code == 303
    twice = await client.post(
        "/app/settings/closures",
        data={"csrf_token": token, "closure_date": "2030-12-25", "reason": ""},
    )
    assert twice.status_code == 409
    assert "The business is already closed on that date." in twice.text
    special = await client.post(
        "/app/settings/special-days",
        data={"csrf_token": token, "special_date": "2030-12-24", "intervals": "10:00-14:00"},
    )
    assert special.status_code == 303
    breaks = await client.post(
        "/app/settings/breaks", data={"csrf_token": token, "breaks0": "12:00-13:00 Lunch"}
    )
    assert breaks.status_code == 303
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM special_hours WHERE tenant_id = $1", shop.tenant_id
        )
        == 1
    )
    assert (
        await owner_conn.fetchval(
            "SELECT label FROM breaks WHERE tenant_id = $1 AND professional_id IS NULL",
            shop.tenant_id,
        )
        == "Lunch"
    )


async def test_profile_and_policy_forms_refuse_bad_values_next_to_the_field(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    page = await client.get("/app/settings/business")
    token = csrf_of(page.text)
    profile = {
        "csrf_token": token,
        "name": "Studio",
        "timezone": "America/Sao_Paulo",
        "locale": "pt_BR",
        "currency": "BRL",
        "address": "",
        "phone": "",
        "email": "",
        "embed_origins": "https://studio.example\nnot a url",
    }
    refused = await client.post("/app/settings/profile", data=profile)
    assert refused.status_code == 422
    assert "Use an origin such as https://www.example.com" in error_of(
        refused.text, "embed_origins"
    )
    saved = await client.post(
        "/app/settings/profile", data={**profile, "embed_origins": "https://studio.example"}
    )
    assert saved.status_code == 303
    booking_page = await client.get(f"/b/{shop.slug}")
    assert (
        "frame-ancestors https://studio.example" in booking_page.headers["content-security-policy"]
    )
    policy = await client.post(
        "/app/settings/policy",
        data={
            "csrf_token": token,
            "slot_step_minutes": "1",
            "min_notice_minutes": "60",
            "horizon_days": "30",
            "cancel_cutoff_minutes": "120",
            "reminder_hours": "24",
        },
    )
    assert policy.status_code == 422
    # The business now speaks pt_BR: a browser without a preference gets its language.
    assert error_of(policy.text, "slot_step_minutes") == "Este número é pequeno demais."


async def test_staff_keep_their_own_hours_and_time_off_only(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop, role="staff", professional_index=0)
    own = await client.get(f"/app/settings/professionals/{shop.professional_ids[0]}")
    assert own.status_code == 200
    assert 'action="/app/settings/professionals/' in own.text
    assert "Services offered" not in own.text  # a manager's form
    other = await client.get(f"/app/settings/professionals/{shop.professional_ids[1]}")
    assert other.status_code == 403
    token = csrf_of(own.text)
    hours = await client.post(
        f"/app/settings/professionals/{shop.professional_ids[0]}/hours",
        data={"csrf_token": token, "hours0": "10:00-14:00"},
    )
    assert hours.status_code == 303
    time_off = await client.get("/app/settings/time-off")
    assert time_off.status_code == 200
    assert "Pro 1" not in time_off.text
    form = {
        "csrf_token": token,
        "professional_id": str(shop.professional_ids[0]),
        "start_date": "2030-07-01",
        "start_time": "00:00",
        "end_date": "2030-07-02",
        "end_time": "00:00",
        "reason": "",
    }
    backwards = await client.post("/app/settings/time-off", data={**form, "end_date": "2030-06-01"})
    assert backwards.status_code == 422
    assert error_of(backwards.text, "end_date") == "The end must be after the start."
    foreign = await client.post(
        "/app/settings/time-off", data={**form, "professional_id": str(shop.professional_ids[1])}
    )
    assert foreign.status_code == 403
    added = await client.post("/app/settings/time-off", data=form)
    assert added.status_code == 303
    assert await owner_conn.fetchval(
        "SELECT count(*) FROM time_off WHERE professional_id = $1", shop.professional_ids[0]
    )


async def test_a_professionals_offered_services_are_saved(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    path = f"/app/settings/professionals/{shop.professional_ids[0]}"
    page = await client.get(path)
    assert f'value="{shop.service_ids[0]}" checked' in page.text
    cleared = await client.post(f"{path}/services", data={"csrf_token": csrf_of(page.text)})
    assert cleared.status_code == 303
    assert not await owner_conn.fetchval(
        "SELECT count(*) FROM offerings WHERE professional_id = $1", shop.professional_ids[0]
    )


async def test_a_refused_week_comes_back_as_typed_with_the_other_forms_as_stored(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await sign_in(client, owner_conn, shop)
    path = f"/app/settings/professionals/{shop.professional_ids[0]}"
    token = csrf_of((await client.get(path)).text)
    hours = await client.post(f"{path}/hours", data={"csrf_token": token, "hours0": "10:00-14:00"})
    assert hours.status_code == 303
    refused = await client.post(
        f"{path}/breaks", data={"csrf_token": token, "breaks0": "12:00-13:00", "breaks1": "lunch"}
    )
    assert refused.status_code == 422
    assert error_of(refused.text, "breaks1") == "Write breaks like 12:00-13:00 Lunch, 16:00-16:15."
    assert 'name="breaks1" value="lunch"' in refused.text
    assert 'name="hours0" value="10:00-14:00"' in refused.text  # the hours form as stored
    assert not await owner_conn.fetchval(
        "SELECT count(*) FROM breaks WHERE professional_id = $1", shop.professional_ids[0]
    )
    special = await client.post(
        "/app/settings/special-days",
        data={"csrf_token": token, "special_date": "2030-12-24", "intervals": "10-14"},
    )
    assert special.status_code == 422
    assert error_of(special.text, "intervals") == "Write the hours like 10:00-14:00."
    assert 'value="10-14"' in special.text


async def test_a_service_in_use_is_not_deleted_and_its_page_says_why(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    await make_appointment(owner_conn, shop, tomorrow_at(10))
    await sign_in(client, owner_conn, shop)
    path = f"/app/settings/services/{shop.service_ids[0]}"
    token = csrf_of((await client.get(path)).text)
    refused = await client.post(f"{path}/delete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "This is still in use by appointments. Deactivate it instead." in refused.text
    assert 'name="name" value="Cut"' in refused.text  # the form as stored
