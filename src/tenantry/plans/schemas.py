from __future__ import annotations

import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from tenantry.lib.forms import FormModel


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class ChangePlanForm(FormModel):
    plan: str = Field(max_length=32)


class SeatLimitForm(FormModel):
    seat_limit: Annotated[int | None, BeforeValidator(_blank_is_none)] = None  # empty: the plan's limit


class PlanOverrideForm(FormModel):
    extra_seats: Annotated[int, BeforeValidator(lambda v: _blank_is_none(v) or 0)] = 0
    feature: list[str] = []
    ends_on: Annotated[datetime.date | None, BeforeValidator(_blank_is_none)] = None
    note: str = Field(default="", max_length=200)
