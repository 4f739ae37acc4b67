"""Typed attributes of resource models.

A field is a descriptor declared on a :class:`~sevenbridges.meta.resource.Resource` subclass. It
reads its value from the resource's data (fetching the resource lazily when the key is missing),
validates assigned values, refuses writes to read-only fields and records changes in the
resource's ``_dirty`` map so ``save()`` can send only what changed.

Constructors accept both the current style, ``StringField(read_only, name=None, …)``, and the old
keyword style with defaults, ``StringField(name=None, read_only=False, …)``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sevenbridges.errors import ReadOnlyPropertyError, ValidationError
from sevenbridges.meta.comp_mutable_dict import CompoundMutableDict

__all__ = [
    "Field",
    "CompoundField",
    "CompoundListField",
    "DictField",
    "HrefField",
    "ObjectIdField",
    "IntegerField",
    "FloatField",
    "StringField",
    "DateTimeField",
    "BooleanField",
    "UuidField",
    "BasicListField",
]


class _Unset:
    """Marks an argument that was not given (so old-style calls get the old defaults)."""

    def __repr__(self) -> str:
        return "<class default>"


_UNSET: Any = _Unset()


class Field:
    """A plain attribute: no conversion, optional ``validator(value)`` callable."""

    default_read_only = True

    def __init__(
        self,
        name: str | None = None,
        read_only: bool = True,
        validator: Callable[[Any], Any] | None = None,
    ) -> None:
        self.name = name
        self.read_only = read_only
        self.validator = validator
        self.attribute = name  # the Python attribute name, known once the class is created

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute
        if self.name is None:
            self.name = attribute

    # ----------------------------------------------------------------- descriptor protocol

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return self.to_python(instance._data[self.name], instance)

    def __set__(self, instance: Any, value: Any) -> None:
        if self.read_only:
            raise ReadOnlyPropertyError(f"Property {self.attribute} is marked as read only!")
        self.validate(value)
        value = self.to_storage(value)
        if instance._data[self.name] == value:  # may fetch the resource first
            return
        instance._data.data[self.name] = value
        instance._dirty[self.name] = value

    # ----------------------------------------------------------------- hooks for subclasses

    def validate(self, value: Any) -> None:
        """Raise :class:`ValidationError` when ``value`` does not fit this field."""
        if self.validator is not None:
            self.validator(value)

    def to_python(self, value: Any, instance: Any) -> Any:
        """Convert stored (JSON) data to the value users see."""
        return value

    def to_storage(self, value: Any) -> Any:
        """Convert an assigned value to the JSON-ready form kept in the resource's data."""
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}{' (read only)' if self.read_only else ''}>"


class _TypedField(Field):
    """Base of the typed fields: ``(read_only, name=None)`` with the old keyword style too."""

    def __init__(self, read_only: Any = _UNSET, name: Any = None) -> None:
        if isinstance(read_only, str):
            # Old positional style: the first argument was the JSON name.
            read_only, name = (name if isinstance(name, bool) else _UNSET), read_only
        if read_only is _UNSET:
            read_only = self.default_read_only
        super().__init__(name=name, read_only=bool(read_only))

    def _fail(self, message: str) -> None:
        raise ValidationError(f"{self.attribute}: {message}")


class HrefField(_TypedField):
    """Absolute URL of a resource."""


class ObjectIdField(_TypedField):
    """Opaque object id."""


class DictField(_TypedField):
    """A free-form JSON object."""

    default_read_only = False


class StringField(_TypedField):
    default_read_only = False

    def __init__(
        self, read_only: Any = _UNSET, name: Any = None, max_length: int | None = None
    ) -> None:
        super().__init__(read_only, name)
        self.max_length = max_length

    def validate(self, value: Any) -> None:
        if value and not isinstance(value, str):
            self._fail(f"expected a string, got {type(value).__name__}")
        if self.max_length is not None and value and len(value) > self.max_length:
            self._fail(f"longer than {self.max_length} characters")


class IntegerField(_TypedField):
    default_read_only = False

    def validate(self, value: Any) -> None:
        if value and not isinstance(value, int):
            self._fail(f"expected an integer, got {type(value).__name__}")


class FloatField(_TypedField):
    """Numbers or numeric strings; read back as ``float``."""

    default_read_only = False

    def validate(self, value: Any) -> None:
        if value is None:
            return
        try:
            float(value)
        except (TypeError, ValueError):
            self._fail(f"expected a number, got {value!r}")

    def to_python(self, value: Any, instance: Any) -> float | None:
        return None if value is None else float(value)


