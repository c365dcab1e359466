"""The business profile and booking policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.catalog.conftest import Shop
from tests.factories import make_appointment


async def _slot_step(conn: asyncpg.Connection, shop: Shop) -> int:
    value = await conn.fetchval(
        "SELECT slot_step_minutes FROM tenants WHERE id = $1", shop.rows.tenant_id
    )
    return int(value)


async def test_settings_read_and_patch(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    got = await client.get("/api/v1/settings", headers=shop.staff)
    assert got.status_code == 200
    body = got.json()
    assert body["slug"] == shop.rows.slug
    assert body["policy"] == {
        "slot_step_minutes": 15,
        "min_notice_minutes": 60,
        "horizon_days": 60,
        "cancel_cutoff_minutes": 120,
        "auto_confirm": True,
        "reminder_hours": 24,
    }
    assert body["profile"]["timezone"] == "America/New_York"

    patched = await client.patch(
        "/api/v1/settings",
        json={
            "profile": {
                "name": " Salão Bela ",
                "timezone": "America/Sao_Paulo",
                "locale": "pt_BR",
                "currency": "BRL",
                "phone": "+55 11 3333-4444",
                "email": "Contato@Bela.com.br",
                "address": "Rua A, 1\nSão Paulo",
                "embed_origins": ["https://Bela.com.br/", "http://localhost:8080"],
            },
            "policy": {"slot_step_minutes": 30, "auto_confirm": False, "horizon_days": 90},
        },
        headers=shop.manager,
    )
    assert patched.status_code == 200, patched.text
    profile, policy = patched.json()["profile"], patched.json()["policy"]
    assert profile["name"] == "Salão Bela"
    assert profile["email"] == "contato@bela.com.br"
    assert profile["embed_origins"] == ["https://bela.com.br", "http://localhost:8080"]
    assert (policy["slot_step_minutes"], policy["auto_confirm"], policy["horizon_days"]) == (
        30,
        False,
        90,
    )
    assert policy["min_notice_minutes"] == 60
    row = await owner_conn.fetchrow(
        "SELECT timezone, locale, currency FROM tenants WHERE id = $1", shop.rows.tenant_id
    )
    assert tuple(row) == ("America/Sao_Paulo", "pt_BR", "BRL")

    cleared = await client.patch(
        "/api/v1/settings", json={"profile": {"email": None, "phone": None}}, headers=shop.owner
    )
    assert (cleared.json()["profile"]["email"], cleared.json()["profile"]["phone"]) == ("", "")
    assert cleared.json()["profile"]["address"] == "Rua A, 1\nSão Paulo"
    empty = await client.patch("/api/v1/settings", json={}, headers=shop.owner)
    assert empty.status_code == 422
    assert empty.json()["code"] == "validation_error"
    unchanged = await client.get("/api/v1/settings", headers=shop.owner)
    assert unchanged.json() == cleared.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile": {"timezone": "Mars/Olympus"}}, "profile.timezone"),
        ({"profile": {"locale": "fr"}}, "profile.locale"),
        ({"profile": {"currency": "EURO"}}, "profile.currency"),
        ({"profile": {"name": None}}, "profile.name"),
        ({"profile": {"email": "nope"}}, "profile.email"),
        ({"profile": {"embed_origins": ["https://x.com/path"]}}, "profile.embed_origins.0"),
        ({"profile": {"embed_origins": ["javascript:alert(1)"]}}, "profile.embed_origins.0"),
        ({"profile": {"slug": "new-slug"}}, "profile.slug"),
        ({"policy": {"slot_step_minutes": 4}}, "policy.slot_step_minutes"),
        ({"policy": {"horizon_days": 0}}, "policy.horizon_days"),
        ({"policy": {"min_notice_minutes": -1}}, "policy.min_notice_minutes"),
        ({"policy": {"reminder_hours": 10**12}}, "policy.reminder_hours"),
        ({"policy": {"auto_confirm": None}}, "policy.auto_confirm"),
    ],
)
async def test_invalid_settings_are_422_naming_the_field(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection, body: dict, field: str
) -> None:
    response = await client.patch("/api/v1/settings", json=body, headers=shop.owner)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await _slot_step(owner_conn, shop) == 15


async def test_staff_cannot_change_settings(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    response = await client.patch(
        "/api/v1/settings", json={"policy": {"slot_step_minutes": 30}}, headers=shop.staff
    )
    assert response.status_code == 403
    assert await _slot_step(owner_conn, shop) == 15


async def test_a_new_reminder_lead_time_moves_the_queued_reminders(
    client: httpx.AsyncClient, shop: Shop, owner_conn: asyncpg.Connection
) -> None:
    """Through the API, as the app role: the database moves the reminders (migration 0010)."""
    start = (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    appointment_id = await make_appointment(owner_conn, shop.rows, start)
    patched = await client.patch(
        "/api/v1/settings", json={"policy": {"reminder_hours": 3}}, headers=shop.manager
    )
    assert patched.status_code == 200, patched.text
    due = await owner_conn.fetch(
        "SELECT next_attempt_at FROM outbox"
        " WHERE appointment_id = $1 AND kind = 'customer_reminder' AND status = 'pending'",
        appointment_id,
    )
    assert [r["next_attempt_at"] for r in due] == [start - timedelta(hours=3)]
