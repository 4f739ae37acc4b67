"""Projects and their members."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import ResourceNotModified, SbgError
from sevenbridges.meta.fields import (
    BasicListField,
    CompoundField,
    DateTimeField,
    HrefField,
    StringField,
    UuidField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.projects.settings import Settings
from sevenbridges.models.member import Member

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection
    from sevenbridges.models.task import Task

logger = logging.getLogger(__name__)


def _member_username(member: Any) -> str:
    """Username from a string, a ``User`` or a ``Member``."""
    if isinstance(member, Member):
        return Transform.to_member(member)
    return Transform.to_user(member)


class Project(Resource):
    """A project: the unit of collaboration, holding files, apps and tasks."""

    _URL = {
        "query": "/projects/{owner}",
        "create": "/projects",
        "get": "/projects/{id}",
        "save": "/projects/{id}",
        "delete": "/projects/{id}",
        "members_query": "/projects/{id}/members",
        "members_add": "/projects/{id}/members",
        "member": "/projects/{id}/members/{username}",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False)
    billing_group = UuidField(read_only=False)
    description = StringField(read_only=False)
    type = StringField(read_only=False, max_length=2)
    tags = BasicListField(read_only=False)
    settings = CompoundField(Settings, read_only=False)
    root_folder = StringField(read_only=True)
    created_by = StringField(read_only=True)
    created_on = DateTimeField(read_only=True)
    modified_on = DateTimeField(read_only=True)
    category = StringField(read_only=False)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<Project: id={self.id}>"

    __repr__ = __str__

    @classmethod
    def query(
        cls,
        owner: Any = None,
        name: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
    ) -> Collection:
        """Projects visible to the caller, optionally of one owner, by name, category or tags."""
        api = api or cls._API
        owner_name = Transform.to_user(owner) if owner else ""
        if tags is not None:
            tags = Transform.to_tags(tags)
        logger.debug("Querying projects (owner=%r, name=%r)", owner_name or None, name)
        return cls._query(
            url=cls._URL["query"].format(owner=owner_name),
            name=name,
            category=category,
            tags=tags,
            offset=offset,
            limit=limit,
            fields="_all",
            api=api,
        )

    @classmethod
    def create(
        cls,
        name: str,
        billing_group: Any = None,
        description: str | None = None,
        tags: list[str] | None = None,
        settings: dict[str, Any] | None = None,
        api: Api | None = None,
    ) -> Project:
        """Create a project owned by the caller."""
        api = api or cls._API
        if name is None:
            raise SbgError("Project name is required!")
        data: dict[str, Any] = {"name": name}
        if billing_group:
            data["billing_group"] = Transform.to_billing_group(billing_group)
        if description:
            data["description"] = description
        if tags:
            data["tags"] = tags
        if settings:
            data["settings"] = settings
        # Build (and throw away) a local object first: field validation rejects wrong types
        # (a numeric name, a non-UUID billing group, tags that are not a list) before any request.
        cls(api=api, **data)
        logger.debug("Creating project %r", name)
        response = api.post(url=cls._URL["create"], data=data)
        return cls(api=api, **response.json())

    @inplace_reload
    def save(self, inplace: bool = True) -> Project:
        """PATCH only the changed writable fields (and only the changed settings keys)."""
        changes = self._modified_data()
        if not changes:
            raise ResourceNotModified()
        logger.debug("Saving project %s: %s", self.id, sorted(changes))
        response = self._api.patch(url=self._URL["save"].format(id=self.id), data=changes)
        return Project(api=self._api, **response.json())

    def get_members(self, offset: int | None = None, limit: int | None = None) -> Collection:
        """One page of this project's members."""
        return Member._query(
            url=self._URL["members_query"].format(id=self.id),
            offset=offset,
            limit=limit,
            api=self._api,
        )

    def _add_member(self, data: dict[str, Any], permissions: Any) -> Member:
        if isinstance(permissions, dict):
            data["permissions"] = dict(permissions)
        response = self._api.post(url=self._URL["members_add"].format(id=self.id), data=data)
        return Member(api=self._api, **response.json())

    def add_member(self, user: Any, permissions: dict[str, bool] | None) -> Member:
        """Add a user (username or ``User``) with the given permission flags."""
        username = Transform.to_user(user)
        logger.debug("Adding user %s to project %s", username, self.id)
        return self._add_member({"username": username, "type": "USER"}, permissions)

    def add_member_team(self, team: Any, permissions: dict[str, bool] | None) -> Member:
        """Add a team (id or ``Team``) with the given permission flags."""
        team_id = Transform.to_team(team)
        logger.debug("Adding team %s to project %s", team_id, self.id)
        return self._add_member({"username": team_id, "type": "TEAM"}, permissions)

    def add_member_division(self, division: Any, permissions: dict[str, bool] | None) -> Member:
        """Add a whole division (id or ``Division``) with the given permission flags."""
        division_id = Transform.to_division(division)
        logger.debug("Adding division %s to project %s", division_id, self.id)
        return self._add_member({"username": division_id, "type": "DIVISION"}, permissions)

    def add_member_email(self, email: str, permissions: dict[str, bool] | None = None) -> Member:
        """Add the user registered with ``email``."""
        logger.debug("Adding member by e-mail to project %s", self.id)
        return self._add_member({"email": email}, permissions)

    def get_member(self, username: Any, api: Api | None = None) -> Member:
        """One member of this project by username (or ``User`` / ``Member``)."""
        api = api or self._api
        name = _member_username(username)
        response = api.get(url=self._URL["member"].format(id=self.id, username=name))
        return Member(api=api, **response.json())

    def remove_member(self, user: Any) -> None:
        """Remove a member (username, ``User`` or ``Member``) from this project."""
        name = _member_username(user)
        logger.debug("Removing member %s from project %s", name, self.id)
        self._api.delete(url=self._URL["member"].format(id=self.id, username=name))

    def get_files(self, offset: int | None = None, limit: int | None = None) -> Collection:
        """One page of the files in this project (its root folder and below, as the API lists)."""
        from sevenbridges.models.file import File

        return File.query(project=self.id, offset=offset, limit=limit, api=self._api)

    def add_files(self, files: Any) -> None:
        """Copy each file (id or ``File``) into this project, keeping its name."""
        from sevenbridges.models.file import File

        for item in files:
            if not isinstance(item, File):
                item = File(id=Transform.to_file(item), api=self._api)
            item.copy(project=self.id)

    def get_apps(self, offset: int | None = None, limit: int | None = None) -> Collection:
        """One page of the apps installed in this project."""
        from sevenbridges.models.app import App

        return App.query(project=self.id, offset=offset, limit=limit, api=self._api)

    def get_tasks(
        self, status: str | None = None, offset: int | None = None, limit: int | None = None
    ) -> Collection:
        """One page of this project's tasks, optionally only those in ``status``."""
        from sevenbridges.models.task import Task

        return Task.query(
            project=self.id, status=status, offset=offset, limit=limit, api=self._api
        )

    def get_imports(
        self,
        volume: Any = None,
        state: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """One page of the imports into this project, optionally from one volume or in one state."""
        return self._api.imports.query(
            project=self.id, volume=volume, state=state, offset=offset, limit=limit
        )

    def get_exports(
        self,
        volume: Any = None,
        state: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """One page of the caller's exports, optionally to one volume or in one state.

        Exports are not filed under a project on the platform (the reference client's version of
        this method fails with a TypeError), so this lists them without a project filter.
        """
        return self._api.exports.query(volume=volume, state=state, offset=offset, limit=limit)

    def create_task(
        self,
        name: str,
        app: Any,
        revision: int | None = None,
        batch_input: str | None = None,
        batch_by: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        description: str | None = None,
        run: bool = False,
        disable_batch: bool = False,
        interruptible: bool = True,
        execution_settings: dict[str, Any] | None = None,
    ) -> Task:
        """Create a task in this project; see :meth:`Task.create` for the arguments.

        Unlike ``Task.create``, ``interruptible`` defaults to True, so the request always says
        whether interruptible instances may be used.
        """
        from sevenbridges.models.task import Task

        return Task.create(
            name=name,
            project=self.id,
            app=app,
            revision=revision,
            batch_input=batch_input,
            batch_by=batch_by,
            inputs=inputs,
            description=description,
            run=run,
            disable_batch=disable_batch,
            interruptible=interruptible,
            execution_settings=execution_settings,
            api=self._api,
        )
