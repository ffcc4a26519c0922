"""An org's life after deletion, and its last activity.

Deleting an org (services.delete_organization) only sets `deleted_at`: from that request on it is
hidden from everyone, and kept, exactly as it was, for TENANTRY_ORG_RESTORE_DAYS. Within that
window support staff may restore it; after it, `tenantry purge` removes it with everything it owns.

Its audit history survives the purge: audit_events has no foreign key to organizations (the log
outlives what it speaks of, with labels copied at the time), so deleting the org's row cascades
to its members, roles, groups, invitations, logo and old slugs, and never reaches its events.
"""

from __future__ import annotations

import datetime
import logging
import math
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry.access.services import lock_org
from tenantry.accounts.services import require_staff
from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor, Target, record_event
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import InvalidInput
from tenantry.lib.pagination import Page, keyset_page
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization
from tenantry.orgs.services import org_target

logger = logging.getLogger(__name__)

# A request bumps an org's last activity only when the recorded one is older than this, so a
# busy org costs one cheap UPDATE every few minutes, not one per request.
ACTIVITY_RESOLUTION = datetime.timedelta(minutes=5)


def restorable_until(deleted_at: datetime.datetime, restore_days: int) -> datetime.datetime:
    """Until when support may restore an org deleted at `deleted_at`; `tenantry purge` removes it after."""
    return deleted_at + datetime.timedelta(days=restore_days)


def days_left(deleted_at: datetime.datetime, restore_days: int) -> int:
    """Whole days (rounded up) before the org may be purged; 0 once the window has ended."""
    remaining = restorable_until(deleted_at, restore_days) - utcnow()
    return max(0, math.ceil(remaining / datetime.timedelta(days=1)))


async def note_activity(sessionmaker: async_sessionmaker, *, org: Organization) -> None:
    """Record that a member is using the org now, unless that was noted in the last few minutes.

    The org row the request already loaded says whether it is due, so most requests cost
    nothing. When due: one conditional UPDATE in a short transaction of its own, so neither the
    SQLite write lock nor PostgreSQL's row lock is held for the rest of the request; on PostgreSQL
    a row another transaction holds (an access change locks it) is skipped rather than waited
    for, and the next request notes it. A failure here never fails the member's request."""
    now = utcnow()
    if org.last_activity_at is not None and org.last_activity_at >= now - ACTIVITY_RESOLUTION:
        return
    due = select(Organization.id).where(
        Organization.id == org.id,
        or_(Organization.last_activity_at.is_(None), Organization.last_activity_at < now - ACTIVITY_RESOLUTION),
    )
    try:
        async with sessionmaker() as db, db.begin():
            await db.execute(
                update(Organization)
                .where(Organization.id.in_(due.with_for_update(skip_locked=True).scalar_subquery()))
                .values(last_activity_at=now, updated_at=Organization.updated_at)  # activity is not an edit
                .execution_options(synchronize_session=False)
            )
    except SQLAlchemyError:
        logger.warning("Could not note the last activity of org %s", org.id, exc_info=True)


async def restore_organization(db: AsyncSession, *, org_id: UUID, restore_days: int, actor: Actor) -> Organization:
    """Bring a deleted org back exactly as it was: its members, roles, groups and invitations
    were never touched, only hidden. Refused once the restore window has ended."""
    await require_staff(db, actor)
    await lock_org(db, org_id)  # one restore at a time, and never during the purge of the same org
    org = await db.get(Organization, org_id, populate_existing=True)
    if org is None:
        raise NotFound
    if org.deleted_at is None:
        raise InvalidInput.on("__all__", f"{org.name} is not deleted: there is nothing to restore.")
    until = restorable_until(org.deleted_at, restore_days)
    if until <= utcnow():
        raise InvalidInput.on(
            "__all__",
            f"{org.name} can no longer be restored: its {restore_days}-day restore window ended on "
            f"{until:%-d %b %Y, %H:%M} UTC. The next `tenantry purge` removes it.",
        )
    deleted_at = org.deleted_at
    org.deleted_at = None
    record_event(
        db,
        actor=actor,
        action="org.restored",
        org_id=org.id,
        target=org_target(org),
        before={"deleted_at": deleted_at.isoformat()},
        after={"name": org.name, "slug": org.slug},
    )
    await db.flush()
    return org


