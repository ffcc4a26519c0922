"""Retention: the only code path that deletes audit events (`tenantry purge-audit`)."""

from __future__ import annotations

import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, delete, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.lib.clock import utcnow

BATCH = 5000


async def purge_events(
    db: AsyncSession, *, older_than_days: int | None, org_days: dict[UUID, int] | None = None
) -> int:
    """Delete events past their window, in batches so no lock is held for long. Returns the count.

    `older_than_days` is the deployment's window (None: keep forever); `org_days` the orgs whose
    plan lets them choose their own, which then replaces the deployment's for their events."""
    org_days = org_days or {}
    total = 0
    for org_id, days in org_days.items():
        total += await _purge(db, AuditEvent.org_id == org_id, days)
    if older_than_days is not None:
        others = or_(AuditEvent.org_id.is_(None), AuditEvent.org_id.not_in(list(org_days))) if org_days else true()
        total += await _purge(db, others, older_than_days)
    return total


async def _purge(db: AsyncSession, which: ColumnElement[bool], days: int) -> int:
    """Each batch is its own transaction that declares itself the purge, which is what the
    PostgreSQL trigger on audit_events lets through."""
    cutoff = utcnow() - datetime.timedelta(days=days)
    total = 0
    while True:
        ids = list(await db.scalars(select(AuditEvent.id).where(which, AuditEvent.occurred_at < cutoff).limit(BATCH)))
        if not ids:
            return total
        if db.bind.dialect.name == "postgresql":
            await db.execute(text("SET LOCAL tenantry.audit_purge = 'on'"))
        await db.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        await db.commit()
        total += len(ids)
