"""The platform's error vocabulary: one exception type carrying HTTP status and platform code."""

from __future__ import annotations

MORE_INFO_URL = "https://docs.sevenbridges.com/reference#api-status-codes"


class ApiError(Exception):
    """Raised by services and the HTTP layer; rendered as the platform's JSON error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, object]:
        return {
            "status": self.status,
            "code": self.code,
            # A message may quote client text; one that holds an unpaired surrogate could not be
            # sent as UTF-8, so such characters are shown as escapes (\ud800) instead.
            "message": self.message.encode("utf-8", "backslashreplace").decode("utf-8"),
            "more_info": MORE_INFO_URL,
        }


# Platform codes used by the local platform (numbers from the REST reference).
MAINTENANCE = 0
RATE_LIMITED = 1000
USER_FORBIDDEN = 2001
USER_NOT_FOUND = 2002
DIVISION_REQUIRED = 2105
PROJECT_FORBIDDEN = 3001
PROJECT_NOT_FOUND = 3002
PROJECT_CONFLICT = 3003
MEMBER_USERNAME_EMPTY = 3005
PROJECT_NAME_EMPTY = 3007
PROJECT_TYPE_INVALID = 3010
BILLING_NOT_FOUND = 4002
BILLING_GROUP_ID_EMPTY = 4004
BILLING_GROUP_ID_NOT_UUID = 4005
BILLING_NOT_MEMBER = 4006
# Volumes (9000-9030) and their listings (9100-9109); numbers in the order of the REST
# reference's list, where it gives them (9014, 9026, 9032) exactly.
VOLUME_PROVIDER_ERROR = 9000
VOLUME_NO_READ_ACCESS = 9001
VOLUME_NOT_FOUND = 9007
VOLUME_NAME_EXISTS = 9010
VOLUME_BAD_SYNTAX = 9011
VOLUME_MEMBER_NOT_FOUND = 9012
VOLUME_NAME_EMPTY = 9013
VOLUME_NAME_INVALID = 9014
VOLUME_ACCESS_MODE_INVALID = 9015
VOLUME_SERVICE_MISSING = 9016
VOLUME_SERVICE_INVALID = 9017
VOLUME_FORBIDDEN = 9019
VOLUME_CANNED_ACL_INVALID = 9021
VOLUME_STORAGE_CLASS_INVALID = 9023
VOLUME_PRIVATE_KEY_INVALID = 9024
VOLUME_NOT_READ_WRITE = 9026
VOLUME_SSE_ALGORITHM_INVALID = 9032
LISTING_PROVIDER_ERROR = 9100
LISTING_LOCATION_NOT_ACCESSIBLE = 9103
LISTING_LOCATION_NOT_FOUND = 9105
# Local codes (the reference lists none for these resources); see docs/internals.md.
TEAM_NOT_FOUND = 2106
TEAM_FORBIDDEN = 2107
TEAM_NAME_INVALID = 2108
OTHER_DIVISION = 2109
TEAM_MEMBER_EXISTS = 2110
TEAM_MEMBER_NOT_FOUND = 2111
DIVISION_NOT_FOUND = 2112
MEMBER_TYPE_INVALID = 3014
MARKER_FORBIDDEN = 11001
MARKER_NOT_FOUND = 11002
MARKER_FILE_NOT_BAM = 11004
MARKER_POSITION_INVALID = 11005
MARKER_CHROMOSOME_INVALID = 11006
MARKER_NAME_EMPTY = 11007
DATASET_FORBIDDEN = 12001
DATASET_NOT_FOUND = 12002
DATASET_CONFLICT = 12003
DATASET_NAME_EMPTY = 12004
FEEDBACK_INVALID = 12501
AUTOMATION_FORBIDDEN = 13001
AUTOMATION_NOT_FOUND = 13002
AUTOMATION_INVALID = 13003
AUTOMATION_ARCHIVED = 13004
AUTOMATION_MEMBER_EXISTS = 13005
AUTOMATION_MEMBER_NOT_FOUND = 13006
PACKAGE_NOT_FOUND = 13011
PACKAGE_INVALID = 13012
PACKAGE_VERSION_EXISTS = 13013
RUN_NOT_FOUND = 13021
RUN_INPUTS_INVALID = 13022
RUN_STATE_CONFLICT = 13023
RUN_SETTINGS_INVALID = 13024
BAD_REQUEST = 90000
UNAUTHORIZED = 90001
FORBIDDEN = 90002
NOT_FOUND = 90003
UNEXPECTED = 90004
UNAVAILABLE = 90005
METHOD_NOT_ALLOWED = 90006
CONFLICT = 90007
UNDECODABLE_BODY = 90009


def bad_request(message: str, code: int = BAD_REQUEST) -> ApiError:
    return ApiError(400, code, message)


def unauthorized(
    message: str = "Unauthorized: missing or invalid authentication token.",
) -> ApiError:
    return ApiError(401, UNAUTHORIZED, message)


def forbidden(message: str, code: int = FORBIDDEN) -> ApiError:
    return ApiError(403, code, message)


def not_found(message: str, code: int = NOT_FOUND) -> ApiError:
    return ApiError(404, code, message)


def conflict(message: str, code: int) -> ApiError:
    return ApiError(409, code, message)


def insufficient_storage(message: str) -> ApiError:
    """507: the disk is full; nothing was changed (the platform has no own code: 90004)."""
    return ApiError(507, UNEXPECTED, message)


def gave_up(what: str) -> ApiError:
    """500/90004 for a background job whose work failed unexpectedly on every attempt (the
    details are in the server log, never in the answer)."""
    return ApiError(
        500, UNEXPECTED, f"The {what} failed unexpectedly on every attempt; see the server log."
    )


def unavailable(message: str) -> ApiError:
    """503 with 90005 (never code 0, which clients take for maintenance): try again later."""
    return ApiError(503, UNAVAILABLE, message)
