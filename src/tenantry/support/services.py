"""Impersonation and support access: the rules, in one place.

Staff view the portal as a customer ("impersonate") for a stated reason and a limited time,
read-only unless a support-admin asks for write access with its own reason. Each org decides
whether support may enter (its "Support access" setting): allowed; after an owner approves a
request; or refused, where only a support-admin's break-glass entry gets in, and the owners are
told at once. Every step is an audit event in the org's own activity log.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import MembershipRole
from tenantry.access.permissions import BuiltinRole, Permission
from tenantry.access.services import authority, template_role
from tenantry.accounts.models import User, UserSession
from tenantry.accounts.services import require_staff, user_target
from tenantry.audit.services import Actor, record_event
from tenantry.config import Settings
from tenantry.db.locks import lock_row
from tenantry.lib.clock import utcnow
from tenantry.lib.errors import NotFound, NotPermitted
from tenantry.lib.forms import InvalidInput
from tenantry.lib.words import words
from tenantry.mail.outbox import enqueue
from tenantry.mail.rendering import brand_for, render_email
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.services import org_target
from tenantry.orgs.settings import load_org_settings, overrides_to_change, record_overrides
from tenantry.support.models import (
    EndCause,
    Impersonation,
    RequestStatus,
    SupportAccess,
    SupportAccessRequest,
)

MIN_REASON = 10
DEFAULT_MINUTES, MAX_MINUTES = 30, 60
# What an owner may approve a request for.
APPROVAL_HOURS = (1, 4, 8, 24, 72)
SUPPORT_ADMIN = "support-admin"


@dataclass(frozen=True)
class StartChoices:
    reason: str
    ticket: str = ""
    minutes: int = DEFAULT_MINUTES
    write: bool = False
    write_reason: str = ""
    break_glass_reason: str = ""


@dataclass(frozen=True)
class LiveImpersonation:
    """What a request during an impersonation carries: the row, who is looking, as whom."""

    row: Impersonation
    staff: User
    target: User

    @property
    def read_only(self) -> bool:
        # Asked on each request: a staff member no longer a support-admin loses write access at once.
        return not (self.row.can_write and is_support_admin(self.staff))

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.row.expires_at - utcnow()).total_seconds()))

    @property
    def minutes_left(self) -> int:
        return (self.seconds_left + 59) // 60

    def as_staff(self, actor: Actor) -> Actor:
        """The same request, as the staff member themselves (signing out ends the impersonation)."""
        return Actor(
            user_id=self.staff.id,
            label=f"{self.staff.name} <{self.staff.email}>",
            ip=actor.ip,
            user_agent=actor.user_agent,
            request_id=actor.request_id,
        )

    def actor(self, *, ip: str, user_agent: str, request_id: str) -> Actor:
        """Acting as the customer, with the staff member on record beside them."""
        return Actor(
            user_id=self.target.id,
            label=f"{self.staff.name} (support, as {self.target.name}) <{self.staff.email}>",
            impersonator_id=self.staff.id,
            ip=ip,
            user_agent=user_agent,
            request_id=request_id,
        )


def is_support_admin(user: User) -> bool:
    return user.is_staff and user.staff_role == SUPPORT_ADMIN


# --- who may enter an org ------------------------------------------------------------------------


async def live_grant(db: AsyncSession, *, org_id: UUID, staff_user_id: UUID) -> SupportAccessRequest | None:
    """An owner's approval for this staff member that still runs, the longest first."""
    return await db.scalar(
        select(SupportAccessRequest)
        .where(
            SupportAccessRequest.org_id == org_id,
            SupportAccessRequest.staff_user_id == staff_user_id,
            SupportAccessRequest.status == RequestStatus.APPROVED,
            SupportAccessRequest.access_until > utcnow(),
        )
        .order_by(SupportAccessRequest.access_until.desc())
        .limit(1)
    )


async def refusal_for(db: AsyncSession, *, live: LiveImpersonation, org: Organization, policy: str) -> str | None:
    """Why this impersonation may not see `org` right now; None: it may.

    Asked on every request into an org, so an owner who tightens the setting, or an approval
    that runs out, takes effect at once."""
    if live.row.org_id is not None and live.row.org_id != org.id:
        return (
            f"This impersonation was started for another {words().org}. End it, then start one "
            f"from {org.name}'s page in the support console."
        )
    if policy == SupportAccess.ALLOWED:
        return None
    if live.row.org_id == org.id and live.row.break_glass_reason:
        return None
    if policy == SupportAccess.APPROVAL:
        if await live_grant(db, org_id=org.id, staff_user_id=live.staff.id) is not None:
            return None
        return (
            f"{org.name} lets support in only after an owner approves. Ask them from the "
            f"support console's page of the {words().org}."
        )
    return f"{org.name} has turned support access off. Only a support-admin's break-glass entry can open it."