class BooleanField(_TypedField):
    default_read_only = False

    def validate(self, value: Any) -> None:
        if value and not isinstance(value, bool):
            self._fail(f"expected a boolean, got {type(value).__name__}")


class UuidField(_TypedField):
    """A UUID kept as its string form."""

    def validate(self, value: Any) -> None:
        if value is None:
            return
        try:
            uuid.UUID(str(value))
        except ValueError:
            self._fail(f"{value!r} is not a valid UUID")

    def to_storage(self, value: Any) -> Any:
        return str(value) if isinstance(value, uuid.UUID) else value


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?"
)


def parse_datetime(value: Any) -> datetime | None:
    """Parse platform timestamps into naive datetimes (UTC wall time when an offset is given).

    Accepts ``YYYY-MM-DDTHH:MM:SS[.ffffff][Z]`` strings (an explicit ``±HH:MM`` offset too),
    epoch seconds and datetimes; anything unparseable reads as None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value)
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        parsed = parsed - sign * shift
    return parsed


class DateTimeField(_TypedField):
    """Timestamp; read back as a naive :class:`datetime` (or None)."""

    def to_python(self, value: Any, instance: Any) -> datetime | None:
        return parse_datetime(value)

    def to_storage(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        return value


class BasicListField(_TypedField):
    """A JSON array of plain values (tags, ids …)."""

    default_read_only = False

    def __init__(
        self, read_only: Any = _UNSET, name: Any = None, max_length: int | None = None
    ) -> None:
        super().__init__(read_only, name)
        self.max_length = max_length

    def validate(self, value: Any) -> None:
        if value and not isinstance(value, list):
            self._fail(f"expected a list, got {type(value).__name__}")
        if self.max_length is not None and value and len(value) > self.max_length:
            self._fail(f"more than {self.max_length} items")


def _plain_data(value: Any) -> Any:
    """JSON-ready data of a nested object: resources give their data, mappings a plain dict."""
    data_container = getattr(value, "_data", None)
    if data_container is not None and hasattr(data_container, "data"):
        return dict(data_container.data)
    if isinstance(value, Mapping):
        return dict(value)
    return value


class CompoundField(Field):
    """A nested object, returned as a new ``cls`` instance bound to its owner on every read."""

    def __init__(
        self,
        cls: type,
        read_only: Any = _UNSET,
        name: Any = None,
        validator: Callable[[Any], Any] | None = None,
    ) -> None:
        if isinstance(read_only, str):
            read_only, name = (name if isinstance(name, bool) else _UNSET), read_only
        if read_only is _UNSET:
            read_only = False
        super().__init__(name=name, read_only=bool(read_only), validator=validator)
        self.cls = cls

    def validate(self, value: Any) -> None:
        if value is None and self.name == "metadata":
            raise ValidationError("Metadata cannot be None, use an empty dict to clear it.")
        super().validate(value)

    def to_storage(self, value: Any) -> Any:
        return _plain_data(value)

    def to_python(self, value: Any, instance: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return value  # not an object: hand back what the platform sent
        if issubclass(self.cls, CompoundMutableDict):
            # The content is never passed as keyword arguments: keys such as 'api', '_parent'
            # or 'self' (task outputs, metadata) would clash with the constructor's own.
            return self.cls.bound_to(instance, value)
        return self.cls(api=instance._api, _parent=instance, **value)

    def __set__(self, instance: Any, value: Any) -> None:
        super().__set__(instance, value)
        if self.name == "metadata" and self.name in instance._dirty:
            # Assigning the whole metadata dict replaces it on the platform (PUT, not PATCH).
            instance._overwrite_metadata = True


class CompoundListField(Field):
    """A list of nested objects, each returned as a ``cls`` instance; ``[]`` when missing."""

    def __init__(self, cls: type, read_only: Any = _UNSET, name: Any = None) -> None:
        if isinstance(read_only, str):
            read_only, name = (name if isinstance(name, bool) else _UNSET), read_only
        if read_only is _UNSET:
            read_only = True
        super().__init__(name=name, read_only=bool(read_only))
        self.cls = cls

    def to_storage(self, value: Any) -> Any:
        if isinstance(value, list):
            return [_plain_data(item) for item in value]
        return value

    def to_python(self, value: Any, instance: Any) -> list[Any]:
        if not value:
            return []
        return [
            self.cls(api=instance._api, **item) if isinstance(item, Mapping) else item
            for item in value
        ]
