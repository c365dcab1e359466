"""Hostile input against EVERY route of the app (discovered from ``app.routes`` at test time),
with and without a valid staff token: no answer is a 5xx, every API error is problem+json,
and a refused write leaves every table as it was.

The corpus: SQL injection, script and event-handler payloads, a 1 MB body, 5000-deep JSON,
invalid UTF-8, NUL bytes, huge numbers, negative durations, year-9999 dates, time zones that
do not exist, and wrong types. Bodies are shaped after each operation's OpenAPI request
schema (so the hostile values reach real fields), plus raw byte bodies no schema expects.

Server-sent event streams are sent the hostile variants only (a valid request would stream
for ever); every other route gets the whole corpus."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
from fastapi import FastAPI
from starlette.routing import Mount

from slotwise.settings import Settings
from tests.booking.conftest import local
from tests.factories import TenantRows, bearer, make_appointment, make_member

SQLI = "'; DROP TABLE appointments; -- ' OR '1'='1"
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'
NO_ZONE = "Mars/Olympus_Mons"
YEAR_9999 = "9999-12-31T23:59:59+00:00"
DATE_9999 = "9999-12-31"
HUGE = 10**40
NEGATIVE = -30

# Rows written by triggers alongside other tables' rows and consumed by background relays
# (live updates, notifications): their counts move on their own while the test runs.
BACKGROUND_TABLES = ("alembic_version", "live_changes", "outbox")

_PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")
_STREAMS = re.compile(r"/events$")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    stream: bool


def discover(app: FastAPI) -> list[Operation]:
    """Every (path, method) the app serves, however its routers are nested."""
    found: dict[tuple[str, str], Operation] = {}

    def visit(routes: list[Any], prefix: str = "") -> None:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                for ctx in contexts():
                    add(ctx.path, ctx.methods or {"GET"}, bool(getattr(ctx, "is_sse_stream", 0)))
            elif isinstance(route, Mount):
                sub = getattr(route, "routes", None)
                if sub:
                    visit(list(sub), prefix + route.path)
                else:
                    add(prefix + route.path + "/{path}", {"GET"}, False)
            elif hasattr(route, "path"):
                add(prefix + route.path, getattr(route, "methods", None) or {"GET"}, False)

    def add(path: str, methods: set[str], stream: bool) -> None:
        for method in methods:
            if method == "HEAD":
                continue
            key = (path, method)
            found[key] = Operation(path, method, stream or bool(_STREAMS.search(path)))

    visit(list(app.routes))
    return sorted(found.values(), key=lambda o: (o.path, o.method))


# ------------------------------------------------------------------------ bodies from schemas


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            if options:
                return _resolve(spec, options[0])
    return schema


Filler = Callable[[dict[str, Any]], Any]


def _fill(spec: dict[str, Any], schema: dict[str, Any], leaf: Filler, depth: int = 0) -> Any:
    schema = _resolve(spec, schema)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        return {
            name: _fill(spec, sub, leaf, depth + 1)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_fill(spec, schema.get("items", {}), leaf, depth + 1)]
    return leaf(schema)


def _leaf(strings: Any, *, numbers: Any = 1, dates: Any = None) -> Filler:
    def leaf(schema: dict[str, Any]) -> Any:
        kind = schema.get("type")
        fmt = schema.get("format", "")
        if kind in ("integer", "number"):
            return numbers
        if kind == "boolean":
            return True
        if fmt == "uuid":
            return str(uuid.uuid4()) if strings is not SQLI else SQLI
        if fmt in ("date-time", "date") and dates is not None:
            return dates if fmt == "date-time" else DATE_9999
        if fmt == "date-time":
            return local().isoformat()
        if fmt == "date":
            return local().date().isoformat()
        if "enum" in schema:
            return strings if strings is not None else schema["enum"][0]
        return strings

    return leaf


def _wrong_type(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    return {"nested": ["x"]} if kind == "string" else "not-a-number" if kind else [1, {"a": 2}]


SCHEMA_VARIANTS: dict[str, Filler] = {
    "sql-injection": _leaf(SQLI),
    "script": _leaf(XSS),
    "no-such-zone": _leaf(NO_ZONE),
    "year-9999": _leaf("x", dates=YEAR_9999),
    "negative": _leaf("x", numbers=NEGATIVE),
    "huge-number": _leaf("x", numbers=HUGE),
    "wrong-types": _wrong_type,
}

RAW_BODIES: dict[str, tuple[bytes, str]] = {
    "1mb": (b'{"name": "' + b"A" * (1024 * 1024) + b'"}', "application/json"),
    "deep": (b'{"a": ' * 5000 + b"1" + b"}" * 5000, "application/json"),
    "invalid-utf8": (b'{"name": "\xff\xfe\xfd", "email": "\xc3\x28"}', "application/json"),
    "nul": (b'{"name": "a\\u0000b", "notes": "\\u0000"}', "application/json"),
    "huge-literal": (b'{"duration_minutes": 1' + b"0" * 400 + b"}", "application/json"),
    "float-overflow": (b'{"price_minor": 1e400, "limit": -1e400}', "application/json"),
    "not-json": (b"{'name': 'single quotes'}", "application/json"),
    "json-null": (b"null", "application/json"),
    "json-array": (b"[1, 2, 3]", "application/json"),
    "form": (
        b"name=%27%3B+DROP+TABLE+x%3B--&start=9999-12-31",
        "application/x-www-form-urlencoded",
    ),
    "xml": (b"<?xml version='1.0'?><a>&xxe;</a>", "application/xml"),
}

HOSTILE_QUERY_VALUES = (SQLI, NO_ZONE, DATE_9999, YEAR_9999, "1" * 60, "\x00")
COMMON_QUERY_NAMES = (
    "service_id",
    "professional_id",
    "date_from",
    "date_to",
    "from",
    "to",
    "status",
    "limit",
    "cursor",
    "token",
    "q",
    "date",
    "view",
    "lang",
)


def _request_schema(spec: dict[str, Any], op: Operation) -> dict[str, Any] | None:
    operation = spec.get("paths", {}).get(op.path, {}).get(op.method.lower())
    if not operation:
        return None
    content = operation.get("requestBody", {}).get("content", {})
    for media in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
        if media in content:
            schema: dict[str, Any] = content[media].get("schema", {})
            return schema
    return None


def _query_names(spec: dict[str, Any], op: Operation) -> list[str]:
    operation = spec.get("paths", {}).get(op.path, {}).get(op.method.lower()) or {}
    names = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
    return names or list(COMMON_QUERY_NAMES)


def _path(op: Operation, valid: dict[str, str], hostile: str | None) -> str:
    def repl(match: re.Match[str]) -> str:
        if hostile is not None:
            return quote(hostile, safe="")
        return valid.get(match.group(1), str(uuid.uuid4()))

    return _PARAM.sub(repl, op.path)


def requests_for(
    spec: dict[str, Any], op: Operation, valid: dict[str, str]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, url, httpx request kwargs) of every hostile request for ``op``."""
    good_path = _path(op, valid, None)
    names = _query_names(spec, op)
    for value in HOSTILE_QUERY_VALUES:
        yield f"query {value[:12]!r}", good_path, {"params": {n: value for n in names}}
    for value in (SQLI, XSS, "..%2F..%2Fetc%2Fpasswd"):
        yield f"path {value[:12]!r}", _path(op, valid, value), {}
    if op.method == "GET":
        return
    schema = _request_schema(spec, op)
    if schema is not None:
        for label, leaf in SCHEMA_VARIANTS.items():
            document = _fill(spec, schema, leaf)
            content = json.dumps(document).encode()
            yield (
                label,
                good_path,
                {
                    "content": content,
                    "headers": {"Content-Type": "application/json"},
                },
            )
    for label, (content, media) in RAW_BODIES.items():
        yield label, good_path, {"content": content, "headers": {"Content-Type": media}}


