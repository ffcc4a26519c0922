"""The resolver agrees with a plain Python model of the rules, on random worlds (hypothesis).

The model: in an org, a user with an *active* membership holds the permissions of the org's roles
(or templates) they hold directly, plus those of the roles of the org's groups they are in.
Anything else — inactive or pending memberships, another org's roles or groups — gives nothing.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from tenantry.access.models import MembershipRole, Role, RolePermission
from tenantry.access.services import effective_permissions
from tenantry.accounts.models import User
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization
from tests.conftest import wipe

PERMISSIONS = ["a:read", "a:write", "b:read", "c:admin"]
STATUSES = ["active", "inactive", "pending", None]  # None: not a member


@dataclass
class World:
    orgs: int
    users: int
    roles: list[tuple[int | None, frozenset[str]]]  # (org index or None for a template, permissions)
    memberships: dict[tuple[int, int], str]  # (user, org) -> status
    direct: set[tuple[int, int, int]]  # (user, org, role index)
    groups: list[int]  # org index of each group
    group_roles: set[tuple[int, int]]  # (group, role index)
    group_members: set[tuple[int, int]]  # (group, user)


@st.composite
def worlds(draw) -> World:
    orgs = draw(st.integers(1, 3))
    users = draw(st.integers(1, 4))
    roles = draw(
        st.lists(
            st.tuples(st.one_of(st.none(), st.integers(0, orgs - 1)), st.frozensets(st.sampled_from(PERMISSIONS))),
            min_size=1,
            max_size=6,
        )
    )
    memberships = {}
    for user in range(users):
        for org in range(orgs):
            status = draw(st.sampled_from(STATUSES))
            if status:
                memberships[(user, org)] = status
    pairs = list(memberships)
    # Direct roles may even point at another org's role: the resolver must ignore those.
    direct = (
        draw(st.sets(st.tuples(st.sampled_from(pairs), st.integers(0, len(roles) - 1)), max_size=10))
        if pairs
        else set()
    )
    groups = draw(st.lists(st.integers(0, orgs - 1), max_size=4))
    group_roles = (
        draw(st.sets(st.tuples(st.integers(0, len(groups) - 1), st.integers(0, len(roles) - 1)), max_size=8))
        if groups
        else set()
    )
    group_members = (
        draw(st.sets(st.tuples(st.integers(0, len(groups) - 1), st.integers(0, users - 1)), max_size=8))
        if groups
        else set()
    )
    return World(
        orgs=orgs,
        users=users,
        roles=roles,
        memberships=memberships,
        direct={(u, o, r) for (u, o), r in direct},
        groups=groups,
        group_roles=group_roles,
        group_members=group_members,
    )


def expected(world: World, user: int, org: int) -> set[str]:
    """The reference model, written as plainly as the rules are said."""
    if world.memberships.get((user, org)) != "active":
        return set()
    usable = {i for i, (owner, _) in enumerate(world.roles) if owner in (None, org)}
    held = {r for (u, o, r) in world.direct if u == user and o == org and r in usable}
    for group, group_org in enumerate(world.groups):
        if group_org == org and (group, user) in world.group_members:
            held |= {r for (g, r) in world.group_roles if g == group and r in usable}
    return set().union(*(world.roles[r][1] for r in held)) if held else set()


async def check(database_url: str, world: World) -> None:
    from tests.conftest import base_settings

    engine = create_engine(base_settings(database_url))
    try:
        await wipe(engine)
        now = datetime.datetime.now(datetime.UTC)
        org_ids = [uuid.uuid4() for _ in range(world.orgs)]
        user_ids = [uuid.uuid4() for _ in range(world.users)]
        role_ids = [uuid.uuid4() for _ in world.roles]
        group_ids = [uuid.uuid4() for _ in world.groups]
        membership_ids = {pair: uuid.uuid4() for pair in world.memberships}
        stamps = {"created_at": now, "updated_at": now}
        async with create_sessionmaker(engine)() as db:
            await db.execute(
                insert(Organization),
                [{"id": o, "name": f"O{i}", "slug": f"org-{i}", **stamps} for i, o in enumerate(org_ids)],
            )
            await db.execute(
                insert(User),
                [
                    {"id": u, "name": f"U{i}", "email": f"u{i}@x.example", "is_staff": False, **stamps}
                    for i, u in enumerate(user_ids)
                ],
            )
            await db.execute(
                insert(Role),
                [
                    {
                        "id": r,
                        "org_id": None if owner is None else org_ids[owner],
                        "key": f"r{i}",
                        "name": f"R{i}",
                        "description": "",
                        "is_builtin": False,
                        **stamps,
                    }
                    for i, (r, (owner, _)) in enumerate(zip(role_ids, world.roles, strict=True))
                ],
            )
            grants = [{"role_id": role_ids[i], "permission": p} for i, (_, ps) in enumerate(world.roles) for p in ps]
            if grants:
                await db.execute(insert(RolePermission), grants)
            if membership_ids:
                await db.execute(
                    insert(Membership),
                    [
                        {
                            "id": m,
                            "org_id": org_ids[o],
                            "user_id": user_ids[u],
                            "status": world.memberships[(u, o)],
                            "sort_name": f"u{u}",
                            **stamps,
                        }
                        for (u, o), m in membership_ids.items()
                    ],
                )
            if world.direct:
                await db.execute(
                    insert(MembershipRole),
                    [{"membership_id": membership_ids[(u, o)], "role_id": role_ids[r]} for (u, o, r) in world.direct],
                )
            if group_ids:
                await db.execute(
                    insert(Group),
                    [
                        {
                            "id": g,
                            "org_id": org_ids[o],
                            "name": f"G{i}",
                            "name_key": f"g{i}",
                            "description": "",
                            **stamps,
                        }
                        for i, (g, o) in enumerate(zip(group_ids, world.groups, strict=True))
                    ],
                )
            if world.group_roles:
                await db.execute(
                    insert(GroupRole),
                    [{"group_id": group_ids[g], "role_id": role_ids[r]} for (g, r) in world.group_roles],
                )
            # A group member is a membership of the group's org; other pairs can't exist.
            group_members = [
                {"group_id": group_ids[g], "membership_id": membership_ids[(u, world.groups[g])], "added_at": now}
                for (g, u) in world.group_members
                if (u, world.groups[g]) in membership_ids
            ]
            if group_members:
                await db.execute(insert(GroupMember), group_members)
            await db.commit()

            for user in range(world.users):
                for org in range(world.orgs):
                    found = await effective_permissions(db, user_id=user_ids[user], org_id=org_ids[org])
                    model_world = World(
                        **{
                            **world.__dict__,
                            "group_members": {
                                (g, u) for (g, u) in world.group_members if (u, world.groups[g]) in membership_ids
                            },
                        }
                    )
                    assert set(found.permissions) == expected(model_world, user, org), (user, org, world)
                    for permission, sources in found.sources.items():
                        assert sources, permission
    finally:
        await engine.dispose()


def test_the_resolver_agrees_with_the_model(settings_for_model):
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(world=worlds())
    def agrees(world: World) -> None:
        asyncio.run(check(settings_for_model, world))

    agrees()


@pytest.fixture
def settings_for_model(settings) -> str:
    """A plain (sync) fixture: hypothesis runs its examples in loops of their own."""
    return settings.database_url
