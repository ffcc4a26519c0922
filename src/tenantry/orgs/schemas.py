"""Organization forms."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from tenantry.lib.colors import normalize_hex_color
from tenantry.lib.forms import FormModel
from tenantry.orgs.slugs import slug_problem

OrgName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


def _check_slug(value: str) -> str:
    value = value.lower()
    problem = slug_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _optional_slug(value: str) -> str:
    return _check_slug(value) if value else ""


def _check_color(value: str) -> str:
    if not value:
        return ""
    color = normalize_hex_color(value)
    if color is None:
        msg = "Enter a colour as #rrggbb, for example #4f46e5."
        raise ValueError(msg)
    return color


Slug = Annotated[str, StringConstraints(max_length=100), AfterValidator(_check_slug)]
OptionalSlug = Annotated[str, StringConstraints(max_length=100), AfterValidator(_optional_slug)]
BrandColor = Annotated[str, StringConstraints(max_length=20), AfterValidator(_check_color)]


class CreateOrgForm(FormModel):
    name: OrgName
    slug: OptionalSlug = ""  # blank: derived from the name
    brand_color: BrandColor = ""


class RenameOrgForm(FormModel):
    name: OrgName


class ChangeSlugForm(FormModel):
    slug: Slug


class BrandingForm(FormModel):
    brand_color: BrandColor = ""
    remove_logo: str = ""


class DeleteOrgForm(FormModel):
    confirm: Annotated[str, StringConstraints(max_length=100)] = ""


class TransferOwnershipForm(FormModel):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


OptionalInt = Annotated[int | None, BeforeValidator(_blank_is_none)]


class PoliciesForm(FormModel):
    """Each policy: inherit the deployment's default (empty / "inherit"), or this org's own value."""

    expiry_days: OptionalInt = None
    default_role: Annotated[UUID | None, BeforeValidator(_blank_is_none)] = None
    domains_choice: Literal["inherit", "any", "own"] = "inherit"
    domains: Annotated[str, StringConstraints(max_length=5000)] = ""
    session_choice: Literal["inherit", "own"] = "inherit"
    session_hours: OptionalInt = None
    members_see_each_other: Literal["", "yes", "no"] = ""
    retention_choice: Literal["inherit", "own"] = "inherit"
    audit_retention_days: OptionalInt = None
