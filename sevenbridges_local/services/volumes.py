"""Volumes: cloud buckets connected to the platform, their members and what they hold.

Rules:
- A volume belongs to its creator; its id is ``owner/name``, the name unique per owner (at most 32
  letters, digits and underscores). Members have ``read`` (see it, list and read its objects),
  ``copy`` (import from it), ``write`` (export to it) and ``admin`` (change, delete, manage
  members); ``admin`` implies the others, the owner is an admin for good. Strangers get 404.
- Create and every change of credentials or endpoint (and re-activation) reach the bucket with
  the new credentials first; nothing is stored when that fails. No database transaction is open
  while a cloud is being reached (SQLite writers would wait on it).
- Credentials are kept sealed (``security.SecretBox``); only their public part (access key id,
  client e-mail, role ARN) is ever rendered.
- A volume is deleted (unlinked: the bucket is untouched) only once deactivated.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sevenbridges_local import errors
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db.files import File
from sevenbridges_local.db.models import User
from sevenbridges_local.db.volumes import Volume, VolumeMember
from sevenbridges_local.security import SecretBox, SecretBoxError
from sevenbridges_local.services import access
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.context import Page, PageRequest, ServiceContext, paginate
from sevenbridges_local.services.members import (
    MemberOperations,
    MemberTable,
    add_owner,
)
from sevenbridges_local.storage.buckets import (
    GCS,
    OSS,
    S3,
    TYPES,
    AccessRefused,
    BucketError,
    BucketSpec,
    CloudSettings,
    CredentialsInvalid,
    InvalidToken,
    Listing,
    ObjectInfo,
    ObjectMissing,
    open_bucket,
)
from sevenbridges_local.storage.buckets.gcs import check_configuration, check_private_key

VOLUME_PERMISSIONS = ("read", "copy", "write", "admin")
ACCESS_MODES = ("RO", "RW")
DEFAULT_ACCESS_MODE = "RW"
NAME_MAX_LENGTH = 32
_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_BUCKET = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$")
# Writable service keys after creation; type, bucket and prefix make another volume.
CHANGEABLE_SERVICE_KEYS = ("credentials", "endpoint", "properties")
FIXED_SERVICE_KEYS = ("type", "bucket", "prefix")
WRITABLE_KEYS = ("name", "description", "access_mode", "service", "active")

S3_DEFAULT_ENDPOINT = "s3.amazonaws.com"
GCS_DEFAULT_ENDPOINT = "storage.googleapis.com"
SSE_ALGORITHMS = ("AES256", "aws:kms")
CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
STORAGE_CLASSES = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
)
# Credential kinds: a change naming keys of one kind replaces that kind's keys, so moving from
# access keys to a role (or back) leaves nothing of the old kind behind.
_CREDENTIAL_KINDS = (
    ("role_arn", "external_id"),
    ("access_key_id", "secret_access_key"),
    ("client_email", "private_key"),
    ("configuration",),
)

VOLUME_MEMBERS = MemberTable(
    model=VolumeMember,
    parent_key="volume_id",
    permissions=VOLUME_PERMISSIONS,
    defaults={"read": True, "copy": False, "write": False, "admin": False},
    noun="volume",
    not_found_code=errors.VOLUME_MEMBER_NOT_FOUND,
    forbidden_code=errors.VOLUME_FORBIDDEN,
    conflict_code=errors.CONFLICT,
)


@dataclass(frozen=True)
class VolumeRuntime:
    """What volume operations need besides the database: the key that seals credentials and
    where the clouds are."""

    box: SecretBox
    clouds: CloudSettings
    # Exports: files from this size on are written in parts of ``part_size`` bytes.
    multipart_threshold: int = 64 * 1024 * 1024
    part_size: int = 32 * 1024 * 1024
    # Alias downloads: the provider's presigned URLs (else the platform streams the object).
    presigned_downloads: bool = True
    # Seconds to pause after each file of a prefix import (a test aid; 0 in use).
    import_item_delay: float = 0.0


class VolumeValues(TypedDict, total=False):
    """Writable volume keys as sent (types and sizes checked by the HTTP layer); PATCH changes
    the present ones only."""

    name: str | None
    description: str | None
    access_mode: str | None
    service: dict[str, Any] | None
    active: bool | None


@dataclass(frozen=True)
class VolumeRef:
    """A volume resolved for one operation, detached from the database session."""

    pk: int
    id: str  # owner/name
    type: str
    access_mode: str
    active: bool
    spec: BucketSpec = field(repr=False)  # holds the credentials


def volume_id(volume: Volume) -> str:
    return f"{volume.owner.username}/{volume.name}"


# ---------------------------------------------------------------------------------------------
# Checks of writable values


def _check_name(name: str | None) -> str:
    if name is None or not name.strip():
        raise errors.bad_request("Volume name must not be empty.", errors.VOLUME_NAME_EMPTY)
    if not _NAME.match(name):
        raise errors.bad_request(
            f"Invalid volume name: at most {NAME_MAX_LENGTH} characters, each a letter, a digit "
            "or an underscore.",
            errors.VOLUME_NAME_INVALID,
        )
    return name


def _check_access_mode(mode: str | None) -> str:
    normalised = mode.upper() if isinstance(mode, str) else ""
    if normalised not in ACCESS_MODES:
        raise errors.bad_request(
            "Invalid value for 'access_mode': expected RO (read-only) or RW (read-write).",
            errors.VOLUME_ACCESS_MODE_INVALID,
        )
    return normalised


def _invalid_service(message: str) -> errors.ApiError:
    return errors.bad_request(message, errors.VOLUME_SERVICE_INVALID)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _check_credentials(kind: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials of one complete kind for the service type (the rest is dropped)."""
    if kind == GCS:
        if "configuration" in given:
            try:
                check_configuration(given["configuration"])
            except CredentialsInvalid as exc:
                raise _invalid_service(f"Invalid 'service.credentials': {exc}")
            return {"configuration": dict(given["configuration"])}
        email, key = _text(given.get("client_email")), given.get("private_key")
        if email is None or key is None:
            raise _invalid_service(
                "A GCS volume needs 'service.credentials' with 'client_email' and 'private_key' "
                "(a service account key) or 'configuration' (an IAM configuration)."
            )
        if "@" not in email:
            raise _invalid_service("Invalid 'service.credentials.client_email': not an e-mail.")
        try:
            check_private_key(key)
        except CredentialsInvalid as exc:
            raise errors.bad_request(
                f"Invalid credentials: {exc}", errors.VOLUME_PRIVATE_KEY_INVALID
            )
        return {"client_email": email, "private_key": key}
    if kind == S3 and ("role_arn" in given or "external_id" in given):
        arn, external = _text(given.get("role_arn")), _text(given.get("external_id"))
        if arn is None or external is None:
            raise _invalid_service(
                "Role credentials need both 'role_arn' and 'external_id' in 'service.credentials'."
            )
        if not _ROLE_ARN.match(arn):
            raise _invalid_service(
                "Invalid 'service.credentials.role_arn': expected "
                "arn:aws:iam::<account>:role/<name>."
            )
        return {"role_arn": arn, "external_id": external}
    key_id, secret = _text(given.get("access_key_id")), _text(given.get("secret_access_key"))
    if key_id is None or secret is None:
        hint = " (or 'role_arn' and 'external_id')" if kind == S3 else ""
        raise _invalid_service(
            f"A {kind} volume needs 'service.credentials' with 'access_key_id' and "
            f"'secret_access_key'{hint}."
        )
    return {"access_key_id": key_id, "secret_access_key": secret}


