"""The transaction guarantees the services rely on, on SQLite as on PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor, record_event
from tenantry.orgs.models import Organization
from tenantry.orgs.services import create_organization
from tests.integration.conftest import count, make_user


async def test_rolling_back_undoes_what_a_savepoint_wrote(sessionmaker, world):
    """create_organization inserts inside a savepoint; the request's rollback must still undo it."""
    async with sessionmaker() as db:
        await db.scalar(select(func.count()).select_from(Organization))  # a read first, as the guard does
        user = await make_user(db, "Nina New", "nina@x.example")
        await create_organization(
            db, creator=user, name="Ghost", slug="ghost", brand_color="", logo=None, actor=Actor.system()
        )
        await db.rollback()
    async with sessionmaker() as db:
        assert await count(db, Organization, Organization.slug == "ghost") == 0
        assert await count(db, AuditEvent, AuditEvent.action == "org.created", AuditEvent.target_label == "ghost") == 0


async def test_two_requests_that_read_then_write_both_succeed(sessionmaker, world):
    """Two admins saving at the same moment: the second waits its turn, neither fails."""

    async def save(label: str, pause: float) -> None:
        async with sessionmaker() as db:
            await db.scalar(select(func.count()).select_from(AuditEvent))
            await asyncio.sleep(pause)
            record_event(db, actor=Actor.system(), action="test.saved", org_id=world.acme.id)
            await db.flush()
            await asyncio.sleep(0.1)  # hold the write a moment, as a slow request would
            await db.commit()

    await asyncio.gather(save("first", 0), save("second", 0.02))
    async with sessionmaker() as db:
        assert await count(db, AuditEvent, AuditEvent.action == "test.saved") == 2


async def test_readers_are_not_blocked_by_a_writer(sessionmaker, world):
    async with sessionmaker() as writer:
        record_event(writer, actor=Actor.system(), action="test.pending", org_id=world.acme.id)
        await writer.flush()  # holds the write lock on SQLite
        async with sessionmaker() as reader:
            found = await asyncio.wait_for(reader.scalar(select(func.count()).select_from(Organization)), 2)
            assert found == 2
        await writer.rollback()


# --- access changes in one org happen one at a time (the org is locked first) -------------------


async def _change_then_commit(sessionmaker, verb, *, hold: float = 0.15):
    """Run a service verb in its own session, hold the transaction a moment, commit."""
    from tenantry.lib.forms import InvalidInput

    async with sessionmaker() as db:
        try:
            result = await verb(db)
        except InvalidInput as exc:
            await db.rollback()
            return f"refused: {' '.join(exc.errors.values())}"
        await asyncio.sleep(hold)
        await db.commit()
        return result


def _acting(user) -> Actor:
    return Actor(user_id=user.id, label=user.name)


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(sessionmaker, world):
    from tenantry.access.models import MembershipRole, Role
    from tenantry.access.services import set_member_roles, template_role
    from tenantry.members.models import Membership

    async with sessionmaker() as db:
        owner = await template_role(db, "owner")
        db.add(MembershipRole(membership_id=world.memberships["adam"].id, role_id=owner.id))
        await db.commit()
        admin_id = await db.scalar(select(Role.id).where(Role.org_id.is_(None), Role.key == "admin"))

    def demote(actor, target):
        async def verb(db):
            org = await db.get(Organization, world.acme.id)
            membership = await db.get(Membership, world.memberships[target].id)
            return await set_member_roles(
                db, org=org, membership=membership, role_ids={admin_id}, actor=_acting(actor), target_label=target
            )

        return verb

    results = await asyncio.gather(
        _change_then_commit(sessionmaker, demote(world.olivia, "adam")),
        _change_then_commit(sessionmaker, demote(world.adam, "olivia")),
    )
    assert sorted(str(r)[:8] for r in results) == ["True", "refused:"], results
    async with sessionmaker() as db:
        owners = await db.scalar(
            select(func.count())
            .select_from(MembershipRole)
            .join(Membership, Membership.id == MembershipRole.membership_id)
            .where(MembershipRole.role_id == owner.id, Membership.org_id == world.acme.id)
        )
        assert owners == 1, "the org keeps an owner"


async def test_a_role_given_to_a_group_while_someone_joins_it_is_seen_by_the_join(sessionmaker, world):
    """Olivia gives the empty Board group a role with org:delete; at the same moment Adam, who
    lacks org:delete, adds Mia to Board. Adam's addition must be checked against the new role."""
    from tenantry.access.models import Role, RolePermission
    from tenantry.groups.models import Group, GroupMember
    from tenantry.groups.services import add_group_member, set_group_roles
    from tenantry.members.models import Membership

    async with sessionmaker() as db:
        deleter = Role(org_id=world.acme.id, key="deleter", name="Deleter", description="")
        board = Group(org_id=world.acme.id, name="Board", name_key="board", description="")
        db.add_all([deleter, board])
        await db.flush()
        db.add(RolePermission(role_id=deleter.id, permission="org:delete"))
        await db.commit()

    async def give(db):
        org, group = await db.get(Organization, world.acme.id), await db.get(Group, board.id)
        return await set_group_roles(db, org=org, group=group, role_ids={deleter.id}, actor=_acting(world.olivia))

    async def join(db):
        await asyncio.sleep(0.03)  # starts while Olivia's change is in flight
        org, group = await db.get(Organization, world.acme.id), await db.get(Group, board.id)
        membership = await db.get(Membership, world.memberships["mia"].id)
        return await add_group_member(
            db, org=org, group=group, membership=membership, member_label="mia", actor=_acting(world.adam)
        )

    given, joined = await asyncio.gather(
        _change_then_commit(sessionmaker, give), _change_then_commit(sessionmaker, join)
    )
    assert given is True
    assert str(joined).startswith("refused:") and "Deleter" in joined
    async with sessionmaker() as db:
        assert (
            await db.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_id == board.id)) == 0
        )


async def test_the_same_role_given_in_two_tabs_at_once_is_given_once(sessionmaker, world):
    from tenantry.access.models import MembershipRole
    from tenantry.access.services import set_member_roles, template_role
    from tenantry.members.models import Membership

    async with sessionmaker() as db:
        member, analyst = await template_role(db, "member"), await template_role(db, "analyst")

    async def give(db):
        org = await db.get(Organization, world.acme.id)
        membership = await db.get(Membership, world.memberships["mia"].id)
        return await set_member_roles(
            db,
            org=org,
            membership=membership,
            role_ids={member.id, analyst.id},
            actor=_acting(world.adam),
            target_label="mia",
        )

    results = await asyncio.gather(_change_then_commit(sessionmaker, give), _change_then_commit(sessionmaker, give))
    assert sorted(results) == [False, True], "the second tab finds nothing left to change"
    async with sessionmaker() as db:
        rows = await db.scalar(
            select(func.count())
            .select_from(MembershipRole)
            .where(MembershipRole.membership_id == world.memberships["mia"].id)
        )
        assert rows == 2
