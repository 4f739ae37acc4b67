"""Apps: install and revise CWL documents, list and search them, copy and sync, public apps.

Identity: an app is ``owner/project/app``; a revision is ``owner/project/app/N`` with N counting
from 0. Revisions are immutable and contiguous (0..latest).

Who may do what:
- read (get, raw, list, copy from): members of the app's project, and everyone for public apps
  (apps in a PUBLIC-category project owned by a platform administrator, such as the
  ``admin/public-apps`` project created on first start); others get 404/6002.
- install, add a revision, copy into, sync: the ``write`` permission on the project (403/6001);
  a project the caller is not a member of is 404/3002.

Error codes: the platform's 6001-6011 where they fit, plus one chosen here because the platform's
number is unknown: **400/6013 for an invalid app description** (not parseable, not CWL v1.x or
sbg:draft-2, naming something outside the document, refused by cwltool's loader, or a draft-2
construct the translation to v1.0 cannot carry; the message carries the reason).

``sbg:draft-2`` apps are stored as installed and checked (and run) through their CWL v1.0
translation (:mod:`sevenbridges_local.cwl_draft2`).

Apps must be self-contained: a document that names a file, a URL or another document
(``cwl_refs``) is refused when it is installed, revised, copied or synced, and a revision stored
before that check existed is refused when a task would run it (:func:`outside_reference_problem`).
Nothing stored is changed or deleted.

Copy strategies (what the copy holds / which app ``sync`` follows afterwards):
``clone`` all revisions / the app the source itself follows (the source when it is no copy);
``direct`` the chosen revision / the source; ``clone_direct`` all revisions / the source;
``transient`` the chosen revision / what the source follows. Revisions copied one by one keep
their numbers; a single copied revision becomes revision 0 of the copy.
"""

from __future__ import annotations

import calendar
import copy
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from sevenbridges_local import cwl_draft2, errors, json_numbers
from sevenbridges_local.clock import utcnow
from sevenbridges_local.db import Database
from sevenbridges_local.db.apps import App, AppRevision
from sevenbridges_local.db.models import Project, User
from sevenbridges_local.services import access, cwl, projects
from sevenbridges_local.services.access import Access
from sevenbridges_local.services.context import (
    ADMIN_ROLE,
    Actor,
    Page,
    PageRequest,
    ServiceContext,
    paginate,
)

logger = logging.getLogger(__name__)

APP_FORBIDDEN = 6001
APP_NOT_FOUND = 6002
APP_CONFLICT = 6003
APP_NAME_EMPTY = 6004
REVISION_INVALID = 6007
DESTINATION_EMPTY = 6008
SOURCE_APP_EMPTY = 6009
APP_ID_MALFORMED = 6010
VISIBILITY_INVALID = 6011
APP_INVALID = 6013  # local choice, see the module docstring
PROJECT_ID_MALFORMED = 3012

PUBLIC_CATEGORY = "PUBLIC"
VISIBILITIES = ("public", "private")
DEFAULT_COPY_STRATEGY = "clone"
COPY_STRATEGIES = ("clone", "direct", "clone_direct", "transient")
_ALL_REVISIONS = frozenset({"clone", "clone_direct"})
_FOLLOWS_ORIGIN = frozenset({"clone", "transient"})

# Largest accepted request body for a raw app (JSON or YAML text).
MAX_RAW_BYTES = 16 * 1024 * 1024
NAME_MAX_LENGTH = 255
SEARCH_TEXT_MAX_LENGTH = 20_000
# Notes on revisions the platform installs itself; such revisions follow the shipped files.
PUBLIC_APP_NOTES = "Installed by the local platform."

# Keys of the stored raw that the platform computes on every read; whatever a client sends
# under these names is dropped (a raw fetched from the platform can be installed again as is).
PLATFORM_KEYS = frozenset(
    {
        "sbg:id",
        "sbg:revision",
        "sbg:latestRevision",
        "sbg:revisionNotes",
        "sbg:revisionsInfo",
        "sbg:createdBy",
        "sbg:createdOn",
        "sbg:modifiedBy",
        "sbg:modifiedOn",
        "sbg:contributors",
        "sbg:project",
        "sbg:projectName",
        "sbg:appVersion",
        "sbg:validationErrors",
        "sbg:copyOf",
    }
)
# Free-text keys of a document that the ``q`` search terms look into.
_SEARCHED_KEYS = ("label", "doc", "sbg:toolkit", "sbg:toolkitVersion", "sbg:categories")

