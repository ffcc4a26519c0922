"""Group forms."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints

from tenantry.lib.forms import FormModel


class GroupForm(FormModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: Annotated[str, StringConstraints(max_length=300)] = ""


class AddMemberForm(FormModel):
    membership_id: UUID
