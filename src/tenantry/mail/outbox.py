"""The outbox: messages are rows, committed with the change they announce, then claimed and
delivered by a worker. A claim is a lease; on PostgreSQL workers skip rows another one holds."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.audit.services import Actor, Target, record_event
from tenantry.lib.clock import utcnow
from tenantry.mail.models import OutboxMessage, OutboxStatus
from tenantry.mail.rendering import RenderedEmail

LEASE = datetime.timedelta(minutes=5)
FIRST_RETRY = datetime.timedelta(seconds=30)
LONGEST_PAUSE = datetime.timedelta(hours=1)


def enqueue(
    db: AsyncSession,
    *,
    to: str,
    email: RenderedEmail,
    kind: str,
    org_id: UUID | None = None,
    invitation_id: UUID | None = None,
) -> OutboxMessage:
    """Add a message to the caller's transaction: it is sent only if the change commits."""
    message = OutboxMessage(
        kind=kind,
        to_address=to,
        subject=email.subject,
        text_body=email.text,
        html_body=email.html,
        org_id=org_id,
        invitation_id=invitation_id,
        next_attempt_at=utcnow(),
    )
    db.add(message)
    return message


@dataclass(frozen=True)
class Claimed:
    id: UUID
    kind: str
    to_address: str
    subject: str
    text_body: str
    html_body: str
    org_id: UUID | None
    invitation_id: UUID | None
    attempts: int
    created_at: datetime.datetime


async def claim_due(sessionmaker: async_sessionmaker, *, limit: int = 10) -> list[Claimed]:
    """Take up to `limit` messages that are due, for this worker only, for the length of a lease."""
    now = utcnow()
    async with sessionmaker() as db:
        is_due = or_(
            and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
            # a worker that died mid-send: its lease ran out
            and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.locked_until < now),
        )
        due = select(OutboxMessage.id).where(is_due).order_by(OutboxMessage.id).limit(limit)
        if db.bind.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)  # another worker's rows are not ours
        rows = (
            await db.execute(
                update(OutboxMessage)
                # is_due again: PostgreSQL re-checks it on the row as it is when the lock is granted
                .where(OutboxMessage.id.in_(due.scalar_subquery()), is_due)
                .values(status=OutboxStatus.SENDING, locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
                .returning(
                    OutboxMessage.id,
                    OutboxMessage.kind,
                    OutboxMessage.to_address,
                    OutboxMessage.subject,
                    OutboxMessage.text_body,
                    OutboxMessage.html_body,
                    OutboxMessage.org_id,
                    OutboxMessage.invitation_id,
                    OutboxMessage.attempts,
                    OutboxMessage.created_at,
                )
                .execution_options(synchronize_session=False)
            )
        ).all()
        await db.commit()
    # RETURNING keeps no order: oldest first, as the messages were written.
    return sorted((Claimed(*row) for row in rows), key=lambda message: message.id)


def _target(message: Claimed) -> Target:
    if message.invitation_id:
        return Target(type="invitation", id=str(message.invitation_id), label=message.to_address)
    return Target(type="email", id=str(message.id), label=message.to_address)


async def mark_sent(sessionmaker: async_sessionmaker, message: Claimed, *, to_log: bool = False) -> None:
    """Delivered; or, without a mail server (to_log), written to the server's log, and said so."""
    async with sessionmaker() as db:
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(status=OutboxStatus.SENT, sent_at=utcnow(), locked_until=None, last_error="")
        )
        record_event(
            db,
            actor=Actor.system("mail"),
            action="email.delivered",
            org_id=message.org_id,
            target=_target(message),
            after={"kind": message.kind, "attempts": message.attempts} | ({"to_log": True} if to_log else {}),
        )
        await db.commit()


def retry_pause(attempts: int) -> datetime.timedelta:
    """30 s, 1 min, 2 min, 4 min ... at most an hour between attempts."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_PAUSE)


async def mark_failed(
    sessionmaker: async_sessionmaker, message: Claimed, error: str, *, retry_for: datetime.timedelta
) -> bool:
    """Schedule the next attempt, or give up once the retry window has passed. True if given up."""
    now = utcnow()
    give_up = now - message.created_at >= retry_for
    async with sessionmaker() as db:
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(
                status=OutboxStatus.FAILED if give_up else OutboxStatus.PENDING,
                next_attempt_at=now + retry_pause(message.attempts),
                locked_until=None,
                last_error=error[:1000],
            )
        )
        if give_up:
            record_event(
                db,
                actor=Actor.system("mail"),
                action="email.failed",
                org_id=message.org_id,
                target=_target(message),
                after={"kind": message.kind, "attempts": message.attempts, "error": error[:300]},
            )
        await db.commit()
    return give_up