def public_credentials(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """What may be shown of credentials: key ids, e-mails, role ARNs, an IAM audience."""
    shown = {
        key: credentials[key]
        for key in ("access_key_id", "role_arn", "client_email")
        if key in credentials
    }
    configuration = credentials.get("configuration")
    if isinstance(configuration, Mapping):
        shown["configuration"] = {
            key: configuration[key] for key in ("type", "audience") if key in configuration
        }
    return shown


def _check_properties(kind: str, properties: Any) -> dict[str, Any]:
    if properties is None:
        return {}
    checked = dict(properties)
    if kind != S3:
        return checked
    rules = (
        ("sse_algorithm", SSE_ALGORITHMS, errors.VOLUME_SSE_ALGORITHM_INVALID),
        ("aws_canned_acl", CANNED_ACLS, errors.VOLUME_CANNED_ACL_INVALID),
        ("aws_storage_class", STORAGE_CLASSES, errors.VOLUME_STORAGE_CLASS_INVALID),
    )
    for key, allowed, code in rules:
        value = checked.get(key)
        if value is not None and value not in allowed:
            raise errors.bad_request(
                f"Invalid value for 'service.properties.{key}': expected one of "
                f"{', '.join(allowed)} (or null).",
                code,
            )
    kms_key = checked.get("sse_aws_kms_key_id")
    if kms_key is not None and not isinstance(kms_key, str):
        raise _invalid_service("Invalid 'service.properties.sse_aws_kms_key_id': expected text.")
    return checked


def _check_endpoint(kind: str, endpoint: Any, clouds: CloudSettings) -> str:
    if kind == S3:
        return endpoint if isinstance(endpoint, str) and endpoint else S3_DEFAULT_ENDPOINT
    if kind == GCS:
        return GCS_DEFAULT_ENDPOINT
    if not endpoint:
        if clouds.s3_endpoint_url:
            return ""  # the platform's configured S3-compatible endpoint
        raise _invalid_service(
            "An OSS volume needs 'service.endpoint' (e.g. oss-cn-hangzhou.aliyuncs.com)."
        )
    text = str(endpoint).strip()
    if "://" in text:
        parsed = urlsplit(text)
        if (
            parsed.scheme not in ("http", "https")
            or not parsed.hostname
            or parsed.path not in ("", "/")
            or parsed.query
            or parsed.username
        ):
            raise _invalid_service("Invalid 'service.endpoint': expected a host or http(s)://host.")
        return text.rstrip("/")
    if not _HOST.match(text):
        raise _invalid_service("Invalid 'service.endpoint': expected a host name (and port).")
    return text


def _root_url(kind: str, endpoint: str, clouds: CloudSettings) -> str:
    if kind == GCS:
        return clouds.gcs_endpoint_url or f"https://{GCS_DEFAULT_ENDPOINT}"
    if kind == OSS and endpoint:
        return endpoint if "://" in endpoint else f"https://{endpoint}"
    return clouds.s3_endpoint_url or f"https://{endpoint or S3_DEFAULT_ENDPOINT}"


def _check_service(raw: Mapping[str, Any], clouds: CloudSettings) -> tuple[BucketSpec, dict]:
    """A service as sent -> (the bucket it names, with credentials; its public JSON)."""
    kind_text = raw.get("type")
    if not isinstance(kind_text, str) or not kind_text:
        raise _invalid_service("'service.type' is required: S3, GCS or OSS.")
    kind = kind_text.upper()
    if kind == "AZURE":
        raise _invalid_service("AZURE volumes are not supported by the local platform.")
    if kind not in TYPES:
        raise _invalid_service(f"Invalid 'service.type' {kind_text!r}: expected S3, GCS or OSS.")
    bucket = raw.get("bucket")
    if not isinstance(bucket, str) or not _BUCKET.match(bucket):
        raise _invalid_service(
            "'service.bucket' must name a bucket (letters, digits, '.', '-' and '_')."
        )
    prefix = raw.get("prefix") or ""
    credentials = raw.get("credentials")
    if not isinstance(credentials, Mapping) or not credentials:
        raise _invalid_service("'service.credentials' is required.")
    checked = _check_credentials(kind, credentials)
    properties = _check_properties(kind, raw.get("properties"))
    endpoint = _check_endpoint(kind, raw.get("endpoint"), clouds)
    spec = BucketSpec(
        type=kind,
        bucket=bucket,
        prefix=prefix,
        endpoint=endpoint if kind == OSS and endpoint else None,
        credentials=checked,
        properties=properties,
    )
    public = {
        "type": kind,
        "bucket": bucket,
        "prefix": prefix,
        "endpoint": endpoint,
        "root_url": _root_url(kind, endpoint, clouds),
        "credentials": public_credentials(checked),
        "properties": properties,
    }
    return spec, public


def _merge_credentials(current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    for kind in _CREDENTIAL_KINDS:
        if any(key in given for key in kind):
            kept = {key: current[key] for key in kind if key in current}
            return {**kept, **{key: given[key] for key in kind if key in given}}
    return dict(current)


# ---------------------------------------------------------------------------------------------
# Sealing, reaching the bucket, provider failures


def _seal(runtime: VolumeRuntime, credentials: Mapping[str, Any], context: str) -> str:
    return runtime.box.seal(json.dumps(dict(credentials)).encode(), context)


def _credentials_of(runtime: VolumeRuntime, volume: Volume) -> dict[str, Any]:
    try:
        return json.loads(runtime.box.open(volume.secret, volume.secret_context))
    except SecretBoxError:
        raise errors.bad_request(
            "The volume's credentials cannot be read with this platform's key (was the data "
            "directory's secret.key replaced?). Give the credentials again with PATCH.",
            errors.VOLUME_PROVIDER_ERROR,
        )


def bucket_spec(runtime: VolumeRuntime, volume: Volume) -> BucketSpec:
    """The volume's bucket with its credentials opened (imports, exports, alias reads)."""
    return _spec_of(runtime, volume)


def _spec_of(runtime: VolumeRuntime, volume: Volume) -> BucketSpec:
    service = volume.service or {}
    return BucketSpec(
        type=volume.service_type,
        bucket=service.get("bucket", ""),
        prefix=service.get("prefix") or "",
        endpoint=(service.get("endpoint") or None) if volume.service_type == OSS else None,
        credentials=_credentials_of(runtime, volume),
        properties=service.get("properties") or {},
    )


def _creation_failure(exc: BucketError) -> errors.ApiError:
    if isinstance(exc, AccessRefused):
        return errors.bad_request(
            f"The bucket cannot be read with these credentials: {exc}",
            errors.VOLUME_NO_READ_ACCESS,
        )
    if isinstance(exc, CredentialsInvalid):
        code = (
            errors.VOLUME_PRIVATE_KEY_INVALID
            if "private_key" in str(exc)
            else errors.VOLUME_SERVICE_INVALID
        )
        return errors.bad_request(f"Invalid credentials: {exc}", code)
    return errors.bad_request(
        f"The volume's bucket could not be reached: {exc}", errors.VOLUME_PROVIDER_ERROR
    )


def listing_failure(exc: BucketError) -> errors.ApiError:
    """A failure while reading a volume, as the platform reports it (also for imports)."""
    if isinstance(exc, ObjectMissing):
        return errors.not_found(str(exc), errors.LISTING_LOCATION_NOT_FOUND)
    if isinstance(exc, AccessRefused):
        return errors.bad_request(
            f"The volume's location is not accessible: {exc}",
            errors.LISTING_LOCATION_NOT_ACCESSIBLE,
        )
    if isinstance(exc, InvalidToken):
        return errors.bad_request(str(exc), errors.VOLUME_BAD_SYNTAX)
    return errors.bad_request(f"The volume's provider failed: {exc}", errors.LISTING_PROVIDER_ERROR)


def _reach(spec: BucketSpec, runtime: VolumeRuntime) -> None:
    try:
        open_bucket(spec, runtime.clouds, fresh=True).check_access()
    except BucketError as exc:
        raise _creation_failure(exc)


# ---------------------------------------------------------------------------------------------
# Access


def _find(ctx: ServiceContext, owner: str, name: str) -> Volume | None:
    return ctx.session.scalar(
        select(Volume)
        .join(User, User.id == Volume.owner_id)
        .where(User.username == owner, Volume.name == name)
    )


def volume_membership(ctx: ServiceContext, owner: str, name: str) -> tuple[Volume, Access]:
    """The volume and the caller's membership; 404/9007 for non-members (hides existence)."""
    volume = _find(ctx, owner, name)
    membership = access.volume_access(ctx.session, volume.id, ctx.actor.user_id) if volume else None
    if volume is None or membership is None:
        raise errors.not_found(f"Volume '{owner}/{name}' does not exist.", errors.VOLUME_NOT_FOUND)
    return volume, membership


def require_volume_permission(membership: Access, permission: str, action: str) -> None:
    if not getattr(membership, permission):
        raise errors.forbidden(
            f"You need the '{permission}' permission on this volume to {action}.",
            errors.VOLUME_FORBIDDEN,
        )


def split_volume_id(text: str) -> tuple[str, str]:
    """``owner/name`` -> (owner, name); 400/9011 for anything else."""
    owner, slash, name = text.partition("/") if isinstance(text, str) else ("", "", "")
    if not slash or not owner or not name or "/" in name:
        raise errors.bad_request(
            f"Invalid volume id {text!r}: expected owner/volume_name.", errors.VOLUME_BAD_SYNTAX
        )
    return owner, name


def resolve_volume(
    ctx: ServiceContext, runtime: VolumeRuntime, owner: str, name: str, permission: str, action: str
) -> VolumeRef:
    """The volume for an operation needing ``permission`` (imports: ``copy``, exports:
    ``write``), with its credentials. The caller's transaction is ended, so the caller may
    reach the cloud right away without holding the database."""
    volume, membership = volume_membership(ctx, owner, name)
    require_volume_permission(membership, permission, action)
    ref = VolumeRef(
        pk=volume.id,
        id=volume_id(volume),
        type=volume.service_type,
        access_mode=volume.access_mode,
        active=volume.active,
        spec=_spec_of(runtime, volume),
    )
    ctx.session.rollback()
    return ref


# ---------------------------------------------------------------------------------------------
# Operations


def _name_taken(ctx: ServiceContext, owner_id: int, name: str, *, but: int | None = None) -> bool:
    statement = select(Volume.id).where(Volume.owner_id == owner_id, Volume.name == name)
    if but is not None:
        statement = statement.where(Volume.id != but)
    return ctx.session.scalar(statement) is not None


def _name_exists(name: str) -> errors.ApiError:
    return errors.conflict(f"You already have a volume named '{name}'.", errors.VOLUME_NAME_EXISTS)


def create_volume(ctx: ServiceContext, runtime: VolumeRuntime, values: VolumeValues) -> Volume:
    name = _check_name(values.get("name"))
    access_mode = _check_access_mode(values.get("access_mode") or DEFAULT_ACCESS_MODE)
    raw_service = values.get("service")
    if not raw_service:
        raise errors.bad_request(
            "'service' is required: the cloud bucket the volume connects (type, bucket, "
            "credentials).",
            errors.VOLUME_SERVICE_MISSING,
        )
    spec, public = _check_service(raw_service, runtime.clouds)
    owner_id = ctx.actor.user_id
    if _name_taken(ctx, owner_id, name):
        raise _name_exists(name)
    ctx.session.rollback()  # no transaction (nor write lock) while the cloud answers
    _reach(spec, runtime)
    now = utcnow()
    context = secrets.token_hex(16)
    volume = Volume(
        owner_id=owner_id,
        name=name,
        description=values.get("description") or "",
        access_mode=access_mode,
        active=values.get("active") is not False,
        service_type=spec.type,
        service=public,
        secret=_seal(runtime, spec.credentials, context),
        secret_context=context,
        created_on=now,
        modified_on=now,
    )
    try:
        ctx.session.add(volume)
        ctx.session.flush()
        add_owner(ctx, VOLUME_MEMBERS, volume.id, owner_id)
        ctx.session.commit()
    except IntegrityError:  # created meanwhile under the same name
        ctx.session.rollback()
        raise _name_exists(name)
    return get_volume(ctx, ctx.actor.username, name)


def list_volumes(ctx: ServiceContext, page: PageRequest) -> Page[Volume]:
    """Volumes the caller is a member of (own and shared)."""
    statement = (
        select(Volume)
        .where(Volume.id.in_(access.volume_ids(ctx.actor.user_id)))
        .order_by(Volume.id)
    )
    return paginate(ctx.session, statement, page)


def get_volume(ctx: ServiceContext, owner: str, name: str) -> Volume:
    volume, _ = volume_membership(ctx, owner, name)
    return volume


def _service_change(
    runtime: VolumeRuntime, volume: Volume, given: Mapping[str, Any]
) -> tuple[BucketSpec, dict[str, Any], bool]:
    """The service after a PATCH of some of its keys, and whether the bucket must be reached."""
    stored = volume.service or {}
    for key in FIXED_SERVICE_KEYS:
        if key in given and given[key] is not None:
            now = (
                given[key].upper() if key == "type" and isinstance(given[key], str) else given[key]
            )
            if now != stored.get(key, "" if key == "prefix" else None):
                raise _invalid_service(
                    f"'service.{key}' cannot be changed; create another volume for another bucket."
                )
    current = _credentials_of(runtime, volume)
    given_credentials = given.get("credentials") or {}
    if not isinstance(given_credentials, Mapping):
        raise _invalid_service("'service.credentials' must be an object.")
    raw = {
        "type": volume.service_type,
        "bucket": stored.get("bucket"),
        "prefix": stored.get("prefix") or "",
        "endpoint": given["endpoint"] if "endpoint" in given else stored.get("endpoint"),
        "credentials": _merge_credentials(current, given_credentials),
        "properties": {**(stored.get("properties") or {}), **(given.get("properties") or {})},
    }
    spec, public = _check_service(raw, runtime.clouds)
    reach = bool(given_credentials) or "endpoint" in given
    return spec, public, reach


def update_volume(
    ctx: ServiceContext, runtime: VolumeRuntime, owner: str, name: str, values: VolumeValues
) -> Volume:
    """PATCH: the given keys only; new credentials or endpoint are tried on the bucket first."""
    volume, membership = volume_membership(ctx, owner, name)
    require_volume_permission(membership, "admin", "change it")
    changes: dict[str, Any] = {}
    if "name" in values:
        new_name = _check_name(values["name"])
        if new_name != volume.name and _name_taken(ctx, volume.owner_id, new_name, but=volume.id):
            raise _name_exists(new_name)
        changes["name"] = new_name
    if "description" in values:
        changes["description"] = values["description"] or ""
    if "access_mode" in values:
        changes["access_mode"] = _check_access_mode(values["access_mode"])
    if "active" in values:
        if values["active"] is None:
            raise errors.bad_request("Invalid value for 'active': expected true or false.")
        changes["active"] = values["active"]
    spec: BucketSpec | None = None
    reach = False
    if values.get("service"):
        spec, changes["service"], reach = _service_change(runtime, volume, values["service"])
    if changes.get("active") and not volume.active:
        reach = True  # re-activating: the bucket must still answer
        spec = spec or _spec_of(runtime, volume)
    if reach and spec is not None:
        seen = (volume.id, volume.secret, dict(volume.service or {}), volume.modified_on)
        ctx.session.rollback()  # no write lock while the cloud answers
        _reach(spec, runtime)
        volume, membership = volume_membership(ctx, owner, name)
        require_volume_permission(membership, "admin", "change it")
        now_seen = (volume.id, volume.secret, dict(volume.service or {}), volume.modified_on)
        if now_seen != seen:
            raise errors.conflict(
                "The volume was changed by someone else meanwhile; nothing was saved, try again.",
                errors.CONFLICT,
            )
    for key in ("name", "description", "access_mode", "active"):
        if key in changes:
            setattr(volume, key, changes[key])
    if "service" in changes and spec is not None:
        volume.service = changes["service"]
        context = secrets.token_hex(16)
        volume.secret = _seal(runtime, spec.credentials, context)
        volume.secret_context = context
    volume.modified_on = utcnow()
    try:
        ctx.session.commit()
    except IntegrityError:
        ctx.session.rollback()
        raise _name_exists(changes.get("name", name))
    return volume


def delete_volume(ctx: ServiceContext, owner: str, name: str) -> None:
    """Unlink a deactivated volume (the bucket and its objects stay as they are)."""
    volume, membership = volume_membership(ctx, owner, name)
    require_volume_permission(membership, "admin", "delete it")
    if volume.active:
        raise errors.conflict(
            f"Volume '{owner}/{name}' is active: deactivate it first (PATCH "
            '{"active": false}), then delete it.',
            errors.CONFLICT,
        )
    aliases = ctx.session.scalar(select(func.count()).where(File.volume_id == volume.id)) or 0
    if aliases:
        raise errors.conflict(
            f"Volume '{owner}/{name}' still has {aliases} file(s) imported from it (or exported "
            "to it) in projects; delete those files first, then the volume.",
            errors.CONFLICT,
        )
    ctx.session.delete(volume)
    ctx.session.commit()


def list_objects(
    ctx: ServiceContext,
    runtime: VolumeRuntime,
    owner: str,
    name: str,
    *,
    prefix: str,
    limit: int,
    token: str | None,
) -> tuple[VolumeRef, Listing]:
    ref = resolve_volume(ctx, runtime, owner, name, "read", "list its objects")
    try:
        return ref, open_bucket(ref.spec, runtime.clouds).list(prefix, limit=limit, token=token)
    except BucketError as exc:
        raise listing_failure(exc)


def object_info(
    ctx: ServiceContext, runtime: VolumeRuntime, owner: str, name: str, location: str
) -> tuple[VolumeRef, ObjectInfo]:
    ref = resolve_volume(ctx, runtime, owner, name, "read", "read its objects")
    try:
        return ref, open_bucket(ref.spec, runtime.clouds).head(location)
    except BucketError as exc:
        raise listing_failure(exc)


# ---------------------------------------------------------------------------------------------
# Members


_MEMBERS = MemberOperations[Volume, VolumeMember](
    VOLUME_MEMBERS, volume_membership, require_volume_permission
)
list_members = _MEMBERS.list_members
get_member = _MEMBERS.get_member
add_member = _MEMBERS.add_member
update_permissions = _MEMBERS.update_permissions
remove_member = _MEMBERS.remove_member