@dataclass(frozen=True)
class PurgedOrg:
    name: str
    slug: str
    deleted_at: datetime.datetime


async def purge_deleted_orgs(db: AsyncSession, *, restore_days: int, actor: Actor) -> list[PurgedOrg]:
    """Remove every org deleted longer ago than the restore window, with everything it owns.

    One transaction per org, each with its org.purged event. The DELETE repeats the window's
    condition, so an org restored meanwhile (its row locked, then committed) is left alone. The
    org's audit events stay: they have no foreign key to it (see the module's docstring)."""
    cutoff = utcnow() - datetime.timedelta(days=restore_days)
    expired = (Organization.deleted_at.is_not(None), Organization.deleted_at < cutoff)
    candidates = list(
        await db.execute(
            select(Organization.id, Organization.name, Organization.slug, Organization.deleted_at)
            .where(*expired)
            .order_by(Organization.deleted_at, Organization.id)
        )
    )
    purged: list[PurgedOrg] = []
    for org_id, name, slug, deleted_at in candidates:
        members = await db.scalar(select(func.count()).where(Membership.org_id == org_id))
        result = await db.execute(
            delete(Organization).where(Organization.id == org_id, *expired).execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            await db.rollback()
            continue
        record_event(
            db,
            actor=actor,
            action="org.purged",
            org_id=org_id,
            target=Target(type="organization", id=str(org_id), label=slug),
            before={"name": name, "slug": slug, "deleted_at": deleted_at.isoformat(), "members": int(members or 0)},
        )
        await db.commit()
        purged.append(PurgedOrg(name=name, slug=slug, deleted_at=deleted_at))
    return purged


# --- staff's list of deleted orgs ---------------------------------------------------------------


@dataclass(frozen=True)
class DeletedOrg:
    org: Organization
    deleted_by: str  # the actor's label in the org.deleted event; "" if it is no longer on record
    restorable_until: datetime.datetime
    days_left: int


async def deleted_orgs_page(
    db: AsyncSession, *, restore_days: int, cursor: str | None, per_page: int = 25
) -> Page[DeletedOrg]:
    """Deleted orgs, most recently deleted first. Two statements whatever the page's size."""
    page = await keyset_page(
        db,
        select(Organization).where(Organization.deleted_at.is_not(None)),
        order_by=[Organization.deleted_at, Organization.id],
        key=lambda row: (row[0].deleted_at.isoformat(), row[0].id),
        key_types=(_aware_datetime, UUID),
        cursor=cursor,
        per_page=per_page,
        descending=True,
    )
    orgs = [row[0] for row in page.items]
    deleted_by = await _deleters(db, [org.id for org in orgs])
    items = [
        DeletedOrg(
            org=org,
            deleted_by=deleted_by.get(org.id, ""),
            restorable_until=restorable_until(org.deleted_at, restore_days),
            days_left=days_left(org.deleted_at, restore_days),
        )
        for org in orgs
        if org.deleted_at is not None
    ]
    return Page(items=items, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


async def _deleters(db: AsyncSession, org_ids: list[UUID]) -> dict[UUID, str]:
    """Who deleted each org: the latest org.deleted event of each (by the (org, action, id) index)."""
    if not org_ids:
        return {}
    rows = await db.execute(
        select(AuditEvent.org_id, AuditEvent.actor_label)
        .where(AuditEvent.org_id.in_(org_ids), AuditEvent.action == "org.deleted")
        .order_by(AuditEvent.id)
    )
    return {org_id: label.split(" <", 1)[0] for org_id, label in rows}


def _aware_datetime(text: str) -> datetime.datetime:
    """A cursor's timestamp; a naive one is refused (the pager then starts over)."""
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a cursor's time must carry its zone")
    return value
