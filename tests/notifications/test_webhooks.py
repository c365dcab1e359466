"""Outgoing webhooks: managed through the API, delivered through the outbox to a real local
HTTP receiver, signed, retried; URLs that could reach private networks are refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from slotwise.notifications import webhooks
from slotwise.notifications.mail import DeliveryFailed
from slotwise.notifications.router import outbox_router, webhooks_router
from slotwise.notifications.webhooks import (
    URL_NOT_HTTP,
    URL_PRIVATE,
    UnsafeUrl,
    ensure_safe_url,
)
from slotwise.notifications.worker import OutboxWorker
from slotwise.settings import Settings
from tests.factories import TenantRows, bearer, make_appointment, make_member, make_tenant
from tests.notifications.conftest import (
    TLS_RECEIVER_NAME,
    Receiver,
    TlsReceiver,
    future_start,
    outbox_rows,
)


async def _manager(
    conn: asyncpg.Connection, settings: Settings
) -> tuple[TenantRows, dict[str, str]]:
    rows = await make_tenant(conn, reminder_hours=0)
    user_id, _ = await make_member(conn, rows.tenant_id, "manager")
    return rows, bearer(settings, user_id, rows.tenant_id)


async def test_webhook_is_delivered_signed_with_ids_only(
    owner_conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    settings: Settings,
    worker: OutboxWorker,
    receiver: Receiver,
) -> None:
    rows, headers = await _manager(owner_conn, settings)
    created = await client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "description": "CRM"}, headers=headers
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    appointment_id = await make_appointment(owner_conn, rows, future_start())

    await worker.drain(datetime.now(UTC))

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.path == "/hooks/slotwise"
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-slotwise-signature"] == expected
    assert request.headers["x-slotwise-event"] == "appointment.created"
    assert request.headers["content-type"] == "application/json"
    document = json.loads(request.body)
    delivery = next(r for r in await outbox_rows(owner_conn) if r["kind"] == "webhook")
    assert document["id"] == request.headers["x-slotwise-delivery"] == str(delivery["id"])
    assert document["event"] == "appointment.created"
    assert document["data"]["appointment_id"] == str(appointment_id)
    assert document["data"]["status"] == "confirmed"
    assert "@" not in request.body.decode()  # no customer email or any other personal data
    assert delivery["status"] == "sent"


async def test_failing_receiver_is_retried_with_the_same_delivery_id(
    owner_conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    settings: Settings,
    worker: OutboxWorker,
    receiver: Receiver,
) -> None:
    rows, headers = await _manager(owner_conn, settings)
    await client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    await make_appointment(owner_conn, rows, future_start())
    receiver.status = 500

    failed = await worker.drain(datetime.now(UTC))
    assert failed.count("retry") == 1
    delivery = next(r for r in await outbox_rows(owner_conn) if r["kind"] == "webhook")
    assert delivery["last_error"] == "webhook answered HTTP 500"

    receiver.status = 200
    assert (await worker.drain(delivery["next_attempt_at"])).count("sent") == 1
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["x-slotwise-delivery"] == second.headers["x-slotwise-delivery"]


async def test_webhook_crud(
    owner_conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings
) -> None:
    rows, headers = await _manager(owner_conn, settings)
    url = "https://hooks.example.com/in"
    created = await client.post("/api/v1/webhooks", json={"url": f"  {url} "}, headers=headers)
    assert created.status_code == 201
    hook = created.json()
    assert hook["url"] == url and hook["active"] is True and len(hook["secret"]) == 64

    listed = await client.get("/api/v1/webhooks", headers=headers)
    assert [h["id"] for h in listed.json()] == [hook["id"]]
    assert "secret" not in listed.json()[0]

    duplicate = await client.post("/api/v1/webhooks", json={"url": url}, headers=headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "webhook_exists"

    paused = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"active": False}, headers=headers
    )
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert "secret" not in paused.json()
    rotated = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"rotate_secret": True}, headers=headers
    )
    assert rotated.json()["secret"] != hook["secret"]

    # A paused webhook gets no deliveries.
    await make_appointment(owner_conn, rows, future_start())
    assert not [r for r in await outbox_rows(owner_conn) if r["kind"] == "webhook"]

    deleted = await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=headers)
    assert deleted.status_code == 204
    missing = await client.get(f"/api/v1/webhooks/{hook['id']}", headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_webhook_input_is_validated(
    owner_conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings
) -> None:
    _, headers = await _manager(owner_conn, settings)
    for body in (
        {"url": "ftp://files.example.com/x"},
        {"url": "https://user:pass@hooks.example.com/x"},
        {"url": "https://hooks.example.com/x", "secret": "mine"},
        {"url": "https://hooks.example.com/x", "description": "x" * 121},
        {"url": "https://hooks.example.com/x", "active": 0},
    ):
        answer = await client.post("/api/v1/webhooks", json=body, headers=headers)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "validation_error"
    refused = await client.post(
        "/api/v1/webhooks",
        json={"url": "ftp://files.example.com/x"},
        headers={**headers, "Accept-Language": "pt-BR"},
    )
    assert refused.json()["errors"] == [
        {"field": "url", "message": "Use um endereço http ou https sem usuário nem senha."}
    ]


async def test_webhooks_need_a_manager(
    owner_conn: asyncpg.Connection, client: httpx.AsyncClient, settings: Settings
) -> None:
    rows = await make_tenant(owner_conn)
    staff_id, _ = await make_member(owner_conn, rows.tenant_id, "staff")
    assert (await client.get("/api/v1/webhooks")).status_code == 401
    answer = await client.get(
        "/api/v1/webhooks", headers=bearer(settings, staff_id, rows.tenant_id)
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_urls_reaching_private_networks_are_refused(url: str, settings: Settings) -> None:
    production_like = settings.model_copy(update={"environment": "development"})
    with pytest.raises(UnsafeUrl) as refused:
        await ensure_safe_url(url, production_like)
    assert refused.value.message == URL_PRIVATE


async def test_public_addresses_and_only_http_schemes_are_accepted(settings: Settings) -> None:
    production_like = settings.model_copy(update={"environment": "development"})
    await ensure_safe_url("https://93.184.215.14/hook", production_like)
    for url in ("file:///etc/passwd", "gopher://93.184.215.14/", "https:///nohost"):
        with pytest.raises(UnsafeUrl) as refused:
            await ensure_safe_url(url, production_like)
        assert refused.value.message == URL_NOT_HTTP


class Dns:
    """What the webhook code's lookups answer, and what they were asked: a host name whose
    answer changes between the check and the connection (DNS rebinding) is simulated by
    the second answer."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


