"""Users over the API, and the authorization object of one: their orgs, roles and permissions."""

from __future__ import annotations

import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field, StringConstraints

from tenantry.accounts.schemas import Email
from tenantry.api.schemas import ApiModel
from tenantry.api.schemas_orgs import Metadata, visible_text

PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(visible_text)]


class UserOut(ApiModel):
    id: UUID
    email: str
    name: str
    created_at: datetime.datetime
    email_verified: bool
    has_password: bool = Field(description="False until they set one (e.g. through the password reset link)")
    metadata: Metadata


class UserCreate(ApiModel):
    email: Email = Field(max_length=320)
    name: PersonName
    email_verified: bool = Field(
        default=False,
        description="True when your product has confirmed the address (an org's owner needs a confirmed one)",
    )


class HeldRoleOut(ApiModel):
    key: str
    name: str
    group: str | None = Field(description="The group the role comes through; null: held directly")


class UserOrgOut(ApiModel):
    id: UUID
    slug: str
    name: str
    roles: list[HeldRoleOut] = Field(description="Direct roles first, then the roles of their groups")
    permissions: list[str] = Field(description="Effective permissions, after the org's policies, sorted")


class UserOrgs(ApiModel):
    user: UserOut
    orgs: list[UserOrgOut] = Field(description="Each org where they are an active member, by name")
