"""The API's request and response shapes (pydantic, like the portal's forms): the OpenAPI
document is generated from them, so what is written here is what clients are promised."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WhoAmI(ApiModel):
    key_id: UUID
    name: str
    kind: str = Field(description="`app` (every org) or `org` (its own org only)")
    org_id: UUID | None
    scopes: list[str]


class CheckRequest(ApiModel):
    user: str = Field(min_length=1, max_length=320, description="A user's id or email address")
    org: str = Field(min_length=1, max_length=64, description="An org's id or slug")
    permission: str = Field(min_length=1, max_length=100, description="e.g. `reports:read` or `members:invite`")


class PermissionSourceOut(ApiModel):
    role: str
    group: str | None = Field(default=None, description="The group the role comes through; null: held directly")


class CheckResult(ApiModel):
    allowed: bool
    sources: list[PermissionSourceOut] = Field(description="The roles that grant the permission (empty when denied)")
    reason: str = Field(description="`granted`, `not_granted`, `not_a_member`, `no_such_user` or `no_such_org`")


class BatchCheckRequest(ApiModel):
    checks: list[CheckRequest] = Field(min_length=1, max_length=100)


class BatchCheckResult(ApiModel):
    results: list[CheckResult] = Field(description="One per check, in the order asked")
