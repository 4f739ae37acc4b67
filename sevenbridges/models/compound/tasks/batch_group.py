"""The group a batch child task belongs to."""

from __future__ import annotations

from sevenbridges.meta.fields import DictField, StringField
from sevenbridges.meta.resource import Resource


class BatchGroup(Resource):
    """``task.batch_group`` of a batch child: ``value`` names the group (a file name, or the
    criteria values joined), ``fields`` holds the criteria values that define it."""

    value = StringField(read_only=True)
    fields = DictField(read_only=True)

    def __str__(self) -> str:
        return "<Batch group>"

    __repr__ = __str__
