"""Arrangements of the page tests: a business open every day, a browser-like client that
keeps cookies, and helpers to read the CSRF token and the links of a page."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import asyncpg
import httpx
import pytest

from tests.factories import DEFAULT_PASSWORD, TenantRows, make_member, make_tenant

ZONE = "America/Sao_Paulo"


@pytest.fixture
async def shop(owner_conn: asyncpg.Connection) -> TenantRows:
    """Two professionals, one 30-minute service, open 09:00–17:00 every day."""
    rows = await make_tenant(owner_conn, professionals=2, timezone=ZONE, currency="BRL")
    await owner_conn.execute(
        "UPDATE services SET price_minor = 6000, currency = 'BRL' WHERE tenant_id = $1",
        rows.tenant_id,
    )
    return rows


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            values = dict(attrs)
            self.links.append((values.get("href") or "", values))


def links(html: str, cls: str | None = None) -> list[str]:
    """The hrefs of the page's links (of one CSS class when given), entities decoded."""
    parser = _Links()
    parser.feed(html)
    return [
        href
        for href, attrs in parser.links
        if cls is None or cls in (attrs.get("class") or "").split()
    ]


async def sign_in(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    role: str = "owner",
    professional_index: int | None = None,
) -> str:
    """A member of ``rows`` signed in through the login form; their email."""
    professional_id = (
        rows.professional_ids[professional_index] if professional_index is not None else None
    )
    _user_id, email = await make_member(
        owner_conn, rows.tenant_id, role, professional_id=professional_id, name=f"{role} one"
    )
    response = await log_in(client, email)
    assert response.status_code == 303, response.text
    return email


async def log_in(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    """The sign-in form posted as a browser does (with the token of the form's page)."""
    page = await client.get("/app/login")
    return await client.post(
        "/app/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
    )
