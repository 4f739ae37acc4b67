"""Automations: templates (:class:`Automation`), their members (:class:`AutomationMember`),
code packages (:class:`AutomationPackage`) and runs (:class:`AutomationRun`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import ResourceNotModified, SbgError
from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    DictField,
    HrefField,
    IntegerField,
    StringField,
    UuidField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.enums import AutomationRunActions, RequestParameters
from sevenbridges.models.file import File
from sevenbridges.models.member import Permissions
from sevenbridges.transfer.upload import CodePackageUpload

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


def _same(one: Any, other: Any, attribute: str = "id") -> bool:
    if type(other) is not type(one):
        return False
    return one is other or getattr(one, attribute) == getattr(other, attribute)


class AutomationPackage(Resource):
    """A code package (an archive with a version and an input schema) of an automation."""

    _URL = {
        "query": "/automation/automations/{automation_id}/packages",
        "get": "/automation/packages/{id}",
        "archive": "/automation/automations/{automation_id}/packages/{id}/actions/archive",
        "restore": "/automation/automations/{automation_id}/packages/{id}/actions/restore",
    }

    id = StringField(read_only=True)
    automation = UuidField(read_only=True)
    version = StringField(read_only=True)
    location = StringField(read_only=True)
    schema = DictField(read_only=True)
    created_by = StringField(read_only=True)
    created_on = DateTimeField(read_only=True)
    archived = BooleanField(read_only=True)
    custom_url = StringField(read_only=False)
    memory_limit = IntegerField(read_only=False)
    python = StringField(read_only=True)

    def __eq__(self, other: object) -> bool:
        return _same(self, other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<AutomationPackage: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        automation: Any,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        url = cls._URL["query"].format(automation_id=Transform.to_automation(automation))
        return cls._query(url=url, offset=offset, limit=limit, api=api)

    @classmethod
    def create(
        cls,
        automation: Any,
        version: str,
        location: str,
        schema: dict[str, Any],
        memory_limit: int | None = None,
        python: str | None = None,
        api: Api | None = None,
    ) -> AutomationPackage:
        """Register an uploaded archive (``location``: its file id) as a code package."""
        automation_id = Transform.to_automation(automation)
        api = cls._resolve_api(api)
        for value, what in ((version, "version"), (location, "location"), (schema, "schema")):
            if value is None:
                raise SbgError(f"Code package {what} is required!")
        data = {
            "version": version,
            "location": location,
            "schema": schema,
            "memory_limit": memory_limit,
            "python": python,
        }
        logger.debug("Adding code package %s to automation %s", version, automation_id)
        response = api.post(cls._URL["query"].format(automation_id=automation_id), data=data)
        return AutomationPackage(api=api, **response.json())

    def _action(self, action: str) -> AutomationPackage:
        url = self._URL[action].format(
            automation_id=Transform.to_automation(self.automation), id=self.id
        )
        return AutomationPackage(api=self._api, **self._api.post(url=url).json())

    @inplace_reload
    def archive(self) -> AutomationPackage:
        return self._action("archive")

    @inplace_reload
    def restore(self) -> AutomationPackage:
        return self._action("restore")

    @inplace_reload
    def save(self, inplace: bool = True) -> AutomationPackage:
        """PATCH the changed writable fields (``custom_url``, ``memory_limit``)."""
        changed = self._modified_data()
        if not changed:
            raise ResourceNotModified()
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=changed)
        return AutomationPackage(api=self._api, **response.json())


class AutomationMember(Resource):
    """A user or a team with permissions on an automation."""

    _URL = {
        "query": "/automation/automations/{automation_id}/members",
        "get": "/automation/automations/{automation_id}/members/{id}",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    username = StringField(read_only=True)
    email = StringField(read_only=True)
    type = StringField(read_only=True)
    name = StringField(read_only=True)
    permissions = CompoundField(Permissions, read_only=False)

    def __eq__(self, other: object) -> bool:
        return _same(self, other, "username")

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.username))

    def __str__(self) -> str:
        return f"<AutomationMember: username={self.username}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        automation: Any = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        automation_id = Transform.to_automation(automation)
        return cls._query(
            url=cls._URL["query"].format(automation_id=automation_id),
            automation_id=automation_id,
            offset=offset,
            limit=limit,
            api=api,
        )

    @classmethod
    def get(cls, id: Any, automation: Any, api: Api | None = None) -> AutomationMember:  # type: ignore[override]
        api = cls._resolve_api(api)
        url = cls._URL["get"].format(
            automation_id=Transform.to_automation(automation), id=Transform.to_resource(id)
        )
        return AutomationMember(api=api, **api.get(url=url).json())

    @classmethod
    def _add(cls, automation: Any, data: dict[str, Any], permissions: Any, api: Any) -> Any:
        api = cls._resolve_api(api)
        if isinstance(permissions, dict):
            data["permissions"] = permissions
        url = cls._URL["query"].format(automation_id=Transform.to_automation(automation))
        return AutomationMember(api=api, **api.post(url=url, data=data).json())

    @classmethod
    def add(
        cls, user: Any, permissions: Any, automation: Any, api: Api | None = None
    ) -> AutomationMember:
        return cls._add(automation, {"username": Transform.to_user(user)}, permissions, api)

    @classmethod
    def add_team(
        cls, team: Any, permissions: Any, automation: Any, api: Api | None = None
    ) -> AutomationMember:
        data = {"id": Transform.to_team(team), "type": "team"}
        return cls._add(automation, data, permissions, api)

    @classmethod
    def _remove(cls, name: str, automation: Any, api: Any) -> None:
        api = cls._resolve_api(api)
        url = cls._URL["get"].format(automation_id=Transform.to_automation(automation), id=name)
        api.delete(url)

    @classmethod
    def remove(cls, user: Any, automation: Any, api: Api | None = None) -> None:
        cls._remove(Transform.to_user(user), automation, api)

    @classmethod
    def remove_team(cls, team: Any, automation: Any, api: Api | None = None) -> None:
        cls._remove(Transform.to_team(team), automation, api)

    @inplace_reload
    def save(self, inplace: bool = True) -> AutomationMember:
        """PATCH the member's href with the whole permission set, changes merged in."""
        changed = self._modified_data().get("permissions")
        if not changed:
            raise ResourceNotModified()
        permissions = dict(self.field("permissions") or {})
        permissions.update(changed)
        self._api.patch(url=self.href, data={"permissions": permissions}, append_base=False)
        current = {name: self.field(name) for name in self._fields}
        current["permissions"] = permissions
        return AutomationMember(
            api=self._api, **{k: v for k, v in current.items() if v is not None}
        )


