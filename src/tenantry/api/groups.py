"""An org's groups over the API: the portal's verbs (groups/services.py) with the key as the actor.
The plan feature `groups` applies to creating one (the verb refuses with 403); the granting rules
apply as in the portal (nobody gives Owner to a group)."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.models import Role
from tenantry.access.services import role_sort_key, roles_of_org
from tenantry.accounts.models import User
from tenantry.api.auth import READ, WRITE, ApiCaller
from tenantry.api.checks import as_uuid, org_in_reach
from tenantry.api.schemas_access import (
    GroupCreate,
    GroupDetail,
    GroupList,
    GroupMemberAdd,
    GroupMemberList,
    GroupMemberOut,
    GroupOut,
    GroupRolesSet,
    GroupUpdate,
    RoleRefOut,
)
from tenantry.config import Settings
from tenantry.groups import services
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.lib.errors import NotFound
from tenantry.lib.forms import InvalidInput
from tenantry.lib.pagination import keyset_page
from tenantry.members.models import Membership
from tenantry.members.services import find_member, list_members

DEFAULT_LIMIT = 50
MEMBERS_IN_DETAIL = 50
Limit = Parameter(ge=1, le=100, default=DEFAULT_LIMIT, description="Items per page, 1 to 100")
Cursor = Parameter(default=None, description="`next_cursor` of the previous page")


async def _group_outs(db: AsyncSession, *, org_id: UUID, groups: list[Group]) -> list[GroupOut]:
    """Each group with its member count and roles: two statements for the whole page."""
    if not groups:
        return []
    ids = [group.id for group in groups]
    counts = dict(
        (
            await db.execute(
                select(GroupMember.group_id, func.count())
                .where(GroupMember.group_id.in_(ids))
                .group_by(GroupMember.group_id)
            )
        ).all()
    )
    roles: dict[UUID, list[RoleRefOut]] = defaultdict(list)
    for group_id, role_id, key, name in await db.execute(
        select(GroupRole.group_id, Role.id, Role.key, Role.name)
        .join(Role, Role.id == GroupRole.role_id)
        .where(GroupRole.group_id.in_(ids), or_(Role.org_id.is_(None), Role.org_id == org_id))
    ):
        roles[group_id].append(RoleRefOut(id=role_id, key=key, name=name))
    return [
        GroupOut(
            id=group.id,
            name=group.name,
            description=group.description,
            member_count=int(counts.get(group.id, 0)),
            roles=sorted(roles[group.id], key=lambda r: role_sort_key(r.key, r.name)),
            created_at=group.created_at,
        )
        for group in groups
    ]


async def _members_page(
    db: AsyncSession, *, org_id: UUID, group_id: UUID, cursor: str | None, limit: int
) -> GroupMemberList:
    page = await list_members(db, org_id=org_id, in_group=group_id, cursor=cursor, per_page=limit)
    return GroupMemberList(
        items=[
            GroupMemberOut(
                membership_id=row.membership_id, user_id=row.user_id, name=row.name, email=row.email, status=row.status
            )
            for row in page.items
        ],
        next_cursor=page.next_cursor,
    )


async def _group_detail(db: AsyncSession, *, org_id: UUID, group: Group) -> GroupDetail:
    (summary,) = await _group_outs(db, org_id=org_id, groups=[group])
    members = await _members_page(db, org_id=org_id, group_id=group.id, cursor=None, limit=MEMBERS_IN_DETAIL)
    return GroupDetail(**summary.model_dump(), members=members.items, members_next_cursor=members.next_cursor)


async def _member_named(db: AsyncSession, *, org_id: UUID, ref: str) -> tuple[Membership, User]:
    """A member of this org by membership id, user id or email address; anyone else: 422 on `member`."""
    ref_id = as_uuid(ref)
    match = or_(Membership.id == ref_id, Membership.user_id == ref_id) if ref_id else User.email == ref.strip().lower()
    row = (
        await db.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org_id, match)
            .limit(1)
        )
    ).first()
    if row is None:
        raise InvalidInput.on("member", "No member of this org has this membership id, user id or email address.")
    return row[0], row[1]


async def _role_ids_named(db: AsyncSession, *, org_id: UUID, refs: list[str]) -> set[UUID]:
    """Role keys or ids of roles this org may use (its own and the templates); others: 422 on `roles`."""
    by_ref: dict[str, UUID] = {}
    for info in await roles_of_org(db, org_id=org_id):
        by_ref[info.role.key] = by_ref[str(info.role.id)] = info.role.id

    def normal(ref: str) -> str:
        as_id = as_uuid(ref)
        return str(as_id) if as_id else ref.lower()

    unknown = sorted({ref for ref in refs if normal(ref) not in by_ref})
    if unknown:
        raise InvalidInput.on("roles", f"Not roles of this org: {', '.join(unknown)}.")
    return {by_ref[normal(ref)] for ref in refs}


class GroupsController(Controller):
    path = "/orgs/{org:str}/groups"
    tags = ["groups"]

    @get("/", opt=READ, summary="An org's groups")
    async def list_groups(
        self,
        db_session: AsyncSession,
        api: ApiCaller,
        org: str,
        cursor: str | None = Cursor,
        limit: int = Limit,
    ) -> GroupList:
        """By name, one page at a time (keyset pagination), each with its member count and roles."""
        found = await org_in_reach(db_session, api, org)
        page = await keyset_page(
            db_session,
            select(Group).where(Group.org_id == found.id),
            order_by=[Group.name_key, Group.id],
            key=lambda row: (row[0].name_key, row[0].id),
            key_types=(str, UUID),
            cursor=cursor,
            per_page=limit,
            fixed=[Group.org_id],
        )
        groups = [row[0] for row in page.items]
        return GroupList(
            items=await _group_outs(db_session, org_id=found.id, groups=groups), next_cursor=page.next_cursor
        )

    @post("/", opt=WRITE, summary="Create a group")
    async def create(
        self, db_session: AsyncSession, settings: Settings, api: ApiCaller, org: str, data: GroupCreate
    ) -> GroupDetail:
        """On a plan with groups only (otherwise 403). Names are unique in the org, whatever their case."""
        found = await org_in_reach(db_session, api, org)
        group = await services.create_group(
            db_session, settings=settings, org=found, name=data.name, description=data.description, actor=api.actor
        )
        return await _group_detail(db_session, org_id=found.id, group=group)

    @get("/{group_id:uuid}", opt=READ, summary="One group, with its roles and first page of members")
    async def get_group(self, db_session: AsyncSession, api: ApiCaller, org: str, group_id: UUID) -> GroupDetail:
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        return await _group_detail(db_session, org_id=found.id, group=group)

    @patch("/{group_id:uuid}", opt=WRITE, summary="Rename or describe a group")
    async def update(
        self, db_session: AsyncSession, api: ApiCaller, org: str, group_id: UUID, data: GroupUpdate
    ) -> GroupDetail:
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        await services.update_group(
            db_session,
            org=found,
            group=group,
            name=data.name if data.name is not None else group.name,
            description=data.description if data.description is not None else group.description,
            actor=api.actor,
        )
        return await _group_detail(db_session, org_id=found.id, group=group)

    @delete("/{group_id:uuid}", opt=WRITE, summary="Delete a group")
    async def remove(self, db_session: AsyncSession, api: ApiCaller, org: str, group_id: UUID) -> None:
        """Its members leave it and lose the roles it gave them; they stay in the org."""
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        await services.delete_group(db_session, org=found, group=group, actor=api.actor)

    @get("/{group_id:uuid}/members", opt=READ, summary="A group's members")
    async def list_group_members(
        self,
        db_session: AsyncSession,
        api: ApiCaller,
        org: str,
        group_id: UUID,
        cursor: str | None = Cursor,
        limit: int = Limit,
    ) -> GroupMemberList:
        """By name, one page at a time (keyset pagination); deactivated members stay in their groups."""
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        return await _members_page(db_session, org_id=found.id, group_id=group.id, cursor=cursor, limit=limit)

    @post(
        "/{group_id:uuid}/members",
        opt=WRITE,
        summary="Put a member in a group",
        responses={200: ResponseSpec(data_container=GroupMemberOut, description="Already in the group: no change")},
    )
    async def add_member(
        self, db_session: AsyncSession, api: ApiCaller, org: str, group_id: UUID, data: GroupMemberAdd
    ) -> Response[GroupMemberOut]:
        """They hold the group's roles from their very next request. 201 when added, 200 when they
        already were in it. Joining a group grants its roles: the portal's granting rules apply."""
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        membership, user = await _member_named(db_session, org_id=found.id, ref=data.member)
        added = await services.add_group_member(
            db_session, org=found, group=group, membership=membership, member_label=user.email, actor=api.actor
        )
        out = GroupMemberOut(
            membership_id=membership.id, user_id=user.id, name=user.name, email=user.email, status=membership.status
        )
        return Response(out, status_code=201 if added else 200)

    @delete("/{group_id:uuid}/members/{membership_id:uuid}", opt=WRITE, summary="Take a member out of a group")
    async def remove_member(
        self, db_session: AsyncSession, api: ApiCaller, org: str, group_id: UUID, membership_id: UUID
    ) -> None:
        """The roles the group gave them are gone on their next request. Not in the group: 404."""
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        membership, user = await find_member(db_session, org_id=found.id, membership_id=membership_id)
        removed = await services.remove_group_member(
            db_session, org=found, group=group, membership=membership, member_label=user.email, actor=api.actor
        )
        if not removed:
            raise NotFound

    @put("/{group_id:uuid}/roles", opt=WRITE, summary="Set a group's roles")
    async def set_roles(
        self, db_session: AsyncSession, api: ApiCaller, org: str, group_id: UUID, data: GroupRolesSet
    ) -> GroupDetail:
        """The group's whole set of roles from now on, by key or id: every member holds them on
        their next request. Owner can't be given to a group (403)."""
        found = await org_in_reach(db_session, api, org)
        group = await services.find_group(db_session, org_id=found.id, group_id=group_id)
        role_ids = await _role_ids_named(db_session, org_id=found.id, refs=data.roles)
        await services.set_group_roles(db_session, org=found, group=group, role_ids=role_ids, actor=api.actor)
        return await _group_detail(db_session, org_id=found.id, group=group)
