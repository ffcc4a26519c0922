"""/api/v1/orgs/{org}/members: an org's memberships through the portal's own verbs
(members.services, members.lifecycle, access.services.set_member_roles, and
invitations.services.add_existing_member). The rules are theirs: the last owner, seats, the
org's allowed domains, how many orgs a person may belong to. This module finds the org the key
may reach, translates references (role keys, group names) into ids, and shapes the answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.services import roles_of_org, set_member_roles
from tenantry.accounts.models import User
from tenantry.api.auth import READ, WRITE, ApiCaller
from tenantry.api.checks import as_uuid, find_user_id, org_in_reach
from tenantry.api.schemas_members import (
    GroupOut,
    MembershipOut,
    MembershipPage,
    MembershipRoles,
    MembershipStatus,
    NewMembership,
    RoleOut,
)
from tenantry.config import Settings
from tenantry.groups.models import Group
from tenantry.groups.services import name_key_of
from tenantry.invitations.services import add_existing_member
from tenantry.lib.forms import InvalidInput
from tenantry.members import lifecycle
from tenantry.members.services import MemberRow, find_member, list_members, member_row
from tenantry.orgs.models import Organization

PageSize = Annotated[int, Parameter(ge=1, le=100, description="Items per page (1–100)")]
Cursor = Annotated[str | None, Parameter(description="`next_cursor` of the previous page")]

# The verbs name the fields of the portal's forms; the API's bodies call them otherwise.
API_FIELDS = {"role": "roles", "group": "groups", "emails": "email"}


class api_field_names:
    """A verb's refusal, its fields renamed to those of the API's request body.

    A class, not @contextmanager: that one sets __traceback__ on what passes through, which a
    frozen dataclass exception (RateLimited) refuses."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> bool:
        if isinstance(exc, InvalidInput):
            exc.errors = {API_FIELDS.get(field, field): message for field, message in exc.errors.items()}
        return False


def _unknown(field: str, noun: str, refs: list[str]) -> InvalidInput:
    shown = ", ".join(f"`{ref[:100]}`" for ref in refs[:10])
    return InvalidInput.on(field, f"No {noun} {shown} in this org.")


async def role_ids_of(db: AsyncSession, *, org_id: UUID, refs: Iterable[str], field: str = "roles") -> set[UUID]:
    """Roles of this org (its own, or the templates) named by key or id; any other: 422."""
    roles = [info.role for info in await roles_of_org(db, org_id=org_id)]
    by_id = {role.id: role.id for role in roles}
    by_key = {role.key: role.id for role in roles}
    found, unknown = set(), []
    for ref in refs:
        role_id = by_id.get(as_uuid(ref)) or by_key.get(ref) or by_key.get(ref.lower())
        if role_id is None:
            unknown.append(ref)
        else:
            found.add(role_id)
    if unknown:
        raise _unknown(field, "role" if len(unknown) == 1 else "roles", unknown)
    return found


async def group_ids_of(db: AsyncSession, *, org_id: UUID, refs: Iterable[str], field: str = "groups") -> set[UUID]:
    """Groups of this org named by id or name; any other: 422."""
    refs = list(refs)
    if not refs:
        return set()
    groups = list(await db.execute(select(Group.id, Group.name_key).where(Group.org_id == org_id)))
    by_id = {group_id: group_id for group_id, _ in groups}
    by_name = {name_key: group_id for group_id, name_key in groups}
    found, unknown = set(), []
    for ref in refs:
        group_id = by_id.get(as_uuid(ref)) or by_name.get(name_key_of(ref))
        if group_id is None:
            unknown.append(ref)
        else:
            found.add(group_id)
    if unknown:
        raise _unknown(field, "group" if len(unknown) == 1 else "groups", unknown)
    return found


def membership_out(row: MemberRow) -> MembershipOut:
    return MembershipOut(
        id=row.membership_id,
        user_id=row.user_id,
        email=row.email,
        name=row.name,
        status=row.status,
        roles=[RoleOut(id=role.id, key=role.key, name=role.name) for role in row.roles],
        groups=[GroupOut(id=group.id, name=group.name) for group in row.groups],
        joined_at=row.joined_at,
    )


async def _membership(db: AsyncSession, org: Organization, membership_id: UUID) -> MembershipOut:
    return membership_out(await member_row(db, org_id=org.id, membership_id=membership_id))


