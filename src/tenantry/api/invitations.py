"""/api/v1/orgs/{org}/invitations: invite, list, resend, revoke, through the portal's verbs
(invitations.services). The email goes out through the outbox in the same transaction, exactly
as from the invitations page; the org's domains, seats and invitation rate limit are the verbs'.
A link's token is in the email only: nothing here shows it."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from litestar import Controller, get, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import Role
from tenantry.access.services import role_sort_key
from tenantry.accounts.schemas import normalize_email
from tenantry.api.auth import READ, WRITE, ApiCaller
from tenantry.api.checks import org_in_reach
from tenantry.api.members import Cursor, PageSize, api_field_names, group_ids_of, role_ids_of
from tenantry.api.problems import Problem
from tenantry.api.schemas_members import (
    GroupOut,
    InvitationOut,
    InvitationPage,
    InvitationStatus,
    NewInvitation,
    RoleOut,
)
from tenantry.config import Settings
from tenantry.groups.models import Group
from tenantry.invitations import services
from tenantry.invitations.models import Invitation, InvitationGroup, InvitationRole
from tenantry.invitations.models import InvitationStatus as Status
from tenantry.lib.clock import utcnow
from tenantry.lib.forms import InvalidInput
from tenantry.lib.pagination import keyset_page
from tenantry.lib.ratelimit import RateLimiter
from tenantry.orgs.models import Organization


async def invitations_out(db: AsyncSession, invitations: list[Invitation]) -> list[InvitationOut]:
    """Each with its roles and groups: two statements for a whole page."""
    ids = [invitation.id for invitation in invitations]
    roles: dict[UUID, list[Role]] = defaultdict(list)
    groups: dict[UUID, list[GroupOut]] = defaultdict(list)
    if ids:
        for invitation_id, role in await db.execute(
            select(InvitationRole.invitation_id, Role)
            .join(Role, Role.id == InvitationRole.role_id)
            .where(InvitationRole.invitation_id.in_(ids))
        ):
            roles[invitation_id].append(role)
        for invitation_id, group_id, name in await db.execute(
            select(InvitationGroup.invitation_id, Group.id, Group.name)
            .join(Group, Group.id == InvitationGroup.group_id)
            .join(Invitation, Invitation.id == InvitationGroup.invitation_id)
            .where(InvitationGroup.invitation_id.in_(ids), Group.org_id == Invitation.org_id)
            .order_by(Group.name_key)
        ):
            groups[invitation_id].append(GroupOut(id=group_id, name=name))
    now = utcnow()
    return [
        InvitationOut(
            id=invitation.id,
            email=invitation.email,
            status=invitation.status,
            expired=invitation.status == Status.PENDING and invitation.expires_at <= now,
            roles=[
                RoleOut(id=role.id, key=role.key, name=role.name)
                for role in sorted(roles[invitation.id], key=lambda r: role_sort_key(r.key, r.name))
            ],
            groups=groups[invitation.id],
            message=invitation.message,
            invited_by=invitation.inviter_name,
            created_at=invitation.created_at,
            sent_at=invitation.sent_at,
            expires_at=invitation.expires_at,
            accepted_at=invitation.accepted_at,
        )
        for invitation in invitations
    ]


async def _invitation(db: AsyncSession, invitation: Invitation) -> InvitationOut:
    await db.refresh(invitation)
    return (await invitations_out(db, [invitation]))[0]


async def _find(db: AsyncSession, org: Organization, invitation_id: UUID) -> Invitation:
    return await services.find_invitation(db, org_id=org.id, invitation_id=invitation_id)


class InvitationsController(Controller):
    path = "/orgs/{org:str}/invitations"
    tags = ["invitations"]

    @get("/", opt=READ, summary="An org's invitations")
    async def list_invitations(
        self,
        db_session: AsyncSession,
        api: ApiCaller,
        org: str,
        status: InvitationStatus = "pending",
        cursor: Cursor = None,
        limit: PageSize = 50,
    ) -> InvitationPage:
        """By address. Open ones (`pending`, the default; `expired` says whether the link still
        works), or those `accepted`, `revoked`, or `replaced` by a newer one."""
        found = await org_in_reach(db_session, api, org)
        page = await keyset_page(
            db_session,
            select(Invitation, Invitation.email, Invitation.id).where(
                Invitation.org_id == found.id, Invitation.status == status
            ),
            order_by=[Invitation.email, Invitation.id],
            key=lambda row: (row[1], row[2]),
            key_types=(str, UUID),
            cursor=cursor,
            per_page=limit,
            fixed=[Invitation.org_id, Invitation.status],
        )
        items = await invitations_out(db_session, [row[0] for row in page.items])
        return InvitationPage(items=items, next_cursor=page.next_cursor)

    @post("/", opt=WRITE, summary="Invite someone by email")
    async def invite(
        self,
        db_session: AsyncSession,
        settings: Settings,
        limiter: RateLimiter,
        api: ApiCaller,
        org: str,
        data: NewInvitation,
    ) -> InvitationOut:
        """The invitation email (its link the only copy of the token) is queued in the same
        transaction. Roles: none given, the org's default. Already a member, or an open invitation
        to the address: 409 (resend that one). The org's allowed domains, seats and expiry range:
        422; too many invitations this hour: 429."""
        found = await org_in_reach(db_session, api, org)
        try:
            address = normalize_email(data.email)
        except ValueError as exc:
            raise InvalidInput.on("email", str(exc)) from None
        role_ids = await role_ids_of(db_session, org_id=found.id, refs=data.roles or [])
        group_ids = await group_ids_of(db_session, org_id=found.id, refs=data.groups)
        with api_field_names():
            outcome = await services.invite_people(
                db_session,
                limiter=limiter,
                settings=settings,
                org=found,
                addresses=services.Addresses(valid=[address]),
                role_ids=role_ids,
                group_ids=group_ids,
                expiry_days=data.expiry_days,
                message=data.message,
                actor=api.actor,
            )
        if outcome.already_members:
            message = f"{address} is already a member of {found.name}."
            raise Problem(409, message, errors=[{"field": "email", "message": message}])
        if outcome.already_invited:
            message = f"{address} has an open invitation already: resend it instead."
            raise Problem(409, message, errors=[{"field": "email", "message": message}])
        invitation = await db_session.scalar(
            select(Invitation).where(
                Invitation.org_id == found.id, Invitation.email == address, Invitation.status == Status.PENDING
            )
        )
        return (await invitations_out(db_session, [invitation]))[0]

    @post("/{invitation_id:uuid}/resend", opt=WRITE, status_code=200, summary="Send an invitation again")
    async def resend(
        self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str, invitation_id: UUID
    ) -> InvitationOut:
        """A new email with a new link; the old link stops working and the expiry starts again.
        An invitation no longer open (accepted, revoked, replaced): 422."""
        found = await org_in_reach(db_session, api, org)
        invitation = await _find(db_session, found, invitation_id)
        with api_field_names():
            await services.resend_invitation(
                db_session, settings=settings, org=found, invitation=invitation, actor=api.actor
            )
        return await _invitation(db_session, invitation)

    @post("/{invitation_id:uuid}/revoke", opt=WRITE, status_code=200, summary="Withdraw an invitation")
    async def revoke(self, db_session: AsyncSession, api: ApiCaller, org: str, invitation_id: UUID) -> InvitationOut:
        """Its link stops working; it stays listed as `revoked`. Revoking it again changes nothing;
        an invitation already accepted or replaced: 409."""
        found = await org_in_reach(db_session, api, org)
        invitation = await _find(db_session, found, invitation_id)
        with api_field_names():
            changed = await services.revoke_invitation(db_session, org=found, invitation=invitation, actor=api.actor)
        if not changed and invitation.status != Status.REVOKED:
            raise Problem(409, f"The invitation to {invitation.email} is {invitation.status}: it can't be revoked.")
        return await _invitation(db_session, invitation)
