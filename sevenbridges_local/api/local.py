"""Local-only control endpoint ``{root}/_local/faults`` (platform admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sevenbridges_local import errors
from sevenbridges_local.api.deps import CurrentActor, JsonBody
from sevenbridges_local.faults import FaultSwitches
from sevenbridges_local.services.context import Actor
from sevenbridges_local.signing import MAX_TTL_SECONDS
from sevenbridges_local.validation import expect_bool, expect_int

router = APIRouter(tags=["local platform control"])

FAULT_KEYS = (
    "maintenance",
    "rate_limit",
    "rate_limit_window",
    "signed_url_ttl",
    "drop_transfers",
    "corrupt_parts",
    "transfer_delay_ms",
)
# Transfer switches: name -> (smallest, largest) accepted value.
TRANSFER_FAULT_RANGES = {
    "signed_url_ttl": (0, MAX_TTL_SECONDS),
    "drop_transfers": (0, 1_000_000),
    "corrupt_parts": (0, 1_000_000),
    "transfer_delay_ms": (0, 600_000),
}


def _require_admin(actor: Actor) -> None:
    if not actor.is_platform_admin:
        raise errors.forbidden("Only platform administrators can change fault injection.")


def _switches(request: Request) -> FaultSwitches:
    return request.app.state.faults


def parse_fault_changes(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(FAULT_KEYS))
    if unknown:
        raise errors.bad_request(
            f"Unknown fault setting(s): {', '.join(unknown)}; expected {', '.join(FAULT_KEYS)}."
        )
    changes: dict[str, Any] = {}
    if "maintenance" in body:
        changes["maintenance"] = expect_bool(body["maintenance"], "maintenance")
    if "rate_limit" in body:
        changes["rate_limit"] = expect_int(body["rate_limit"], "rate_limit")
        if changes["rate_limit"] < 0:
            raise errors.bad_request("Invalid value for 'rate_limit': must not be negative.")
    if "rate_limit_window" in body:
        changes["rate_limit_window"] = expect_int(body["rate_limit_window"], "rate_limit_window")
        if changes["rate_limit_window"] < 1:
            raise errors.bad_request("Invalid value for 'rate_limit_window': at least 1 second.")
    for key, (smallest, largest) in TRANSFER_FAULT_RANGES.items():
        if key in body:
            changes[key] = expect_int(body[key], key)
            if not smallest <= changes[key] <= largest:
                raise errors.bad_request(
                    f"Invalid value for '{key}': expected {smallest} to {largest}."
                )
    return changes


# async: the switches live in memory, so these run on the event loop without a thread hop.
@router.get("/_local/faults", summary="Current fault-injection switches")
async def get_faults(request: Request, actor: CurrentActor) -> JSONResponse:
    _require_admin(actor)
    return JSONResponse(_switches(request).state.as_json())


@router.put("/_local/faults", summary="Change fault-injection switches (any subset)")
async def put_faults(request: Request, actor: CurrentActor, body: JsonBody) -> JSONResponse:
    _require_admin(actor)
    state = _switches(request).update(**parse_fault_changes(body))
    return JSONResponse(state.as_json())
