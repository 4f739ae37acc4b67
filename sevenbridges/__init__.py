"""Python client for the Seven Bridges Platform / Cancer Genomics Cloud REST API v2.

A drop-in replacement for ``sevenbridges-python``: the same module paths, classes and requests::

    import sevenbridges as sbg

    api = sbg.Api(url="https://api.sbgenomics.com/v2", token="<developer token>")
    for project in api.projects.query().all():
        print(project.id)
"""

# The official client version this package is a drop-in for: code that checks
# ``sevenbridges.__version__`` keeps working. Our own release is ``__toolkit_version__``.
# The distribution's metadata version (pyproject.toml) carries both: "2.11.2+toolkit.0.1.0".
__version__ = "2.11.2"
__toolkit_version__ = "0.1.0"

import logging
import ssl

from sevenbridges.api import Api
from sevenbridges.config import Config
from sevenbridges.errors import (
    BadRequest,
    Conflict,
    ExecutionDetailsInvalidTaskType,
    Forbidden,
    LocalFileAlreadyExists,
    MethodNotAllowed,
    NotFound,
    PaginationError,
    ReadOnlyPropertyError,
    RequestTimeout,
    ResourceNotModified,
    SbgError,
    ServerError,
    ServiceUnavailable,
    TaskValidationError,
    TooManyRequests,
    Unauthorized,
    ValidationError,
)
from sevenbridges.models.app import App
from sevenbridges.models.async_jobs import AsyncJob
from sevenbridges.models.automation import (
    Automation,
    AutomationMember,
    AutomationPackage,
    AutomationRun,
)
from sevenbridges.models.billing_group import BillingGroup
from sevenbridges.models.bulk import BulkRecord
from sevenbridges.models.compound.volumes.volume_object import VolumeObject
from sevenbridges.models.dataset import Dataset
from sevenbridges.models.division import Division
from sevenbridges.models.drs_import import DRSImportBulk
from sevenbridges.models.endpoints import Endpoints
from sevenbridges.models.enums import (
    AppCopyStrategy,
    AppRawFormat,
    AsyncFileOperations,
    AsyncJobStates,
    AutomationRunActions,
    AutomationStatus,
    DivisionRole,
    FileStorageType,
    ImportExportState,
    PartSize,
    TaskStatus,
    TransferState,
    VolumeAccessMode,
    VolumeType,
)
from sevenbridges.models.file import File
from sevenbridges.models.invoice import Invoice
from sevenbridges.models.marker import Marker
from sevenbridges.models.member import Member, Permissions
from sevenbridges.models.project import Project
from sevenbridges.models.rate_limit import RateLimit
from sevenbridges.models.storage_export import Export
from sevenbridges.models.storage_import import Import
from sevenbridges.models.task import Task
from sevenbridges.models.team import Team
from sevenbridges.models.team_member import TeamMember
from sevenbridges.models.user import User
from sevenbridges.models.volume import Volume

# Library logging stays silent unless the application configures logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())

if ssl.OPENSSL_VERSION_INFO < (1, 0, 1):  # TLS 1.2 is required by the platform
    raise SbgError(f"OpenSSL 1.0.1 or newer is required; this Python uses {ssl.OPENSSL_VERSION}.")

__all__ = [
    # client and configuration
    "Api",
    "Config",
    # models
    "App",
    "AsyncJob",
    "Automation",
    "AutomationMember",
    "AutomationPackage",
    "AutomationRun",
    "BillingGroup",
    "BulkRecord",
    "DRSImportBulk",
    "Dataset",
    "Division",
    "Endpoints",
    "File",
    "Invoice",
    "Marker",
    "Member",
    "Permissions",
    "Project",
    "RateLimit",
    "Task",
    "Team",
    "TeamMember",
    "User",
    "Volume",
    "Import",
    "Export",
    "VolumeObject",
    # enums
    "AppCopyStrategy",
    "AppRawFormat",
    "AsyncFileOperations",
    "AsyncJobStates",
    "AutomationRunActions",
    "AutomationStatus",
    "DivisionRole",
    "FileStorageType",
    "ImportExportState",
    "PartSize",
    "TaskStatus",
    "TransferState",
    "VolumeAccessMode",
    "VolumeType",
    # errors
    "SbgError",
    "ResourceNotModified",
    "ReadOnlyPropertyError",
    "ValidationError",
    "TaskValidationError",
    "PaginationError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "TooManyRequests",
    "ServerError",
    "ServiceUnavailable",
    "MethodNotAllowed",
    "RequestTimeout",
    "LocalFileAlreadyExists",
    "ExecutionDetailsInvalidTaskType",
    "__version__",
]
