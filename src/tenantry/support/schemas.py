"""The support forms' shapes; the rules (reason length, who may write) are in services.py."""

from __future__ import annotations

from pydantic import Field

from tenantry.lib.forms import FormModel
from tenantry.support.services import DEFAULT_MINUTES


class StartImpersonationForm(FormModel):
    reason: str = Field(default="", max_length=500)
    ticket: str = Field(default="", max_length=100)
    minutes: int = DEFAULT_MINUTES
    write: bool = False  # the checkbox "Ask for write access"
    write_reason: str = Field(default="", max_length=500)
    break_glass_reason: str = Field(default="", max_length=500)


class AccessRequestForm(FormModel):
    request_reason: str = Field(default="", max_length=500)
    request_ticket: str = Field(default="", max_length=100)


class SupportAccessForm(FormModel):
    support_access: str = Field(default="", max_length=16)  # empty: the deployment's default


class ApproveForm(FormModel):
    hours: int | None = None
