"""How many orgs a person may belong to: TENANTRY_MAX_ORGS_PER_USER and TENANTRY_REQUIRE_ORG.

The verbs that add a membership (create an org, accept an invitation, add or reactivate a member)
ask `check_room_for`; the one that takes a person's own membership away (leaving) asks
`check_not_their_last`. Both lock the person's row first, so two tabs accepting two invitations
at a limit of one can't both count "none yet" (PostgreSQL locks the row until commit; on SQLite
this first write takes the database's write lock).

What counts toward the maximum: every membership of the person, deactivated ones too (they can be
reactivated at any time), except their own personal workspace (so a single-workspace product that
also gives everyone a personal workspace still works). What counts for "at least one": active
memberships, the personal workspace included.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.accounts.models import User
from tenantry.config import Settings
from tenantry.db.locks import lock_row
from tenantry.lib.forms import InvalidInput
from tenantry.lib.words import words
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization, PersonalWorkspace


def _orgs(n: int) -> str:
    return f"{n} {words().org if n == 1 else words().orgs}"


async def lock_user(db: AsyncSession, user_id: UUID) -> None:
    """One change to a person's set of orgs at a time (see the module's docstring)."""
    await lock_row(db, User, user_id)


def _not_personal_of(user_id: UUID):
    mine = select(PersonalWorkspace.org_id).where(
        PersonalWorkspace.org_id == Membership.org_id, PersonalWorkspace.user_id == user_id
    )
    return ~mine.exists()


def _org_is_live():
    """Deleted orgs (kept for their restore window) count for nothing: nobody can reach them."""
    return (
        select(Organization.id).where(Organization.id == Membership.org_id, Organization.deleted_at.is_(None)).exists()
    )


async def counted_orgs(db: AsyncSession, *, user_id: UUID, except_org_id: UUID | None = None) -> int:
    """The memberships TENANTRY_MAX_ORGS_PER_USER counts (any status; not the personal workspace)."""
    statement = select(func.count()).where(Membership.user_id == user_id, _not_personal_of(user_id), _org_is_live())
    if except_org_id is not None:
        statement = statement.where(Membership.org_id != except_org_id)
    return int(await db.scalar(statement) or 0)


async def members_over_the_limit(db: AsyncSession, settings: Settings, *, org_id: UUID) -> list[str]:
    """Members of this org who belong to more orgs than TENANTRY_MAX_ORGS_PER_USER allows, by
    name. It happens when support restores a deleted org after they joined others meanwhile:
    the restore goes ahead (nobody is thrown out), and support is told who is over."""
    limit = settings.max_orgs_per_user
    if limit is None:
        return []
    members = select(Membership.user_id).where(Membership.org_id == org_id)
    rows = await db.scalars(
        select(User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.user_id.in_(members), _not_personal_of(Membership.user_id), _org_is_live())
        .group_by(User.id, User.name)
        .having(func.count() > limit)
        .order_by(User.name)
    )
    return list(rows)


async def active_orgs_besides(db: AsyncSession, *, user_id: UUID, org_id: UUID) -> int:
    """The person's other active memberships (what TENANTRY_REQUIRE_ORG needs one of)."""
    statement = select(func.count()).where(
        Membership.user_id == user_id,
        Membership.status == MembershipStatus.ACTIVE,
        Membership.org_id != org_id,
        _org_is_live(),
    )
    return int(await db.scalar(statement) or 0)


async def is_personal_workspace_of(db: AsyncSession, *, org_id: UUID, user_id: UUID) -> bool:
    found = await db.scalar(
        select(PersonalWorkspace.org_id).where(PersonalWorkspace.org_id == org_id, PersonalWorkspace.user_id == user_id)
    )
    return found is not None


async def check_room_for(
    db: AsyncSession,
    settings: Settings | None,
    *,
    user: User,
    org_id: UUID | None,
    doing: str,
    by_admin: bool = False,
    field: str = "__all__",
) -> None:
    """Refuse a membership that would take `user` past TENANTRY_MAX_ORGS_PER_USER.

    `org_id` is the org they would be in (None: a new one); a membership they already hold there
    is not counted twice. `doing` ends the message: "creating another", "joining Acme".
    """
    limit = settings.max_orgs_per_user if settings is not None else None
    if limit is None:
        return
    if org_id is not None and await is_personal_workspace_of(db, org_id=org_id, user_id=user.id):
        return
    await lock_user(db, user.id)
    held = await counted_orgs(db, user_id=user.id, except_org_id=org_id)
    if held < limit:
        return
    if by_admin:
        message = (
            f"{user.name} already belongs to {_orgs(held)}, the most anyone can belong to here ({limit}; "
            f"a deactivated membership counts too). They must leave one before {doing}."
        )
    else:
        message = (
            f"You already belong to {_orgs(held)}, the most anyone can belong to here ({limit}; "
            f"a deactivated membership counts too). Leave one before {doing}."
        )
    raise InvalidInput.on(field, message)


async def check_not_their_last(
    db: AsyncSession, settings: Settings | None, *, user: User, org_id: UUID, org_name: str
) -> None:
    """With TENANTRY_REQUIRE_ORG, a person can't leave their only (active) org."""
    if settings is None or not settings.require_org:
        return
    await lock_user(db, user.id)
    if await active_orgs_besides(db, user_id=user.id, org_id=org_id) == 0:
        raise InvalidInput.on(
            "__all__",
            f"{org_name} is your only {words().org}, and everyone here needs at least one. "
            f"Join or create another {words().org} first, then leave this one.",
        )


async def has_no_other_org(db: AsyncSession, settings: Settings | None, *, user_id: UUID, org_id: UUID) -> bool:
    """With TENANTRY_REQUIRE_ORG: would this person be left without any org (for the admin's note)?"""
    if settings is None or not settings.require_org:
        return False
    return await active_orgs_besides(db, user_id=user_id, org_id=org_id) == 0


async def room_left(db: AsyncSession, settings: Settings, *, user_id: UUID) -> tuple[int, int] | None:
    """(orgs counted, the limit) when the user is at the limit; None when they may join another."""
    limit = settings.max_orgs_per_user
    if limit is None:
        return None
    held = await counted_orgs(db, user_id=user_id)
    return (held, limit) if held >= limit else None
