"""``GET /api/v1/public/businesses/{slug}/availability`` (SPEC §5): HTTP only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from slotwise.availability import service
from slotwise.availability.schemas import AvailabilityQuery, AvailabilityRead
from slotwise.core.deps import DatabaseDep, TenantResolverDep
from slotwise.core.problems import openapi_error_responses
from slotwise.core.ratelimit import PublicRateLimitDep

router = APIRouter(prefix="/api/v1/public", tags=["public"])

AvailabilityQueryDep = Annotated[AvailabilityQuery, Query()]


@router.get(
    "/businesses/{slug}/availability",
    summary="Bookable slots of a service, per local date",
    description=(
        "Every local date of `[date_from, date_to]` (at most 62 days) is listed, empty or "
        "not. Without `professional_id` the slots of every professional offering the "
        "service are merged: one slot per start, with the professionals free then. Times "
        "carry the business's local offset."
    ),
    response_model=AvailabilityRead,
    responses=openapi_error_responses(404, 422, 429),
)
async def get_availability(
    slug: str,
    query: AvailabilityQueryDep,
    database: DatabaseDep,
    tenants: TenantResolverDep,
    _limit: PublicRateLimitDep,
) -> Response:
    result = await service.list_availability(database, tenants, slug, query)
    # Serialized by pydantic-core directly: the answer can hold thousands of slots.
    return Response(result.model_dump_json(), media_type="application/json")