# --- starting and ending -------------------------------------------------------------------------


def _check_choices(choices: StartChoices, staff: User) -> None:
    errors: dict[str, str] = {}
    if len(choices.reason.strip()) < MIN_REASON:
        errors["reason"] = f"Say why, in at least {MIN_REASON} characters: the customer will read it."
    if not 1 <= choices.minutes <= MAX_MINUTES:
        errors["minutes"] = f"Choose between 1 and {MAX_MINUTES} minutes."
    if choices.write:
        if not is_support_admin(staff):
            errors["write"] = "Only support-admins can ask for write access."
        elif len(choices.write_reason.strip()) < MIN_REASON:
            errors["write_reason"] = f"Say why you need to change things, in at least {MIN_REASON} characters."
    if errors:
        raise InvalidInput(errors)


async def _live_row_for_session(db: AsyncSession, session_id: UUID) -> Impersonation | None:
    return await db.scalar(
        select(Impersonation).where(Impersonation.staff_session_id == session_id, Impersonation.ended_at.is_(None))
    )


async def owners_of(db: AsyncSession, *, org_id: UUID) -> list[User]:
    """The org's active owners, the longest-standing first."""
    owner = await template_role(db, BuiltinRole.OWNER)
    rows = await db.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(
            Membership.org_id == org_id,
            Membership.status == MembershipStatus.ACTIVE,
            MembershipRole.role_id == owner.id,
        )
        .order_by(Membership.created_at, Membership.id)
    )
    return list(rows)


async def _orgs_open_to(
    db: AsyncSession, settings: Settings, *, user_id: UUID, staff_user_id: UUID
) -> list[Organization]:
    """The orgs of `user_id` whose setting lets this staff member in today (for a user's page)."""
    rows = await db.execute(
        select(Organization, OrgSettingsOverrides.support_access)
        .join(Membership, Membership.org_id == Organization.id)
        .outerjoin(OrgSettingsOverrides, OrgSettingsOverrides.org_id == Organization.id)
        .where(
            Membership.user_id == user_id,
            Membership.status == MembershipStatus.ACTIVE,
            Organization.deleted_at.is_(None),
        )
        .order_by(Organization.name)
    )
    open_orgs = []
    for org, own_policy in rows:
        policy = own_policy or settings.support_access
        if policy == SupportAccess.ALLOWED or (
            policy == SupportAccess.APPROVAL and await live_grant(db, org_id=org.id, staff_user_id=staff_user_id)
        ):
            open_orgs.append(org)
    return open_orgs