async def test_the_post_goes_to_the_address_that_was_checked(
    receiver: Receiver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host name exists nowhere: the receiver can only be reached through the one
    answer that was checked, and no second lookup (which would answer a private address
    here) is made."""
    dns = Dns(["127.0.0.1"], ["10.0.0.1"])
    monkeypatch.setattr(webhooks, "_resolve", dns.resolve)
    port = urlsplit(receiver.url).port
    url = f"http://hooks.rebinding.example:{port}/hooks/slotwise"
    async with httpx.AsyncClient(trust_env=False) as client:
        await webhooks.post(client, url, b"{}", {"Content-Type": "application/json"}, settings)
    assert dns.asked == ["hooks.rebinding.example"]
    assert len(receiver.requests) == 1
    assert receiver.requests[0].path == "/hooks/slotwise"
    assert receiver.requests[0].headers["host"] == f"hooks.rebinding.example:{port}"


async def test_a_host_answering_any_private_address_gets_nothing(
    receiver: Receiver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    production_like = settings.model_copy(update={"environment": "development"})
    monkeypatch.setattr(webhooks, "_resolve", Dns(["93.184.215.14", "127.0.0.1"]).resolve)
    port = urlsplit(receiver.url).port
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(DeliveryFailed) as refused:
            await webhooks.post(
                client, f"http://hooks.example:{port}/hooks/slotwise", b"{}", {}, production_like
            )
    assert URL_PRIVATE in str(refused.value)
    assert receiver.requests == []


async def test_https_posts_to_the_pinned_address_verify_the_host_names_certificate(
    tls_receiver: TlsReceiver, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "_resolve", Dns(["127.0.0.1"]).resolve)
    trust = ssl.create_default_context(cafile=str(tls_receiver.cafile))
    async with httpx.AsyncClient(trust_env=False, verify=trust) as client:
        await webhooks.post(client, tls_receiver.state.url, b"{}", {}, settings)
        assert len(tls_receiver.state.requests) == 1
        assert tls_receiver.state.requests[0].headers["host"] == (
            f"{TLS_RECEIVER_NAME}:{tls_receiver.port}"
        )
        # The same address under another name: its certificate does not name that host.
        with pytest.raises(DeliveryFailed):
            await webhooks.post(
                client, f"https://other.example:{tls_receiver.port}/hooks", b"{}", {}, settings
            )
    assert len(tls_receiver.state.requests) == 1


def test_endpoints_are_documented_with_problem_answers() -> None:
    """Checked on this domain's routers alone, so another domain's routes cannot mask it."""
    app = FastAPI()
    app.include_router(outbox_router)
    app.include_router(webhooks_router)
    paths = app.openapi()["paths"]
    operations = {
        ("/api/v1/outbox", "get"),
        ("/api/v1/outbox/{outbox_id}/retry", "post"),
        ("/api/v1/webhooks", "get"),
        ("/api/v1/webhooks", "post"),
        ("/api/v1/webhooks/{webhook_id}", "get"),
        ("/api/v1/webhooks/{webhook_id}", "patch"),
        ("/api/v1/webhooks/{webhook_id}", "delete"),
    }
    for path, method in operations:
        operation = paths[path][method]
        assert operation["summary"], (path, method)
        for code in ("401", "403", "422"):
            content = operation["responses"][code]["content"]
            assert "application/problem+json" in content, (path, method, code)
    assert "409" in paths["/api/v1/outbox/{outbox_id}/retry"]["post"]["responses"]
