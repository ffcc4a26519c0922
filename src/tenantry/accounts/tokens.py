"""Single-use links sent by email: verify an address, reset or set a password."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts.models import TokenPurpose, User, UserToken
from tenantry.lib.clock import utcnow
from tenantry.lib.tokens import hash_token, new_token

LIFETIMES = {
    TokenPurpose.VERIFY_EMAIL: datetime.timedelta(hours=48),
    TokenPurpose.RESET_PASSWORD: datetime.timedelta(hours=1),
    TokenPurpose.SET_PASSWORD: datetime.timedelta(days=7),
}


class TokenProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class BadToken(Exception):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


async def issue_token(db: AsyncSession, *, user: User, purpose: TokenPurpose) -> str:
    """A new link for `purpose`; earlier unused ones of the same purpose stop working."""
    now = utcnow()
    await db.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == purpose, UserToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = new_token()
    db.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return token


@dataclass(frozen=True)
class Found:
    token: UserToken
    user: User


async def find_token(db: AsyncSession, token: str, *, purpose: TokenPurpose) -> Found:
    """The token and its user, if it can still be used; BadToken says why not."""
    if not token or len(token) > 200:
        raise BadToken(TokenProblem.UNKNOWN)
    row = (
        await db.execute(
            select(UserToken, User)
            .join(User, User.id == UserToken.user_id)
            .where(UserToken.token_hash == hash_token(token), UserToken.purpose == purpose)
        )
    ).first()
    if row is None:
        raise BadToken(TokenProblem.UNKNOWN)
    found = Found(token=row[0], user=row[1])
    if found.token.used_at is not None:
        raise BadToken(TokenProblem.USED)
    if found.token.expires_at <= utcnow():
        raise BadToken(TokenProblem.EXPIRED)
    return found


async def use_token(db: AsyncSession, token: str, *, purpose: TokenPurpose) -> User:
    """Spend a token, once: of two requests racing with the same link, one wins."""
    found = await find_token(db, token, purpose=purpose)
    result = await db.execute(
        update(UserToken).where(UserToken.id == found.token.id, UserToken.used_at.is_(None)).values(used_at=utcnow())
    )
    if not result.rowcount:
        raise BadToken(TokenProblem.USED)
    return found.user
