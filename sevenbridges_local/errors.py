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
BAD_REQUEST = 90000
UNAUTHORIZED = 90001
FORBIDDEN = 90002
NOT_FOUND = 90003
UNEXPECTED = 90004
UNAVAILABLE = 90005
METHOD_NOT_ALLOWED = 90006
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


def unavailable(message: str) -> ApiError:
    """503 with 90005 (never code 0, which clients take for maintenance): try again later."""
    return ApiError(503, UNAVAILABLE, message)
