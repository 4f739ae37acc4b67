"""Exceptions raised by the client.

Every exception derives from :class:`SbgError` and carries the four keys of the platform's error
body: ``message``, ``code``, ``status`` and ``more_info``. Client-side problems use ``-1`` for
``status`` and ``code``; HTTP errors use the HTTP status and are then filled in from the response
body by :func:`sevenbridges.decorators.check_for_error`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SbgError",
    "ResourceNotModified",
    "ReadOnlyPropertyError",
    "ValidationError",
    "TaskValidationError",
    "PaginationError",
    "AdvanceAccessError",
    "NonJSONResponseError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "RequestTimeout",
    "Conflict",
    "TooManyRequests",
    "ServerError",
    "ServiceUnavailable",
    "URITooLong",
    "LocalFileAlreadyExists",
    "ExecutionDetailsInvalidTaskType",
    "HTTP_ERRORS",
]


class SbgError(Exception):
    """Base class of every error the client raises."""

    def __init__(
        self,
        message: str | None = None,
        code: int | None = None,
        status: int | None = None,
        more_info: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.more_info = more_info

    def __str__(self) -> str:
        return str(self.message)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, code={self.code!r}, "
            f"status={self.status!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses have different constructor signatures; rebuild through the base class and
        # restore the attributes so errors survive pickling (e.g. across process pools).
        return (_rebuild_error, (type(self), self.__dict__.copy()))


def _rebuild_error(cls: type[SbgError], state: dict[str, Any]) -> SbgError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message"))
    error.__dict__.update(state)
    return error


class _ClientSideError(SbgError):
    """Errors detected by the client itself: status and code are -1."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message=message, code=-1, status=-1)


class ResourceNotModified(_ClientSideError):
    """``save()`` was called but nothing changed since the last fetch."""

    def __init__(self) -> None:
        super().__init__("Nothing to save: the resource has no changes to send to the server.")


class ReadOnlyPropertyError(_ClientSideError):
    """A read-only field was assigned."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ValidationError(_ClientSideError):
    """A value does not fit the field it was assigned to."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class TaskValidationError(_ClientSideError):
    """A task was created with ``run=True`` but the platform reported validation errors."""

    def __init__(self, message: str, task: Any = None) -> None:
        super().__init__(message)
        self.task = task


class PaginationError(_ClientSideError):
    """There is no next (or previous) page to go to."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class AdvanceAccessError(_ClientSideError):
    """An advance-access feature was used without enabling advance access."""


class NonJSONResponseError(SbgError):
    """The platform answered with a body that is not JSON where JSON was required."""

    def __init__(
        self,
        status: int | None,
        code: int | None = None,
        message: str | None = None,
        more_info: str | None = None,
    ) -> None:
        super().__init__(message=message, code=code, status=status, more_info=more_info)


class _HttpError(SbgError):
    """An error for one HTTP status; ``STATUS`` is fixed per subclass."""

    STATUS: int = -1

    def __init__(
        self, code: int | None = None, message: str | None = None, more_info: str | None = None
    ) -> None:
        super().__init__(message=message, code=code, status=self.STATUS, more_info=more_info)


class BadRequest(_HttpError):
    STATUS = 400


class Unauthorized(_HttpError):
    STATUS = 401


class Forbidden(_HttpError):
    STATUS = 403


class NotFound(_HttpError):
    STATUS = 404


class MethodNotAllowed(_HttpError):
    STATUS = 405


class RequestTimeout(_HttpError):
    STATUS = 408


class Conflict(_HttpError):
    STATUS = 409


class URITooLong(_HttpError):
    """Raised before sending: the request URL is longer than the platform accepts."""

    STATUS = 414


class TooManyRequests(_HttpError):
    STATUS = 429


class ServerError(_HttpError):
    STATUS = 500


class ServiceUnavailable(_HttpError):
    STATUS = 503


class LocalFileAlreadyExists(_HttpError):
    """A download target exists and overwriting was not requested (message = the path)."""

    STATUS = -1


class ExecutionDetailsInvalidTaskType(_HttpError):
    STATUS = -1


#: HTTP status -> exception class; any other error status maps to :class:`SbgError`.
HTTP_ERRORS: dict[int, type[_HttpError]] = {
    cls.STATUS: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        TooManyRequests,
        ServerError,
        ServiceUnavailable,
    )
}
