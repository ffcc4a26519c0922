"""A membership's life after joining: deactivate, reactivate, remove, leave, hand over ownership.

Every verb locks the org first (access.authority or lock_org) and re-reads what it is about to
change, so two admins, or two tabs, can't take an org's last owner away between them.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import MembershipRole, Role
from tenantry.access.permissions import BuiltinRole, Permission
from tenantry.access.services import (
    EffectivePermissions,
    authority,
    lock_org,
    owner_count,
    still_exists,
    template_role,
)
from tenantry.accounts.models import User
from tenantry.accounts.schemas import normalize_email
from tenantry.audit.services import Actor, record_event
from tenantry.config import Settings
from tenantry.groups.models import Group, GroupMember
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.words import words
from tenantry.members.models import Membership, MembershipStatus
from tenantry.members.rules import check_not_their_last, check_room_for, has_no_other_org
from tenantry.members.services import membership_target
from tenantry.orgs.models import Organization, PersonalWorkspace
from tenantry.plans.services import free_seats, seat_limit_message


async def _is_owner(db: AsyncSession, membership: Membership) -> bool:
    owner = await template_role(db, BuiltinRole.OWNER)
    held = await db.scalar(
        select(MembershipRole.role_id).where(
            MembershipRole.membership_id == membership.id, MembershipRole.role_id == owner.id
        )
    )
    return held is not None


async def _what_they_hold(db: AsyncSession, membership: Membership) -> dict:
    """Roles and groups, for the audit record of a membership that is about to go."""
    roles = await db.scalars(
        select(Role.key)
        .join(MembershipRole, MembershipRole.role_id == Role.id)
        .where(MembershipRole.membership_id == membership.id)
    )
    groups = await db.scalars(
        select(Group.name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.membership_id == membership.id)
    )
    return {"status": membership.status, "roles": sorted(roles), "groups": sorted(groups)}


async def _changeable_by(
    db: AsyncSession, access: EffectivePermissions, org: Organization, membership: Membership, user: User, actor: Actor
) -> bool:
    """The checks every admin verb shares. Returns whether the target is an owner."""
    await still_exists(db, Membership, membership.id)
    await db.refresh(membership)
    if actor.user_id is not None and membership.user_id == actor.user_id:
        raise InvalidInput.on("__all__", f"That is you. To leave {org.name}, use “Leave {org.name}” instead.")
    is_owner = await _is_owner(db, membership)
    if is_owner and not access.is_owner:
        raise NotPermitted.on("__all__", f"{user.name} is an owner; only owners can change that.")
    return is_owner


async def _set_status(
    db: AsyncSession, *, org: Organization, membership: Membership, user: User, actor: Actor, status: str
) -> None:
    before = membership.status
    membership.status = status
    action = "membership.deactivated" if status == MembershipStatus.INACTIVE else "membership.reactivated"
    record_event(
        db,
        actor=actor,
        action=action,
        org_id=org.id,
        target=membership_target(membership, user),
        before={"status": str(before)},
        after={"status": str(status)},
    )
    await db.flush()


async def deactivate_member(
    db: AsyncSession, *, org: Organization, membership: Membership, user: User, actor: Actor
) -> bool:
    """Cut access at the next request, everywhere; roles and groups stay for a reactivation."""
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_MANAGE)
    is_owner = await _changeable_by(db, access, org, membership, user, actor)
    if membership.status == MembershipStatus.INACTIVE:
        return False
    if is_owner and await owner_count(db, org_id=org.id) <= 1:
        raise InvalidInput.on("__all__", f"{user.name} is the last owner. Make someone else an owner first.")
    await _set_status(db, org=org, membership=membership, user=user, actor=actor, status=MembershipStatus.INACTIVE)
    return True


async def reactivate_member(
    db: AsyncSession, *, settings: Settings, org: Organization, membership: Membership, user: User, actor: Actor
) -> bool:
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_MANAGE)
    await _changeable_by(db, access, org, membership, user, actor)
    if membership.status == MembershipStatus.ACTIVE:
        return False
    # A deactivated membership counts toward the limit already; this refuses only when the limit
    # was lowered since, or the person joined others past it in the meantime.
    await check_room_for(
        db, settings, user=user, org_id=org.id, doing=f"they can be reactivated in {org.name}", by_admin=True
    )
    await db.refresh(org)
    # Open invitations hold their seats: reactivating can't take one of theirs.
    limit, free = await free_seats(db, settings, org)
    if limit is not None and free <= 0:
        raise InvalidInput.on("__all__", seat_limit_message(org, limit))
    await _set_status(db, org=org, membership=membership, user=user, actor=actor, status=MembershipStatus.ACTIVE)
    return True


async def remove_member(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization,
    membership: Membership,
    user: User,
    actor: Actor,
) -> bool:
    """Delete the membership, its roles and its places in groups. The account stays.

    Returns whether, under TENANTRY_REQUIRE_ORG, the person is now in no org at all: allowed (an
    admin must be able to remove anyone), the admin is told, and the person lands on "create or
    join" at their next request."""
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_MANAGE)
    is_owner = await _changeable_by(db, access, org, membership, user, actor)
    if is_owner and membership.status == MembershipStatus.ACTIVE and await owner_count(db, org_id=org.id) <= 1:
        raise InvalidInput.on("__all__", f"{user.name} is the last owner. Make someone else an owner first.")
    record_event(
        db,
        actor=actor,
        action="membership.removed",
        org_id=org.id,
        target=membership_target(membership, user),
        before=await _what_they_hold(db, membership),
    )
    await db.delete(membership)
    await db.flush()
    return await has_no_other_org(db, settings, user_id=user.id, org_id=org.id)


