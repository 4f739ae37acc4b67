"""The request boundary: how bodies are read and decoded, and how bad ones become platform errors.

Every router uses :class:`BoundaryRoute`. For operations that take a JSON body it reads the body
with a size limit (413 when larger), decodes it strictly (``strict_json``: UTF-8, bounded
nesting, no NaN/Infinity, numbers that fit a database column) whatever the ``Content-Type`` says,
and only then lets FastAPI validate it against the operation's pydantic model. Request models
derive from :class:`RequestBody`; a field (or a whole model) carries the platform code of its
resource with :class:`PlatformCode`, and :func:`validation_error` turns pydantic's failures into
the platform's error body with that code and a message that names the field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Union

from fastapi import Request, Response, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from starlette.types import Scope

from sevenbridges_local import errors, strict_json
from sevenbridges_local.limits import MAX_JSON_BODY_BYTES

_JSON_MEDIA_TYPE = (b"content-type", b"application/json")


# ---------------------------------------------------------------------------------------------
# Reading and decoding


def too_large(limit: int) -> errors.ApiError:
    return errors.ApiError(
        413, errors.BAD_REQUEST, f"The request body is larger than {limit} bytes."
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    cached = getattr(request, "_body", None)
    if cached is not None:
        return cached
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's own cache: later body()/stream() calls reuse it
    return body


class BoundaryRequest(Request):
    """A request whose body is read with a size limit and decoded with ``strict_json``."""

    body_limit = MAX_JSON_BODY_BYTES

    async def body(self) -> bytes:
        return await read_limited(self, self.body_limit)

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = strict_json.loads(await self.body())
        return self._strict_json


def _as_json(scope: Scope) -> Scope:
    """The scope with ``Content-Type: application/json``: a JSON operation's body is read as
    JSON whatever the label says (none at all, or curl's default form type), as the local
    platform always has."""
    headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
    return {**scope, "headers": [*headers, _JSON_MEDIA_TYPE]}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Model | None`` or ``list[Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, dict, tuple, Sequence):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


class BoundaryRoute(APIRoute):
    """An API route that decodes JSON bodies through the boundary before FastAPI validates them."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.body_model = (
            _model_in(self.body_field.field_info.annotation) if self.body_field else None
        )
        self.parameter_codes = _parameter_codes(self)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None

        async def boundary_handler(request: Request) -> Response:
            if not takes_json:
                return await handler(BoundaryRequest(request.scope, request.receive))
            strict = BoundaryRequest(_as_json(request.scope), request.receive)
            # Decode here, outside FastAPI's body parsing, so a refusal keeps its own status.
            try:
                await strict.json()
            except strict_json.UnpairedSurrogate as exc:
                raise unpaired_surrogate_error(self.body_model, exc)
            return await handler(strict)

        return boundary_handler


# ---------------------------------------------------------------------------------------------
# Request models and their platform codes


@dataclass(frozen=True)
class PlatformCode:
    """``Annotated`` metadata: the platform code for an invalid value of this field."""

    code: int


class RequestBody(BaseModel):
    """Base of every JSON request body: strict JSON types, unknown keys ignored.

    ``platform_code`` is the code for any invalid value in the model (a field's own
    :class:`PlatformCode`, or a nested model's code, wins), also for a missing body;
    ``shape`` says what the body must be and ``shape_code`` is the code when the body has the
    wrong JSON type altogether (an array for an object, say).

    Field types avoid unions other than ``X | None`` (use a ``BeforeValidator`` on ``Any``
    instead), so error locations are plain field names, indexes and keys.
    """

    model_config = ConfigDict(strict=True, extra="ignore")

    platform_code: ClassVar[int | None] = None
    shape: ClassVar[str] = "a JSON object"
    shape_code: ClassVar[int] = errors.BAD_REQUEST

    def given(self, *names: str) -> dict[str, Any]:
        """The fields the client sent (``null`` included), as plain JSON values.

        With ``names``: only those. This is what PATCH semantics ("only the keys present") need.
        """
        sent = self.model_dump(exclude_unset=True, by_alias=True)
        return {key: value for key, value in sent.items() if not names or key in names}


def required_by_the_service(*names: str) -> ConfigDict:
    """``model_config`` of a body whose keys ``names`` the service requires, answering their
    absence with its own code and message: ``/openapi.json`` lists them as required, pydantic
    leaves them optional so those answers stay."""
    return ConfigDict(json_schema_extra={"required": list(names)})


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**field: Any) -> Any:
    """The default of a field that may be left out but must not be ``null`` when sent: absent
    reads as ``None`` (and is not in :meth:`RequestBody.given`); an explicit ``null`` is invalid.
    ``field``: more ``Field`` arguments (an alias, say)."""
    return Field(default=None, json_schema_extra=_drop_default, **field)


