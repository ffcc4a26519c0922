"""API keys (only a hash stored) and the responses remembered for Idempotency-Key."""

from __future__ import annotations

import datetime
import enum
from uuid import UUID

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class Scope(enum.StrEnum):
    READ = "read"  # list and get
    WRITE = "write"  # create, change, delete
    CHECK = "check"  # POST /api/v1/check: the question an app asks on every request


class ApiKey(UUIDv7Base):
    """An app key (org_id NULL: acts on every org) or an org key (acts on its own org only)."""

    __tablename__ = "api_keys"

    org_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(100))
    # The key's first characters ("tnt_org_3Fq9..."), shown in lists so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(24))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JsonB, default=list)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    created_by_user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_by_label: Mapped[str] = mapped_column(String(420), default="")
    expires_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class IdempotentResponse(UUIDv7Base):
    """The first response to a POST with an Idempotency-Key, replayed for the same key and body."""

    __tablename__ = "api_idempotent_responses"
    __table_args__ = (UniqueConstraint("api_key_id", "idempotency_key"),)

    api_key_id: Mapped[UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status_code: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100), default="application/json")
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow, index=True)
