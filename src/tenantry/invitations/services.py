"""Invitation verbs: invite (one or a thousand), resend, revoke, open the link, accept."""

from __future__ import annotations

import csv
import datetime
import enum
import io
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import Role
from tenantry.access.permissions import Permission
from tenantry.access.services import (
    EffectivePermissions,
    authority,
    check_may_grant,
    default_role,
    lock_org,
    roles_of_org,
)
from tenantry.accounts import sessions
from tenantry.accounts.confirmed import confirmed_person
from tenantry.accounts.models import TokenPurpose, User
from tenantry.accounts.passwords import Passwords, password_problem
from tenantry.accounts.schemas import normalize_email
from tenantry.accounts.services import SignedIn, actor_label, count_signup, create_user, find_user_by_email, user_target
from tenantry.accounts.tokens import LIFETIMES, issue_token
from tenantry.audit.services import Actor, Target, record_event
from tenantry.config import Settings
from tenantry.groups.models import Group, GroupRole
from tenantry.groups.services import join_groups
from tenantry.invitations.models import Invitation, InvitationGroup, InvitationRole, InvitationStatus
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.pagination import Page, keyset_page
from tenantry.lib.ratelimit import Limit, RateLimiter
from tenantry.lib.tokens import hash_token, new_token
from tenantry.lib.words import words
from tenantry.mail.messages import send_invitation_email, send_welcome_email
from tenantry.mail.models import OutboxMessage, OutboxStatus
from tenantry.members.models import Membership, MembershipStatus
from tenantry.members.rules import check_room_for
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization
from tenantry.orgs.services import create_personal_workspace_if_on
from tenantry.orgs.settings import MAX_EXPIRY_DAYS, MIN_EXPIRY_DAYS, check_invitation_domains, load_org_settings
from tenantry.plans.services import free_seats, seat_limit_message

MAX_ADDRESSES = 1000


# --- reading a list of addresses -------------------------------------------------------------