async def start_impersonation(
    db: AsyncSession,
    *,
    settings: Settings,
    session: UserSession,
    choices: StartChoices,
    actor: Actor,
    org_id: UUID | None = None,
    user_id: UUID | None = None,
) -> Impersonation:
    """View as an owner of `org_id` (the longest-standing), or as the user `user_id`.

    Refused: a non-staff actor, another impersonation still running in this browser, a staff
    target, an org whose setting keeps support out (unless approved, or a support-admin's
    break-glass reason for an org that refused)."""
    staff = await require_staff(db, actor)
    _check_choices(choices, staff)
    # One impersonation per browser, even when the Start button is pressed twice at once.
    await lock_row(db, UserSession, session.id, column="expires_at")
    running = await _live_row_for_session(db, session.id)
    if running is not None:
        if running.org_id == org_id and (org_id is not None or running.target_user_id == user_id):
            return running  # the same Start, twice (a double click without JavaScript)
        raise NotPermitted.on("__all__", "End the impersonation you are in before starting another.")
    now = utcnow()
    expires_at = now + datetime.timedelta(minutes=choices.minutes)
    break_glass = ""
    org = None
    if org_id is not None:
        org = await db.scalar(select(Organization).where(Organization.id == org_id, Organization.deleted_at.is_(None)))
        if org is None:
            raise NotFound
        owners = [owner for owner in await owners_of(db, org_id=org.id) if not owner.is_staff]
        if not owners:
            raise NotPermitted.on("__all__", f"This {words().org} has no active owner to view as.")
        target = owners[0]
        policy = (await load_org_settings(db, settings=settings, org=org)).support_access.value
        if policy == SupportAccess.APPROVAL:
            grant = await live_grant(db, org_id=org.id, staff_user_id=staff.id)
            if grant is None:
                raise NotPermitted.on("__all__", "An owner has to approve your request first.")
            expires_at = min(expires_at, grant.access_until)
        elif policy == SupportAccess.REFUSED:
            break_glass = choices.break_glass_reason.strip()
            if not is_support_admin(staff):
                raise NotPermitted.on("__all__", f"This {words().org} has turned support access off.")
            if len(break_glass) < MIN_REASON:
                raise InvalidInput.on(
                    "break_glass_reason",
                    f"Support access is off here: say why you must enter anyway, in at least {MIN_REASON} "
                    "characters. The owners are emailed at once.",
                )
        logged_orgs = [org]
    else:
        target = await db.get(User, user_id) if user_id else None
        if target is None:
            raise NotFound
        if target.is_staff:
            raise NotPermitted.on("__all__", "Staff can't impersonate staff.")
        logged_orgs = await _orgs_open_to(db, settings, user_id=target.id, staff_user_id=staff.id)
    row = Impersonation(
        staff_user_id=staff.id,
        staff_session_id=session.id,
        target_user_id=target.id,
        org_id=org.id if org else None,
        logged_org_ids=[str(o.id) for o in logged_orgs],
        reason=choices.reason.strip(),
        ticket=choices.ticket.strip(),
        can_write=choices.write,
        write_reason=choices.write_reason.strip() if choices.write else "",
        break_glass_reason=break_glass,
        started_at=now,
        expires_at=expires_at,
    )
    db.add(row)
    await db.flush()
    details = {
        "impersonation_id": str(row.id),
        "as": target.email,
        "reason": row.reason,
        "ticket": row.ticket,
        "minutes": round((expires_at - now).total_seconds() / 60),
        "until": expires_at.isoformat(),
        "write": row.can_write,
        "write_reason": row.write_reason,
    }
    for each in logged_orgs or [None]:
        record_event(
            db,
            actor=actor,
            action="support.impersonation_started",
            org_id=each.id if each else None,
            target=user_target(target),
            after=details,
        )
    if break_glass and org is not None:
        record_event(
            db,
            actor=actor,
            action="support.break_glass",
            org_id=org.id,
            target=org_target(org),
            after={"impersonation_id": str(row.id), "reason": break_glass, "ticket": row.ticket},
        )
        _email_owners(
            db,
            settings,
            org=org,
            owners=owners,
            kind="support_break_glass",
            staff=staff,
            reason=break_glass,
            ticket=row.ticket,
            minutes=choices.minutes,
            write=row.can_write,
        )
    await db.flush()
    return row


async def end_impersonation(db: AsyncSession, *, impersonation_id: UUID, actor: Actor, cause: EndCause) -> bool:
    """End it (the End button, signing out, or its time running out). False: it had ended already
    (two tabs pressing End at once record one end)."""
    await lock_row(db, Impersonation, impersonation_id, column="expires_at")
    row = await db.get(Impersonation, impersonation_id, populate_existing=True)
    if row is None or row.ended_at is not None:
        return False
    now = utcnow()
    row.ended_at = min(now, row.expires_at) if cause == EndCause.EXPIRED else now
    row.end_cause = cause.value
    target = await db.get(User, row.target_user_id)
    minutes = max(0, round((row.ended_at - row.started_at).total_seconds() / 60))
    action = "support.impersonation_expired" if cause == EndCause.EXPIRED else "support.impersonation_ended"
    for org_id in row.logged_org_ids or [None]:
        record_event(
            db,
            actor=actor,
            action=action,
            org_id=UUID(org_id) if org_id else None,
            target=user_target(target) if target else None,
            after={"impersonation_id": str(row.id), "minutes": minutes},
        )
    await db.flush()
    return True


@dataclass(frozen=True)
class Resumed:
    """What a staff browser's request carries: a live impersonation, or the news that one ran out."""

    live: LiveImpersonation | None = None
    ran_out: bool = False


