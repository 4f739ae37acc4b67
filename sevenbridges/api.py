"""The ``Api`` object: an authenticated client with one attribute per resource class."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import DEFAULT_POOLSIZE

from sevenbridges.config import Config
from sevenbridges.errors import SbgError
from sevenbridges.http.client import DEFAULT_MAX_PARALLEL_REQUESTS, DEFAULT_POOL_MAXSIZE, HttpClient
from sevenbridges.models.actions import Actions
from sevenbridges.models.app import App
from sevenbridges.models.async_jobs import AsyncJob
from sevenbridges.models.automation import Automation, AutomationPackage, AutomationRun
from sevenbridges.models.billing_group import BillingGroup
from sevenbridges.models.dataset import Dataset
from sevenbridges.models.division import Division
from sevenbridges.models.drs_import import DRSImportBulk
from sevenbridges.models.endpoints import Endpoints
from sevenbridges.models.enums import RequestParameters
from sevenbridges.models.file import File
from sevenbridges.models.invoice import Invoice
from sevenbridges.models.marker import Marker
from sevenbridges.models.project import Project
from sevenbridges.models.rate_limit import RateLimit
from sevenbridges.models.storage_export import Export
from sevenbridges.models.storage_import import Import
from sevenbridges.models.task import Task
from sevenbridges.models.team import Team
from sevenbridges.models.user import User
from sevenbridges.models.volume import Volume

__all__ = ["Api"]


def _is_loopback_host(url: str) -> bool:
    """True for URLs on this machine: localhost, 127.0.0.0/8 and [::1]."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Api(HttpClient):
    """Client for the Seven Bridges Platform / CGC REST API v2.

    Reading a resource attribute (``api.projects``, ``api.users`` …) returns the resource class
    with this client bound as its default, so ``api.projects.query()`` talks to this platform.
    """

    actions = Actions
    apps = App
    async_jobs = AsyncJob
    automations = Automation
    automation_packages = AutomationPackage
    automation_runs = AutomationRun
    billing_groups = BillingGroup
    drs_imports = DRSImportBulk
    datasets = Dataset
    divisions = Division
    endpoints = Endpoints
    exports = Export
    files = File
    imports = Import
    invoices = Invoice
    markers = Marker
    projects = Project
    rate_limit = RateLimit
    tasks = Task
    teams = Team
    users = User
    volumes = Volume

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        oauth_token: str | None = None,
        config: Config | None = None,
        timeout: float | None = None,
        download_max_workers: int = 16,
        upload_max_workers: int = 16,
        proxies: Mapping[str, Any] | None = None,
        error_handlers: Iterable[Callable[..., Any]] | None = None,
        advance_access: bool = False,
        pool_connections: int = DEFAULT_POOLSIZE,
        pool_maxsize: int = DEFAULT_POOL_MAXSIZE,
        pool_block: bool = True,
        max_parallel_requests: int = DEFAULT_MAX_PARALLEL_REQUESTS,
        retry_count: int = RequestParameters.DEFAULT_RETRY_COUNT,
        backoff_factor: float = RequestParameters.DEFAULT_BACKOFF_FACTOR,
        debug: bool = False,
    ) -> None:
        # Plain http would send the token in clear text; it is only safe on this machine.
        if (
            url is not None
            and not debug
            and url.strip().lower().startswith("http:")
            and not _is_loopback_host(url.strip())
        ):
            raise SbgError(
                f"Refusing plain http URL {url!r}: the token would travel unencrypted. "
                "Use https, or pass debug=True if you really mean it."
            )
        super().__init__(
            url=url,
            token=token,
            oauth_token=oauth_token,
            config=config,
            timeout=timeout,
            proxies=proxies,
            error_handlers=error_handlers,
            advance_access=advance_access,
            pool_connections=pool_connections,
            pool_maxsize=pool_maxsize,
            pool_block=pool_block,
            max_parallel_requests=max_parallel_requests,
            retry_count=retry_count,
            backoff_factor=backoff_factor,
        )
        self.download_max_workers = download_max_workers
        self.upload_max_workers = upload_max_workers
        self._pool_lock = threading.Lock()
        self._download_pool: ThreadPoolExecutor | None = None
        self._upload_pool: ThreadPoolExecutor | None = None

    @property
    def download_pool(self) -> ThreadPoolExecutor:
        """Thread pool for download parts (created on first use)."""
        if self._download_pool is None:
            with self._pool_lock:
                if self._download_pool is None:
                    self._download_pool = ThreadPoolExecutor(
                        max_workers=self.download_max_workers, thread_name_prefix="sbg-download"
                    )
        return self._download_pool

    @download_pool.setter
    def download_pool(self, pool: ThreadPoolExecutor) -> None:
        self._download_pool = pool

    @property
    def upload_pool(self) -> ThreadPoolExecutor:
        """Thread pool for upload parts (created on first use)."""
        if self._upload_pool is None:
            with self._pool_lock:
                if self._upload_pool is None:
                    self._upload_pool = ThreadPoolExecutor(
                        max_workers=self.upload_max_workers, thread_name_prefix="sbg-upload"
                    )
        return self._upload_pool

    @upload_pool.setter
    def upload_pool(self, pool: ThreadPoolExecutor) -> None:
        self._upload_pool = pool
