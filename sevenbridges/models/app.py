"""Apps: CWL tools and workflows stored in projects, with numbered revisions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sevenbridges.errors import SbgError
from sevenbridges.meta.fields import DictField, HrefField, IntegerField, StringField
from sevenbridges.meta.resource import Resource
from sevenbridges.meta.transformer import Transform
from sevenbridges.models.enums import AppCopyStrategy, AppRawFormat

if TYPE_CHECKING:
    from sevenbridges.api import Api
    from sevenbridges.meta.collection import Collection

logger = logging.getLogger(__name__)

__all__ = ["App"]

_RAW_CONTENT_TYPES = {
    AppRawFormat.JSON: "application/json",
    AppRawFormat.YAML: "application/yaml",
}
_COPY_STRATEGIES = (
    AppCopyStrategy.CLONE,
    AppCopyStrategy.DIRECT,
    AppCopyStrategy.TRANSIENT,
    AppCopyStrategy.CLONE_DIRECT,
)


def _without_revision(app_id: str) -> str:
    """``owner/project/app/3`` -> ``owner/project/app``; ids without a revision are unchanged."""
    head, _, last = app_id.rpartition("/")
    if last.isdigit() and head.count("/") == 2:
        return head
    return app_id


class App(Resource):
    """A CWL app (tool or workflow) in a project.

    The platform's ``id`` names a revision (``owner/project/app/3``); :attr:`id` drops the
    revision so it can be used wherever an app is expected, and :attr:`revision` holds it.
    """

    _URL = {
        "query": "/apps",
        "get": "/apps/{id}",
        "get_revision": "/apps/{id}/{revision}",
        "create_revision": "/apps/{id}/{revision}/raw",
        "install": "/apps/{id}/raw",
        "copy": "/apps/{id}/actions/copy",
        "sync": "/apps/{id}/actions/sync",
    }

    href = HrefField(read_only=True)
    _id = StringField(read_only=True, name="id")
    project = StringField(read_only=True)
    name = StringField(read_only=True)
    revision = IntegerField(read_only=True)
    raw = DictField(read_only=False)

    @property
    def id(self) -> str | None:
        full_id = self._id
        return _without_revision(full_id) if full_id else full_id

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return other is self or other.id == self.id

    def __str__(self) -> str:
        revision = self.field("revision")
        if revision is None:
            return f"<App: id={self.id}>"
        return f"<App: id={self.id} rev={revision}>"

    __repr__ = __str__

    # ----------------------------------------------------------------- class methods

    @classmethod
    def query(
        cls,
        project: Any = None,
        visibility: str | None = None,
        q: Any = None,
        id: Any = None,
        offset: int | None = None,
        limit: int | None = None,
        api: Api | None = None,
    ) -> Collection:
        """Apps of the caller's projects, of one project, or public ones (``visibility='public'``).

        ``q`` holds search terms and ``id`` app ids (each a string or a list of them).
        """
        api = cls._resolve_api(api)
        project_id = Transform.to_project(project) if project else None
        logger.debug("Querying apps (project=%r, visibility=%r)", project_id, visibility)
        return cls._query(
            url=cls._URL["query"],
            project=project_id,
            visibility=visibility,
            q=q,
            id=id,
            offset=offset,
            limit=limit,
            api=api,
        )

    @classmethod
    def get_revision(cls, id: Any, revision: int, api: Api | None = None) -> App:
        """One revision of an app."""
        api = cls._resolve_api(api)
        app_id = Transform.to_app(id)
        response = api.get(url=cls._URL["get_revision"].format(id=app_id, revision=revision))
        app = cls(api=api, **response.json())
        app._data.fetched = True
        return app

    @classmethod
    def _from_raw_answer(cls, response: Any, api: Any) -> App:
        # Install calls answer with the stored raw CWL; its sbg:id names the new revision.
        stored = response.json()
        revision_id = stored.get("sbg:id") if isinstance(stored, dict) else None
        if not revision_id:
            raise SbgError("The platform's answer does not name the installed app (no sbg:id).")
        return cls.get(id=revision_id, api=api)  # type: ignore[return-value]

    @classmethod
    def install_app(
        cls, id: str, raw: Any, api: Api | None = None, raw_format: str | None = None
    ) -> App:
        """Install ``raw`` (a CWL document: a dict, or JSON/YAML text) as app ``id``.

        ``raw_format`` is ``'json'`` (default) or ``'yaml'``; the request body is the JSON
        encoding of ``raw`` either way.
        """
        api = cls._resolve_api(api)
        chosen = raw_format or AppRawFormat.JSON
        if chosen not in _RAW_CONTENT_TYPES:
            raise SbgError(f"Unsupported raw app format {raw_format!r}: use 'json' or 'yaml'.")
        logger.debug("Installing app %s (%s)", id, chosen)
        response = api.post(
            url=cls._URL["install"].format(id=id),
            data=raw,
            headers={"Content-Type": _RAW_CONTENT_TYPES[chosen]},
        )
        return cls._from_raw_answer(response, api)

    @classmethod
    def create_revision(cls, id: str, revision: int, raw: Any, api: Api | None = None) -> App:
        """Add revision ``revision`` (the latest plus one) to app ``id``."""
        api = cls._resolve_api(api)
        logger.debug("Creating revision %s of app %s", revision, id)
        response = api.post(
            url=cls._URL["create_revision"].format(id=id, revision=revision), data=raw
        )
        return cls._from_raw_answer(response, api)

    # ----------------------------------------------------------------- instance methods

    def copy(
        self,
        project: Any,
        name: str | None = None,
        strategy: str | None = None,
        use_revision: bool = False,
        api: Api | None = None,
    ) -> App:
        """Copy this app into ``project``; ``use_revision`` copies this object's revision.

        ``strategy`` (default ``clone``) is one of :class:`AppCopyStrategy`.
        """
        api = api or self._api
        chosen = strategy or AppCopyStrategy.CLONE
        if chosen not in _COPY_STRATEGIES:
            raise SbgError(
                f"Invalid app copy strategy {strategy!r}: use one of {', '.join(_COPY_STRATEGIES)}."
            )
        data: dict[str, Any] = {"project": Transform.to_project(project), "strategy": chosen}
        if name:
            data["name"] = name
        source = self._id if use_revision else self.id
        logger.debug("Copying app %s to %s (%s)", source, data["project"], chosen)
        response = api.post(url=self._URL["copy"].format(id=source), data=data)
        return App(api=api, **response.json())

    def sync(self) -> App:
        """Bring this copy up to date with the app it follows; returns the (new) latest."""
        logger.debug("Syncing app %s", self.id)
        response = self._api.post(url=self._URL["sync"].format(id=self.id))
        return App(api=self._api, **response.json())