@dataclass
class Addresses:
    valid: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (what was written, why it can't be used)


def _pieces_of_text(text: str) -> list[str]:
    """ "Ann <ann@x.example>, bob@y.example; carl@z.example" -> three pieces."""
    pieces = []
    for chunk in re.split(r"[,;\n\r]+", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        words = chunk.split()
        if "<" in chunk:
            pieces.append(parseaddr(chunk)[1] or chunk)
        else:
            addresses = [word.strip("()\"'") for word in words if "@" in word]
            # "ann@x.example bob@y.example" or "Ann Smith ann@x.example"; a line without any
            # address is one mistake, reported whole ("not an address").
            pieces.extend(addresses or [chunk])
    return pieces


def _pieces_of_csv(text: str) -> list[str]:
    """The column called "email" if the first row names one, else the first column."""
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("email") if "email" in header else 0
    body = rows[1:] if "email" in header else rows
    return [row[column].strip() for row in body if len(row) > column and row[column].strip()]


def read_addresses(text: str, csv_text: str = "") -> Addresses:
    """Pasted addresses and/or a CSV, de-duplicated, each checked; what can't be used says why."""
    result = Addresses()
    seen: set[str] = set()
    try:
        from_csv = _pieces_of_csv(csv_text)
    except csv.Error:  # e.g. an unclosed quote swallowing the rest of the file
        raise InvalidInput.on(
            "csv", "This file can't be read as a CSV. Export it again, or paste the addresses."
        ) from None
    pieces = _pieces_of_text(text) + from_csv
    if len(pieces) > MAX_ADDRESSES:
        raise InvalidInput.on(
            "emails", f"That is {len(pieces):,} addresses; invite at most {MAX_ADDRESSES:,} at a time."
        )
    for piece in pieces:
        try:
            address = normalize_email(piece)
        except ValueError as exc:
            result.invalid.append((piece[:200], str(exc).removeprefix("Enter a valid email address. ")))
            continue
        if address not in seen:
            seen.add(address)
            result.valid.append(address)
    return result


# --- inviting ------------------------------------------------------------------------------


@dataclass
class InviteOutcome:
    invited: list[str] = field(default_factory=list)
    already_members: list[str] = field(default_factory=list)
    already_invited: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)


def invitation_target(invitation: Invitation) -> Target:
    return Target(type="invitation", id=str(invitation.id), label=invitation.email)


async def invite_people(
    db: AsyncSession,
    *,
    limiter: RateLimiter,
    settings: Settings,
    org: Organization,
    addresses: Addresses,
    role_ids: set[UUID],
    group_ids: set[UUID],
    expiry_days: int | None,
    message: str,
    actor: Actor,
) -> InviteOutcome:
    """Invite every valid address at once, with the same roles, groups, expiry and message.

    Addresses already in the org, or with an invitation still open, are reported, not invited
    again; addresses outside the org's allowed domains are refused. No expiry: the org's. The
    invitations and their emails commit together."""
    outcome = InviteOutcome(invalid=addresses.invalid)
    inviter = await confirmed_person(db, actor)
    if not addresses.valid:
        raise InvalidInput.on("emails", "Enter at least one valid email address.")
    if expiry_days is not None and not MIN_EXPIRY_DAYS <= expiry_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput.on("expiry_days", f"Choose between {MIN_EXPIRY_DAYS} and {MAX_EXPIRY_DAYS} days.")
    # Counted before the org is locked: the counter lives in its own transaction.
    await limiter.hit(
        Limit("invite:org", settings.invitation_limit_per_org_hour, 3600), str(org.id), amount=len(addresses.valid)
    )
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_INVITE)
    await db.refresh(org)  # the seat limit as it is now, under the lock
    org_settings = await load_org_settings(db, settings=settings, org=org)
    check_invitation_domains(org_settings, addresses.valid)
    if expiry_days is None:
        expiry_days = org_settings.invitation_expiry_days.value
    roles, groups = await _grantable_roles_and_groups(
        db, settings=settings, org=org, access=access, role_ids=role_ids, group_ids=group_ids
    )

    members = set(
        await db.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org.id, User.email.in_(addresses.valid))
        )
    )
    open_invitations = {
        invitation.email: invitation
        for invitation in await db.scalars(
            select(Invitation).where(
                Invitation.org_id == org.id,
                Invitation.status == InvitationStatus.PENDING,
                Invitation.email.in_(addresses.valid),
            )
        )
    }
    now = utcnow()
    to_invite = []
    for address in addresses.valid:
        if address in members:
            outcome.already_members.append(address)
        elif address in open_invitations and open_invitations[address].expires_at > now:
            outcome.already_invited.append(address)
        else:
            to_invite.append(address)
    limit, free = await free_seats(db, settings, org) if to_invite else (None, 0)
    if limit is not None and len(to_invite) > free:
        raise InvalidInput.on(
            "emails",
            seat_limit_message(org, limit)
            if free <= 0
            else f"{org.name} has {free} free seat{'s' if free != 1 else ''} of {limit}; "
            f"you are inviting {len(to_invite)}. Invite fewer people, or move to a plan with more seats.",
        )
    for address in to_invite:
        if address in open_invitations:  # expired: the new invitation replaces it
            open_invitations[address].status = InvitationStatus.REPLACED
    await db.flush()

    for address in to_invite:
        invitation = await _create_invitation(
            db,
            settings=settings,
            org=org,
            email=address,
            roles=roles,
            groups=groups,
            message=message,
            expires_at=now + datetime.timedelta(days=expiry_days),
            inviter=inviter,
            actor=actor,
        )
        outcome.invited.append(invitation.email)
    await db.flush()
    return outcome


async def _grantable_roles_and_groups(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization,
    access: EffectivePermissions,
    role_ids: set[UUID],
    group_ids: set[UUID],
) -> tuple[list[Role], list[Group]]:
    """The roles (the org's default if none) and groups a newcomer is to get, each of this org,
    and each role, directly or through a group, one the actor may give."""
    available = {info.role.id: info for info in await roles_of_org(db, org_id=org.id)}
    if role_ids - set(available):
        raise NotFound
    if not role_ids:
        role_ids = {(await default_role(db, org=org, deployment_default=settings.default_role)).id}
    groups = list(await db.scalars(select(Group).where(Group.id.in_(group_ids), Group.org_id == org.id)))
    if len(groups) != len(group_ids):
        raise NotFound
    group_role_ids = set(await db.scalars(select(GroupRole.role_id).where(GroupRole.group_id.in_(group_ids))))
    check_may_grant(access, [available[r] for r in role_ids], field="role")
    check_may_grant(access, [available[r] for r in group_role_ids & set(available)], field="group")
    return [available[r].role for r in role_ids], groups


