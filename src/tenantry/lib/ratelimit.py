"""Fixed-window rate limits counted in the database, so every instance sees the same counts.

A counter is written in its own short transaction: it must survive the request being refused
(a 429 rolls the request's own transaction back).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

from advanced_alchemy.base import DefaultBase
from sqlalchemy import BigInteger, Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tenantry.lib.clock import utcnow


class RateLimitCounter(DefaultBase):
    __tablename__ = "rate_limit_counters"

    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Limit:
    name: str  # e.g. "signin:email"
    max_hits: int
    window_seconds: int


@dataclass(frozen=True)
class RateLimited(Exception):
    """Raised by a service verb when a limit is reached; the portal answers with a 429 page."""

    retry_after_seconds: int

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_seconds / 60))


class RateLimiter:
    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    async def hit(self, limit: Limit, subject: str, amount: int = 1) -> None:
        """Count `amount` attempts by `subject` (an IP, an email, an org); RateLimited past the limit."""
        now = int(utcnow().timestamp())
        window_start = now - now % limit.window_seconds
        # Hash the subject: the table should not become a list of emails and IPs.
        digest = hashlib.sha256(subject.lower().encode("utf-8", "surrogatepass")).hexdigest()[:40]
        bucket = f"{limit.name}:{digest}"
        async with self._sessionmaker() as db, db.begin():
            dialect = db.bind.dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            statement = (
                insert(RateLimitCounter)
                .values(bucket=bucket, window_start=window_start, hits=amount)
                .on_conflict_do_update(
                    index_elements=["bucket", "window_start"],
                    set_={"hits": RateLimitCounter.hits + amount},
                )
                .returning(RateLimitCounter.hits)
            )
            hits = (await db.execute(statement)).scalar_one()
            if hits == amount and secrets.randbelow(50) == 0:
                # Now and then, when a new window opens, forget windows that ended a day ago.
                await db.execute(delete(RateLimitCounter).where(RateLimitCounter.window_start < now - 86400))
        if hits > limit.max_hits:
            raise RateLimited(retry_after_seconds=window_start + limit.window_seconds - now)
