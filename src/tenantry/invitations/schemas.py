"""Invitation forms."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints

from tenantry.accounts.schemas import Email, PasswordInput, PersonName
from tenantry.lib.forms import FormModel


class InviteForm(FormModel):
    emails: Annotated[str, StringConstraints(max_length=100_000)] = ""
    role: list[UUID] = []
    group: list[UUID] = []
    expiry_days: int = 7
    message: Annotated[str, StringConstraints(max_length=1000)] = ""


class JoinWithNewAccountForm(FormModel):
    name: PersonName
    password: PasswordInput


class InvitationDefaultsForm(FormModel):
    expiry_days: int


class NewMemberForm(FormModel):
    name: PersonName
    email: Email
    role: list[UUID] = []
    group: list[UUID] = []
