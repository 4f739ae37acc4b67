"""Project members: ``/projects/{owner}/{slug}/members[/{username}[/permissions]]``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import ConfigDict, Field, StrictBool, StrictStr

from sevenbridges_local.api.boundary import BoundaryRoute, RequestBody, omittable
from sevenbridges_local.api.member_routes import Summaries, add_member_routes
from sevenbridges_local.api.shapes import member_json
from sevenbridges_local.limits import MAX_USER_REFERENCE_LENGTH
from sevenbridges_local.services import members

router = APIRouter(tags=["members"], route_class=BoundaryRoute)

MEMBERS = "/projects/{owner}/{slug}/members"
MEMBER = MEMBERS + "/{username}"

UserReference = Annotated[StrictStr, Field(max_length=MAX_USER_REFERENCE_LENGTH)]


class Permissions(RequestBody):
    """Permission switches; only the given ones count (unknown names are refused)."""

    model_config = ConfigDict(extra="forbid")

    read: StrictBool = omittable()
    copy_: StrictBool = omittable(alias="copy")  # "copy" would shadow BaseModel.copy
    write: StrictBool = omittable()
    execute: StrictBool = omittable()
    admin: StrictBool = omittable()

    def given_permissions(self) -> dict[str, bool]:
        return self.given()


class NewMemberBody(RequestBody):
    """``POST .../members``: a user by ``username`` or ``email``; the service needs one of them."""

    username: UserReference | None = None
    email: UserReference | None = None
    type: StrictStr | None = None
    permissions: Permissions | None = None


add_member_routes(
    router,
    members_path=MEMBERS,
    key="slug",
    service=members,
    shaper=member_json,
    new_body=NewMemberBody,
    permissions_body=Permissions,
    summaries=Summaries(
        list="Members of a project",
        add="Add a user to a project",
        get="One member of a project",
        patch="Change some permissions of a member",
        delete="Remove a member from a project",
    ),
)
