"""JSON shapes of volume imports and exports (rest-api.md §3.9, §3.10)."""

from __future__ import annotations

from typing import Any

from sevenbridges_local.api.file_shapes import file_json
from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.db.files import File
from sevenbridges_local.db.volume_jobs import VolumeExport, VolumeImport
from sevenbridges_local.errors import ApiError


def _times(body: dict[str, Any], job: VolumeImport | VolumeExport) -> None:
    if job.started_on is not None:
        body["started_on"] = format_timestamp(job.started_on)
    if job.finished_on is not None:
        body["finished_on"] = format_timestamp(job.finished_on)


def import_json(root: str, job: VolumeImport, result: File | None) -> dict[str, Any]:
    stored = job.destination or {}
    destination = {key: stored[key] for key in ("project", "parent", "name") if key in stored}
    body: dict[str, Any] = {
        "href": f"{root}/storage/imports/{job.id}",
        "id": job.id,
        "state": job.state,
        "overwrite": job.overwrite,
        "autorename": job.autorename,
        "preserve_folder_structure": job.preserve_folder_structure,
        "source": {"volume": job.volume_label, "location": job.location},
        "destination": destination,
    }
    _times(body, job)
    if result is not None and job.state == "COMPLETED":
        body["result"] = file_json(root, result)
    if job.error:
        body["error"] = dict(job.error)
    return body


def export_json(root: str, job: VolumeExport, result: File | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "href": f"{root}/storage/exports/{job.id}",
        "id": job.id,
        "state": job.state,
        "source": {"file": job.file_id},
        "destination": {"volume": job.volume_label, "location": job.location},
        "overwrite": job.overwrite,
        "properties": dict(job.properties or {}),
    }
    _times(body, job)
    if result is not None:
        body["result"] = file_json(root, result)
    if job.error:
        body["error"] = dict(job.error)
    return body


def bulk_record(body: dict[str, Any] | ApiError) -> dict[str, Any]:
    if isinstance(body, ApiError):
        return {"error": body.body()}
    return {"resource": body}