async def resume_impersonation(db: AsyncSession, *, session: UserSession, staff: User) -> Resumed:
    """For a staff browser's request: its live impersonation; or, once, the news that it ran out
    (ended here, or by the worker while the browser was away). Commits its own small writes."""
    found = (
        await db.execute(
            select(Impersonation, User)
            .join(User, User.id == Impersonation.target_user_id)
            .where(
                Impersonation.staff_session_id == session.id,
                or_(
                    Impersonation.ended_at.is_(None),
                    and_(Impersonation.end_cause == EndCause.EXPIRED, Impersonation.expiry_noticed.is_(False)),
                ),
            )
            .order_by(Impersonation.started_at.desc())
            .limit(1)
        )
    ).first()
    if found is None:
        return Resumed()
    row, target = found
    if row.ended_at is None and row.expires_at > utcnow():
        return Resumed(live=LiveImpersonation(row=row, staff=staff, target=target))
    if row.ended_at is None:
        await end_impersonation(db, impersonation_id=row.id, actor=staff_actor(staff), cause=EndCause.EXPIRED)
    await db.execute(update(Impersonation).where(Impersonation.id == row.id).values(expiry_noticed=True))
    await db.commit()
    return Resumed(ran_out=True)


async def expire_overdue(db: AsyncSession, *, limit: int = 100) -> int:
    """End impersonations whose time ran out while their browser was away, so the customer's log
    says so without waiting for that browser to come back. Returns how many it ended."""
    rows = await db.execute(
        select(Impersonation.id, User)
        .join(User, User.id == Impersonation.staff_user_id)
        .where(Impersonation.ended_at.is_(None), Impersonation.expires_at <= utcnow())
        .order_by(Impersonation.expires_at)
        .limit(limit)
    )
    ended = 0
    for impersonation_id, staff in rows.all():
        ended += await end_impersonation(
            db, impersonation_id=impersonation_id, actor=staff_actor(staff), cause=EndCause.EXPIRED
        )
    return ended


def staff_actor(staff: User) -> Actor:
    """For events the clock causes (an expiry noticed on the staff's next request)."""
    return Actor(user_id=staff.id, label=f"{staff.name} <{staff.email}>")


# --- the org's setting and owners' approvals ------------------------------------------------------


async def _require_owner(db: AsyncSession, *, org: Organization, actor: Actor, what: str) -> None:
    """An owner of the org, in person: support viewing as an owner can't decide its own access."""
    if actor.impersonator_id is not None:
        raise NotPermitted.on("__all__", "Only the owners themselves decide on support's access.")
    access = await authority(db, org=org, actor=actor, require=Permission.ORG_MANAGE)
    if not access.is_owner:
        raise NotPermitted.on("__all__", f"Only an owner can {what}.")


async def change_support_access(
    db: AsyncSession, *, settings: Settings, org: Organization, policy: str | None, actor: Actor
) -> bool:
    """Set the org's support access (None: the deployment's default). Owners only: it decides who
    outside the org may look inside it. False: nothing changed."""
    if policy is not None and policy not in set(SupportAccess):
        raise InvalidInput.on("support_access", "Choose one of the options listed.")
    await _require_owner(db, org=org, actor=actor, what="change who may enter for support")
    row = await overrides_to_change(db, org)
    return await record_overrides(db, org=org, row=row, values={"support_access": policy}, actor=actor)


async def request_access(
    db: AsyncSession, *, settings: Settings, org_id: UUID, reason: str, ticket: str, actor: Actor
) -> SupportAccessRequest:
    """Ask an org's owners to let this staff member in; they get an email with a link to answer."""
    staff = await require_staff(db, actor)
    errors = {}
    if len(reason.strip()) < MIN_REASON:
        errors["request_reason"] = f"Say why, in at least {MIN_REASON} characters: the owners will read it."
    if len(ticket) > 100:
        errors["request_ticket"] = "Use at most 100 characters."
    if errors:
        raise InvalidInput(errors)
    org = await db.scalar(select(Organization).where(Organization.id == org_id, Organization.deleted_at.is_(None)))
    if org is None:
        raise NotFound
    await lock_row(db, Organization, org.id)  # two clicks: one request
    policy = (await load_org_settings(db, settings=settings, org=org)).support_access.value
    if policy != SupportAccess.APPROVAL:
        raise NotPermitted.on("__all__", f"This {words().org} doesn't take access requests.")
    pending = await db.scalar(
        select(SupportAccessRequest).where(
            SupportAccessRequest.org_id == org.id,
            SupportAccessRequest.staff_user_id == staff.id,
            SupportAccessRequest.status == RequestStatus.PENDING,
        )
    )
    if pending is not None:
        raise NotPermitted.on("__all__", "Your request is already waiting for an owner's answer.")
    request = SupportAccessRequest(
        org_id=org.id, staff_user_id=staff.id, reason=reason.strip(), ticket=ticket.strip(), requested_at=utcnow()
    )
    db.add(request)
    await db.flush()
    record_event(
        db,
        actor=actor,
        action="support.access_requested",
        org_id=org.id,
        target=org_target(org),
        after={"request_id": str(request.id), "reason": request.reason, "ticket": request.ticket},
    )
    _email_owners(
        db,
        settings,
        org=org,
        owners=await owners_of(db, org_id=org.id),
        kind="support_access_requested",
        staff=staff,
        reason=request.reason,
        ticket=request.ticket,
        url=f"{settings.public_base_url}/o/{org.slug}/settings/support",
    )
    await db.flush()
    return request


