"""Invitation forms."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BeforeValidator, StringConstraints

from tenantry.accounts.schemas import Email, PasswordInput, PersonName
from tenantry.lib.forms import FormModel


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class InviteForm(FormModel):
    emails: Annotated[str, StringConstraints(max_length=100_000)] = ""
    role: list[UUID] = []
    group: list[UUID] = []
    expiry_days: Annotated[int | None, BeforeValidator(_blank_is_none)] = None  # empty: the org's
    message: Annotated[str, StringConstraints(max_length=1000)] = ""


class JoinWithNewAccountForm(FormModel):
    name: PersonName
    password: PasswordInput


class NewMemberForm(FormModel):
    name: PersonName
    email: Email
    role: list[UUID] = []
    group: list[UUID] = []
