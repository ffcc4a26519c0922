"""The support console: what staff read about one org or one user, and what staff may do for a
user from there (sign them out everywhere, send the confirmation link again).

The reads answer NotFound to anyone but staff (their pages are 404 to everyone else) and run a
fixed number of statements whatever the org's size: lists are cut at a few dozen rows, each with
the total beside it. The verbs ask `require_staff` themselves and record their event in the same
transaction as the change.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantry.access.models import MembershipRole, Role
from tenantry.access.services import role_sort_key
from tenantry.accounts import sessions
from tenantry.accounts.models import TokenPurpose, User, UserSession
from tenantry.accounts.services import require_staff, user_target
from tenantry.accounts.tokens import issue_token
from tenantry.audit.activity import ActivityFilters, list_events
from tenantry.audit.models import AuditEvent
from tenantry.audit.sentences import describe
from tenantry.audit.services import Actor, record_event
from tenantry.config import Settings
from tenantry.db.locks import lock_row
from tenantry.invitations.models import Invitation, InvitationRole, InvitationStatus
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.mail.messages import send_verification_email
from tenantry.mail.models import OutboxMessage
from tenantry.members.models import Membership, MembershipStatus
from tenantry.members.services import MemberRow, attach_roles
from tenantry.orgs.models import Organization, OrgSettingsOverrides, PersonalWorkspace
from tenantry.orgs.settings import OrgSettings, org_settings_of
from tenantry.plans.models import PlanOverride
from tenantry.plans.services import Entitlements, Usage, entitlements_for, plan_catalog, usage_of
from tenantry.support.services import is_support_admin

MEMBERS_SHOWN = 50
INVITATIONS_SHOWN = 50
EVENTS_SHOWN = 20
ORGS_SHOWN = 100  # a user's orgs; TENANTRY_MAX_ORGS_PER_USER may be unset, so there is a cut too


def _staff_only(viewer: User) -> None:
    if not viewer.is_staff:
        raise NotFound


def _role_names(rows: list[tuple[str, str]]) -> list[str]:
    """Role names in the order roles are listed everywhere: Owner, Admin, Member, then by name."""
    return [name for key, name in sorted(rows, key=lambda row: role_sort_key(*row))]


# --- one org ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationLine:
    invitation: Invitation
    roles: list[str]
    expired: bool
    email: OutboxMessage | None  # the latest message written for it; None: none was (e.g. imported)


@dataclass(frozen=True)
class OrgDetail:
    org: Organization
    override: PlanOverride | None  # the row as it is, even past its end (the page says it ended)
    entitlements: Entitlements  # the plan, and the override only while it applies
    usage: Usage
    policies: OrgSettings
    default_role: str | None  # the org's own choice of role for new members, by name
    deployment_default_role: str
    member_counts: dict[str, int]  # by status
    members: list[MemberRow]  # active first, then by name; at most MEMBERS_SHOWN
    invitation_count: int  # pending, expired or not
    invitations: list[InvitationLine]  # newest first; at most INVITATIONS_SHOWN
    activity: list[tuple[AuditEvent, str]]  # the latest events, each with its sentence
    more_activity: bool = False

    @property
    def member_total(self) -> int:
        return sum(self.member_counts.values())


def _count(*where) -> object:
    return select(func.count()).where(*where).correlate(Organization).scalar_subquery()


async def org_detail(db: AsyncSession, *, settings: Settings, org_id: UUID, viewer: User) -> OrgDetail:
    """Everything support reads about an org on one page, in the same statements for 3 members or
    30,000: the org with its grant, policies and counts (1), its usage (5), members and their roles
    (2), invitations, their roles and emails (3), the latest events (1)."""
    _staff_only(viewer)
    own_default = aliased(Role)
    deployment_role = (
        select(Role.name).where(Role.org_id.is_(None), Role.key == settings.default_role).scalar_subquery()
    )
    statuses = list(MembershipStatus)
    row = (
        await db.execute(
            select(
                Organization,
                PlanOverride,
                OrgSettingsOverrides,
                own_default.name,
                deployment_role,
                *(_count(Membership.org_id == Organization.id, Membership.status == status) for status in statuses),
            )
            .outerjoin(PlanOverride, PlanOverride.org_id == Organization.id)
            .outerjoin(OrgSettingsOverrides, OrgSettingsOverrides.org_id == Organization.id)
            .outerjoin(
                own_default,
                and_(
                    own_default.id == Organization.default_role_id,
                    or_(own_default.org_id.is_(None), own_default.org_id == Organization.id),
                ),
            )
            .where(Organization.id == org_id)
        )
    ).first()
    if row is None:
        raise NotFound
    org, override, policy_row, own_default_name, deployment_role_name, *counts = row
    member_counts = {status.value: int(number or 0) for status, number in zip(statuses, counts, strict=True)}
    members = await _members(db, org_id=org.id)
    invitation_count, invitations = await _invitations(db, org_id=org.id)
    events = await list_events(db, ActivityFilters(), org_id=org.id, per_page=EVENTS_SHOWN)
    return OrgDetail(
        org=org,
        override=override,
        entitlements=entitlements_for(plan_catalog(settings), org, override),
        usage=await usage_of(db, org_id=org.id),
        policies=org_settings_of(settings, org, policy_row),
        default_role=own_default_name if org.default_role_id else None,
        deployment_default_role=deployment_role_name or settings.default_role,
        member_counts=member_counts,
        members=members,
        invitation_count=invitation_count,
        invitations=invitations,
        activity=[(event, describe(event)) for event in events.items],
        more_activity=events.next_cursor is not None,
    )


async def _members(db: AsyncSession, *, org_id: UUID) -> list[MemberRow]:
    rows = (
        await db.execute(
            select(Membership.id, Membership.user_id, Membership.status, Membership.created_at, User.name, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org_id)
            .order_by(
                case((Membership.status == MembershipStatus.ACTIVE, 0), else_=1),
                Membership.sort_name,
                Membership.id,
            )
            .limit(MEMBERS_SHOWN)
        )
    ).all()
    members = [
        MemberRow(
            membership_id=r.id,
            user_id=r.user_id,
            name=r.name,
            email=r.email,
            status=r.status,
            joined_at=r.created_at,
        )
        for r in rows
    ]
    await attach_roles(db, org_id=org_id, members=members)
    return members


async def _invitations(db: AsyncSession, *, org_id: UUID) -> tuple[int, list[InvitationLine]]:
    """The pending invitations, newest first, with their total, roles and latest email."""
    rows = (
        await db.execute(
            select(Invitation, func.count().over())  # the window counts before the LIMIT cuts
            .where(Invitation.org_id == org_id, Invitation.status == InvitationStatus.PENDING)
            .order_by(Invitation.id.desc())
            .limit(INVITATIONS_SHOWN)
        )
    ).all()
    total = rows[0][1] if rows else 0
    ids = [invitation.id for invitation, _ in rows]
    roles: dict[UUID, list[tuple[str, str]]] = defaultdict(list)
    for invitation_id, key, name in await db.execute(
        select(InvitationRole.invitation_id, Role.key, Role.name)
        .join(Role, Role.id == InvitationRole.role_id)
        .where(InvitationRole.invitation_id.in_(ids))
    ):
        roles[invitation_id].append((key, name))
    # Only the newest message of each invitation (a resend writes another): ranked in the database,
    # so an invitation resent fifty times still costs one row.
    ranked = (
        select(
            OutboxMessage,
            func.row_number()
            .over(partition_by=OutboxMessage.invitation_id, order_by=OutboxMessage.id.desc())
            .label("newest_first"),
        )
        .where(OutboxMessage.invitation_id.in_(ids))
        .subquery()
    )
    message = aliased(OutboxMessage, ranked)
    latest = {m.invitation_id: m for m in await db.scalars(select(message).where(ranked.c.newest_first == 1))}
    now = utcnow()
    return total, [
        InvitationLine(
            invitation=invitation,
            roles=_role_names(roles[invitation.id]),
            expired=invitation.expires_at <= now,
            email=latest.get(invitation.id),
        )
        for invitation, _ in rows
    ]


# --- one user ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserOrgLine:
    org: Organization
    membership_id: UUID
    status: str
    joined_at: datetime.datetime
    personal: bool  # the user's personal workspace
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UserDetail:
    user: User
    org_total: int
    orgs: list[UserOrgLine]  # by name; at most ORGS_SHOWN
    sessions: list[UserSession]  # live ones, last seen first
    end_sessions_refusal: str | None  # why the viewer may not sign this user out; None: they may


def end_sessions_refusal(staff: User, user: User) -> str | None:
    """Whether `staff` may sign `user` out everywhere: None if so, else the sentence why not.

    Any support staff may sign a customer out: it is what a customer who lost a laptop asks for,
    and it locks nobody out for good. Staff accounts are another matter: signing a colleague out
    is an action on the vendor's own team (and, from a stolen support account, a way to kick out
    whoever is responding), so it is for support-admin staff only."""
    if user.is_staff and not is_support_admin(staff):
        return "Only support-admin staff can sign a staff account out."
    return None


async def user_detail(db: AsyncSession, *, settings: Settings, user_id: UUID, viewer: User) -> UserDetail:
    """A user's account, orgs (with roles and status) and live sessions. Four statements."""
    _staff_only(viewer)
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound
    personal = PersonalWorkspace.user_id.is_not(None).label("personal")
    rows = (
        await db.execute(
            select(Membership, Organization, personal, func.count().over())
            .join(Organization, Organization.id == Membership.org_id)
            .outerjoin(
                PersonalWorkspace,
                and_(PersonalWorkspace.org_id == Organization.id, PersonalWorkspace.user_id == Membership.user_id),
            )
            .where(Membership.user_id == user.id)
            .order_by(Organization.name, Organization.id)
            .limit(ORGS_SHOWN)
        )
    ).all()
    roles: dict[UUID, list[tuple[str, str]]] = defaultdict(list)
    for membership_id, key, name in await db.execute(
        select(MembershipRole.membership_id, Role.key, Role.name)
        .join(Role, Role.id == MembershipRole.role_id)
        .join(Membership, Membership.id == MembershipRole.membership_id)
        .where(
            MembershipRole.membership_id.in_([membership.id for membership, *_ in rows]),
            or_(Role.org_id.is_(None), Role.org_id == Membership.org_id),
        )
    ):
        roles[membership_id].append((key, name))
    return UserDetail(
        user=user,
        org_total=rows[0][3] if rows else 0,
        orgs=[
            UserOrgLine(
                org=org,
                membership_id=membership.id,
                status=membership.status,
                joined_at=membership.created_at,
                personal=bool(is_personal),
                roles=_role_names(roles[membership.id]),
            )
            for membership, org, is_personal, _ in rows
        ],
        sessions=await sessions.list_sessions(db, settings=settings, user_id=user.id),
        end_sessions_refusal=end_sessions_refusal(viewer, user),
    )


