"""One result per requested item, in request order: the loop every bulk call shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sevenbridges_local import errors
from sevenbridges_local.services.context import ServiceContext

Item = TypeVar("Item")
Result = TypeVar("Result")


def each_item(
    ctx: ServiceContext,
    items: Iterable[Item],
    action: Callable[[Item], Result],
    *,
    rollback: bool = True,
) -> list[Result | errors.ApiError]:
    """``action`` on every item; an item's ``ApiError`` becomes its result and the others go on.

    With ``rollback`` (calls that write), a failed item's half-done changes are dropped before
    the next item, so one bad item never leaks into another's commit.
    """
    results: list[Result | errors.ApiError] = []
    for item in items:
        try:
            results.append(action(item))
        except errors.ApiError as error:
            if rollback:
                ctx.session.rollback()
            results.append(error)
    return results
