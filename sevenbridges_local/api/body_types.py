"""Field types shared by several request bodies, with their limits (``sevenbridges_local.limits``).

Domain rules (a tag must not be blank, a metadata key must not be empty, name rules) stay in the
services; these types fix the JSON shape and the sizes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from sevenbridges_local.api.boundary import at_most
from sevenbridges_local.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
)

# An id in a bulk request: any JSON value passes here, so a malformed one fails only its own
# item (the service answers that item with the resource's "id empty/invalid" error).
ItemId = Annotated[Any, WithJsonSchema({"type": "string"})]

Tag = Annotated[StrictStr, Field(max_length=MAX_TAG_LENGTH)]
Tags = Annotated[list[Tag], at_most(MAX_TAGS)]
Description = Annotated[StrictStr, Field(max_length=MAX_DESCRIPTION_LENGTH)]


def _metadata_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) > MAX_METADATA_VALUE_LENGTH:
            raise PydanticCustomError(
                "string_too_long",
                "a metadata value has at most {limit} characters",
                {"limit": MAX_METADATA_VALUE_LENGTH},
            )
        return value
    raise PydanticCustomError("scalar_type", "expected a string, number, boolean or null")


MetadataValue = Annotated[
    Any,
    BeforeValidator(_metadata_value),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_METADATA_VALUE_LENGTH},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]
MetadataKey = Annotated[str, Field(max_length=MAX_METADATA_KEY_LENGTH)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], at_most(MAX_METADATA_KEYS)]
"""A file's metadata: a flat object of scalars; ``null`` removes a key in a partial update."""