async def create_member(
    db: AsyncSession,
    *,
    limiter: RateLimiter,
    settings: Settings,
    org: Organization,
    name: str,
    email: str,
    role_ids: set[UUID],
    group_ids: set[UUID],
    actor: Actor,
) -> tuple[User, Membership]:
    """An admin creates someone's account inside the org: no password yet, the membership active
    at once, and a welcome email whose link sets the first password (and confirms the address).

    It has to say when the address already has an account, so it counts against the org's
    invitation limit (it sends mail too), and the seat limit comes first: a full org learns
    nothing about anyone's address."""
    creator = await confirmed_person(db, actor)
    # Counted before the org is locked: the counter lives in its own transaction.
    await limiter.hit(Limit("invite:org", settings.invitation_limit_per_org_hour, 3600), str(org.id))
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_MANAGE)
    await db.refresh(org)
    check_invitation_domains(await load_org_settings(db, settings=settings, org=org), [email], field="email")
    limit, free = await free_seats(db, settings, org)
    if limit is not None and free <= 0:
        raise InvalidInput.on("__all__", seat_limit_message(org, limit))
    existing = await find_user_by_email(db, email)
    if existing is not None:
        member = await db.scalar(
            select(Membership.id).where(Membership.org_id == org.id, Membership.user_id == existing.id)
        )
        raise InvalidInput.on(
            "email",
            f"{existing.name} is already a member of {org.name}."
            if member
            else "This address already has an account. Invite it instead: they join with the account they have.",
        )
    roles, groups = await _grantable_roles_and_groups(
        db, settings=settings, org=org, access=access, role_ids=role_ids, group_ids=group_ids
    )
    user = await create_user(db, name=name, email=email, password_hash=None, actor=actor)
    # A new account belongs nowhere yet: within any org limit. Its personal workspace doesn't count.
    await create_personal_workspace_if_on(db, settings, user=user, actor=actor)
    membership = await create_membership(db, org=org, user=user, roles=roles, actor=actor)
    await join_groups(db, org=org, groups=groups, membership=membership, member_label=user.email, actor=actor)
    token = await issue_token(db, user=user, purpose=TokenPurpose.SET_PASSWORD)
    send_welcome_email(
        db,
        settings,
        org=org,
        user=user,
        creator=creator.name if creator else actor.label,
        token=token,
        days=LIFETIMES[TokenPurpose.SET_PASSWORD].days,
        role_names=[role.name for role in roles],
        group_names=[group.name for group in groups],
    )
    await db.flush()
    return user, membership


class AlreadyMember(InvalidInput):
    """The person is in the org already, active or deactivated: a conflict, not bad input."""

    status = 409


