"""HTTP layer: one router per resource; each parses, calls a service and shapes the JSON."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from sevenbridges_local.api import (
    actions,
    apps,
    async_jobs,
    billing,
    bulk_files,
    datasets,
    downloads,
    files,
    invoices,
    local,
    markers,
    members,
    projects,
    rate_limit,
    root,
    tasks,
    teams,
    uploads,
    users,
    volumes,
)
from sevenbridges_local.api.boundary import BoundaryRoute

API_PREFIX = "/v2"
ROUTERS = (root, rate_limit, users, projects, members, billing, invoices, local)
# Files, folders, bulk file operations and async file jobs (issue 3).
ROUTERS += (files, bulk_files, async_jobs)
# Multipart uploads and download URLs (the bytes go through the data plane).
ROUTERS += (uploads, downloads)
# Apps: raw CWL, revisions, copies (issue 4).
ROUTERS += (apps,)
# Tasks: drafts, runs, aborts, clones, execution details (issue 4).
ROUTERS += (tasks,)
# Volumes: cloud buckets, their objects and members (issue 8).
ROUTERS += (volumes,)
# Teams, divisions, datasets, genome markers, actions (issue 9).
ROUTERS += (teams, datasets, markers, actions)


def include_api(app: FastAPI) -> None:
    """Mount every resource router under ``/v2``."""
    for module in ROUTERS:
        # Every request body must pass the boundary (size, strict JSON, platform errors).
        for route in module.router.routes:
            if isinstance(route, APIRoute) and not isinstance(route, BoundaryRoute):
                raise TypeError(f"{module.__name__}: {route.path} is not a BoundaryRoute")
        app.include_router(module.router, prefix=API_PREFIX)
