"""``GET {root}/rate_limit``: the caller's rate-limit status (not counted against it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local.api.boundary import BoundaryRoute
from sevenbridges_local.api.deps import CurrentActor
from sevenbridges_local.ratelimit import RateStatus

router = APIRouter(tags=["rate limit"], route_class=BoundaryRoute)

UNLIMITED = -1


@router.get("/rate_limit", summary="Rate limit of the caller")
def get_rate_limit(request: Request, _actor: CurrentActor) -> JSONResponse:
    rate: RateStatus = request.state.rate
    return JSONResponse(
        {
            "rate": {"limit": rate.limit, "remaining": rate.remaining, "reset": rate.reset},
            # The platform reports -1 for "no limit on parallel instances".
            "instance_limit": {"limit": UNLIMITED, "remaining": UNLIMITED},
        }
    )