async def add_existing_member(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization,
    user: User,
    role_ids: set[UUID],
    group_ids: set[UUID],
    actor: Actor,
) -> Membership:
    """Someone who already has an account joins the org at once, by an admin's (or an app's)
    decision: with the roles given (the org's default if none) and the groups, within the org's
    allowed domains, its seats and TENANTRY_MAX_ORGS_PER_USER. No invitation, no email.

    Not for an org's own API key: it would let one org pull anyone of the deployment into it
    (and learn which addresses have accounts); an org invites, and the person accepts."""
    if actor.org_key:
        raise NotPermitted.on("user", f"A key of one {words().org} can't add people directly: invite them instead.")
    await confirmed_person(db, actor)
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_MANAGE)
    await db.refresh(org)
    status = await db.scalar(
        select(Membership.status).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    if status is not None:
        raise AlreadyMember.on(
            "user",
            f"{user.name} is already a member of {org.name}"
            + (" (deactivated: reactivate them instead)." if status == MembershipStatus.INACTIVE else "."),
        )
    check_invitation_domains(await load_org_settings(db, settings=settings, org=org), [user.email], field="user")
    roles, groups = await _grantable_roles_and_groups(
        db, settings=settings, org=org, access=access, role_ids=role_ids, group_ids=group_ids
    )
    await check_room_for(
        db, settings, user=user, org_id=org.id, doing=f"they can join {org.name}", by_admin=True, field="user"
    )
    await db.refresh(org)
    limit, free = await free_seats(db, settings, org)
    if limit is not None and free <= 0:
        raise InvalidInput.on("__all__", seat_limit_message(org, limit))
    membership = await create_membership(db, org=org, user=user, roles=roles, actor=actor)
    await join_groups(db, org=org, groups=groups, membership=membership, member_label=user.email, actor=actor)
    return membership


def _send(
    db: AsyncSession,
    settings: Settings,
    *,
    org: Organization,
    invitation: Invitation,
    token: str,
    roles: list[Role],
    groups: list[Group],
) -> None:
    send_invitation_email(
        db,
        settings,
        org=org,
        invitation=invitation,
        token=token,
        role_names=[role.name for role in roles],
        group_names=[group.name for group in groups],
    )


async def _create_invitation(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization,
    email: str,
    roles: list[Role],
    groups: list[Group],
    message: str,
    expires_at: datetime.datetime,
    inviter: User | None,
    actor: Actor,
) -> Invitation:
    token = new_token()
    invitation = Invitation(
        org_id=org.id,
        email=email,
        token_hash=hash_token(token),
        invited_by_id=inviter.id if inviter else None,
        inviter_name=(inviter.name if inviter else actor.label)[:100],  # an API key's label can be longer
        message=message,
        expires_at=expires_at,
        sent_at=utcnow(),
    )
    db.add(invitation)
    await db.flush()
    db.add_all([InvitationRole(invitation_id=invitation.id, role_id=role.id) for role in roles])
    db.add_all([InvitationGroup(invitation_id=invitation.id, group_id=group.id) for group in groups])
    _send(db, settings, org=org, invitation=invitation, token=token, roles=roles, groups=groups)
    record_event(
        db,
        actor=actor,
        action="invitation.created",
        org_id=org.id,
        target=invitation_target(invitation),
        after={
            "email": email,
            "roles": sorted(role.key for role in roles),
            "groups": sorted(group.name for group in groups),
            "expires_at": expires_at.isoformat(),
        },
    )
    return invitation


async def _roles_of(db: AsyncSession, invitation_id: UUID) -> list[Role]:
    return list(
        await db.scalars(
            select(Role)
            .join(InvitationRole, InvitationRole.role_id == Role.id)
            .where(InvitationRole.invitation_id == invitation_id)
            .order_by(Role.name)
        )
    )


async def _groups_of(db: AsyncSession, invitation: Invitation) -> list[Group]:
    return list(
        await db.scalars(
            select(Group)
            .join(InvitationGroup, InvitationGroup.group_id == Group.id)
            .where(InvitationGroup.invitation_id == invitation.id, Group.org_id == invitation.org_id)
            .order_by(Group.name_key)
        )
    )


async def find_invitation(db: AsyncSession, *, org_id: UUID, invitation_id: UUID) -> Invitation:
    invitation = await db.scalar(select(Invitation).where(Invitation.id == invitation_id, Invitation.org_id == org_id))
    if invitation is None:
        raise NotFound
    return invitation


async def resend_invitation(
    db: AsyncSession, *, settings: Settings, org: Organization, invitation: Invitation, actor: Actor
) -> None:
    """A new email with a new link; the old link stops working. Expiry starts again."""
    access = await authority(db, org=org, actor=actor, require=Permission.MEMBERS_INVITE)
    await db.refresh(invitation)
    await db.refresh(org)
    if invitation.status != InvitationStatus.PENDING:
        raise InvalidInput.on("__all__", f"The invitation to {invitation.email} is no longer open.")
    roles, groups = await _roles_of(db, invitation.id), await _groups_of(db, invitation)
    # Resending gives the roles anew: the rules of giving them apply to whoever resends.
    await _grantable_roles_and_groups(
        db,
        settings=settings,
        org=org,
        access=access,
        role_ids={role.id for role in roles},
        group_ids={group.id for group in groups},
    )
    expired = invitation.expires_at <= utcnow()
    limit, free = await free_seats(db, settings, org) if expired else (None, 0)
    if limit is not None and free <= 0:  # an expired invitation held no seat
        raise InvalidInput.on("__all__", seat_limit_message(org, limit))
    token = new_token()
    invitation.token_hash = hash_token(token)
    org_settings = await load_org_settings(db, settings=settings, org=org)
    invitation.expires_at = utcnow() + datetime.timedelta(days=org_settings.invitation_expiry_days.value)
    invitation.sent_at = utcnow()
    _send(db, settings, org=org, invitation=invitation, token=token, roles=roles, groups=groups)
    record_event(
        db,
        actor=actor,
        action="invitation.resent",
        org_id=org.id,
        target=invitation_target(invitation),
        after={"expires_at": invitation.expires_at.isoformat()},
    )
    await db.flush()


async def revoke_invitation(db: AsyncSession, *, org: Organization, invitation: Invitation, actor: Actor) -> bool:
    await authority(db, org=org, actor=actor, require=Permission.MEMBERS_INVITE)
    await db.refresh(invitation)
    if invitation.status != InvitationStatus.PENDING:
        return False
    invitation.status = InvitationStatus.REVOKED
    record_event(
        db,
        actor=actor,
        action="invitation.revoked",
        org_id=org.id,
        target=invitation_target(invitation),
        before={"status": "pending"},
        after={"status": "revoked"},
    )
    await db.flush()
    return True


# --- the join link -------------------------------------------------------------------------


class InvitationProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED = "used"
    ORG_DELETED = "org_deleted"


class BadInvitation(Exception):
    def __init__(self, problem: InvitationProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass
class OpenInvitation:
    invitation: Invitation
    org: Organization
    role_names: list[str]
    group_names: list[str]
    account_exists: bool


async def _by_token(db: AsyncSession, token: str) -> tuple[Invitation, Organization]:
    """The invitation a link's token names, whatever its state, with its org."""
    if not token or len(token) > 200:
        raise BadInvitation(InvitationProblem.UNKNOWN)
    row = (
        await db.execute(
            select(Invitation, Organization)
            .join(Organization, Organization.id == Invitation.org_id)
            .where(Invitation.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        raise BadInvitation(InvitationProblem.UNKNOWN)
    if row[1].deleted_at is not None:
        raise BadInvitation(InvitationProblem.ORG_DELETED)
    return row[0], row[1]


async def open_invitation(db: AsyncSession, token: str) -> OpenInvitation:
    """What a join link offers, or why it offers nothing."""
    invitation, org = await _by_token(db, token)
    _check_open(invitation)
    return OpenInvitation(
        invitation=invitation,
        org=org,
        role_names=[role.name for role in await _roles_of(db, invitation.id)],
        group_names=[group.name for group in await _groups_of(db, invitation)],
        account_exists=await find_user_by_email(db, invitation.email) is not None,
    )


def _check_open(invitation: Invitation) -> None:
    if invitation.status == InvitationStatus.ACCEPTED:
        raise BadInvitation(InvitationProblem.USED)
    if invitation.status in (InvitationStatus.REVOKED, InvitationStatus.REPLACED):
        raise BadInvitation(InvitationProblem.REVOKED)
    if invitation.expires_at <= utcnow():
        raise BadInvitation(InvitationProblem.EXPIRED)


async def accept_invitation(
    db: AsyncSession, *, settings: Settings, token: str, user: User, actor: Actor
) -> Organization:
    """Join the org as the invitation says. Accepting twice, or in two tabs, gives one membership.
    Within TENANTRY_MAX_ORGS_PER_USER and the org's seats."""
    invitation, org = await _by_token(db, token)
    await lock_org(db, org.id)  # one acceptance at a time per org: seats, and the same link twice
    user = await db.get(User, user.id) or user  # this session's copy: the signed-in one is detached
    await db.refresh(invitation)
    await db.refresh(org)
    if org.deleted_at is not None:  # deleted while we waited for the lock
        raise BadInvitation(InvitationProblem.ORG_DELETED)
    if invitation.token_hash != hash_token(token):
        raise BadInvitation(InvitationProblem.REVOKED)  # resent meanwhile: this link died
    if invitation.status == InvitationStatus.ACCEPTED and invitation.accepted_by_id == user.id:
        if await _is_active_member(db, org_id=org.id, user_id=user.id):
            return org  # the other tab got there first
        raise BadInvitation(InvitationProblem.USED)  # and since then removed or deactivated
    _check_open(invitation)
    if invitation.email != user.email:
        raise NotPermitted.on(
            "__all__", f"This invitation is for {invitation.email}, and you are signed in as {user.email}."
        )
    membership = await db.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id))
    if membership is not None and membership.status == MembershipStatus.INACTIVE:
        raise NotPermitted.on(
            "__all__", f"Your membership of {org.name} is deactivated. Ask one of its admins to reactivate it."
        )
    if membership is None:
        await check_room_for(db, settings, user=user, org_id=org.id, doing=f"joining {org.name}")
        await db.refresh(org)
        # The invitation held a seat, so only members count here.
        limit, free = await free_seats(db, settings, org, count_invitations=False)
        if limit is not None and free <= 0:
            raise InvalidInput.on(
                "__all__", f"{org.name} has no free seat: all {limit} are taken. Ask whoever invited you to free one."
            )
        roles = await _roles_of(db, invitation.id)
        membership = await create_membership(db, org=org, user=user, roles=roles, actor=actor)
        groups = await _groups_of(db, invitation)
        await join_groups(db, org=org, groups=groups, membership=membership, member_label=user.email, actor=actor)
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    after = {"user": user.email}
    if user.email_verified_at is None:
        # The link came to this mailbox: following it proves the address as well as a confirmation link would.
        user.email_verified_at = utcnow()
        after["email_verified"] = True
    record_event(
        db, actor=actor, action="invitation.accepted", org_id=org.id, target=invitation_target(invitation), after=after
    )
    await db.flush()
    return org


async def _is_active_member(db: AsyncSession, *, org_id: UUID, user_id: UUID) -> bool:
    status = await db.scalar(
        select(Membership.status).where(Membership.org_id == org_id, Membership.user_id == user_id)
    )
    return status == MembershipStatus.ACTIVE


async def open_invitation_or_mine(db: AsyncSession, token: str, user: User) -> OpenInvitation:
    """Like open_invitation, but an invitation this very user already accepted still opens."""
    try:
        return await open_invitation(db, token)
    except BadInvitation as exc:
        if exc.problem != InvitationProblem.USED:
            raise
    row = (
        await db.execute(
            select(Invitation, Organization)
            .join(Organization, Organization.id == Invitation.org_id)
            .where(Invitation.token_hash == hash_token(token), Invitation.accepted_by_id == user.id)
        )
    ).first()
    if row is None or not await _is_active_member(db, org_id=row[1].id, user_id=user.id):
        raise BadInvitation(InvitationProblem.USED)
    return OpenInvitation(invitation=row[0], org=row[1], role_names=[], group_names=[], account_exists=True)


async def accept_with_new_account(
    db: AsyncSession,
    *,
    limiter: RateLimiter,
    passwords: Passwords,
    settings: Settings,
    token: str,
    name: str,
    password: str,
    actor: Actor,
) -> tuple[SignedIn, Organization]:
    """Create the invitee's account (its address is the invitation's, confirmed by the click)
    and join. The new session is returned for the cookie."""
    opened = await open_invitation(db, token)
    email = opened.invitation.email
    await count_signup(limiter, settings, ip=actor.ip, email=email)
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise InvalidInput.on("password", problem)
    user = await create_user(
        db, name=name, email=email, password_hash=await passwords.hash(password), actor=actor, email_verified=True
    )
    as_user = actor.as_user(user.id, actor_label(user))
    record_event(
        db,
        actor=as_user,
        action="user.signed_up",
        target=user_target(user),
        after={"name": name, "invitation": str(opened.invitation.id)},
    )
    await create_personal_workspace_if_on(db, settings, user=user, actor=as_user)
    new_session = sessions.create_session(db, user=user, settings=settings, ip=actor.ip, user_agent=actor.user_agent)
    org = await accept_invitation(db, settings=settings, token=token, user=user, actor=as_user)
    return SignedIn(user=user, session=new_session), org


async def pending_count(db: AsyncSession, *, org_id: UUID) -> int:
    return int(
        await db.scalar(
            select(func.count()).where(Invitation.org_id == org_id, Invitation.status == InvitationStatus.PENDING)
        )
        or 0
    )


@dataclass
class PendingRow:
    invitation: Invitation
    role_names: list[str]
    delivery: str  # how its latest email fared, in words
    delivery_failed: bool


async def list_pending(db: AsyncSession, *, org_id: UUID, cursor: str | None = None) -> Page[PendingRow]:
    """The org's open invitations by address, with roles and how the email fared. Three statements."""
    page = await keyset_page(
        db,
        select(Invitation, Invitation.email, Invitation.id).where(
            Invitation.org_id == org_id, Invitation.status == InvitationStatus.PENDING
        ),
        order_by=[Invitation.email, Invitation.id],
        key=lambda row: (row[1], row[2]),
        key_types=(str, UUID),
        cursor=cursor,
        per_page=25,
    )
    invitations = [row[0] for row in page.items]
    ids = [invitation.id for invitation in invitations]
    roles: dict[UUID, list[str]] = {invitation_id: [] for invitation_id in ids}
    for invitation_id, name in await db.execute(
        select(InvitationRole.invitation_id, Role.name)
        .join(Role, Role.id == InvitationRole.role_id)
        .where(InvitationRole.invitation_id.in_(ids))
        .order_by(Role.name)
    ):
        roles[invitation_id].append(name)
    latest: dict[UUID, OutboxMessage] = {}
    for message in await db.scalars(
        select(OutboxMessage).where(OutboxMessage.invitation_id.in_(ids)).order_by(OutboxMessage.id)
    ):
        latest[message.invitation_id] = message  # the last one wins: it is the newest
    rows = []
    for invitation in invitations:
        message = latest.get(invitation.id)
        if message is None or (message.status in (OutboxStatus.PENDING, OutboxStatus.SENDING) and not message.attempts):
            delivery, failed = "Waiting to be sent", False
        elif message.status == OutboxStatus.SENT:
            delivery, failed = "Delivered", False
        elif message.status == OutboxStatus.FAILED:
            delivery, failed = f"Not delivered: {message.last_error[:120]}", True
        else:
            delivery, failed = f"Retrying (attempt {message.attempts}): {message.last_error[:120]}", True
        rows.append(
            PendingRow(
                invitation=invitation, role_names=roles[invitation.id], delivery=delivery, delivery_failed=failed
            )
        )
    return Page(items=rows, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


# --- for someone in no org yet ("create or join") ---------------------------------------------

_LINK_TOKEN = re.compile(r"(?:^|/invite/)([A-Za-z0-9_-]{16,200})(?:[/?#].*)?$")


def invitation_token_in(link: str) -> str | None:
    """The token of a pasted join link (https://portal.example/invite/<token>), or a bare token."""
    match = _LINK_TOKEN.search(link.strip()[:2000])
    return match.group(1) if match else None


@dataclass
class InvitationForMe:
    org_name: str
    inviter_name: str
    expires_at: datetime.datetime


async def pending_invitations_for(db: AsyncSession, *, user: User, limit: int = 20) -> list[InvitationForMe]:
    """Open invitations sent to this user's address, newest first. Their links are only in the
    emails (we keep the tokens' hashes), so the page can say where to look, not offer a button.

    Only once the address is confirmed: anyone can sign up with someone else's address, and
    must not learn who invited it where."""
    if user.email_verified_at is None:
        return []
    rows = await db.execute(
        select(Organization.name, Invitation.inviter_name, Invitation.expires_at)
        .join(Organization, Organization.id == Invitation.org_id)
        .where(
            Invitation.email == user.email,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > utcnow(),
            Organization.deleted_at.is_(None),
        )
        .order_by(Invitation.id.desc())
        .limit(limit)
    )
    return [InvitationForMe(org_name=name, inviter_name=inviter, expires_at=expires) for name, inviter, expires in rows]