@dataclass(frozen=True)
class at_most:  # noqa: N801 - reads as a constraint in annotations: Annotated[list[X], at_most(9)]
    """``Annotated`` metadata bounding a list (or an object) to ``limit`` items.

    Checked before any item is validated: pydantic's own ``max_length`` counts only after
    validating every item, which lets a huge list of bad items cost seconds. The OpenAPI schema
    gets ``maxItems`` (arrays) or ``maxProperties`` (objects).
    """

    limit: int

    def _check(self, value: Any) -> Any:
        if isinstance(value, list | dict) and len(value) > self.limit:
            raise PydanticCustomError(
                "too_long",
                "at most {limit} items are allowed, got {count}",
                {"limit": self.limit, "count": len(value)},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        for member in [json_schema, *json_schema.get("anyOf", [])]:
            if member.get("type") == "array":
                member["maxItems"] = self.limit
            elif member.get("type") == "object":
                member["maxProperties"] = self.limit
        return json_schema


def _parameter_codes(route: APIRoute) -> dict[tuple[str, str], int]:
    """``{(location, name): code}`` for the route's path and query parameters (its dependencies'
    too) that carry a :class:`PlatformCode`: ``Annotated[str, Query(), PlatformCode(2105)]``."""
    codes: dict[tuple[str, str], int] = {}
    for field in get_flat_params(route.dependant):
        info = field.field_info
        if not isinstance(info, params.Param):
            continue
        for marker in info.metadata:
            if isinstance(marker, PlatformCode):
                codes[(info.in_.value, field.alias)] = marker.code
    return codes


def _fields_by_wire_name(model: type[BaseModel] | None) -> dict[str, Any]:
    if model is None:
        return {}
    return {field.alias or name: field for name, field in model.model_fields.items()}


def code_for(model: type[BaseModel] | None, location: Sequence[str | int]) -> int:
    """The platform code of an error at ``location`` (field names, indexes, keys) in ``model``.

    The innermost field or model that declares a code decides; 90000 when none does.
    """
    if model is None:
        return errors.BAD_REQUEST
    code = getattr(model, "platform_code", None) or errors.BAD_REQUEST
    current: type[BaseModel] | None = model
    for part in location:
        fields = _fields_by_wire_name(current)
        if not isinstance(part, str) or part not in fields:
            continue  # a list index or an object key
        field = fields[part]
        for marker in field.metadata:
            if isinstance(marker, PlatformCode):
                code = marker.code
        current = _model_in(field.annotation)
        own = getattr(current, "platform_code", None)
        if own is not None:
            code = own
    return code


# ---------------------------------------------------------------------------------------------
# Validation failures -> the platform's error body

_KINDS = {"query": "query parameter", "path": "path parameter", "header": "header"}


_SHOWN_KEY_LENGTH = 60  # object keys in a location are the client's text: never echo a huge one


def _dotted(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == strict_json.KEY_MARK:
            text += " (key)"
        else:
            shown = part if len(part) <= _SHOWN_KEY_LENGTH else part[:_SHOWN_KEY_LENGTH] + "..."
            text += f".{shown}" if text else shown
    return text


def _describe(problem: dict[str, Any], model: type[BaseModel] | None) -> str:
    location = list(problem.get("loc", ()))
    where = location[0] if location else "request"
    reason = str(problem.get("msg", "invalid value"))
    if where == "body":
        parts = location[1:]
        name = getattr(model, "body_name", None)  # a body that is one value (tags, metadata)
        if parts and name:
            parts = [name, *parts]
        if not parts:
            kind = str(problem.get("type", ""))
            shape = getattr(model, "shape", "a JSON object")
            if kind == "missing":
                return f"A request body is required: {shape}."
            if kind.endswith("_type"):
                return f"The request body must be {shape}."
            return f"Invalid value for '{name}': {reason}." if name else f"Invalid body: {reason}."
        return f"Invalid value for '{_dotted(parts)}': {reason}."
    name = _dotted(location[1:])
    kind = _KINDS.get(str(where), str(where))
    if name and problem.get("type") == "missing":
        return f"The {kind} '{name}' is required."
    return f"Invalid value for {kind} '{name}': {reason}." if name else f"Invalid {kind}: {reason}."


def unpaired_surrogate_error(
    model: type[BaseModel] | None, exc: strict_json.UnpairedSurrogate
) -> errors.ApiError:
    """The refusal of text with an unpaired surrogate, with the code and name of its field."""
    parts = list(exc.location)
    name = getattr(model, "body_name", None)  # a body that is one value (tags, metadata)
    if parts and name:
        parts = [name, *parts]
    if not parts:
        return errors.bad_request(exc.message, code_for(model, []))
    return errors.bad_request(
        f"Invalid value for '{_dotted(parts)}': text must not contain unpaired surrogates "
        f"(found {exc.codepoint}).",
        code_for(model, exc.location),
    )


def validation_error(request: Request, exc: RequestValidationError) -> errors.ApiError:
    """One platform error for FastAPI's validation failure: the first problem's code, up to
    three problems described."""
    problems = list(exc.errors())
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return strict_json.undecodable("it could not be parsed")
    route = request.scope.get("route")
    model = getattr(route, "body_model", None)
    first = problems[0] if problems else {}
    location = list(first.get("loc", ()))
    if location == ["body"] and first.get("type") != "missing":
        code = getattr(model, "shape_code", errors.BAD_REQUEST)
    elif location[:1] == ["body"]:
        code = code_for(model, location[1:])
    else:  # a path or query parameter, with its own code where it declares one
        codes: dict[tuple[str, str], int] = getattr(route, "parameter_codes", {})
        where = tuple(str(part) for part in location[:2])
        code = codes.get(where, errors.BAD_REQUEST) if len(where) == 2 else errors.BAD_REQUEST
    message = " ".join(_describe(problem, model) for problem in problems[:3])
    if len(problems) > 3:
        message += f" ({len(problems) - 3} more problems.)"
    return errors.bad_request(message or "Invalid request.", code)