# ------------------------------------------------------------------------ the test


def _stream_request_ends(label: str, has_params: bool, authenticated: bool) -> bool:
    """Whether a request to an event stream is refused rather than streamed for ever: a
    hostile path parameter, or no credentials on a stream without path parameters."""
    if has_params:
        return label.startswith("path")
    return not authenticated and label.startswith("query")


async def _row_counts(conn: asyncpg.Connection, tables: list[str]) -> tuple[int, ...]:
    select = ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
    row = await conn.fetchrow(f"SELECT {select}")
    assert row is not None
    return tuple(int(v) for v in row)


async def test_hostile_input_on_every_route_is_refused_cleanly(
    app: FastAPI,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    rows: TenantRows,
    settings: Settings,
) -> None:
    user_id, _ = await make_member(owner_conn, rows.tenant_id, "owner")
    appointment = await make_appointment(owner_conn, rows, local(hour=9))
    staff = bearer(settings, user_id, rows.tenant_id)
    valid = {"slug": rows.slug, "appointment_id": str(appointment), "booking_id": str(appointment)}
    spec = app.openapi()
    operations = discover(app)
    assert len(operations) > 20, operations  # the app's routes really were found
    assert any(o.path == "/api/v1/public/businesses/{slug}/bookings" for o in operations)
    tables = [
        r["tablename"]
        for r in await owner_conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> ALL($1::text[]) ORDER BY 1",
            list(BACKGROUND_TABLES),
        )
    ]

    failures: list[str] = []
    sent = 0
    for op in operations:
        has_params = bool(_PARAM.search(op.path))
        for auth in ({}, staff):
            for label, url, kwargs in requests_for(spec, op, valid):
                if op.stream and not _stream_request_ends(label, has_params, bool(auth)):
                    continue
                headers = {**auth, **kwargs.pop("headers", {})}
                before = await _row_counts(owner_conn, tables) if op.method != "GET" else None
                where = f"{op.method} {op.path} [{label}{' +token' if auth else ''}]"
                try:
                    async with asyncio.timeout(10):
                        response = await client.request(op.method, url, headers=headers, **kwargs)
                except TimeoutError:
                    failures.append(f"{where}: no answer within 10 s")
                    continue
                sent += 1
                status = response.status_code
                if status >= 500:
                    failures.append(f"{where}: {status} {response.text[:200]}")
                    continue
                api = op.path.startswith("/api/") or op.path in ("/healthz", "/readyz")
                if status >= 400 and api:
                    media = response.headers.get("content-type", "")
                    if media != "application/problem+json" or "code" not in response.json():
                        failures.append(f"{where}: {status} not a problem ({media})")
                if before is not None and status >= 400:
                    after = await _row_counts(owner_conn, tables)
                    if after != before:
                        changed = [
                            t for t, b, a in zip(tables, before, after, strict=True) if a != b
                        ]
                        failures.append(f"{where}: refused ({status}) but changed {changed}")
    assert sent > 500
    assert failures == [], "\n".join(failures[:50])
