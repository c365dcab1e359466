from __future__ import annotations

import httpx


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_migrations_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["revision"] == body["expected_revision"]


async def test_readyz_is_503_when_migrations_are_behind(
    client: httpx.AsyncClient, owner_conn
) -> None:
    await owner_conn.execute("UPDATE alembic_version SET version_num = 'old'")
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "migrations_pending"


async def test_unknown_path_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["detail"]


async def test_problem_detail_in_portuguese(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert response.json()["detail"] == "Não encontramos o que você procurava."
    assert response.headers["content-language"] == "pt-BR"


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