class Automation(Resource):
    """An automation template: members, code packages, and runs of those packages."""

    _URL = {
        "query": "/automation/automations",
        "get": "/automation/automations/{id}",
        "member": AutomationMember._URL["get"],
        "members": AutomationMember._URL["query"],
        "packages": AutomationPackage._URL["query"],
        "archive": "/automation/automations/{automation_id}/actions/archive",
        "restore": "/automation/automations/{automation_id}/actions/restore",
    }

    href = HrefField(read_only=True)
    id = UuidField(read_only=True)
    name = StringField(read_only=False)
    description = StringField(read_only=False)
    billing_group = UuidField(read_only=False)
    owner = StringField(read_only=True)
    created_by = StringField(read_only=True)
    created_on = DateTimeField(read_only=True)
    modified_by = StringField(read_only=True)
    modified_on = DateTimeField(read_only=False)
    archived = BooleanField(read_only=True)
    secret_settings = DictField(read_only=False)
    memory_limit = IntegerField(read_only=False)
    project_based = BooleanField(read_only=False)

    def __eq__(self, other: object) -> bool:
        return _same(self, other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<Automation: id={self.id} name={self.name}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        name: str | None = None,
        include_archived: bool = False,
        project_based: bool | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        return cls._query(
            url=cls._URL["query"],
            name=name,
            include_archived=include_archived,
            project_based=project_based,
            offset=offset,
            limit=limit,
            api=api,
        )

    @classmethod
    def create(
        cls,
        name: str,
        description: str | None = None,
        billing_group: Any = None,
        secret_settings: dict[str, Any] | None = None,
        project_based: bool | None = None,
        memory_limit: int | None = None,
        api: Api | None = None,
    ) -> Automation:
        api = cls._resolve_api(api)
        if name is None:
            raise SbgError("Automation name is required!")
        data: dict[str, Any] = {"name": name}
        if billing_group:
            data["billing_group"] = Transform.to_billing_group(billing_group)
        optional = {
            "description": description,
            "secret_settings": secret_settings,
            "project_based": project_based,
            "memory_limit": memory_limit,
        }
        data.update({key: value for key, value in optional.items() if value})
        logger.debug("Creating automation %r", name)
        return Automation(api=api, **api.post(url=cls._URL["query"], data=data).json())

    @inplace_reload
    def save(self, inplace: bool = True) -> Automation:
        changed = self._modified_data()
        if not changed:
            raise ResourceNotModified()
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=changed)
        return Automation(api=self._api, **response.json())

    @inplace_reload
    def archive(self) -> Automation:
        url = self._URL["archive"].format(automation_id=self.id)
        return Automation(api=self._api, **self._api.post(url=url).json())

    @inplace_reload
    def restore(self) -> Automation:
        url = self._URL["restore"].format(automation_id=self.id)
        return Automation(api=self._api, **self._api.post(url=url).json())

    def get_packages(
        self, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        return AutomationPackage.query(
            automation=self.id, offset=offset, limit=limit, api=api or self._api
        )

    @classmethod
    def get_package(cls, package: Any, api: Api | None = None) -> AutomationPackage:
        package_id = Transform.to_automation_package(package)
        return AutomationPackage.get(id=package_id, api=api or cls._API)  # type: ignore[return-value]

    def add_package(
        self,
        version: str,
        file_path: str,
        schema: dict[str, Any],
        file_name: str | None = None,
        python: str | None = None,
        retry_count: int = RequestParameters.DEFAULT_RETRY_COUNT,
        timeout: int = RequestParameters.DEFAULT_TIMEOUT,
        part_size: int | None = None,
        api: Api | None = None,
    ) -> AutomationPackage:
        """Upload the archive at ``file_path`` and register it as version ``version``."""
        api = api or self._api
        if version is None:
            raise SbgError("Code package version is required!")
        if file_path is None:
            raise SbgError("Code package file path is required!")
        upload = CodePackageUpload(
            file_path,
            self.id,
            api=api,
            part_size=part_size,
            file_name=file_name,
            retry_count=retry_count,
            timeout=timeout,
        )
        upload.start()
        upload.wait()
        uploaded = upload.result()
        return AutomationPackage.create(
            self.id, version=version, location=uploaded.id, schema=schema, python=python, api=api
        )

    def get_member(self, username: Any, api: Api | None = None) -> AutomationMember:
        member = Transform.to_automation_member(username)
        return AutomationMember.get(id=member, automation=self.id, api=api or self._api)

    def get_members(
        self, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        return AutomationMember.query(
            automation=self.id, offset=offset, limit=limit, api=api or self._api
        )

    def add_member(self, user: Any, permissions: Any, api: Api | None = None) -> AutomationMember:
        return AutomationMember.add(
            automation=self.id, user=user, permissions=permissions, api=api or self._api
        )

    def remove_member(self, user: Any, api: Api | None = None) -> None:
        AutomationMember.remove(automation=self.id, user=user, api=api or self._api)

    def add_team_member(
        self, team: Any, permissions: Any, api: Api | None = None
    ) -> AutomationMember:
        return AutomationMember.add_team(
            automation=self.id, team=team, permissions=permissions, api=api or self._api
        )

    def remove_team_member(self, team: Any, api: Api | None = None) -> None:
        AutomationMember.remove_team(automation=self.id, team=team, api=api or self._api)

    def get_runs(
        self,
        package: Any = None,
        status: str | None = None,
        name: str | None = None,
        created_by: str | None = None,
        created_from: Any = None,
        created_to: Any = None,
        project_id: str | None = None,
        order_by: str | None = None,
        order: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        return AutomationRun.query(
            automation=self.id,
            package=package,
            status=status,
            name=name,
            created_by=created_by,
            created_from=created_from,
            created_to=created_to,
            project_id=project_id,
            order_by=order_by,
            order=order,
            offset=offset,
            limit=limit,
            api=api or self._api,
        )


class AutomationRun(Resource):
    """One run of a code package: status, inputs, outputs, log file and state document."""

    _URL = {
        "query": "/automation/runs",
        "get": "/automation/runs/{id}",
        "actions": "/automation/runs/{id}/actions/{action}",
        "state": "/automation/runs/{id}/state",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False)
    automation = CompoundField(Automation, read_only=True)
    package = CompoundField(AutomationPackage, read_only=True)
    inputs = DictField(read_only=False)
    outputs = DictField(read_only=True)
    settings = DictField(read_only=False)
    created_on = DateTimeField(read_only=True)
    start_time = DateTimeField(read_only=True)
    end_time = DateTimeField(read_only=True)
    resumed_from = StringField(read_only=True)
    created_by = StringField(read_only=True)
    status = StringField(read_only=True)
    message = StringField(read_only=True)
    execution_details = DictField(read_only=True)
    memory_limit = IntegerField(read_only=False)
    project_id = StringField(read_only=True)

    def __eq__(self, other: object) -> bool:
        return _same(self, other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __str__(self) -> str:
        return f"<AutomationRun: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        automation: Any = None,
        package: Any = None,
        status: str | None = None,
        name: str | None = None,
        created_by: str | None = None,
        created_from: Any = None,
        created_to: Any = None,
        project_id: str | None = None,
        order_by: str | None = None,
        order: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        return cls._query(
            url=cls._URL["query"],
            name=name,
            automation_id=Transform.to_automation(automation) if automation else None,
            package_id=Transform.to_automation_package(package) if package else None,
            status=status,
            created_by=created_by,
            created_from=created_from,
            created_to=created_to,
            project_id=project_id,
            order_by=order_by,
            order=order,
            offset=offset,
            limit=limit,
            api=api,
        )

    @classmethod
    def create(
        cls,
        package: Any,
        inputs: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        resume_from: Any = None,
        name: str | None = None,
        secret_settings: dict[str, Any] | None = None,
        memory_limit: int | None = None,
        api: Api | None = None,
    ) -> AutomationRun:
        """Start a run of ``package``; ``inputs`` are always sent (``{}`` by default)."""
        api = cls._resolve_api(api)
        data: dict[str, Any] = {
            "package": Transform.to_automation_package(package),
            "inputs": inputs or {},
        }
        optional = {
            "settings": settings,
            "resume_from": resume_from,
            "name": name,
            "secret_settings": secret_settings,
            "memory_limit": memory_limit,
        }
        data.update({key: value for key, value in optional.items() if value})
        return AutomationRun(api=api, **api.post(url=cls._URL["query"], data=data).json())

    @inplace_reload
    def save(self, inplace: bool = True) -> AutomationRun:
        changed = self._modified_data()
        if not changed:
            raise ResourceNotModified()
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=changed)
        return AutomationRun(api=self._api, **response.json())

    @classmethod
    def rerun(
        cls,
        id: Any,
        package: Any = None,
        inputs: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        resume_from: Any = None,
        name: str | None = None,
        secret_settings: dict[str, Any] | None = None,
        merge: bool = True,
        api: Api | None = None,
    ) -> AutomationRun:
        """Start the run ``id`` again.

        Like the official 2.11 client, the request has no body: the new run repeats the old
        one's package, inputs and settings, and the override arguments are accepted but unused.
        """
        api = cls._resolve_api(api)
        run_id = Transform.to_automation_run(id)
        url = cls._URL["actions"].format(id=run_id, action=AutomationRunActions.RERUN)
        return AutomationRun(api=api, **api.post(url=url).json())

    def stop(self, api: Api | None = None) -> bytes:
        """Ask the platform to stop the run; returns the raw response body."""
        api = api or self._api
        url = self._URL["actions"].format(id=self.id, action=AutomationRunActions.STOP)
        return api.post(url=url).content

    def get_log_file(self, api: Api | None = None) -> File | None:
        """The run's log as a platform file (None until the run has ended)."""
        details = self.execution_details or {}
        log_file = details.get("log_file")
        return File(api=api or self._api, **log_file) if log_file else None

    def get_state(self, api: Api | None = None) -> Any:
        """The run's state document (its state file as JSON)."""
        api = api or self._api
        return api.get(self._URL["state"].format(id=self.id)).json()
