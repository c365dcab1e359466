"""RFC 9457 problem+json for every error, mapped in one place.

No stack trace or SQL ever reaches a client: unknown exceptions become ``internal_error``
and are logged with the request id."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from slotwise import errors
from slotwise.i18n import gettext, negotiate

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

_HTTP_STATUS_ERRORS: dict[int, type[errors.AppError]] = {
    400: errors.AppError,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    412: errors.PreconditionFailed,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
    422: errors.ValidationFailed,
    429: errors.RateLimited,
    503: errors.ServiceUnavailable,
}


def request_locale(request: Request) -> str:
    cached = request.scope.get("slotwise.locale")
    if isinstance(cached, str):
        return cached
    locale = negotiate(request.headers.get("accept-language"), request.cookies.get("lang"))
    request.scope["slotwise.locale"] = locale
    return locale


def problem_body(
    error: errors.AppError, locale: str, instance: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://slotwise.dev/problems/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": gettext(error.detail_message, locale, **error.params),
        "code": error.code,
    }
    if instance:
        body["instance"] = instance
    if error.errors:
        body["errors"] = [
            {"field": e["field"], "message": gettext(e["message"], locale)} for e in error.errors
        ]
    if error.alternatives is not None:
        body["alternatives"] = error.alternatives
    return body


def problem_response(
    error: errors.AppError, locale: str = "en", instance: str | None = None
) -> Response:
    headers = dict(error.headers)
    headers["Content-Language"] = locale.replace("_", "-")
    return Response(
        json.dumps(problem_body(error, locale, instance), ensure_ascii=False),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or "body"


def validation_error_from(exc_errors: Sequence[Mapping[str, Any]]) -> errors.ValidationFailed:
    details = []
    for item in exc_errors[:50]:
        message = str(item.get("msg", "Invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        details.append({"field": _field_name(item.get("loc", ())), "message": message})
    return errors.ValidationFailed(errors=details)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.AppError)
    async def _app_error(request: Request, exc: errors.AppError) -> Response:
        return problem_response(exc, request_locale(request), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return problem_response(
            validation_error_from(exc.errors()), request_locale(request), request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        error_type = _HTTP_STATUS_ERRORS.get(exc.status_code, errors.AppError)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = allowed_methods(request.app.routes, request.scope.get("path", ""))
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        error = error_type(headers=headers)
        if error_type is errors.AppError and exc.status_code != 400:
            error = errors.InternalError() if exc.status_code >= 500 else errors.AppError()
        return problem_response(error, request_locale(request), request.url.path)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        log.error("unhandled_error", path=request.url.path, exc_info=exc)
        return problem_response(errors.InternalError(), request_locale(request), request.url.path)


def allowed_methods(routes: Iterable[Any], path: str) -> set[str]:
    """Every method some route serves at ``path``: a 405 names them all in ``Allow`` (the
    router only names those of the first route matching the path)."""
    found: set[str] = set()
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for candidate in contexts() if contexts is not None else (route,):
            regex = getattr(candidate, "path_regex", None)
            methods = getattr(candidate, "methods", None)
            if regex is not None and methods and regex.match(path):
                found.update(methods)
    return found


# What any public request may answer besides its own errors: bad or unreadable input, an
# unknown business, oversize or non-JSON bodies, rate limits, an overloaded server.
PUBLIC_ERROR_STATUSES = (400, 404, 413, 415, 422, 429, 503)
# The same for staff requests, which also need a member's token with the right role.
STAFF_ERROR_STATUSES = (*PUBLIC_ERROR_STATUSES, 401, 403)


def openapi_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json answers."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {
            "description": _HTTP_STATUS_ERRORS.get(code, errors.AppError).title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out
