"""Normalisers for method arguments that may be given as objects or as plain ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sevenbridges.errors import SbgError
from sevenbridges.meta.resource import Resource

__all__ = ["Transform"]


def _identify(value: Any, label: str, class_names: tuple[str, ...], attribute: str = "id") -> Any:
    """Return ``value`` if it is a string, else its ``attribute``.

    A resource must belong to one of ``class_names`` (matched by name so this module does not
    import every model); other objects are accepted when they carry the attribute.
    """
    if not value:
        raise SbgError(f"{label.capitalize()} is required!")
    if isinstance(value, str):
        return value
    if isinstance(value, Resource) and class_names:
        lineage = {klass.__name__ for klass in type(value).__mro__}
        if lineage.isdisjoint(class_names):
            raise SbgError(f"Invalid {label} parameter!")
    identifier = getattr(value, attribute, None)
    if not identifier:
        raise SbgError(f"Invalid {label} parameter!")
    return identifier


class Transform:
    """Static helpers: turn resources or ids into the id strings the API expects."""

    @staticmethod
    def to_resource(item: Any) -> Any:
        return _identify(item, "resource", ())

    @staticmethod
    def to_project(project: Any) -> Any:
        return _identify(project, "project", ("Project",))

    @staticmethod
    def to_task(task: Any) -> Any:
        return _identify(task, "task", ("Task",))

    @staticmethod
    def to_app(app: Any) -> Any:
        return _identify(app, "app", ("App",))

    @staticmethod
    def to_file(file_: Any) -> Any:
        return _identify(file_, "file", ("File",))

    @staticmethod
    def to_user(user: Any) -> Any:
        return _identify(user, "user", ("User",), attribute="username")

    @staticmethod
    def to_billing_group(billing_group: Any) -> Any:
        return _identify(billing_group, "billing group", ("BillingGroup",))

    @staticmethod
    def to_volume(volume: Any) -> Any:
        return _identify(volume, "volume", ("Volume",))

    @staticmethod
    def to_marker(marker: Any) -> Any:
        return _identify(marker, "marker", ("Marker",))

    @staticmethod
    def to_division(division: Any) -> Any:
        return _identify(division, "division", ("Division",))

    @staticmethod
    def to_team(team: Any) -> Any:
        return _identify(team, "team", ("Team",))

    @staticmethod
    def to_import(import_: Any) -> Any:
        return _identify(import_, "import", ("Import",))

    @staticmethod
    def to_export(export: Any) -> Any:
        return _identify(export, "export", ("Export",))

    @staticmethod
    def to_dataset(dataset: Any) -> Any:
        return _identify(dataset, "dataset", ("Dataset",))

    @staticmethod
    def to_member(member: Any) -> Any:
        return _identify(member, "member", ("Member",), attribute="username")

    @staticmethod
    def to_automation(automation: Any) -> Any:
        return _identify(automation, "automation", ("Automation",))

    @staticmethod
    def to_automation_member(member: Any) -> Any:
        return _identify(member, "automation member", ("AutomationMember",), attribute="username")

    @staticmethod
    def to_automation_package(package: Any) -> Any:
        return _identify(package, "automation package", ("AutomationPackage",))

    @staticmethod
    def to_async_job(job: Any) -> Any:
        return _identify(job, "async job", ("AsyncJob",))

    @staticmethod
    def to_automation_run(run: Any) -> Any:
        return _identify(run, "automation run", ("AutomationRun",))

    @staticmethod
    def to_location(location: Any) -> str:
        if not location:
            raise SbgError("Location is required!")
        if not isinstance(location, str):
            raise SbgError("Invalid location parameter!")
        return location

    @staticmethod
    def to_datestring(value: Any) -> str | None:
        """Strings pass through; datetimes become ``YYYY-MM-DDTHH:MM:SS``; anything else None."""
        if isinstance(value, str):
            return value
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        return None

    @staticmethod
    def to_tags(tags: Any) -> list[Any]:
        """A list of tags; the platform's query syntax cannot carry commas inside a tag."""
        if not isinstance(tags, list):
            raise SbgError("Tags argument must be a list.")
        for tag in tags:
            if "," in str(tag):
                raise SbgError(f"Tag {tag!r} contains a comma, which is not allowed.")
        return tags
