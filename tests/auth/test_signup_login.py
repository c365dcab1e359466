"""Sign-up, login, tokens, the caller and password change, through the HTTP API."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from slotwise.auth import service, tokens
from slotwise.auth.deps import CurrentMember
from slotwise.db.database import Database
from slotwise.errors import Conflict
from slotwise.settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_member, make_tenant

SIGNUP: dict[str, Any] = {
    "business_name": "Studio Ana",
    "slug": "studio-ana",
    "timezone": "America/Sao_Paulo",
    "owner_name": "Ana Souza",
    "email": "ana@example.com",
    "password": "correct horse battery",
}


async def _signup(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    return await client.post("/api/v1/auth/signup", json={**SIGNUP, **overrides})


def _fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def test_signup_creates_tenant_owner_and_a_working_token(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    response = await _signup(client, slug="Studio-Ana", locale="pt_BR", currency="BRL")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["tenant"]["slug"] == "studio-ana"
    assert body["tenant"]["timezone"] == "America/Sao_Paulo"
    assert body["tenant"]["locale"] == "pt_BR"
    assert body["tenant"]["currency"] == "BRL"
    assert body["user"]["email"] == "ana@example.com"
    assert body["user"]["role"] == "owner"
    assert body["token_type"] == "bearer"
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC)
    assert [b["slug"] for b in body["businesses"]] == ["studio-ana"]

    row = await owner_conn.fetchrow(
        "SELECT t.slug, m.role, u.email FROM tenants t JOIN memberships m ON m.tenant_id = t.id"
        " JOIN users u ON u.id = m.user_id"
    )
    assert dict(row) == {"slug": "studio-ana", "role": "owner", "email": "ana@example.com"}
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["tenant"]["id"] == body["tenant"]["id"]
    assert me.json()["user"]["name"] == "Ana Souza"


async def test_signup_normalizes_email_and_stores_an_argon2_hash(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    response = await _signup(client, email="  Ana.Souza@Example.COM ")
    assert response.status_code == 201
    stored = await owner_conn.fetchrow("SELECT email, password_hash FROM users")
    assert stored["email"] == "ana.souza@example.com"
    assert stored["password_hash"].startswith("$argon2id$")
    assert SIGNUP["password"] not in stored["password_hash"]


@pytest.mark.parametrize(
    "slug",
    ["ab", "-studio", "studio-", "stu_dio", "stúdio", "a" * 41, "admin", "api", "www", "b", ""],
)
async def test_signup_refuses_bad_or_reserved_slugs(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, slug: str
) -> None:
    response = await _signup(client, slug=slug)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert _fields(response) == ["slug"]
    assert await owner_conn.fetchval("SELECT count(*) FROM tenants") == 0


async def test_signup_with_a_taken_slug_is_409_and_creates_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    assert (await _signup(client)).status_code == 201
    response = await _signup(client, email="other@example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "slug_taken"
    assert await owner_conn.fetchval("SELECT count(*) FROM users") == 1
    # The refused sign-up left nothing behind: its email is still free.
    assert (await _signup(client, email="other@example.com", slug="other")).status_code == 201


async def test_signup_with_a_taken_email_is_409_and_creates_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    assert (await _signup(client)).status_code == 201
    response = await _signup(client, slug="second-studio", email="ANA@example.com")
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert await owner_conn.fetchval("SELECT count(*) FROM tenants") == 1
    assert (await _signup(client, slug="second-studio", email="b@example.com")).status_code == 201


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Factory", "america/sao_paulo", "", "+03:00"])
async def test_signup_refuses_unknown_time_zones(client: httpx.AsyncClient, zone: str) -> None:
    response = await _signup(client, timezone=zone)
    assert response.status_code == 422
    assert _fields(response) == ["timezone"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "ana@"),
        ("password", "short"),
        ("password", "x" * 257),
        ("business_name", ""),
        ("business_name", "Studio\x07Ana"),
        ("owner_name", "n" * 121),
        ("currency", "real"),
        ("locale", "fr"),
    ],
)
async def test_signup_names_the_invalid_field(
    client: httpx.AsyncClient, field: str, value: str
) -> None:
    response = await _signup(client, **{field: value})
    assert response.status_code == 422
    assert _fields(response) == [field]


async def test_signup_refuses_nul_bytes_and_stores_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    response = await _signup(client, business_name="Studio\x00Ana")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert await owner_conn.fetchval("SELECT count(*) FROM tenants") == 0


async def test_signup_refuses_unknown_fields(client: httpx.AsyncClient) -> None:
    response = await _signup(client, role="admin")
    assert response.status_code == 422
    assert _fields(response) == ["role"]


async def test_login_returns_a_token_for_the_right_password(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await _signup(client)).status_code == 201
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ANA@example.com ", "password": SIGNUP["password"]}
    )
    assert response.status_code == 200
    body = response.json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs((expires - datetime.now(UTC)).total_seconds() - settings.token_ttl_seconds) < 60
    user_id, tenant_id = tokens.read_token(settings, body["token"])
    assert str(user_id) == body["user"]["id"]
    assert str(tenant_id) == body["tenant"]["id"]


async def test_wrong_password_and_unknown_email_answer_identically(
    client: httpx.AsyncClient,
) -> None:
    assert (await _signup(client)).status_code == 201
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": "wrong password!"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "wrong password!"}
    )
    malformed = await client.post(
        "/api/v1/auth/login", json={"email": "not an email", "password": "wrong password!"}
    )
    assert wrong.status_code == unknown.status_code == malformed.status_code == 401
    assert wrong.content == unknown.content == malformed.content
    assert wrong.json()["code"] == "invalid_credentials"

    def comparable(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k != "x-request-id"}

    assert comparable(wrong) == comparable(unknown) == comparable(malformed)


async def test_login_picks_the_business_named_by_slug(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    first = await make_tenant(owner_conn, "first-shop")
    second = await make_tenant(owner_conn, "second-shop")
    user_id, email = await make_member(owner_conn, first.tenant_id, "owner")
    await owner_conn.execute(
        "INSERT INTO memberships (tenant_id, user_id, role, created_at)"
        " VALUES ($1, $2, 'staff', now() + interval '1 minute')",
        second.tenant_id,
        user_id,
    )
    credentials = {"email": email, "password": DEFAULT_PASSWORD}

    default = await client.post("/api/v1/auth/login", json=credentials)
    assert default.status_code == 200
    assert default.json()["tenant"]["slug"] == "first-shop"
    assert [b["slug"] for b in default.json()["businesses"]] == ["first-shop", "second-shop"]

    chosen = await client.post("/api/v1/auth/login", json={**credentials, "slug": "second-shop"})
    assert chosen.status_code == 200
    assert chosen.json()["tenant"]["slug"] == "second-shop"
    assert chosen.json()["user"]["role"] == "staff"
    assert tokens.read_token(settings, chosen.json()["token"])[1] == second.tenant_id

    elsewhere = await make_tenant(owner_conn, "not-mine")
    refused = await client.post("/api/v1/auth/login", json={**credentials, "slug": elsewhere.slug})
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_credentials"


async def test_an_account_without_memberships_cannot_log_in(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    rows = await make_tenant(owner_conn)
    user_id, email = await make_member(owner_conn, rows.tenant_id)
    await owner_conn.execute("DELETE FROM memberships WHERE user_id = $1", user_id)
    response = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


async def test_me_requires_a_valid_token(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    rows = await make_tenant(owner_conn)
    user_id, _ = await make_member(owner_conn, rows.tenant_id)
    good = tokens.issue_token(settings, user_id, rows.tenant_id)

    other_secret = Settings(secret_key="another-secret-key-of-enough-length-42")
    forged = tokens.issue_token(other_secret, user_id, rows.tenant_id)

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - settings.token_ttl_seconds - 10

    expired = URLSafeTimedSerializer(
        settings.secret_key.get_secret_value(), salt=tokens._SALT, signer=PastSigner
    ).dumps({"u": user_id.hex, "t": rows.tenant_id.hex})

    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200
    for headers in (
        {},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {good[:-2]}xx"},
        {"Authorization": f"Basic {good}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {'a' * 5000}"},
    ):
        response = await client.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_session_cookie_is_accepted_like_a_bearer_token(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    rows = await make_tenant(owner_conn)
    user_id, email = await make_member(owner_conn, rows.tenant_id)
    token = tokens.issue_token(settings, user_id, rows.tenant_id)
    client.cookies.set("slotwise_session", token)
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 200
    assert response.json()["user"]["email"] == email


async def test_password_change_replaces_the_password_and_ends_older_tokens(
    client: httpx.AsyncClient,
) -> None:
    session = (await _signup(client)).json()
    old = {"Authorization": f"Bearer {session['token']}"}

    wrong = await client.post(
        "/api/v1/auth/password",
        headers=old,
        json={"current_password": "not my password", "new_password": "a brand new secret"},
    )
    assert wrong.status_code == 422
    assert _fields(wrong) == ["current_password"]
    short = await client.post(
        "/api/v1/auth/password",
        headers=old,
        json={"current_password": SIGNUP["password"], "new_password": "short"},
    )
    assert short.status_code == 422
    assert _fields(short) == ["new_password"]

    changed = await client.post(
        "/api/v1/auth/password",
        headers=old,
        json={"current_password": SIGNUP["password"], "new_password": "a brand new secret"},
    )
    assert changed.status_code == 200
    new = {"Authorization": f"Bearer {changed.json()['token']}"}
    assert (await client.get("/api/v1/auth/me", headers=new)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=old)).status_code == 401

    login_old = await client.post(
        "/api/v1/auth/login", json={"email": SIGNUP["email"], "password": SIGNUP["password"]}
    )
    assert login_old.status_code == 401
    login_new = await client.post(
        "/api/v1/auth/login", json={"email": SIGNUP["email"], "password": "a brand new secret"}
    )
    assert login_new.status_code == 200


async def test_password_change_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "whatever123", "new_password": "a brand new secret"},
    )
    assert response.status_code == 401


async def test_problem_details_are_translated(client: httpx.AsyncClient) -> None:
    pt = {"Accept-Language": "pt-BR,pt;q=0.9"}
    response = await client.post(
        "/api/v1/auth/login", json={"email": "x@example.com", "password": "whatever123"}, headers=pt
    )
    assert response.status_code == 401
    assert response.headers["content-language"] == "pt-BR"
    assert response.json()["detail"] == "O e-mail ou a senha não estão corretos."
    reserved = await client.post(
        "/api/v1/auth/signup", json={**SIGNUP, "slug": "admin"}, headers=pt
    )
    assert reserved.status_code == 422
    assert reserved.json()["errors"] == [
        {"field": "slug", "message": "Este endereço é reservado. Escolha outro."}
    ]


async def test_a_password_changed_meanwhile_is_a_conflict(
    database: Database, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    """The compare-and-set behind ``POST /auth/password``: a concurrent change wins."""
    rows = await make_tenant(owner_conn)
    user_id, email = await make_member(owner_conn, rows.tenant_id)
    stale = await owner_conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    await owner_conn.execute("UPDATE users SET password_hash = 'changed' WHERE id = $1", user_id)
    member = CurrentMember(user_id, rows.tenant_id, "owner", None, email, "Member")
    with pytest.raises(Conflict):
        async with database.transaction(rows.tenant_id, user_id=user_id) as conn:
            await service.replace_password(
                conn, settings, member, old_hash=stale, new_hash="new-hash"
            )
    assert (
        await owner_conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
        == "changed"
    )
