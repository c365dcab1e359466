"""Page security: CSRF on every state-changing page form and cookie-authenticated API call,
strict headers on every response, escaping, hashed immutable static files."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser

import asyncpg
import httpx
import pytest

from slotwise.app import create_app
from slotwise.settings import Settings
from slotwise.web.security import ASSETS
from tests.factories import TenantRows, bearer, make_appointment, make_member
from tests.web.conftest import csrf_of, log_in, sign_in
from tests.web.test_booking_pages import details as filled_details
from tests.web.test_dashboard import tomorrow_at


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


class _Markup(HTMLParser):
    """Collects what would run inline: scripts without src, on* handlers, style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if not values.get("src"):
                self.inline.append("<script> without src")
            else:
                self.scripts.append(values["src"] or "")
        for name, _value in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag} {name}=")
        if tag == "style":
            self.inline.append("<style>")


def assert_strict_page(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "script-src 'self';" in policy
    assert "style-src 'self';" in policy
    assert "object-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["permissions-policy"]
    if response.headers.get("content-type", "").startswith("text/html"):
        markup = _Markup()
        markup.feed(response.text)
        assert markup.inline == [], response.url


async def test_a_form_post_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, shop: TenantRows
) -> None:
    form = {
        "service": str(shop.service_ids[0]),
        "pro": "any",
        "start": tomorrow_at(10).isoformat(),
        "name": "Ana",
        "email": "ana@example.com",
    }
    assert_problem(await client.post(f"/b/{shop.slug}/book", data=form), 403, "csrf_failed")
    page = await client.get(f"/b/{shop.slug}")
    wrong = await client.post(f"/b/{shop.slug}/book", data={**form, "csrf_token": "x" * 43})
    assert_problem(wrong, 403, "csrf_failed")
    assert_problem(await client.post("/app/login", data={"email": "a@b.c"}), 403, "csrf_failed")
    # The real token passes the check (and the booking is made).
    made = await client.post(
        f"/b/{shop.slug}/book", data={**form, "csrf_token": csrf_of(page.text)}
    )
    assert made.status_code == 303


async def test_a_token_from_another_browser_or_session_does_not_pass(
    client: httpx.AsyncClient, app: object, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    anonymous_token = csrf_of((await client.get("/app/login")).text)
    await sign_in(client, owner_conn, shop)
    # Bound to the session: the token of the signed-out page is dead after signing in.
    stale = await client.post("/app/logout", data={"csrf_token": anonymous_token})
    assert_problem(stale, 403, "csrf_failed")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        stolen = csrf_of((await client.get("/app/day")).text)
        other.cookies.set("slotwise_session", client.cookies["slotwise_session"])
        refused = await other.post("/app/logout", data={"csrf_token": stolen})
        assert_problem(refused, 403, "csrf_failed")


async def test_cookie_authenticated_api_writes_need_the_token_and_bearer_calls_do_not(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    shop: TenantRows,
    settings: Settings,
) -> None:
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(10))
    await sign_in(client, owner_conn, shop)
    path = f"/api/v1/appointments/{appointment_id}/cancel"
    refused = await client.post(path, headers={"If-Match": '"1"'})
    assert_problem(refused, 403, "csrf_failed")
    token = csrf_of((await client.get("/app/day")).text)
    allowed = await client.post(path, headers={"If-Match": '"1"', "X-CSRF-Token": token})
    assert allowed.status_code == 200, allowed.text
    user_id, _email = await make_member(owner_conn, shop.tenant_id, "manager")
    other = await make_appointment(owner_conn, shop, tomorrow_at(12))
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as api:
        response = await api.post(
            f"/api/v1/appointments/{other}/cancel",
            headers={**bearer(settings, user_id, shop.tenant_id), "If-Match": '"1"'},
        )
        assert response.status_code == 200, response.text


async def test_every_page_and_answer_carries_a_strict_policy_and_no_inline_code(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    flow = await client.get(f"/b/{shop.slug}?service={shop.service_ids[0]}&pro=any")
    slot = re.search(r'class="slot" href="([^"]+)"', flow.text)
    assert slot
    details = await client.get(slot.group(1).replace("&amp;", "&"))
    start = re.search(r'name="start" value="([^"]+)"', details.text)
    assert start
    booked = await client.post(
        f"/b/{shop.slug}/book", data=filled_details(shop, details.text, start.group(1))
    )
    confirmation = booked.headers["location"]
    public = [
        f"/b/{shop.slug}",
        f"/b/{shop.slug}?service={shop.service_ids[0]}",
        f"/b/{shop.slug}?service={shop.service_ids[0]}&pro=any",
        slot.group(1).replace("&amp;", "&"),
        confirmation,
        confirmation.replace("/booking/", "/bookings/"),
        confirmation.replace("/booking/", "/bookings/") + "&reschedule=1",
        confirmation.replace("/booking/", "/bookings/").replace("?", "/cancel?"),
        "/b/no-such-business",
        "/app/login",
        "/api/v1/public/businesses/no-such-business",
        "/healthz",
        "/nowhere",
    ]
    for path in public:
        assert_strict_page(await client.get(path))
    appointment_id = await make_appointment(owner_conn, shop, tomorrow_at(15))
    await sign_in(client, owner_conn, shop)
    for path in (
        "/app/day",
        "/app/week",
        "/app/password",
        "/app/appointments/new",
        f"/app/appointments/{appointment_id}",
        "/app/settings/services",
        "/app/settings/professionals",
        f"/app/settings/professionals/{shop.professional_ids[0]}",
        "/app/settings/hours",
        "/app/settings/closures",
        "/app/settings/time-off",
        "/app/settings/business",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert_strict_page(page)
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_the_api_docs_page_runs_only_its_own_hashed_scripts(
    client: httpx.AsyncClient,
) -> None:
    docs = await client.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert "unsafe-inline" not in policy
    assert "'sha256-" in policy


async def test_hsts_and_secure_cookies_only_over_tls(
    app: object, owner_conn: asyncpg.Connection, shop: TenantRows
) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
        page = await tls.get("/app/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "Secure" in page.headers["set-cookie"]
        _user, email = await make_member(owner_conn, shop.tenant_id)
        login = await log_in(tls, email)
        session_cookie = next(
            v for k, v in login.headers.multi_items() if k == "set-cookie" and "session" in v
        )
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as plain:
        assert "strict-transport-security" not in (await plain.get("/app/login")).headers


async def test_static_files_are_hashed_immutable_and_compressed(client: httpx.AsyncClient) -> None:
    page = await client.get("/app/login")
    css = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', page.text)
    assert css, "the stylesheet is linked by its content hash"
    response = await client.get(css.group(1), headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == ASSETS.by_name["app.css"].body  # httpx decoded the gzip
    assert len(ASSETS.by_name["app.css"].gzipped) < len(ASSETS.by_name["app.css"].body) / 2
    again = await client.get(css.group(1), headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert (await client.get("/static/app.css")).status_code == 404
    assert (
        gzip.decompress(ASSETS.by_name["booking.js"].gzipped) == ASSETS.by_name["booking.js"].body
    )


@pytest.mark.parametrize("static_url", ["https://cdn.example.net/static"])
async def test_a_cdn_static_url_prefixes_assets_and_is_allowed_by_the_policy(
    static_url: str, settings: Settings, database: object
) -> None:
    application = create_app(
        settings.model_copy(update={"static_url": static_url}), database=database
    )  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/app/login")
    assert re.search(r'href="https://cdn\.example\.net/static/app\.[0-9a-f]{12}\.css"', page.text)
    assert "script-src 'self' https://cdn.example.net;" in page.headers["content-security-policy"]
