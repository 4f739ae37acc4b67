"""JSON shapes of files, folders, bulk results, search results and async file jobs."""

from __future__ import annotations

from typing import Any

from sevenbridges_local.clock import format_timestamp
from sevenbridges_local.db.files import File, FileJob
from sevenbridges_local.errors import ApiError

PLATFORM_STORAGE = {"type": "PLATFORM"}


def file_href(root: str, file_id: str) -> str:
    return f"{root}/files/{file_id}"


def file_json(root: str, record: File) -> dict[str, Any]:
    project = record.project
    body: dict[str, Any] = {
        "href": file_href(root, record.id),
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "project": f"{project.owner.username}/{project.slug}",
        "created_on": format_timestamp(record.created_on),
        "modified_on": format_timestamp(record.modified_on),
        "origin": dict(record.origin or {}),
        "storage": dict(record.storage or PLATFORM_STORAGE),
        "metadata": record.metadata_dict,
        "tags": record.tags,
    }
    if not record.is_folder:
        body["size"] = record.size
    if record.parent_id is not None:
        body["parent"] = record.parent_id
    return body


def search_item_json(root: str, record: File) -> dict[str, Any]:
    """Search results name the type in capitals, as the platform's query language does."""
    body = file_json(root, record)
    body["type"] = record.type.upper()
    return body


def bulk_item_json(root: str, outcome: File | dict[str, Any] | ApiError) -> dict[str, Any]:
    if isinstance(outcome, ApiError):
        return {"error": outcome.body()}
    if isinstance(outcome, File):
        return {"resource": file_json(root, outcome)}
    resource = dict(outcome)
    if "id" in resource:
        resource.setdefault("href", file_href(root, str(resource["id"])))
    return {"resource": resource}


def job_json(root: str, job: FileJob, existing: dict[str, File]) -> dict[str, Any]:
    """A job; result resources that still exist are shown in full, others by id and name."""
    result: list[dict[str, Any]] = []
    for entry in job.result or []:
        resource = entry.get("resource")
        if isinstance(resource, dict):
            current = existing.get(str(resource.get("id")))
            if current is not None and job.type != "DELETE":
                result.append({"resource": file_json(root, current)})
            else:
                result.append(
                    {"resource": {**resource, "href": file_href(root, str(resource.get("id")))}}
                )
        else:
            result.append({"error": entry.get("error")})
    body: dict[str, Any] = {
        "href": f"{root}/async/files/{job.type.lower()}/{job.id}",
        "id": job.id,
        "type": job.type,
        "state": job.state,
        "result": result,
        "total_files": job.total_files,
        "failed_files": job.failed_files,
        "completed_files": job.completed_files,
    }
    if job.started_on is not None:
        body["started_on"] = format_timestamp(job.started_on)
    if job.finished_on is not None:
        body["finished_on"] = format_timestamp(job.finished_on)
    return body
