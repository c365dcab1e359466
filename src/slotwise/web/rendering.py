"""Jinja2 rendering of the pages: autoescaped, translated, CSRF-armed, compressed.

One environment for the process (templates are compiled once). Every page gets ``_`` (the
request's translator), ``static()`` (hashed asset URLs under ``settings.static_url``),
``csrf_token`` and the language switch. Nothing user-supplied is ever marked safe."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from slotwise.core.problems import request_locale
from slotwise.settings import Settings
from slotwise.web.i18n import Translator, language_choices
from slotwise.web.security import ASSETS, csrf_for, set_csrf_cookie

TEMPLATES = Path(__file__).parent / "templates"
_MIN_GZIP_BYTES = 1024

ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def local_path(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirects)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target


def here(request: Request) -> str:
    """The current path with its query, for ``next=`` links (language switch, login)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The page as an HTML response (gzip when the client takes it)."""
    settings: Settings = request.app.state.settings
    locale = request_locale(request)
    translator = Translator(locale)
    values: dict[str, Any] = {
        "_": translator,
        "lang": translator.html_lang,
        "locale": locale,
        "csrf_token": csrf_for(request),
        "static": lambda name: ASSETS.url(settings.static_url, name),
        "languages": language_choices(locale),
        "here": quote(here(request), safe="/"),
        **context,
    }
    body = ENVIRONMENT.get_template(template).render(values).encode()
    response_headers = {
        "Content-Language": translator.html_lang,
        "Cache-Control": "no-store",
        "Vary": "Accept-Language, Cookie, Accept-Encoding",
        **(headers or {}),
    }
    if len(body) >= _MIN_GZIP_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, 6)
        response_headers["Content-Encoding"] = "gzip"
    response = Response(
        body, status_code=status, media_type="text/html; charset=utf-8", headers=response_headers
    )
    set_csrf_cookie(request, response)
    return response


def redirect(url: str) -> RedirectResponse:
    """POST-redirect-GET: 303 so the browser follows with GET."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
