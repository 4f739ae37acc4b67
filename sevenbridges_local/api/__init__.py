"""HTTP layer: one router per resource; each parses, calls a service and shapes the JSON."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from sevenbridges_local.api import (
    actions,
    apps,
    async_jobs,
    automations,
    billing,
    bulk_files,
    datasets,
    downloads,
    drs,
    drs_imports,
    exports,
    files,
    imports,
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
# DRS bulk imports (issue 8); the DRS server itself lives outside /v2 (see OUTSIDE_ROUTERS).
ROUTERS += (drs_imports,)
# Imports and exports between volumes and projects (issue 8).
ROUTERS += (imports, exports)
# Teams, divisions, datasets, genome markers, actions (issue 9).
ROUTERS += (teams, datasets, markers, actions)
# Automations: templates, members, code packages and runs that really run (issue 9).
ROUTERS += (automations,)
# Routers with their own prefix, not under /v2: GA4GH DRS v1.
OUTSIDE_ROUTERS = ((drs.DRS_PREFIX, drs),)


def include_api(app: FastAPI) -> None:
    """Mount every resource router under ``/v2`` (and the DRS server under its own prefix)."""
    mounts = [(API_PREFIX, module) for module in ROUTERS] + list(OUTSIDE_ROUTERS)
    for prefix, module in mounts:
        # Every request body must pass the boundary (size, strict JSON, platform errors).
        for route in module.router.routes:
            if isinstance(route, APIRoute) and not isinstance(route, BoundaryRoute):
                raise TypeError(f"{module.__name__}: {route.path} is not a BoundaryRoute")
        app.include_router(module.router, prefix=prefix)
    # Signed streams of volume aliases: outside /v2, the URL's signature stands for the token.
    app.include_router(downloads.content_router)
