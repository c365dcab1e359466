"""``/healthz`` (process alive), ``/readyz`` (database reachable, migrations at head),
``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from slotwise.core.deps import DatabaseDep
from slotwise.db.migrate import head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to serve: database reachable and migrations at head",
    responses={503: {"description": "Not ready"}},
)
async def readyz(database: DatabaseDep) -> Response:
    body: dict[str, Any] = {"status": "ok", "expected_revision": head_revision()}
    try:
        async with asyncio.timeout(3):
            async with database.transaction(None) as conn:
                revision = (
                    await conn.execute(text("SELECT version_num FROM alembic_version"))
                ).scalar_one_or_none()
    except Exception:
        return JSONResponse(
            {"status": "unavailable", "reason": "database unreachable"}, status_code=503
        )
    body["revision"] = revision
    if revision != body["expected_revision"]:
        body["status"] = "migrations_pending"
        return JSONResponse(body, status_code=503)
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
