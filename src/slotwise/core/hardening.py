"""Request hardening (pure ASGI): hostile bodies are refused before any handler sees them.

For requests with a body under ``/api/`` (and the form posts of ``/b/`` and ``/app``):

* more than 64 KiB → ``413 payload_too_large`` (by ``Content-Length`` before reading, or
  while reading a chunked body);
* under ``/api/`` a body that is not JSON (``application/json`` or ``…+json``) → ``415``;
  the pages also take ``application/x-www-form-urlencoded`` and ``multipart/form-data``;
* a JSON body that is not UTF-8, nests deeper than 32, holds a number of more than 30
  digits, a NUL character or a lone surrogate, or is not JSON at all → ``422
  validation_error``. These would otherwise crash deep inside (recursion limits, integer
  parsing limits, PostgreSQL refusing NUL in text) or be silently mangled.

NUL bytes in the query string are refused the same way (PostgreSQL cannot store them).
The body that passes is handed on unchanged, so handlers parse exactly what was checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slotwise import errors
from slotwise.core.problems import problem_response
from slotwise.i18n import negotiate

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 30

INVALID_UTF8 = "The request body is not valid UTF-8."
INVALID_JSON = "The request body is not valid JSON."
TOO_DEEP = "The JSON document is nested too deeply."
NUMBER_TOO_LONG = "A number in the request has too many digits."
NUL_CHARACTER = "The request contains a NUL character."
LONE_SURROGATE = "The request contains an invalid Unicode character."

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Strings first (so brackets and digits inside them are skipped), then brackets, then numbers.
# Possessive and with an optional closing quote: an unterminated string swallows the rest,
# so every character is scanned once (no quadratic rescans of hostile input).
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[{]|[\]}]|-?[0-9][0-9.eE+\-]*+')


def _guarded(path: str) -> tuple[bool, bool]:
    """(guarded at all, JSON only)."""
    if path.startswith("/api/"):
        return True, True
    if path.startswith("/b/") or path == "/app" or path.startswith("/app/"):
        return True, False
    return False, False


def _media_type(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is refused as JSON, or None when it is acceptable."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return INVALID_UTF8
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        first = token[0]
        if first in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return TOO_DEEP
        elif first in "]}":
            depth -= 1
        elif (
            first != '"'
            and len(token) > MAX_NUMBER_DIGITS
            and sum(c.isdigit() for c in token) > MAX_NUMBER_DIGITS
        ):
            return NUMBER_TOO_LONG
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return INVALID_JSON
    return _string_problem(document)


def _string_problem(document: Any) -> str | None:
    """NUL characters and lone surrogates anywhere in keys or values (iterative walk)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_CHARACTER
            if not item.isascii():
                try:
                    item.encode("utf-8")  # only a lone surrogate cannot be encoded
                except UnicodeEncodeError:
                    return LONE_SURROGATE
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope["path"]:
            await self._refuse(scope, receive, send, _invalid(NUL_CHARACTER, "query"))
            return
        guarded, json_only = _guarded(scope["path"])
        if not guarded or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        declared = _content_length(headers)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send, errors.PayloadTooLarge())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(scope, receive, send, errors.PayloadTooLarge())
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if body:
            media_type = _media_type(headers)
            if _is_json(media_type):
                reason = json_problem(body)
                if reason is not None:
                    await self._refuse(scope, receive, send, _invalid(reason, "body"))
                    return
            elif json_only or media_type not in _FORM_TYPES:
                await self._refuse(scope, receive, send, errors.UnsupportedMediaType())
                return

        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: errors.AppError) -> None:
        accept_language = ""
        for name, value in scope.get("headers") or []:
            if name == b"accept-language":
                accept_language = value.decode("latin-1")
        response = problem_response(error, negotiate(accept_language), scope["path"])
        await response(scope, receive, send)


def _invalid(reason: str, field: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(errors=[{"field": field, "message": reason}])
