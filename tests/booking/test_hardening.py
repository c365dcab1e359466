"""Request hardening: oversized, mistyped and malformed bodies are problems, never crashes;
framework errors (405, malformed JSON, wrong types) are problem+json too."""

from __future__ import annotations

import httpx
import pytest

from slotwise.core.hardening import MAX_BODY_BYTES, json_problem
from tests.booking.conftest import problem

# Any JSON endpoint: the middleware answers before routing (and the body check before the
# handler would look the business up).
PATH = "/api/v1/public/businesses/no-such-business/bookings"


async def _post(client: httpx.AsyncClient, content: bytes, content_type: str) -> httpx.Response:
    return await client.post(PATH, content=content, headers={"Content-Type": content_type})


async def test_a_body_over_64_kib_is_413(client: httpx.AsyncClient) -> None:
    body = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
    problem(await _post(client, body, "application/json"), 413, "payload_too_large")


async def test_a_chunked_body_over_64_kib_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(70):
            yield b"x" * 1024

    response = await client.post(
        PATH, content=chunks(), headers={"Content-Type": "application/json"}
    )
    problem(response, 413, "payload_too_large")


async def test_a_non_json_body_on_the_api_is_415(client: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "", "application/xml"):
        problem(await _post(client, b"a=1", content_type), 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"email": "\xff\xfe"}', "The request body is not valid UTF-8."),
        (b"[" * 5000 + b"]" * 5000, "The JSON document is nested too deeply."),
        (b'{"n": 1' + b"0" * 40 + b"}", "A number in the request has too many digits."),
        (b'{"email": "a\\u0000b"}', "The request contains a NUL character."),
        (b'{"email": "\\ud800"}', "The request contains an invalid Unicode character."),
        (b'{"email": ', "The request body is not valid JSON."),
    ],
)
async def test_malformed_json_is_422(
    client: httpx.AsyncClient, content: bytes, message: str
) -> None:
    body = problem(await _post(client, content, "application/json"), 422, "validation_error")
    assert body["errors"] == [{"field": "body", "message": message}]


async def test_nul_in_the_query_string_is_422(client: httpx.AsyncClient) -> None:
    problem(await client.get("/healthz?x=%00"), 422, "validation_error")


async def test_json_with_a_charset_and_vendor_json_pass(client: httpx.AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/problem+json"):
        response = await _post(client, b'{"notes": "hello"}', content_type)
        assert response.status_code == 422  # reached the endpoint: fields are missing
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"service_id", "start", "customer"} <= fields


async def test_32_levels_are_fine_33_are_not() -> None:
    assert json_problem(b"[" * 32 + b"]" * 32) is None
    assert json_problem(b"[" * 33 + b"]" * 33) is not None
    assert json_problem(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') is None
    assert json_problem(b'{"n": 123456789012345678901234567890}') is None


async def test_framework_errors_are_problems(client: httpx.AsyncClient) -> None:
    not_allowed = await client.delete("/healthz")
    problem(not_allowed, 405, "method_not_allowed")
    assert "GET" in not_allowed.headers["allow"]
    wrong_type = await client.post(PATH, json={"service_id": 5, "start": ["x"]})
    problem(wrong_type, 422, "validation_error")
    problem(await client.get("/nowhere"), 404, "not_found")


async def test_a_405_names_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.request("OPTIONS", "/api/v1/appointments")
    problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
    response = await client.put(f"/api/v1/appointments/{'0' * 8}-0000-0000-0000-{'0' * 12}")
    assert set(response.headers["allow"].split(", ")) >= {"GET", "PATCH"}