APP_SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
REVISION_PATTERN = r"^[0-9]+$"
_APP_SLUG = re.compile(APP_SLUG_PATTERN)
_NAME_TO_SLUG = re.compile(r"[^a-z0-9]+")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


# ---------------------------------------------------------------------------------------------
# Identifiers


@dataclass(frozen=True)
class AppRef:
    """A parsed app id: ``owner/project/app`` with an optional revision."""

    owner: str
    project: str
    app: str
    revision: int | None = None

    @property
    def project_id(self) -> str:
        return f"{self.owner}/{self.project}"

    @property
    def app_id(self) -> str:
        return f"{self.owner}/{self.project}/{self.app}"

    def __str__(self) -> str:
        if self.revision is None:
            return self.app_id
        return f"{self.app_id}/{self.revision}"


def parse_revision(text: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise errors.bad_request(
            f"Invalid app revision {text!r}: expected a whole number such as 0 or 3.",
            REVISION_INVALID,
        )
    return int(text)


def make_ref(owner: str, project: str, app: str, revision: str | None = None) -> AppRef:
    """An :class:`AppRef` from path segments; a malformed app name is 400/6010."""
    if not owner or not project or not _APP_SLUG.match(app):
        raise errors.bad_request(
            f"Malformed app id '{owner}/{project}/{app}': the app name must be 1-128 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit.",
            APP_ID_MALFORMED,
        )
    return AppRef(owner, project, app, None if revision is None else parse_revision(revision))


def parse_app_id(text: str) -> AppRef:
    """``owner/project/app`` or ``owner/project/app/revision``; anything else is 400/6010."""
    parts = text.strip().strip("/").split("/")
    if len(parts) not in (3, 4) or not all(parts):
        raise errors.bad_request(
            f"Malformed app id {text!r}: expected owner/project/app or owner/project/app/revision.",
            APP_ID_MALFORMED,
        )
    return make_ref(*parts)


def _parse_project_id(text: str) -> tuple[str, str]:
    owner, _, slug = text.strip().partition("/")
    if not owner or not slug or "/" in slug:
        raise errors.bad_request(
            f"Malformed project id {text!r}: expected owner/project.", PROJECT_ID_MALFORMED
        )
    return owner, slug


def project_id_of(project: Project) -> str:
    return f"{project.owner.username}/{project.slug}"


# ---------------------------------------------------------------------------------------------
# Views handed to the HTTP layer (and to the task service)


@dataclass(frozen=True)
class RevisionSummary:
    revision: int
    modified_by: str
    modified_on: datetime
    notes: str


@dataclass
class AppView:
    """One revision of an app with what rendering it needs."""

    app: App
    revision: AppRevision
    history: list[RevisionSummary] = field(default_factory=list)

    @property
    def project_id(self) -> str:
        return project_id_of(self.app.project)

    @property
    def app_id(self) -> str:
        return f"{self.project_id}/{self.app.slug}"

    @property
    def revision_id(self) -> str:
        return f"{self.app_id}/{self.revision.revision}"

    @property
    def name(self) -> str:
        return self.revision.name


def _epoch(moment: datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


def render_raw(view: AppView) -> dict[str, Any]:
    """The stored document plus the ``sbg:`` keys the platform reports with every revision."""
    app, row = view.app, view.revision
    raw = copy.deepcopy(row.raw)
    contributors = sorted({entry.modified_by for entry in view.history} | {row.created_by.username})
    raw.update(
        {
            "sbg:id": view.revision_id,
            "sbg:revision": row.revision,
            "sbg:latestRevision": app.latest_revision,
            "sbg:revisionNotes": row.notes or None,
            "sbg:project": view.project_id,
            "sbg:projectName": app.project.name,
            "sbg:appVersion": [row.cwl_version],
            "sbg:createdBy": app.created_by.username,
            "sbg:createdOn": _epoch(app.created_on),
            "sbg:modifiedBy": row.created_by.username,
            "sbg:modifiedOn": _epoch(row.created_on),
            "sbg:contributors": contributors,
            "sbg:revisionsInfo": [
                {
                    "sbg:revision": entry.revision,
                    "sbg:modifiedBy": entry.modified_by,
                    "sbg:modifiedOn": _epoch(entry.modified_on),
                    "sbg:revisionNotes": entry.notes or None,
                }
                for entry in view.history
            ],
            "sbg:validationErrors": [],
        }
    )
    if row.copy_of:
        raw["sbg:copyOf"] = row.copy_of
    return raw


def _histories(session: Session, app_ids: Iterable[int]) -> dict[int, list[RevisionSummary]]:
    """Revision summaries of several apps in one query (without loading the documents)."""
    wanted = sorted(set(app_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(
            AppRevision.app_id,
            AppRevision.revision,
            User.username,
            AppRevision.created_on,
            AppRevision.notes,
        )
        .join(User, User.id == AppRevision.created_by_id)
        .where(AppRevision.app_id.in_(wanted))
        .order_by(AppRevision.app_id, AppRevision.revision)
    ).all()
    histories: dict[int, list[RevisionSummary]] = {app_id: [] for app_id in wanted}
    for app_id, revision, username, created_on, notes in rows:
        histories[app_id].append(RevisionSummary(revision, username, created_on, notes or ""))
    return histories


def _views(session: Session, pairs: Sequence[tuple[App, int]]) -> list[AppView]:
    """Views for (app, revision number) pairs, loading revisions and histories in bulk."""
    if not pairs:
        return []
    rows = session.scalars(
        select(AppRevision).where(
            or_(
                *(
                    and_(AppRevision.app_id == app.id, AppRevision.revision == number)
                    for app, number in pairs
                )
            )
        )
    ).all()
    by_key = {(row.app_id, row.revision): row for row in rows}
    histories = _histories(session, (app.id for app, _ in pairs))
    views = []
    for app, number in pairs:
        row = by_key.get((app.id, number))
        if row is not None:
            views.append(AppView(app=app, revision=row, history=histories.get(app.id, [])))
    return views


def _view(session: Session, app: App, number: int) -> AppView:
    views = _views(session, [(app, number)])
    if not views:
        raise errors.not_found(
            f"Revision {number} of app '{project_id_of(app.project)}/{app.slug}' does not exist.",
            APP_NOT_FOUND,
        )
    return views[0]


# ---------------------------------------------------------------------------------------------
# Documents


@dataclass(frozen=True)
class PreparedDocument:
    """A validated document as it will be stored."""

    raw: dict[str, Any]
    version: str
    process_class: str
    notes: str

    def name(self, fallback: str) -> str:
        label = self.raw.get("label", process_of(self.raw).get("label"))
        if isinstance(label, str) and label.strip():
            return label.strip()[:NAME_MAX_LENGTH]
        return fallback


def document_from_body(body: bytes, content_type: str | None) -> Any:
    """The CWL document of an install request.

    Accepted: a JSON object; a JSON string holding JSON or YAML text (what the official client
    sends for ``raw_format='yaml'``, its JSON content type overriding the YAML one); or YAML
    text sent with a YAML content type.
    """
    if len(body) > MAX_RAW_BYTES:
        raise errors.bad_request(
            f"The app description is larger than {MAX_RAW_BYTES // (1024 * 1024)} MiB.",
            APP_INVALID,
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.bad_request("The app description is not UTF-8 text.", APP_INVALID)
    if not text.strip():
        raise errors.bad_request(
            "The request body must hold the app's CWL description.", APP_INVALID
        )
    media_type = (content_type or "").split(";")[0].strip().lower()
    try:
        if media_type in _YAML_TYPES:
            return cwl.parse_text(text)
        try:
            # Floats keep their written form (1.23e5 stays 1.23e5, not 123000.0).
            document = json.loads(text, parse_float=json_numbers.float_from_json)
        except ValueError:
            raise errors.bad_request("The request body is not valid JSON.", errors.UNDECODABLE_BODY)
        if isinstance(document, str):
            return cwl.parse_text(document)
        return document
    except cwl.CwlError as exc:
        raise errors.bad_request(exc.message, APP_INVALID)


def _with_sbg_namespace(raw: dict[str, Any]) -> dict[str, Any]:
    namespaces = raw.get("$namespaces")
    if not isinstance(namespaces, Mapping):
        namespaces = {}
    if "sbg" not in namespaces:
        raw["$namespaces"] = {**namespaces, "sbg": cwl.SBG_NAMESPACE}
    return raw


def _storable(document: Mapping[str, Any], checked: cwl.CheckedDocument) -> PreparedDocument:
    notes = document.get("sbg:revisionNotes")
    raw = {key: copy.deepcopy(value) for key, value in document.items() if key not in PLATFORM_KEYS}
    return PreparedDocument(
        raw=_with_sbg_namespace(raw),
        version=checked.version,
        process_class=checked.process_class,
        notes=notes if isinstance(notes, str) else "",
    )


def prepare_document(document: Any) -> PreparedDocument:
    """Validate with cwltool's loader; an invalid document is 400/6013 with the reason."""
    if cwl_draft2.is_draft2(document):
        return _prepare_draft2(document)
    try:
        checked = cwl.validate(document)
    except cwl.CwlError as exc:
        raise errors.bad_request(exc.message, APP_INVALID)
    return _storable(document, checked)


def process_of(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The process a stored document runs: the document, or its ``#main`` entry when it is a
    packed ``$graph`` (its inputs and steps are the task's); ``{}`` when it has none."""
    try:
        return cwl.main_process(raw)
    except cwl.CwlError:
        return {}


def _prepare_draft2(document: Mapping[str, Any]) -> PreparedDocument:
    """A draft-2 app is checked through its CWL v1.0 translation and stored as it came."""
    try:
        translated = cwl_draft2.translate(document)
    except cwl_draft2.Draft2Error as exc:
        raise errors.bad_request(f"Invalid app: {exc.message}", APP_INVALID)
    except RecursionError:  # YAML bodies are not depth-limited like JSON ones
        raise errors.bad_request(
            "Invalid app: the sbg:draft-2 app is nested too deeply.", APP_INVALID
        )
    try:
        checked = cwl.validate(translated)
    except cwl.CwlError as exc:
        raise errors.bad_request(
            f"Invalid app: its sbg:draft-2 translation to CWL v1.0 is refused: {exc.message}",
            APP_INVALID,
        )
    notes = document.get("sbg:revisionNotes")
    return PreparedDocument(
        raw={
            key: copy.deepcopy(value) for key, value in document.items() if key not in PLATFORM_KEYS
        },
        version=str(document["cwlVersion"]),
        process_class=checked.process_class,
        notes=notes if isinstance(notes, str) else "",
    )


def outside_reference_problem(raw: Mapping[str, Any]) -> str | None:
    """Why a stored document may not run or be copied (it names something outside itself)."""
    if cwl_draft2.is_draft2(raw):
        # cwltool only ever sees the translation; the draft-2 original is never loaded.
        try:
            return cwl.self_contained_problem(cwl_draft2.translate(raw))
        except cwl_draft2.Draft2Error as exc:
            return exc.message
    return cwl.self_contained_problem(raw)


def _refuse_outside_references(row: AppRevision, revision_id: str, action: str) -> None:
    """400/6013 for a stored revision that predates the self-containment check."""
    problem = outside_reference_problem(row.raw)
    if problem is not None:
        raise errors.bad_request(f"'{revision_id}' cannot be {action}. {problem}", APP_INVALID)


def _search_text(ref_text: str, name: str, raw: Mapping[str, Any]) -> str:
    pieces = [ref_text, name]
    for key in _SEARCHED_KEYS:
        value = raw.get(key)
        if isinstance(value, str):
            pieces.append(value)
        elif isinstance(value, list):
            pieces.extend(item for item in value if isinstance(item, str))
    return " ".join(pieces).lower()[:SEARCH_TEXT_MAX_LENGTH]


# ---------------------------------------------------------------------------------------------
# Access


def _find_project(session: Session, owner: str, slug: str) -> Project | None:
    return session.scalar(
        select(Project)
        .join(User, User.id == Project.owner_id)
        .where(User.username == owner, Project.slug == slug)
    )


def _membership(session: Session, project: Project, actor: Actor) -> Access | None:
    return access.project_access(session, project.id, actor.user_id)


def is_public_project(project: Project) -> bool:
    return project.category == PUBLIC_CATEGORY and project.owner.role == ADMIN_ROLE


def _can_read(session: Session, project: Project, actor: Actor) -> bool:
    return is_public_project(project) or _membership(session, project, actor) is not None


def _app_not_found(ref: AppRef | str) -> errors.ApiError:
    return errors.not_found(f"App '{ref}' does not exist.", APP_NOT_FOUND)


def _writable_project(ctx: ServiceContext, owner: str, slug: str, action: str) -> Project:
    project = _find_project(ctx.session, owner, slug)
    membership = _membership(ctx.session, project, ctx.actor) if project is not None else None
    if project is None or membership is None:
        raise errors.not_found(
            f"Project '{owner}/{slug}' does not exist.", errors.PROJECT_NOT_FOUND
        )
    if not membership.write:
        raise errors.forbidden(
            f"You need the 'write' permission on project '{owner}/{slug}' to {action}.",
            APP_FORBIDDEN,
        )
    return project


def _find_app(session: Session, project: Project, slug: str) -> App | None:
    return session.scalar(select(App).where(App.project_id == project.id, App.slug == slug))


def _readable_app(ctx: ServiceContext, ref: AppRef) -> App:
    project = _find_project(ctx.session, ref.owner, ref.project)
    if project is None or not _can_read(ctx.session, project, ctx.actor):
        raise _app_not_found(ref)
    app = _find_app(ctx.session, project, ref.app)
    if app is None:
        raise _app_not_found(ref)
    return app


# ---------------------------------------------------------------------------------------------
# Operations


def get_app(ctx: ServiceContext, ref: AppRef) -> AppView:
    """The given revision, or the latest one when ``ref`` names none."""
    app = _readable_app(ctx, ref)
    number = app.latest_revision if ref.revision is None else ref.revision
    if number > app.latest_revision:
        raise errors.not_found(
            f"Revision {number} of app '{ref.app_id}' does not exist; the latest is "
            f"{app.latest_revision}.",
            APP_NOT_FOUND,
        )
    return _view(ctx.session, app, number)


def resolve_app(ctx: ServiceContext, app_id: str) -> AppView:
    """For other services (tasks): an app id as clients send it, checked for read access."""
    return get_app(ctx, parse_app_id(app_id))


def _add_revision(
    session: Session,
    app: App,
    number: int,
    prepared: PreparedDocument,
    actor_id: int,
    *,
    copy_of: str | None = None,
    notes: str | None = None,
) -> AppRevision:
    now = utcnow()
    name = prepared.name(app.slug)
    row = AppRevision(
        app_id=app.id,
        revision=number,
        name=name,
        raw=prepared.raw,
        cwl_version=prepared.version,
        cwl_class=prepared.process_class,
        notes=prepared.notes if notes is None else notes,
        copy_of=copy_of,
        created_by_id=actor_id,
        created_on=now,
    )
    session.add(row)
    if number >= app.latest_revision:
        app.latest_revision = number
        app.search_text = _search_text(
            f"{project_id_of(app.project)}/{app.slug}", name, prepared.raw
        )
    app.modified_on = now
    return row


def _new_app(session: Session, project: Project, slug: str, actor_id: int) -> App:
    now = utcnow()
    app = App(
        project_id=project.id,
        slug=slug,
        latest_revision=0,
        created_by_id=actor_id,
        created_on=now,
        modified_on=now,
        search_text="",
    )
    app.project = project
    session.add(app)
    session.flush()
    return app


def install_app(ctx: ServiceContext, ref: AppRef, document: Any) -> AppView:
    """A new app with revision 0; an existing app id is 409/6003 (use a new revision)."""
    # Validate before touching the database: the write transaction should never wait on cwltool.
    prepared = prepare_document(document)
    project = _writable_project(ctx, ref.owner, ref.project, "install apps")
    if _find_app(ctx.session, project, ref.app) is not None:
        raise errors.conflict(
            f"App '{ref.app_id}' already exists; add a revision with "
            f"POST /apps/{ref.app_id}/<revision>/raw instead.",
            APP_CONFLICT,
        )
    app = _new_app(ctx.session, project, ref.app, ctx.actor.user_id)
    _add_revision(ctx.session, app, 0, prepared, ctx.actor.user_id)
    ctx.session.commit()
    logger.info("app %s installed by %s", ref.app_id, ctx.actor.username)
    return _view(ctx.session, app, 0)


def create_revision(ctx: ServiceContext, ref: AppRef, document: Any) -> AppView:
    """Revision ``ref.revision`` of an existing app; it must be the latest plus one (409/6003)."""
    if ref.revision is None:
        raise errors.bad_request("The new revision number is missing.", REVISION_INVALID)
    prepared = prepare_document(document)
    project = _writable_project(ctx, ref.owner, ref.project, "change apps")
    app = _find_app(ctx.session, project, ref.app)
    if app is None:
        raise _app_not_found(ref.app_id)
    expected = app.latest_revision + 1
    if ref.revision != expected:
        raise errors.conflict(
            f"Cannot create revision {ref.revision} of app '{ref.app_id}': its latest revision "
            f"is {app.latest_revision}, so the next one must be {expected}.",
            APP_CONFLICT,
        )
    _add_revision(ctx.session, app, expected, prepared, ctx.actor.user_id)
    ctx.session.commit()
    logger.info("app %s revision %d created by %s", ref.app_id, expected, ctx.actor.username)
    return _view(ctx.session, app, expected)


def _slug_from_name(name: str) -> str:
    slug = _NAME_TO_SLUG.sub("-", name.lower()).strip("-")[:128]
    if not slug:
        raise errors.bad_request(
            f"Invalid app name {name!r}: it must contain letters or digits.", APP_NAME_EMPTY
        )
    return slug


def _copied(row: AppRevision, new_name: str | None) -> PreparedDocument:
    raw = copy.deepcopy(row.raw)
    if new_name:
        raw["label"] = new_name
    return PreparedDocument(
        raw=raw, version=row.cwl_version, process_class=row.cwl_class, notes=row.notes
    )


def copy_app(
    ctx: ServiceContext,
    source: AppRef,
    *,
    destination: str | None,
    strategy: str | None,
    name: str | None,
) -> AppView:
    """Copy ``source`` (latest, or the revision it names) into the ``destination`` project."""
    if not destination:
        raise errors.bad_request(
            "The destination project must be given ('project').", DESTINATION_EMPTY
        )
    strategy = (strategy or DEFAULT_COPY_STRATEGY).lower()
    if strategy not in COPY_STRATEGIES:
        raise errors.bad_request(
            f"Invalid copy strategy {strategy!r}; use one of {', '.join(COPY_STRATEGIES)}."
        )
    if name is not None and not name.strip():
        raise errors.bad_request("The new app name must not be empty.", APP_NAME_EMPTY)
    owner, slug = _parse_project_id(destination)
    origin = get_app(ctx, source)
    target = _writable_project(ctx, owner, slug, "copy apps into it")
    new_slug = _slug_from_name(name) if name else origin.app.slug
    if _find_app(ctx.session, target, new_slug) is not None:
        raise errors.conflict(
            f"App '{owner}/{slug}/{new_slug}' already exists; choose another name.", APP_CONFLICT
        )
    chosen = origin.revision.revision
    if strategy in _ALL_REVISIONS:
        rows = ctx.session.scalars(
            select(AppRevision)
            .where(AppRevision.app_id == origin.app.id, AppRevision.revision <= chosen)
            .order_by(AppRevision.revision)
        ).all()
    else:
        rows = [origin.revision]
    for row in rows:
        _refuse_outside_references(row, f"{origin.app_id}/{row.revision}", "copied")
    source_app = origin.app
    if strategy in _FOLLOWS_ORIGIN and source_app.copy_of_app_id is not None:
        followed_id, followed_revision = source_app.copy_of_app_id, source_app.copy_of_revision
    else:
        followed_id, followed_revision = source_app.id, chosen

    app = _new_app(ctx.session, target, new_slug, ctx.actor.user_id)
    app.copy_of_app_id = followed_id
    app.copy_of_revision = followed_revision
    clean_name = name.strip() if name else None
    latest = 0
    for row in rows:
        number = row.revision if strategy in _ALL_REVISIONS else 0
        _add_revision(
            ctx.session,
            app,
            number,
            _copied(row, clean_name),
            ctx.actor.user_id,
            copy_of=f"{origin.app_id}/{row.revision}",
        )
        latest = max(latest, number)
    ctx.session.commit()
    logger.info(
        "app %s copied to %s/%s/%s (%s) by %s",
        origin.revision_id,
        owner,
        slug,
        new_slug,
        strategy,
        ctx.actor.username,
    )
    return _view(ctx.session, app, latest)


def sync_app(ctx: ServiceContext, ref: AppRef) -> AppView:
    """Bring a copy up to date: the followed app's newer latest revision becomes a new revision."""
    app = _readable_app(ctx, AppRef(ref.owner, ref.project, ref.app))
    _writable_project(ctx, ref.owner, ref.project, "synchronise its apps")
    if app.copy_of_app_id is None:
        latest = ctx.session.get(AppRevision, (app.id, app.latest_revision))
        if latest is not None and latest.copy_of:
            # The database forgot the link when the source was deleted; the copy remembers.
            raise errors.not_found(
                f"'{latest.copy_of}', which '{ref.app_id}' was copied from, no longer exists.",
                APP_NOT_FOUND,
            )
        raise errors.bad_request(
            f"App '{ref.app_id}' is not a copy of another app: there is nothing to sync with.",
            SOURCE_APP_EMPTY,
        )
    followed = ctx.session.get(App, app.copy_of_app_id)
    if followed is None or not _can_read(ctx.session, followed.project, ctx.actor):
        raise errors.not_found(
            f"The app that '{ref.app_id}' was copied from is no longer available.", APP_NOT_FOUND
        )
    synced_to = -1 if app.copy_of_revision is None else app.copy_of_revision
    if followed.latest_revision > synced_to:
        source = _view(ctx.session, followed, followed.latest_revision)
        _refuse_outside_references(source.revision, source.revision_id, "synced")
        number = app.latest_revision + 1
        _add_revision(
            ctx.session,
            app,
            number,
            _copied(source.revision, None),
            ctx.actor.user_id,
            copy_of=source.revision_id,
        )
        app.copy_of_revision = followed.latest_revision
        ctx.session.commit()
        logger.info("app %s synced to %s", ref.app_id, source.revision_id)
    return _view(ctx.session, app, app.latest_revision)


def list_apps(
    ctx: ServiceContext,
    page: PageRequest,
    *,
    project: str | None = None,
    visibility: str | None = None,
    terms: Sequence[str] = (),
    ids: Sequence[str] = (),
) -> Page[AppView]:
    """Apps of the caller's projects (default), public apps (``visibility=public``), filtered.

    ``ids`` may name revisions (``owner/project/app/3``); without ``visibility`` they are looked
    up among every app the caller can read. Each ``terms`` entry must occur (case-insensitive)
    in the app's id, name, description, toolkit or categories.
    """
    session = ctx.session
    mode = visibility.lower() if visibility else None
    if mode is not None and mode not in VISIBILITIES:
        raise errors.bad_request(
            f"Invalid visibility {visibility!r}: use 'public' or 'private'.", VISIBILITY_INVALID
        )
    owner = aliased(User)
    member_projects = access.project_ids(ctx.actor.user_id)
    public_projects = (
        select(Project.id)
        .join(User, User.id == Project.owner_id)
        .where(Project.category == PUBLIC_CATEGORY, User.role == ADMIN_ROLE)
    )
    statement = (
        select(App)
        .join(Project, Project.id == App.project_id)
        .join(owner, owner.id == Project.owner_id)
        .order_by(App.id)
    )
    if mode == "public":
        statement = statement.where(App.project_id.in_(public_projects))
    elif mode == "private":
        statement = statement.where(App.project_id.in_(member_projects))
    elif not ids and not project:
        statement = statement.where(App.project_id.in_(member_projects))
    else:
        statement = statement.where(
            or_(App.project_id.in_(member_projects), App.project_id.in_(public_projects))
        )

    if project:
        project_owner, project_slug = _parse_project_id(project)
        found = _find_project(session, project_owner, project_slug)
        if found is None or not _can_read(session, found, ctx.actor):
            raise errors.not_found(
                f"Project '{project_owner}/{project_slug}' does not exist.",
                errors.PROJECT_NOT_FOUND,
            )
        statement = statement.where(App.project_id == found.id)

    for term in terms:
        if term.strip():
            statement = statement.where(
                App.search_text.contains(term.strip().lower(), autoescape=True)
            )

    wanted_revisions: dict[tuple[str, str, str], int] = {}
    if ids:
        refs = [parse_app_id(text) for text in ids if text.strip()]
        matches = []
        for ref in refs:
            condition = and_(
                owner.username == ref.owner, Project.slug == ref.project, App.slug == ref.app
            )
            if ref.revision is not None:
                condition = and_(condition, App.latest_revision >= ref.revision)
                wanted_revisions.setdefault((ref.owner, ref.project, ref.app), ref.revision)
            matches.append(condition)
        statement = statement.where(or_(*matches) if matches else false())

    found_apps: Page[App] = paginate(session, statement, page)
    pairs = []
    for app in found_apps.items:
        key = (app.project.owner.username, app.project.slug, app.slug)
        pairs.append((app, wanted_revisions.get(key, app.latest_revision)))
    return Page(
        items=_views(session, pairs),
        total=found_apps.total,
        offset=found_apps.offset,
        limit=found_apps.limit,
    )


# ---------------------------------------------------------------------------------------------
# Public apps (bootstrap)


def install_public_apps(database: Database, admin_username: str) -> list[str]:
    """Create ``admin/public-apps`` and its apps when missing; returns the ids installed.

    Idempotent and safe from several processes: each check-and-insert runs in one write
    transaction. A public app whose latest revision was installed by the platform itself gets
    a new revision when the shipped document changed; revisions made by people are left alone.
    The shipped documents are trusted (the test suite validates and runs them), so this needs
    no cwltool and keeps start-up fast.
    """
    from sevenbridges_local.public_apps import (
        PUBLIC_PROJECT_NAME,
        PUBLIC_PROJECT_SLUG,
        load_public_apps,
    )

    shipped = load_public_apps()
    changed: list[str] = []
    with database.write_session() as session:
        admin = session.scalar(select(User).where(User.username == admin_username))
        if admin is None:
            raise RuntimeError(f"user {admin_username!r} must exist before the public apps")
        ctx = ServiceContext(session=session, actor=Actor(admin.id, admin.username, admin.role))
        project = _find_project(session, admin_username, PUBLIC_PROJECT_SLUG)
        if project is None:
            project = projects.create_project(
                ctx,
                {
                    "name": PUBLIC_PROJECT_NAME,
                    "category": PUBLIC_CATEGORY,
                    "description": "Apps that every user of this local platform can find "
                    "(visibility=public), copy and run.",
                },
            )
        elif project.category != PUBLIC_CATEGORY:
            project.category = PUBLIC_CATEGORY
        for public_app in shipped:
            prepared = _storable(public_app.document, cwl.check_shape(public_app.document))
            prepared = PreparedDocument(
                raw=prepared.raw,
                version=prepared.version,
                process_class=prepared.process_class,
                notes=PUBLIC_APP_NOTES,
            )
            app = _find_app(session, project, public_app.slug)
            if app is None:
                app = _new_app(session, project, public_app.slug, admin.id)
                _add_revision(session, app, 0, prepared, admin.id)
            else:
                latest = session.get(AppRevision, (app.id, app.latest_revision))
                if latest is None or latest.notes != PUBLIC_APP_NOTES or latest.raw == prepared.raw:
                    continue
                _add_revision(session, app, app.latest_revision + 1, prepared, admin.id)
            changed.append(f"{admin_username}/{PUBLIC_PROJECT_SLUG}/{public_app.slug}")
        session.commit()
    if changed:
        logger.info("public apps installed or updated: %s", ", ".join(changed))
    return changed
