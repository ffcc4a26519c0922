"""Role forms."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, StringConstraints

from tenantry.access.catalog import ROLE_KEY
from tenantry.lib.forms import FormModel

RoleName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=300)]


def _check_key(value: str) -> str:
    value = value.lower()
    if value and not ROLE_KEY.fullmatch(value):
        msg = "Use lowercase letters, digits, - and _, starting with a letter (at most 64)."
        raise ValueError(msg)
    return value


RoleKey = Annotated[str, StringConstraints(max_length=100), AfterValidator(_check_key)]


class RoleForm(FormModel):
    name: RoleName
    key: RoleKey = ""  # blank: derived from the name; fixed once the role exists
    description: Description = ""
    permissions: list[str] = []


class RoleChoiceForm(FormModel):
    """The roles ticked in a checkbox list (a member's, or a group's)."""

    role: list[UUID] = []


class DefaultRoleForm(FormModel):
    role_id: UUID