class MembershipsController(Controller):
    path = "/orgs/{org:str}/members"
    tags = ["memberships"]

    @get("/", opt=READ, summary="An org's members")
    async def list_memberships(
        self,
        db_session: AsyncSession,
        api: ApiCaller,
        org: str,
        status: MembershipStatus | None = None,
        cursor: Cursor = None,
        limit: PageSize = 50,
    ) -> MembershipPage:
        """By name, with each member's direct roles and groups. `status`: only active or only
        deactivated members."""
        found = await org_in_reach(db_session, api, org)
        page = await list_members(db_session, org_id=found.id, cursor=cursor, per_page=limit, status=status)
        return MembershipPage(items=[membership_out(row) for row in page.items], next_cursor=page.next_cursor)

    @post("/", opt=WRITE, summary="Add someone who has an account")
    async def add_membership(
        self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str, data: NewMembership
    ) -> MembershipOut:
        """Active at once, with the roles given (none: the org's default role) and groups. Refused
        with a problem: already a member (409), no free seat, an address outside the org's allowed
        domains, or a person at the most orgs anyone may belong to (422)."""
        found = await org_in_reach(db_session, api, org)
        user_id = await find_user_id(db_session, data.user)
        if user_id is None:
            raise InvalidInput.on("user", "No user has this id or email address.")
        user = await db_session.get(User, user_id)
        role_ids = await role_ids_of(db_session, org_id=found.id, refs=data.roles or [])
        group_ids = await group_ids_of(db_session, org_id=found.id, refs=data.groups)
        with api_field_names():
            membership = await add_existing_member(
                db_session,
                settings=settings,
                org=found,
                user=user,
                role_ids=role_ids,
                group_ids=group_ids,
                actor=api.actor,
            )
        return await _membership(db_session, found, membership.id)

    @get("/{membership_id:uuid}", opt=READ, summary="One membership")
    async def get_membership(
        self, db_session: AsyncSession, api: ApiCaller, org: str, membership_id: UUID
    ) -> MembershipOut:
        found = await org_in_reach(db_session, api, org)
        return await _membership(db_session, found, membership_id)

    @put("/{membership_id:uuid}/roles", opt=WRITE, summary="Set a member's direct roles")
    async def set_roles(
        self, db_session: AsyncSession, api: ApiCaller, org: str, membership_id: UUID, data: MembershipRoles
    ) -> MembershipOut:
        """Exactly these roles, held directly (roles through groups are unchanged). The org's last
        active owner keeps the owner role: 422."""
        found = await org_in_reach(db_session, api, org)
        membership, user = await find_member(db_session, org_id=found.id, membership_id=membership_id)
        role_ids = await role_ids_of(db_session, org_id=found.id, refs=data.roles)
        with api_field_names():
            await set_member_roles(
                db_session,
                org=found,
                membership=membership,
                role_ids=role_ids,
                actor=api.actor,
                target_label=user.email,
            )
        return await _membership(db_session, found, membership.id)

    @post("/{membership_id:uuid}/deactivate", opt=WRITE, status_code=200, summary="Deactivate a member")
    async def deactivate(
        self, db_session: AsyncSession, api: ApiCaller, org: str, membership_id: UUID
    ) -> MembershipOut:
        """Their access ends at their next request; roles and groups are kept for a reactivation.
        Already inactive: nothing changes. The last active owner: 422."""
        found = await org_in_reach(db_session, api, org)
        membership, user = await find_member(db_session, org_id=found.id, membership_id=membership_id)
        with api_field_names():
            await lifecycle.deactivate_member(db_session, org=found, membership=membership, user=user, actor=api.actor)
        return await _membership(db_session, found, membership.id)

    @post("/{membership_id:uuid}/reactivate", opt=WRITE, status_code=200, summary="Reactivate a member")
    async def reactivate(
        self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str, membership_id: UUID
    ) -> MembershipOut:
        """Back with their roles and groups. Already active: nothing changes. No free seat: 422."""
        found = await org_in_reach(db_session, api, org)
        membership, user = await find_member(db_session, org_id=found.id, membership_id=membership_id)
        with api_field_names():
            await lifecycle.reactivate_member(
                db_session, settings=settings, org=found, membership=membership, user=user, actor=api.actor
            )
        return await _membership(db_session, found, membership.id)

    @delete("/{membership_id:uuid}", opt=WRITE, status_code=204, summary="Remove a member")
    async def remove(
        self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str, membership_id: UUID
    ) -> None:
        """The membership, its roles and its places in groups go; the account stays. The last
        active owner: 422."""
        found = await org_in_reach(db_session, api, org)
        membership, user = await find_member(db_session, org_id=found.id, membership_id=membership_id)
        with api_field_names():
            await lifecycle.remove_member(
                db_session, settings=settings, org=found, membership=membership, user=user, actor=api.actor
            )
