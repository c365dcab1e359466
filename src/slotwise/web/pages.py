"""Plumbing shared by the page routers: the route class that shows errors as pages, the
page locale, form parsing and the OpenAPI description of form bodies."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from slotwise import errors
from slotwise.core.problems import openapi_error_responses, request_locale
from slotwise.i18n import SUPPORTED_LOCALES, gettext, negotiate
from slotwise.web.i18n import N_
from slotwise.web.rendering import here, render
from slotwise.web.security import CSRF_FIELD, verify_csrf

LOCALE_KEY = "slotwise.locale"
FIELD_REQUIRED = N_("This field is required.")
FIELD_TOO_LONG = N_("This is too long.")
FIELD_INVALID = N_("This value is not valid.")
NUMBER_TOO_SMALL = N_("This number is too small.")
NUMBER_TOO_LARGE = N_("This number is too large.")
PAGE_NOT_FOUND = N_("Page not found")
SOMETHING_WRONG = N_("We could not do that")


def wants_json(request: Request) -> bool:
    """Our scripts ask for JSON (and get problem+json on errors); browsers ask for HTML."""
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def use_page_locale(request: Request, fallback: str) -> str:
    """The page language: the ``lang`` cookie, else Accept-Language, else ``fallback`` (the
    business's own locale) when the browser states no preference."""
    cookie = request.cookies.get("lang")
    header = request.headers.get("accept-language")
    if cookie in SUPPORTED_LOCALES or header:
        locale = negotiate(header, cookie)
    else:
        locale = fallback if fallback in SUPPORTED_LOCALES else "en"
    request.scope[LOCALE_KEY] = locale
    return locale


def login_form(
    request: Request,
    next_url: str,
    *,
    email: str = "",
    problem: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    """The staff sign-in form; signing in goes on to ``next_url``."""
    return render(
        request,
        "dashboard/login.html",
        {
            "next": next_url,
            "values": {"email": email},
            "errors": {},
            "problem": problem,
            "notice": notice,
        },
        status=status,
    )


def sign_in_page(request: Request) -> Response:
    """A signed-out visitor of a dashboard page gets the sign-in form in its place (401);
    signing in brings them back here."""
    return login_form(request, here(request), status=401)


def error_page(request: Request, error: errors.AppError) -> Response:
    """An ``AppError`` as a page for people (the JSON clients get problem+json instead)."""
    locale = request_locale(request)
    title = PAGE_NOT_FOUND if error.status == 404 else SOMETHING_WRONG
    back = "/app" if request.url.path.startswith("/app") else request.url.path
    if request.url.path.startswith("/b/"):
        back = "/".join(request.url.path.split("/")[:3])
    return render(
        request,
        "error.html",
        {
            "title": gettext(title, locale),
            "detail": gettext(error.detail_message, locale, **error.params),
            "back_url": back,
        },
        status=error.status,
        headers=error.headers,
    )


class PageRoute(APIRoute):
    """Routes of pages: a POST must carry its CSRF token (403 problem ``csrf_failed``); an
    ``AppError`` becomes an HTML page with its status (the sign-in form for 401 on the
    dashboard); requests of our scripts still get problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    await verify_csrf(request)
                return await original(request)
            except errors.AppError as error:
                if wants_json(request) or isinstance(error, errors.CsrfFailed):
                    raise
                if isinstance(error, errors.Unauthorized) and request.url.path.startswith("/app"):
                    return sign_in_page(request)
                return error_page(request, error)

        return handler


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as plain strings (first value of each field, CSRF token removed)."""
    form = await request.form(max_files=0, max_fields=200)
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if key != CSRF_FIELD and isinstance(value, str) and key not in fields:
            fields[key] = value
    return fields


def local_date(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` query value as a date; None when absent or not a date."""
    try:
        return date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def checkbox(fields: Mapping[str, str], name: str) -> bool:
    return fields.get(name) in ("on", "true", "1")


def _message(item: Mapping[str, Any]) -> str:
    kind = str(item.get("type", ""))
    if kind in ("missing", "string_too_short", "too_short"):
        return FIELD_REQUIRED
    if kind in ("string_too_long", "too_long"):
        return FIELD_TOO_LONG
    if kind.startswith("greater_than"):
        return NUMBER_TOO_SMALL
    if kind.startswith("less_than"):
        return NUMBER_TOO_LARGE
    message = str(item.get("msg", FIELD_INVALID))
    if message.startswith("Value error, "):
        return message[len("Value error, ") :]
    if kind.startswith(("uuid", "int", "float", "bool", "date", "time", "literal", "enum")):
        return FIELD_INVALID
    return message


def field_errors(
    exc: ValidationError, rename: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field", "message"}`` with the page's input names; the
    messages are catalog ids (translated when shown)."""
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ()) if not isinstance(p, int)]
        name = ".".join(loc) or "form"
        if rename:
            name = rename.get(name, rename.get(loc[-1] if loc else "", name))
        name = name.split(".")[-1]
        if name in seen:
            continue
        seen.add(name)
        out.append({"field": name, "message": _message(item)})
    return out


M = TypeVar("M", bound=BaseModel)


def validate_form(
    model: type[M], fields: Mapping[str, Any], rename: Mapping[str, str] | None = None
) -> M:
    """``model`` from form fields, or ``ValidationFailed`` naming the page's inputs."""
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        raise errors.ValidationFailed(errors=field_errors(exc, rename)) from exc


def refused_fields(error: errors.AppError, locale: str) -> dict[str, str]:
    """A form's refusal (409 or 422) as messages by input, to show the form again next to
    what was typed; any other error goes on to the error page."""
    if error.status not in (409, 422):
        raise error
    return errors_by_field(error, locale)


def errors_by_field(error: errors.AppError, locale: str) -> dict[str, str]:
    """A refusal's field messages, translated, keyed by input name (``form`` for the rest)."""
    found: dict[str, str] = {}
    for item in error.errors:
        name = item.get("field", "form").split(".")[-1]
        found.setdefault(name, gettext(item.get("message", ""), locale))
    if not found:
        found["form"] = gettext(error.detail_message, locale, **error.params)
    return found


def form_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a form-encoded request body by its model."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        **model.model_json_schema(),
                        "description": "Plus the `csrf_token` field of the page's form.",
                    }
                }
            },
        }
    }


def page_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Error answers of a page: an HTML page for browsers, problem+json for our scripts."""
    documented = openapi_error_responses(*codes)
    for entry in documented.values():
        entry["content"] = {"text/html": {"schema": {"type": "string"}}, **entry["content"]}
    return documented


HTML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "The page"}
}
SEE_OTHER: dict[int | str, dict[str, Any]] = {
    303: {"description": "Done: go to the next page (POST-redirect-GET)"}
}


def merge(*parts: Mapping[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for part in parts:
        out.update(part)
    return out
