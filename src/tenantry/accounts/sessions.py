"""Server-side sessions: one row per signed-in browser, found by the hash of its cookie token."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts.models import User, UserSession
from tenantry.config import Settings
from tenantry.lib.clock import utcnow
from tenantry.lib.tokens import hash_token, new_token

SESSION_COOKIE = "tenantry_session"
# last_seen_at is written at most this often, so that browsing does not mean a write per request.
TOUCH_INTERVAL = datetime.timedelta(seconds=60)


@dataclass(frozen=True)
class NewSession:
    row: UserSession
    token: str  # goes into the cookie, never into the database


def create_session(db: AsyncSession, *, user: User, settings: Settings, ip: str, user_agent: str) -> NewSession:
    now = utcnow()
    token = new_token()
    row = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + datetime.timedelta(hours=settings.session_absolute_hours),
        ip=ip[:64],
        user_agent=user_agent[:512],
    )
    db.add(row)
    return NewSession(row=row, token=token)


@dataclass(frozen=True)
class Resumed:
    session: UserSession
    user: User


async def resume_session(db: AsyncSession, token: str, *, settings: Settings, ip: str) -> Resumed | bool | None:
    """The session behind a cookie token.

    Returns the session and its user; None when there is no such session; False when it existed
    but timed out (idle or absolute), in which case it is deleted. Commits its own small writes.
    """
    if not token or len(token) > 200:
        return None
    row = (
        await db.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    session, user = row
    now = utcnow()
    idle_limit = session.last_seen_at + datetime.timedelta(minutes=settings.session_idle_minutes)
    if session.expires_at <= now or idle_limit <= now:
        await db.execute(delete(UserSession).where(UserSession.id == session.id))
        await db.commit()
        return False
    if now - session.last_seen_at >= TOUCH_INTERVAL or session.ip != ip[:64]:
        session.last_seen_at = now
        session.ip = ip[:64]
        await db.commit()
    return Resumed(session=session, user=user)


def _live(settings: Settings):
    """Sessions that have neither reached their absolute end nor sat idle too long."""
    now = utcnow()
    return (
        UserSession.expires_at > now,
        UserSession.last_seen_at > now - datetime.timedelta(minutes=settings.session_idle_minutes),
    )


async def list_sessions(db: AsyncSession, *, settings: Settings, user_id: UUID) -> list[UserSession]:
    rows = await db.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, *_live(settings))
        .order_by(UserSession.last_seen_at.desc())
    )
    return list(rows)


async def forget_ended_sessions(db: AsyncSession, *, settings: Settings, user_id: UUID) -> None:
    """Delete a user's sessions that timed out without their browser coming back."""
    now = utcnow()
    idle_cutoff = now - datetime.timedelta(minutes=settings.session_idle_minutes)
    await db.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id,
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= idle_cutoff),
        )
    )


async def end_session(db: AsyncSession, *, session_id: UUID) -> None:
    await db.execute(delete(UserSession).where(UserSession.id == session_id))


async def end_other_sessions(db: AsyncSession, *, user_id: UUID, keep_session_id: UUID | None) -> int:
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_session_id is not None:
        statement = statement.where(UserSession.id != keep_session_id)
    result = await db.execute(statement)
    return result.rowcount or 0