async def answer_request(
    db: AsyncSession,
    *,
    settings: Settings,
    org: Organization,
    request_id: UUID,
    approve: bool,
    hours: int | None,
    actor: Actor,
) -> SupportAccessRequest:
    """An owner approves (for `hours`) or refuses a pending request; the staff member is emailed."""
    if approve and hours not in APPROVAL_HOURS:
        raise InvalidInput.on("hours", "Choose how long support may enter.")
    await _require_owner(db, org=org, actor=actor, what="answer support's requests")
    # Two owners answering at once: the second waits, then finds it answered.
    await lock_row(db, SupportAccessRequest, request_id, column="status")
    request = await db.scalar(
        select(SupportAccessRequest)
        .where(SupportAccessRequest.id == request_id, SupportAccessRequest.org_id == org.id)
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise NotFound
    if request.status != RequestStatus.PENDING:
        raise NotPermitted.on("__all__", "This request has been answered already.")
    staff = await db.get(User, request.staff_user_id)
    now = utcnow()
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
    request.decided_at = now
    request.decided_by_user_id = actor.user_id
    request.access_until = now + datetime.timedelta(hours=hours) if approve and hours else None
    record_event(
        db,
        actor=actor,
        action="support.access_approved" if approve else "support.access_refused",
        org_id=org.id,
        target=user_target(staff) if staff else None,
        after={
            "request_id": str(request.id),
            "reason": request.reason,
            "hours": hours if approve else None,
            "until": request.access_until.isoformat() if request.access_until else None,
        },
    )
    if staff is not None:
        email = render_email(
            "support_access_answered",
            brand=brand_for(None, settings),
            base_url=settings.public_base_url,
            staff_name=staff.name,
            org_name=org.name,
            approved=approve,
            until=request.access_until.strftime("%-d %b %Y, %H:%M") if request.access_until else "",
            decided_by=actor.label.split(" <", 1)[0],
            url=f"{settings.public_base_url}/staff/orgs/{org.id}/impersonate",
        )
        enqueue(db, to=staff.email, email=email, kind="support_access_answered", org_id=org.id)
    await db.flush()
    return request


def _email_owners(
    db: AsyncSession,
    settings: Settings,
    *,
    org: Organization,
    owners: list[User],
    kind: str,
    staff: User,
    **context: object,
) -> None:
    for owner in owners:
        email = render_email(
            kind,
            brand=brand_for(org, settings),
            base_url=settings.public_base_url,
            owner_name=owner.name,
            org_name=org.name,
            org_slug=org.slug,
            staff_name=staff.name,
            staff_email=staff.email,
            **context,
        )
        enqueue(db, to=owner.email, email=email, kind=kind, org_id=org.id)


# --- what the pages show --------------------------------------------------------------------------


async def requests_of_org(
    db: AsyncSession, *, org_id: UUID, limit: int = 20
) -> list[tuple[SupportAccessRequest, User]]:
    """The org's latest requests (pending first), each with who asked."""
    rows = await db.execute(
        select(SupportAccessRequest, User)
        .join(User, User.id == SupportAccessRequest.staff_user_id)
        .where(SupportAccessRequest.org_id == org_id)
        .order_by(
            (SupportAccessRequest.status == RequestStatus.PENDING).desc(),
            SupportAccessRequest.requested_at.desc(),
            SupportAccessRequest.id.desc(),
        )
        .limit(limit)
    )
    return [(request, staff) for request, staff in rows]
