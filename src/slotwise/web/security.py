"""Page security: response headers, CSRF tokens and content-hashed static files.

* ``SecurityHeadersMiddleware`` (pure ASGI, outermost) adds a strict Content-Security-Policy
  and the other protective headers to every response of the app — pages, JSON, errors.
  Scripts and styles come only from our own files; nothing inline runs.
* CSRF: a signed double-submit token (HMAC of a random cookie value and the session), sent
  as the ``csrf_token`` form field or the ``X-CSRF-Token`` header. ``verify_csrf`` guards
  every page form (called by the pages' route class); ``CsrfMiddleware`` guards any
  cookie-authenticated API request. Bearer-token API calls carry no cookie: unaffected.
* ``StaticAssets`` loads ``web/static`` once at start-up, names each file by its content hash
  and keeps a gzip copy in memory, so responses can be cached forever (``immutable``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import hmac
import mimetypes
import re
import secrets
from base64 import urlsafe_b64encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise import errors
from slotwise.auth.deps import SESSION_COOKIE
from slotwise.core.problems import problem_response
from slotwise.i18n import negotiate
from slotwise.settings import Settings

log = structlog.get_logger(__name__)

CSRF_COOKIE = "slotwise_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FRAME_ANCESTORS_KEY = "slotwise.frame_ancestors"
"""Scope key a booking page sets to the tenant's allowed embedding origins."""
_NEW_CSRF_KEY = "slotwise.csrf_new"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect"})
_DOCS_CDN = "https://cdn.jsdelivr.net"
_DOCS_FAVICON = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def is_page_path(path: str) -> bool:
    """Paths served by the web pages (forms, cookies), as opposed to the JSON API."""
    return path.startswith("/b/") or path == "/app" or path.startswith("/app/")


def static_origin(static_url: str) -> str | None:
    """The origin of a CDN-hosted ``static_url`` (None when static files are same-origin)."""
    parts = urlsplit(static_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def safe_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """Only well-formed ``scheme://host[:port]`` origins reach a CSP (no directive injection)."""
    return tuple(o.rstrip("/") for o in origins if isinstance(o, str) and _ORIGIN.match(o))


def content_security_policy(
    static: str | None, frame_ancestors: tuple[str, ...] = (), script_hashes: Iterable[str] = ()
) -> str:
    """The policy of one response: own files only, no inline code, no plugins, no framing
    unless the tenant allows named origins."""
    own = "'self'" + (f" {static}" if static else "")
    scripts = own + "".join(f" 'sha256-{h}'" for h in script_hashes)
    styles = own
    images = f"{own} data:"
    if script_hashes:  # the API docs page: FastAPI's Swagger UI from its CDN
        scripts += f" {_DOCS_CDN}"
        styles += f" {_DOCS_CDN}"
        images += f" {_DOCS_FAVICON} {_DOCS_CDN}"
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src {styles}; img-src {images}; "
        f"font-src {own}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {ancestors}"
    )


def _header_names(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    return {name.lower() for name, _ in headers}


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, Referrer-Policy, Permissions-Policy (and HSTS on TLS) to every
    response. An unhandled error still gets a problem+json answer with these headers."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.static = static_origin(settings.static_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        docs = scope["path"] in _DOCS_PATHS
        pending: list[Message] = []

        def security_headers(
            existing: list[tuple[bytes, bytes]], body: bytes
        ) -> list[tuple[bytes, bytes]]:
            present = _header_names(existing)
            ancestors = safe_origins(scope.get(FRAME_ANCESTORS_KEY) or ())
            hashes = _inline_script_hashes(body) if docs else ()
            added: list[tuple[bytes, bytes]] = []
            if b"content-security-policy" not in present:
                policy = content_security_policy(self.static, ancestors, hashes)
                added.append((b"content-security-policy", policy.encode()))
            if not ancestors and b"x-frame-options" not in present:
                added.append((b"x-frame-options", b"DENY"))
            added += [
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"strict-origin-when-cross-origin"),
                (b"permissions-policy", PERMISSIONS_POLICY.encode()),
                (b"cross-origin-opener-policy", b"same-origin"),
            ]
            if scope.get("scheme") == "https":
                added.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
            return [*existing, *(h for h in added if h[0] not in present)]

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if docs:  # hash the docs page's own inline scripts once its body is known
                    pending.append(message)
                    return
                message["headers"] = security_headers(list(message.get("headers") or []), b"")
            elif docs and message["type"] == "http.response.body" and pending:
                start = pending.pop()
                start["headers"] = security_headers(
                    list(start.get("headers") or []), message.get("body", b"")
                )
                await send(start)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            if started:
                raise
            await problem_response(errors.InternalError(), _scope_locale(scope), scope["path"])(
                scope, receive, send_wrapper
            )
            raise


def _inline_script_hashes(body: bytes) -> tuple[str, ...]:
    """sha256 sources of the inline scripts FastAPI writes into its own API docs page."""
    return tuple(
        urlsafe_b64encode(hashlib.sha256(script).digest())
        .decode()
        .replace("-", "+")
        .replace("_", "/")
        for script in _INLINE_SCRIPT.findall(body)
    )


# ---------------------------------------------------------------- CSRF


