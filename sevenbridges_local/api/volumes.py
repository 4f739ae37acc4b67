"""Volumes: ``/storage/volumes[/{owner}/{name}[/list|/object|/members...]]``."""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, StrictBool, StrictStr

from sevenbridges_local import errors
from sevenbridges_local.api.body_types import Description, MetadataValue
from sevenbridges_local.api.boundary import (
    BoundaryRoute,
    PlatformCode,
    RequestBody,
    at_most,
    omittable,
    required_by_the_service,
)
from sevenbridges_local.api.deps import Fields, Paging, ReadContext, WriteContext
from sevenbridges_local.api.member_routes import Summaries, add_member_routes
from sevenbridges_local.api.members import NewMemberBody
from sevenbridges_local.api.shapes import (
    api_root,
    list_response,
    resource_response,
    volume_json,
    volume_member_json,
    volume_object_json,
    volume_prefix_json,
)
from sevenbridges_local.limits import (
    DEFAULT_LIMIT,
    MAX_CONTINUATION_TOKEN_LENGTH,
    MAX_CREDENTIAL_LENGTH,
    MAX_LIMIT,
    MAX_PRIVATE_KEY_LENGTH,
    MAX_SETTINGS_KEYS,
    MAX_VOLUME_LOCATION_LENGTH,
)
from sevenbridges_local.services import volumes
from sevenbridges_local.services.volumes import VolumeRuntime

router = APIRouter(tags=["volumes"], route_class=BoundaryRoute)

VOLUMES = "/storage/volumes"
VOLUME = VOLUMES + "/{owner}/{name}"
MEMBERS = VOLUME + "/members"
MEMBER = MEMBERS + "/{username}"


def volume_runtime(request: Request) -> VolumeRuntime:
    runtime: VolumeRuntime | None = getattr(request.app.state, "volume_runtime", None)
    if runtime is None:  # only before the platform has finished starting
        raise errors.unavailable("Volumes are not ready yet; try again in a moment.")
    return runtime


Runtime = Annotated[VolumeRuntime, Depends(volume_runtime)]

Credential = Annotated[StrictStr, Field(max_length=MAX_CREDENTIAL_LENGTH)]
# Provider properties (S3: sse_algorithm, sse_aws_kms_key_id, aws_canned_acl, aws_storage_class):
# a flat object of scalars, like file metadata.
Properties = Annotated[
    dict[Annotated[str, Field(max_length=255)], MetadataValue], at_most(MAX_SETTINGS_KEYS)
]


class CredentialsBody(RequestBody):
    """Keys of one kind: access keys, a role (``role_arn`` + ``external_id``), a GCS service
    account key (``client_email`` + ``private_key``) or a GCS IAM ``configuration``."""

    platform_code = errors.VOLUME_SERVICE_INVALID

    access_key_id: Credential | None = None
    secret_access_key: Credential | None = None
    role_arn: Credential | None = None
    external_id: Credential | None = None
    client_email: Credential | None = None
    private_key: Annotated[
        StrictStr | None,
        Field(max_length=MAX_PRIVATE_KEY_LENGTH),
        PlatformCode(errors.VOLUME_PRIVATE_KEY_INVALID),
    ] = None
    configuration: Annotated[dict[str, Any], at_most(MAX_SETTINGS_KEYS)] | None = None

    def values(self) -> dict[str, Any]:
        return {key: value for key, value in self.given().items() if value is not None}


class ServiceBody(RequestBody):
    """The cloud bucket: type (any case), bucket, prefix, endpoint (OSS), credentials,
    properties. PATCH sends only the changed sub-keys."""

    platform_code = errors.VOLUME_SERVICE_INVALID

    type: Annotated[StrictStr, Field(max_length=16)] | None = None
    bucket: Annotated[StrictStr, Field(max_length=255)] | None = None
    prefix: Annotated[StrictStr, Field(max_length=MAX_VOLUME_LOCATION_LENGTH)] | None = None
    endpoint: Annotated[StrictStr, Field(max_length=255)] | None = None
    credentials: CredentialsBody | None = None
    properties: Properties | None = None

    def values(self) -> dict[str, Any]:
        sent = self.given("type", "bucket", "prefix", "endpoint", "properties")
        if self.credentials is not None:
            sent["credentials"] = self.credentials.values()
        return sent


class VolumeBody(RequestBody):
    """``POST`` and ``PATCH /storage/volumes...``: the writable keys."""

    name: Annotated[
        StrictStr | None, Field(max_length=255), PlatformCode(errors.VOLUME_NAME_INVALID)
    ] = None
    description: Description | None = None
    access_mode: Annotated[
        StrictStr | None, Field(max_length=16), PlatformCode(errors.VOLUME_ACCESS_MODE_INVALID)
    ] = None
    service: ServiceBody | None = None
    active: StrictBool | None = None

    def values(self) -> volumes.VolumeValues:
        sent = self.given("name", "description", "access_mode", "active")
        if "service" in self.model_fields_set:
            sent["service"] = self.service.values() if self.service is not None else None
        return cast(volumes.VolumeValues, sent)


