"""All page routes: the public pages, the staff dashboard and the hashed static files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from slotwise.core.problems import openapi_error_responses
from slotwise.web.dashboard import router as dashboard_router
from slotwise.web.public import router as public_router
from slotwise.web.security import ASSETS
from slotwise.web.settings_pages import router as settings_router

router = APIRouter()
router.include_router(public_router)
router.include_router(dashboard_router)
router.include_router(settings_router)


@router.get(
    "/static/{name:path}",
    summary="A static file by its content-hashed name (cached forever, gzip when accepted)",
    tags=["pages"],
    response_class=Response,
    responses={
        200: {"description": "The file", "content": {"text/css": {}, "text/javascript": {}}},
        304: {"description": "Not modified"},
        **openapi_error_responses(404, 422),
    },
)
async def static_file(request: Request, name: Annotated[str, Path(max_length=200)]) -> Response:
    return ASSETS.response(name, request)
