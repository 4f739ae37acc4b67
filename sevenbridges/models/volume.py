"""Volumes: cloud buckets (S3, Google Cloud Storage, OSS) connected to the platform."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.decorators import inplace_reload
from sevenbridges.errors import ResourceNotModified
from sevenbridges.meta.collection import VolumeCollection
from sevenbridges.meta.fields import (
    BooleanField,
    CompoundField,
    DateTimeField,
    HrefField,
    StringField,
)
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.compound.volumes.service import VolumeService
from sevenbridges.models.compound.volumes.volume_object import VolumeObject
from sevenbridges.models.enums import VolumeType
from sevenbridges.models.member import Member

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)


def _member_name(member: Any) -> str:
    """Username from a string, a ``User`` or a ``Member``."""
    if isinstance(member, Member):
        return Transform.to_member(member)
    return Transform.to_user(member)


class Volume(Resource):
    """A connected bucket. Its id is ``owner/name``; ``service`` describes the bucket."""

    _URL = {
        "query": "/storage/volumes",
        "get": "/storage/volumes/{id}",
        "delete": "/storage/volumes/{id}",
        "list": "/storage/volumes/{id}/list",
        "object": "/storage/volumes/{id}/object",
        "member": "/storage/volumes/{id}/members/{username}",
        "members_query": "/storage/volumes/{id}/members",
    }

    href = HrefField(read_only=True)
    id = StringField(read_only=True)
    name = StringField(read_only=False)
    description = StringField(read_only=False)
    access_mode = StringField(read_only=False)
    service = CompoundField(VolumeService, read_only=False)
    created_on = DateTimeField(read_only=True)
    modified_on = DateTimeField(read_only=True)
    active = BooleanField(read_only=False)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        return f"<Volume: id={self.id}>"

    __repr__ = __str__

    # ----------------------------------------------------------------- listing and creation

    @classmethod
    def query(
        cls, offset: int | None = None, limit: int | None = None, api: Api | None = None
    ) -> Collection:
        """Volumes the caller is a member of."""
        return cls._query(url=cls._URL["query"], offset=offset, limit=limit, fields="_all", api=api)

    @classmethod
    def _create(
        cls,
        api: Api | None,
        name: str,
        access_mode: str,
        service: dict[str, Any],
        description: str | None,
        prefix: str | None,
        properties: dict[str, Any] | None,
    ) -> Volume:
        # Optional keys go on the wire only when given, as the platform's clients do.
        if prefix:
            service["prefix"] = prefix
        if properties:
            service["properties"] = properties
        data: dict[str, Any] = {"name": name, "service": service, "access_mode": access_mode}
        if description:
            data["description"] = description
        api = cls._resolve_api(api)
        logger.debug("Creating %s volume %r", service.get("type"), name)
        response = api.post(url=cls._URL["query"], data=data)
        return cls(api=api, **response.json())

    @classmethod
    def create_s3_volume(
        cls,
        name: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        access_mode: str,
        description: str | None = None,
        prefix: str | None = None,
        properties: dict[str, Any] | None = None,
        api: Api | None = None,
    ) -> Volume:
        """Connect an S3 bucket with an access key pair."""
        credentials = {"access_key_id": access_key_id, "secret_access_key": secret_access_key}
        service = {"type": VolumeType.S3, "bucket": bucket, "credentials": credentials}
        return cls._create(api, name, access_mode, service, description, prefix, properties)

    @classmethod
    def create_s3_volume_role_auth(
        cls,
        name: str,
        bucket: str,
        role_arn: str,
        external_id: str,
        access_mode: str,
        description: str | None = None,
        prefix: str | None = None,
        properties: dict[str, Any] | None = None,
        api: Api | None = None,
    ) -> Volume:
        """Connect an S3 bucket through an IAM role the platform assumes (with the external id)."""
        credentials = {"role_arn": role_arn, "external_id": external_id}
        service = {"type": VolumeType.S3, "bucket": bucket, "credentials": credentials}
        return cls._create(api, name, access_mode, service, description, prefix, properties)

    @classmethod
    def create_google_volume(
        cls,
        name: str,
        bucket: str,
        client_email: str,
        private_key: str,
        access_mode: str,
        description: str | None = None,
        prefix: str | None = None,
        properties: dict[str, Any] | None = None,
        api: Api | None = None,
    ) -> Volume:
        """Connect a Google Cloud Storage bucket with a service account key."""
        credentials = {"client_email": client_email, "private_key": private_key}
        service = {"type": VolumeType.GOOGLE, "bucket": bucket, "credentials": credentials}
        return cls._create(api, name, access_mode, service, description, prefix, properties)

    @classmethod
    def create_google_iam_volume(
        cls,
        name: str,
        bucket: str,
        configuration: dict[str, Any],
        access_mode: str,
        description: str | None = None,
        prefix: str | None = None,
        properties: dict[str, Any] | None = None,
        api: Api | None = None,
    ) -> Volume:
        """Connect a Google Cloud Storage bucket with an IAM (workload identity) configuration."""
        service = {
            "type": VolumeType.GOOGLE,
            "bucket": bucket,
            "credentials": {"configuration": configuration},
        }
        return cls._create(api, name, access_mode, service, description, prefix, properties)

    @classmethod
    def create_oss_volume(
        cls,
        name: str,
        bucket: str,
        endpoint: str,
        access_key_id: str,
        secret_access_key: str,
        access_mode: str,
        description: str | None = None,
        prefix: str | None = None,
        properties: dict[str, Any] | None = None,
        api: Api | None = None,
    ) -> Volume:
        """Connect an Alibaba Cloud OSS bucket reached at ``endpoint``."""
        service = {
            "type": VolumeType.OSS,
            "bucket": bucket,
            "endpoint": endpoint,
            "credentials": {
                "access_key_id": access_key_id,
                "secret_access_key": secret_access_key,
            },
        }
        return cls._create(api, name, access_mode, service, description, prefix, properties)

    # ----------------------------------------------------------------- changes

    @inplace_reload
    def save(self, inplace: bool = True) -> Volume:
        """PATCH the changed writable fields (of ``service``, only the changed sub-keys)."""
        changes = self._modified_data()
        if not changes:
            raise ResourceNotModified()
        logger.debug("Saving volume %s: %s", self.id, sorted(changes))
        response = self._api.patch(url=self._URL["get"].format(id=self.id), data=changes)
        return Volume(api=self._api, **response.json())

    # ----------------------------------------------------------------- content

    def list(
        self, prefix: str | None = None, limit: int | None = None, fields: str = "_all"
    ) -> VolumeCollection:
        """One level of the volume's objects under ``prefix``: ``items`` are
        :class:`VolumeObject`, ``prefixes`` the sub-folders; ``next_page()``/``all()`` page on."""
        params: dict[str, Any] = {}
        if prefix:
            params["prefix"] = prefix
        if limit:
            params["limit"] = limit
        params["fields"] = fields
        response = self._api.get(url=self._URL["list"].format(id=self.id), params=params)
        return VolumeCollection.from_volume_response(response, self._api)

    def get_volume_object_info(self, location: str) -> VolumeObject:
        """Details (size, ETag, ...) of the object at ``location``."""
        response = self._api.get(
            url=self._URL["object"].format(id=self.id), params={"location": location}
        )
        return VolumeObject(api=self._api, **response.json())

    # ----------------------------------------------------------------- members

    def get_imports(
        self,
        project: Any = None,
        state: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Collection:
        """Imports from this volume (optionally into one project, or in one state)."""
        return self._api.imports.query(
            volume=self, project=project, state=state, offset=offset, limit=limit
        )

    def get_exports(
        self, state: str | None = None, offset: int | None = None, limit: int | None = None
    ) -> Collection:
        """Exports to this volume (optionally in one state)."""
        return self._api.exports.query(volume=self, state=state, offset=offset, limit=limit)

    def get_members(self, offset: int | None = None, limit: int | None = None) -> Collection:
        """One page of the volume's members."""
        return Member._query(
            url=self._URL["members_query"].format(id=self.id),
            offset=offset,
            limit=limit,
            api=self._api,
        )

    def _add_member(self, data: dict[str, Any], permissions: Any) -> Member:
        if isinstance(permissions, dict):
            # Volumes know no execute permission; like the reference client, drop it in place.
            permissions.pop("execute", None)
            data["permissions"] = permissions
        response = self._api.post(url=self._URL["members_query"].format(id=self.id), data=data)
        return Member(api=self._api, **response.json())

    def add_member(self, user: Any, permissions: dict[str, bool] | None) -> Member:
        """Add a user (username or ``User``) with ``read``/``copy``/``write``/``admin`` flags."""
        username = Transform.to_user(user)
        logger.debug("Adding user %s to volume %s", username, self.id)
        return self._add_member({"username": username, "type": "USER"}, permissions)

    def add_member_team(self, team: Any, permissions: dict[str, bool] | None) -> Member:
        """Add a team (id or ``Team``)."""
        return self._add_member({"username": Transform.to_team(team), "type": "TEAM"}, permissions)

    def add_member_division(self, division: Any, permissions: dict[str, bool] | None) -> Member:
        """Add a whole division (id or ``Division``)."""
        data = {"username": Transform.to_division(division), "type": "DIVISION"}
        return self._add_member(data, permissions)

    def get_member(self, username: Any, api: Api | None = None) -> Member:
        """One member of this volume by username (or ``User`` / ``Member``)."""
        api = api or self._api
        name = _member_name(username)
        response = api.get(url=self._URL["member"].format(id=self.id, username=name))
        return Member(api=api, **response.json())

    def remove_member(self, user: Any) -> None:
        """Remove a member (username, ``User`` or ``Member``) from this volume."""
        name = _member_name(user)
        logger.debug("Removing member %s from volume %s", name, self.id)
        self._api.delete(url=self._URL["member"].format(id=self.id, username=name))
