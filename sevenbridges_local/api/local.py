"""Local-only control endpoint ``{root}/_local/faults`` (platform admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, StrictBool, StrictInt

from sevenbridges_local import errors
from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, omittable
from sevenbridges_local.api.deps import CurrentActor
from sevenbridges_local.faults import FaultSwitches
from sevenbridges_local.services.context import Actor
from sevenbridges_local.signing import MAX_TTL_SECONDS

router = APIRouter(tags=["local platform control"], route_class=BoundaryRoute)


class FaultChanges(RequestBody):
    """``PUT /_local/faults``: any subset of the switches; unknown names are refused."""

    model_config = ConfigDict(extra="forbid")

    maintenance: StrictBool = omittable()
    rate_limit: Annotated[StrictInt, Field(ge=0)] = omittable()
    rate_limit_window: Annotated[StrictInt, Field(ge=1)] = omittable()
    signed_url_ttl: Annotated[StrictInt, Field(ge=0, le=MAX_TTL_SECONDS)] = omittable()
    drop_transfers: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = omittable()
    corrupt_parts: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = omittable()
    transfer_delay_ms: Annotated[StrictInt, Field(ge=0, le=600_000)] = omittable()
    wan_latency_ms: Annotated[StrictInt, Field(ge=0, le=600_000)] = omittable()
    wan_bandwidth_mbps: Annotated[StrictInt, Field(ge=0, le=1_000_000)] = omittable()


def _require_admin(actor: Actor) -> None:
    if not actor.is_platform_admin:
        raise errors.forbidden("Only platform administrators can change fault injection.")


def _switches(request: Request) -> FaultSwitches:
    return request.app.state.faults


# async: the switches live in memory, so these run on the event loop without a thread hop.
@router.get("/_local/faults", summary="Current fault-injection switches")
async def get_faults(request: Request, actor: CurrentActor) -> JSONResponse:
    _require_admin(actor)
    return JSONResponse(_switches(request).state.as_json())


@router.put("/_local/faults", summary="Change fault-injection switches (any subset)")
async def put_faults(
    request: Request, actor: CurrentActor, body: FaultChanges | None = None
) -> JSONResponse:
    _require_admin(actor)
    state = _switches(request).update(**(body.given() if body is not None else {}))
    return JSONResponse(state.as_json())