def _session_digest(session: str | None) -> str:
    return hashlib.sha256((session or "").encode()).hexdigest()


def csrf_token(secret_key: str, csrf_cookie: str, session: str | None) -> str:
    """The token forms must echo: bound to the browser's CSRF cookie and to its session, so
    a token leaked from one session is useless in another and dies at logout/login."""
    message = f"slotwise.csrf.v1|{csrf_cookie}|{_session_digest(session)}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def _csrf_matches(secret_key: str, cookies: Mapping[str, str], provided: str) -> bool:
    """Whether ``provided`` is the token of this browser's CSRF cookie and session."""
    cookie_value = cookies.get(CSRF_COOKIE, "")
    if not cookie_value or not provided:
        return False
    expected = csrf_token(secret_key, cookie_value, cookies.get(SESSION_COOKIE))
    return hmac.compare_digest(expected, provided)


def _scope_locale(scope: Scope) -> str:
    """The language of an answer written before any route ran (no page locale yet)."""
    request = Request(scope)
    return negotiate(request.headers.get("accept-language"), request.cookies.get("lang"))


def csrf_for(request: Request) -> str:
    """The token for the page being rendered; creates the browser's CSRF cookie value when it
    has none yet (``set_csrf_cookie`` writes it on the response)."""
    settings: Settings = request.app.state.settings
    value = request.cookies.get(CSRF_COOKIE) or request.scope.get(_NEW_CSRF_KEY)
    if not isinstance(value, str) or not 20 <= len(value) <= 100:
        value = secrets.token_urlsafe(32)
        request.scope[_NEW_CSRF_KEY] = value
    return csrf_token(
        settings.secret_key.get_secret_value(), value, request.cookies.get(SESSION_COOKIE)
    )


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Write the CSRF cookie created while rendering (if any)."""
    value = request.scope.get(_NEW_CSRF_KEY)
    if isinstance(value, str):
        response.set_cookie(
            CSRF_COOKIE,
            value,
            httponly=True,
            samesite="lax",
            secure=is_https(request),
            path="/",
        )


def _cookies(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for name, value in headers:
        if name == b"cookie":
            parsed: SimpleCookie = SimpleCookie()
            with contextlib.suppress(CookieError):  # a malformed header: no cookies from it
                parsed.load(value.decode("latin-1"))
            jar.update({key: morsel.value for key, morsel in parsed.items()})
    return jar


async def verify_csrf(request: Request) -> None:
    """``CsrfFailed`` unless the request echoes the token of its browser and session (the
    ``X-CSRF-Token`` header of our scripts, or the ``csrf_token`` field of a form)."""
    settings: Settings = request.app.state.settings
    provided = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not provided and content_type in _FORM_TYPES:
        form = await request.form(max_files=0, max_fields=600)
        value = form.get(CSRF_FIELD)
        provided = value if isinstance(value, str) else ""
    if not _csrf_matches(settings.secret_key.get_secret_value(), request.cookies, provided):
        log.info("csrf_refused", path=request.url.path)
        raise errors.CsrfFailed()


class CsrfMiddleware:
    """Cookie-authenticated API requests (a session cookie and no ``Authorization``) must
    carry the ``X-CSRF-Token`` header, or get 403 problem ``csrf_failed``: the cookie alone
    would let any site drive the API in a signed-in browser. Bearer calls are unaffected.
    Page forms are checked by their route (``pages.PageRoute``), once the route is known."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.secret = settings.secret_key.get_secret_value()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _UNSAFE_METHODS
            or is_page_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        cookies = _cookies(headers)
        session = cookies.get(SESSION_COOKIE)
        if session is None or b"authorization" in _header_names(headers):
            await self.app(scope, receive, send)
            return
        provided = dict(headers).get(CSRF_HEADER.encode(), b"").decode("latin-1")
        if not _csrf_matches(self.secret, cookies, provided):
            log.info("csrf_refused", path=scope["path"])
            response = problem_response(errors.CsrfFailed(), _scope_locale(scope), scope["path"])
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


# ---------------------------------------------------------------- static files

IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    hashed_name: str
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


class StaticAssets:
    """Every file of one folder, named by content hash and precompressed, held in memory."""

    def __init__(self, directory: Path) -> None:
        self.by_name: dict[str, Asset] = {}
        self.by_hashed: dict[str, Asset] = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            name = path.relative_to(directory).as_posix()
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            stem, dot, suffix = name.rpartition(".")
            hashed = f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"
            media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type.endswith(("javascript", "json")):
                media_type += "; charset=utf-8"
            asset = Asset(
                name, hashed, body, gzip.compress(body, 9, mtime=0), media_type, f'"{digest}"'
            )
            self.by_name[name] = asset
            self.by_hashed[hashed] = asset

    def url(self, prefix: str, name: str) -> str:
        """The public URL of ``name`` (KeyError for a file that does not exist)."""
        return f"{prefix.rstrip('/')}/{self.by_name[name].hashed_name}"

    def response(self, hashed_name: str, request: Request) -> Response:
        asset = self.by_hashed.get(hashed_name)
        if asset is None:
            raise errors.NotFound()
        headers = {"Cache-Control": IMMUTABLE, "ETag": asset.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)


ASSETS = StaticAssets(Path(__file__).parent / "static")