async def leave_org(db: AsyncSession, *, settings: Settings, org: Organization, user: User, actor: Actor) -> None:
    """A member leaves on their own. The last owner can't: someone must be able to run the org.
    Under TENANTRY_REQUIRE_ORG, nobody can leave their only org."""
    await lock_org(db, org.id)
    membership = await db.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id))
    if membership is None:
        raise NotFound
    await check_not_their_last(db, settings, user=user, org_id=org.id, org_name=org.name)
    if await _is_owner(db, membership) and await owner_count(db, org_id=org.id) <= 1:
        raise InvalidInput.on(
            "__all__",
            f"You are the last owner of {org.name}. Transfer ownership to another member first, "
            f"or delete the {words().org}.",
        )
    record_event(
        db,
        actor=actor,
        action="membership.left",
        org_id=org.id,
        target=membership_target(membership, user),
        before=await _what_they_hold(db, membership),
    )
    await db.delete(membership)
    await db.flush()


async def transfer_ownership(db: AsyncSession, *, org: Organization, email: str, actor: Actor) -> User:
    """Make another active member the owner; the current owner steps down to admin."""
    access = await authority(db, org=org, actor=actor, require=Permission.ORG_DELETE)
    if not access.is_owner or actor.user_id is None:
        raise NotPermitted.on("__all__", "Only an owner can hand over ownership.")
    try:
        address = normalize_email(email)
    except ValueError as exc:
        raise InvalidInput.on("email", str(exc)) from None
    row = (
        await db.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org.id, User.email == address)
        )
    ).first()
    if row is None or row[0].status != MembershipStatus.ACTIVE:
        raise InvalidInput.on("email", f"No active member of {org.name} has this address.")
    new_owner_membership, new_owner = row
    if new_owner.id == actor.user_id:
        raise InvalidInput.on("email", "That is you. Enter the address of the member who should take over.")
    if await _is_owner(db, new_owner_membership):
        raise InvalidInput.on("email", f"{new_owner.name} is already an owner.")
    mine = await db.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == actor.user_id))
    owner = await template_role(db, BuiltinRole.OWNER)
    admin = await template_role(db, BuiltinRole.ADMIN)
    db.add(MembershipRole(membership_id=new_owner_membership.id, role_id=owner.id))
    await db.execute(
        delete(MembershipRole).where(MembershipRole.membership_id == mine.id, MembershipRole.role_id == owner.id)
    )
    has_admin = await db.scalar(
        select(MembershipRole.role_id).where(
            MembershipRole.membership_id == mine.id, MembershipRole.role_id == admin.id
        )
    )
    if has_admin is None:
        db.add(MembershipRole(membership_id=mine.id, role_id=admin.id))
    # Handed over, a personal workspace is nobody's personal one any more: an ordinary org that
    # counts toward its members' limits like any other.
    personal = await db.execute(delete(PersonalWorkspace).where(PersonalWorkspace.org_id == org.id))
    record_event(
        db,
        actor=actor,
        action="org.ownership_transferred",
        org_id=org.id,
        target=membership_target(new_owner_membership, new_owner),
        before={"owner": actor.label},
        after={"owner": new_owner.email, "previous_owner_role": "admin"}
        | ({"personal_workspace": False} if personal.rowcount else {}),
    )
    await db.flush()
    return new_owner