# --- what staff do for a user -----------------------------------------------------------------


async def sign_out_everywhere(db: AsyncSession, *, settings: Settings, user_id: UUID, actor: Actor) -> tuple[User, int]:
    """End every session of the user (their next request is signed out). Returns the user and how
    many sessions were live; one user.sessions_ended_by_staff event when any was, none otherwise."""
    staff = await require_staff(db, actor)
    await lock_row(db, User, user_id)  # two clicks at once: the second finds nothing left to end
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound
    refusal = end_sessions_refusal(staff, user)
    if refusal:
        raise NotPermitted.on("sessions", refusal)
    live = len(await sessions.list_sessions(db, settings=settings, user_id=user.id))
    await sessions.end_other_sessions(db, user_id=user.id, keep_session_id=None)  # timed-out rows go too
    if live:
        record_event(
            db,
            actor=actor,
            action="user.sessions_ended_by_staff",
            target=user_target(user),
            after={"sessions_ended": live},
        )
    await db.flush()
    return user, live


async def resend_verification_for(
    db: AsyncSession, *, settings: Settings, user_id: UUID, actor: Actor
) -> tuple[User, bool]:
    """Send the user a new confirmation link (the old one stops working), through the outbox with
    its event. False, and nothing changed, when the address is already confirmed.

    Not held to the user's own rate limit: a customer who hit it is often the one asking support,
    staff send one at a time, and each is on record in the user's account activity."""
    await require_staff(db, actor)
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound
    if user.email_verified_at is not None:
        return user, False
    token = await issue_token(db, user=user, purpose=TokenPurpose.VERIFY_EMAIL)
    send_verification_email(db, settings, user=user, token=token)
    record_event(db, actor=actor, action="user.verification_resent_by_staff", target=user_target(user))
    await db.flush()
    return user, True
