"""Retention: the only code path that deletes audit events (`tenantry purge-audit`)."""

from __future__ import annotations

import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.lib.clock import utcnow

BATCH = 5000


async def purge_events(db: AsyncSession, *, older_than_days: int) -> int:
    """Delete events older than the window, in batches so no lock is held for long. Returns the count.

    Each batch is its own transaction that declares itself the purge, which is what the
    PostgreSQL trigger on audit_events lets through."""
    cutoff = utcnow() - datetime.timedelta(days=older_than_days)
    total = 0
    while True:
        ids = list(await db.scalars(select(AuditEvent.id).where(AuditEvent.occurred_at < cutoff).limit(BATCH)))
        if not ids:
            return total
        if db.bind.dialect.name == "postgresql":
            await db.execute(text("SET LOCAL tenantry.audit_purge = 'on'"))
        await db.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        await db.commit()
        total += len(ids)