class NewVolumeBody(VolumeBody):
    """``POST``: a name and a service are needed (400/9013, 400/9016 without them)."""

    model_config = required_by_the_service("name", "service")


class VolumePermissions(RequestBody):
    """Permission switches of a volume member (volumes know no ``execute``)."""

    model_config = ConfigDict(extra="forbid")

    read: StrictBool = omittable()
    copy_: StrictBool = omittable(alias="copy")
    write: StrictBool = omittable()
    admin: StrictBool = omittable()


class NewVolumeMemberBody(NewMemberBody):
    permissions: VolumePermissions | None = None  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------------
# Volumes


@router.get(VOLUMES, summary="Volumes I am a member of")
def list_volumes(request: Request, ctx: ReadContext, page: Paging, fields: Fields) -> JSONResponse:
    found = volumes.list_volumes(ctx, page)
    root = api_root(request)
    return list_response(request, found, lambda volume: volume_json(root, volume), fields)


@router.post(VOLUMES, status_code=201, summary="Connect a cloud bucket as a volume")
def create_volume(
    request: Request, ctx: WriteContext, runtime: Runtime, body: NewVolumeBody | None = None
) -> JSONResponse:
    values = body.values() if body is not None else {}
    volume = volumes.create_volume(ctx, runtime, values)
    return resource_response(volume_json(api_root(request), volume), status_code=201)


@router.get(VOLUME, summary="One volume")
def get_volume(
    request: Request, owner: str, name: str, ctx: ReadContext, fields: Fields
) -> JSONResponse:
    volume = volumes.get_volume(ctx, owner, name)
    return resource_response(volume_json(api_root(request), volume), fields)


@router.patch(VOLUME, summary="Change the given volume details")
def patch_volume(
    request: Request,
    owner: str,
    name: str,
    ctx: WriteContext,
    runtime: Runtime,
    body: VolumeBody | None = None,
) -> JSONResponse:
    values = body.values() if body is not None else {}
    volume = volumes.update_volume(ctx, runtime, owner, name, values)
    return resource_response(volume_json(api_root(request), volume))


@router.delete(VOLUME, status_code=204, summary="Unlink a deactivated volume")
def delete_volume(owner: str, name: str, ctx: WriteContext) -> Response:
    volumes.delete_volume(ctx, owner, name)
    return Response(status_code=204)


def _next_page(request: Request, token: str) -> str:
    params = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key != "continuation_token"
    ]
    params.append(("continuation_token", token))
    return str(request.url.replace(query=urlencode(params)))


@router.get(VOLUME + "/list", summary="One level of the volume's objects")
def list_volume_objects(
    request: Request,
    owner: str,
    name: str,
    ctx: ReadContext,
    runtime: Runtime,
    fields: Fields,
    prefix: Annotated[
        str | None,
        Query(
            max_length=MAX_VOLUME_LOCATION_LENGTH,
            description="The 'folder' to list, e.g. runs/2024/ (default: the volume's root)",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, description=f"Page size; values above {MAX_LIMIT} count as {MAX_LIMIT}.")
    ] = DEFAULT_LIMIT,
    continuation_token: Annotated[
        str | None,
        Query(max_length=MAX_CONTINUATION_TOKEN_LENGTH, description="From the previous page"),
    ] = None,
) -> JSONResponse:
    ref, listing = volumes.list_objects(
        ctx,
        runtime,
        owner,
        name,
        prefix=prefix or "",
        limit=min(limit, MAX_LIMIT),
        token=continuation_token or None,
    )
    root = api_root(request)
    body: dict[str, Any] = {
        "href": str(request.url),
        "items": [
            fields.apply(volume_object_json(root, ref.id, ref.type, item))
            for item in listing.objects
        ],
        "prefixes": [volume_prefix_json(root, ref.id, item) for item in listing.prefixes],
        "links": [{"next": _next_page(request, listing.next_token)}] if listing.next_token else [],
    }
    return JSONResponse(body)


@router.get(VOLUME + "/object", summary="Details of one object of the volume")
def volume_object(
    request: Request,
    owner: str,
    name: str,
    ctx: ReadContext,
    runtime: Runtime,
    location: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_VOLUME_LOCATION_LENGTH,
            description="The object's location in the volume",
        ),
    ],
) -> JSONResponse:
    ref, info = volumes.object_info(ctx, runtime, owner, name, location)
    return resource_response(volume_object_json(api_root(request), ref.id, ref.type, info))


# ---------------------------------------------------------------------------------------------
# Members


add_member_routes(
    router,
    members_path=MEMBERS,
    key="name",
    service=volumes,
    shaper=volume_member_json,
    new_body=NewVolumeMemberBody,
    permissions_body=VolumePermissions,
    summaries=Summaries(
        list="Members of a volume",
        add="Add a user to a volume",
        get="One member of a volume",
        patch="Change some permissions of a volume member",
        delete="Remove a member from a volume",
    ),
)
