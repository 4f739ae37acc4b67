"""HTTP layer: one router per resource; each parses, calls a service and shapes the JSON."""

from __future__ import annotations

from fastapi import FastAPI

from sevenbridges_local.api import (
    billing,
    invoices,
    local,
    members,
    projects,
    rate_limit,
    root,
    users,
)

API_PREFIX = "/v2"
ROUTERS = (root, rate_limit, users, projects, members, billing, invoices, local)


def include_api(app: FastAPI) -> None:
    """Mount every resource router under ``/v2``."""
    for module in ROUTERS:
        app.include_router(module.router, prefix=API_PREFIX)
