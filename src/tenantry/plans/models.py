from __future__ import annotations

import datetime
from uuid import UUID

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class PlanOverride(DefaultBase):
    """What support granted one org beyond its plan: extra seats and features, until an end date.

    One row per org. An override past its end date is simply ignored (no job has to remove it),
    so it stops applying on the first request after that moment, on every instance.
    """

    __tablename__ = "plan_overrides"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    extra_seats: Mapped[int] = mapped_column(Integer, default=0)
    extra_features: Mapped[list[str]] = mapped_column(JSON, default=list)
    ends_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    def is_active(self, now: datetime.datetime) -> bool:
        return self.ends_at is None or self.ends_at > now

    @property
    def last_day(self) -> datetime.date | None:
        """The last day it applies (UTC): it ends as that day ends."""
        return None if self.ends_at is None else (self.ends_at - datetime.timedelta(seconds=1)).date()
