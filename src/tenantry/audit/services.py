"""The one way to record an audit event: inside the caller's transaction, never on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts, on whose behalf, and from where. Every service verb takes one explicitly."""

    user_id: UUID | None
    label: str
    impersonator_id: UUID | None = None
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    # An org's API key acting (no person): every permission of its org, but not an owner's.
    org_key: bool = False

    @classmethod
    def system(cls, label: str = "Tenantry") -> Actor:
        """For the CLI and background jobs: no user, no request."""
        return cls(user_id=None, label=label)

    def as_user(self, user_id: UUID, label: str) -> Actor:
        """The same request, now known to be this user (e.g. right after sign-in or sign-up)."""
        return Actor(
            user_id=user_id,
            label=label,
            impersonator_id=self.impersonator_id,
            ip=self.ip,
            user_agent=self.user_agent,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class Target:
    type: str
    id: str
    label: str


def record_event(
    db: AsyncSession,
    *,
    actor: Actor,
    action: str,
    org_id: UUID | None = None,
    target: Target | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the caller's transaction: it commits or rolls back with the change itself."""
    event = AuditEvent(
        action=action,
        org_id=org_id,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:420],
        impersonator_user_id=actor.impersonator_id,
        target_type=target.type if target else "",
        target_id=target.id if target else "",
        target_label=(target.label if target else "")[:420],
        before=before,
        after=after,
        ip=actor.ip[:64],
        user_agent=actor.user_agent[:512],
        request_id=actor.request_id[:64],
    )
    db.add(event)
    return event
