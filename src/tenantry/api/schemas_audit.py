"""Audit events over the API: each as recorded, with the sentence the portal's log shows."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from tenantry.api.schemas import ApiModel


class EventOut(ApiModel):
    id: UUID
    action: str = Field(description="e.g. `membership.created`; its family is the part before the dot")
    occurred_at: datetime.datetime
    actor_label: str = Field(description="Who acted, as they were called then (`API key …` for a key)")
    actor_user_id: UUID | None
    impersonator_user_id: UUID | None = Field(description="The support staff member acting as the actor, if any")
    target_type: str
    target_id: str
    target_label: str
    org_id: UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
    sentence: str = Field(description="The event in one line of plain English")


class EventList(ApiModel):
    items: list[EventOut] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null: this was the last")
