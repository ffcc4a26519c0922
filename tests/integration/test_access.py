"""Roles, groups and effective permissions, at the HTTP level, as admins and members meet them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from tenantry.access.models import MembershipRole, Role, RolePermission
from tenantry.access.services import effective_permissions
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.models import Organization
from tests.integration.conftest import count, events, field_error, post_form, sign_in


async def template(db, key: str) -> Role:
    return await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == key))


async def direct_roles(db, membership_id) -> set[str]:
    rows = await db.scalars(
        select(Role.key)
        .join(MembershipRole, MembershipRole.role_id == Role.id)
        .where(MembershipRole.membership_id == membership_id)
        .execution_options(populate_existing=True)
    )
    return set(rows)


async def can(db, user, org, permission: str) -> bool:
    db.expire_all()
    return (await effective_permissions(db, user_id=user.id, org_id=org.id)).has(permission)


# --- the resolver, through the pages ------------------------------------------------------------


async def test_a_member_holds_the_roles_of_their_groups(db, world):
    adam = await effective_permissions(db, user_id=world.adam.id, org_id=world.acme.id)
    assert "api:access" in adam.permissions
    assert [str(s) for s in adam.sources["api:access"]] == ["via role Admin", "via group Engineering → role Developer"]
    assert [role.label for role in adam.roles] == ["Admin", "Developer (via Engineering)"]


async def test_the_member_page_says_what_they_can_do_and_why(client, world):
    await sign_in(client, world.mia)
    page = await client.get(f"/o/acme/members/{world.memberships['adam'].id}")
    assert "What Adam Admin can do here, and why" in page.text
    row = page.text[page.text.index(">api:access<") :][:600]
    assert "via role Admin" in row and "via group Engineering → role Developer" in row
    assert 'href="/o/acme/groups/' in page.text


async def test_the_permission_page_shows_who_holds_it_and_through_what(client, world):
    await sign_in(client, world.mia)
    page = await client.get("/o/acme/permissions/api:access")
    assert "Create personal API tokens" in page.text
    holders = page.text[page.text.index("<table") :]
    assert "adam@acme.example" in holders and "olivia@acme.example" in holders
    assert "mia@acme.example" not in holders
    assert "via group Engineering → role Developer" in page.text
    assert (await client.get("/o/acme/permissions/no:such")).status_code == 404


async def test_joining_a_group_grants_at_once_and_leaving_takes_away_at_once(client, world, db):
    """The promise: a new hire added to Engineering holds API access on their very next request."""
    await sign_in(client, world.olivia)
    assert not await can(db, world.mia, world.acme, "api:access")
    await post_form(
        client, f"/o/acme/groups/{world.engineering.id}/members", {"membership_id": str(world.memberships["mia"].id)}
    )
    assert await can(db, world.mia, world.acme, "api:access")
    await post_form(client, f"/o/acme/groups/{world.engineering.id}/members/{world.memberships['mia'].id}/remove")
    assert not await can(db, world.mia, world.acme, "api:access")


async def test_a_group_role_reaches_the_guard_on_the_next_request(client, world, db):
    """Give the Engineering group 'admin': Adam's colleague in it can open Settings at once."""
    await sign_in(client, world.olivia)
    await post_form(
        client, f"/o/acme/groups/{world.engineering.id}/members", {"membership_id": str(world.memberships["mia"].id)}
    )
    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/settings")).status_code == 403
    await sign_in(client, world.olivia)
    admin = await template(db, "admin")
    await post_form(
        client, f"/o/acme/groups/{world.engineering.id}/roles", {"role": [str(world.developer.id), str(admin.id)]}
    )
    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/settings")).status_code == 200
    await sign_in(client, world.olivia)
    await post_form(client, f"/o/acme/groups/{world.engineering.id}/roles", {"role": [str(world.developer.id)]})
    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/settings")).status_code == 403


async def test_only_active_members_hold_their_group_roles(db, world):
    await db.execute(
        update(Membership).where(Membership.id == world.memberships["adam"].id).values(status=MembershipStatus.INACTIVE)
    )
    await db.commit()
    assert not await can(db, world.adam, world.acme, "api:access")
    assert await count(db, GroupMember, GroupMember.membership_id == world.memberships["adam"].id) == 1, "kept"


# --- changing a member's roles -----------------------------------------------------------------


async def test_an_admin_changes_a_members_roles_inline(client, world, db):
    await sign_in(client, world.adam)
    member, analyst = await template(db, "member"), await template(db, "analyst")
    response = await post_form(
        client,
        f"/o/acme/members/{world.memberships['mia'].id}/roles",
        {"role": [str(member.id), str(analyst.id)]},
        headers={"hx-request": "true", "hx-target": f"roles-{world.memberships['mia'].id}"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text, "only the cell comes back"
    assert "Analyst" in response.text and "Saved" in response.text
    assert await direct_roles(db, world.memberships["mia"].id) == {"member", "analyst"}
    [event] = await events(db, "membership.roles_changed")
    assert (event.before, event.after) == ({"roles": ["member"]}, {"roles": ["analyst", "member"]})


async def test_changing_roles_works_without_javascript(client, world, db):
    await sign_in(client, world.adam)
    member = await template(db, "member")
    response = await post_form(
        client,
        f"/o/acme/members/{world.memberships['mia'].id}/roles",
        {"role": [str(member.id), str(world.developer.id)], "next": "/o/acme/members"},
    )
    assert response.url.path == "/o/acme/members"
    assert "Mia Member&#39;s roles have been saved." in response.text


@pytest.mark.parametrize(
    ("who", "give", "message"),
    [
        ("adam", "owner", "Only owners can make someone an owner."),
        ("adam", "org:delete-role", "it includes permissions you don't have (org:delete)"),
    ],
)
async def test_nobody_grants_what_they_dont_hold(client, world, db, who, give, message):
    if give == "org:delete-role":
        role = Role(org_id=world.acme.id, key="deleter", name="Deleter", description="")
        db.add(role)
        await db.flush()
        db.add(RolePermission(role_id=role.id, permission="org:delete"))
        await db.commit()
        give_id = role.id
    else:
        give_id = (await template(db, give)).id
    await sign_in(client, getattr(world, who))
    member = await template(db, "member")
    response = await post_form(
        client, f"/o/acme/members/{world.memberships['mia'].id}/roles", {"role": [str(member.id), str(give_id)]}
    )
    assert response.status_code == 403
    assert message in response.text.replace("&#39;", "'")
    assert await direct_roles(db, world.memberships["mia"].id) == {"member"}


async def test_an_admin_cant_take_the_owner_role_away(client, world, db):
    await sign_in(client, world.adam)
    member = await template(db, "member")
    response = await post_form(
        client, f"/o/acme/members/{world.memberships['olivia'].id}/roles", {"role": [str(member.id)]}
    )
    assert response.status_code == 403
    assert await direct_roles(db, world.memberships["olivia"].id) == {"owner"}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("olivia", "This member is an owner; only owners change an owner's roles."),
        # Adam holds Developer through Engineering: copied onto himself, it would outlast the group.
        ("adam", "You can't change your own roles. Ask an owner."),
    ],
)
async def test_only_owners_change_an_owners_roles_or_their_own(client, world, db, target, message):
    await sign_in(client, world.adam)
    membership = world.memberships[target]
    before = await direct_roles(db, membership.id)
    chosen = [str((await template(db, key)).id) for key in before] + [str(world.developer.id)]
    response = await post_form(client, f"/o/acme/members/{membership.id}/roles", {"role": chosen})
    assert response.status_code == 403
    assert message in response.text.replace("&#39;", "'")
    assert await direct_roles(db, membership.id) == before
    assert await events(db, "membership.roles_changed") == []
    # Neither page offers the editor; Mia's does.
    for name, offered in [("olivia", False), ("adam", False), ("mia", True)]:
        page = await client.get(f"/o/acme/members/{world.memberships[name].id}")
        assert ("Save roles" in page.text) is offered, name
    listing = await client.get("/o/acme/members")
    for name, offered in [("olivia", False), ("adam", False), ("mia", True)]:
        cell = listing.text[listing.text.index(f'id="roles-{world.memberships[name].id}"') :][:2500]
        cell = cell[: cell.index("</td>")]
        assert ("Save roles" in cell) is offered, name


async def test_an_owner_may_change_their_own_roles(client, world, db):
    await sign_in(client, world.olivia)
    owner = await template(db, "owner")
    response = await post_form(
        client,
        f"/o/acme/members/{world.memberships['olivia'].id}/roles",
        {"role": [str(owner.id), str(world.developer.id)]},
    )
    assert response.status_code == 200
    assert await direct_roles(db, world.memberships["olivia"].id) == {"owner", "developer"}


async def test_the_last_owner_keeps_the_owner_role(client, world, db):
    await sign_in(client, world.olivia)
    admin, owner = await template(db, "admin"), await template(db, "owner")
    response = await post_form(
        client, f"/o/acme/members/{world.memberships['olivia'].id}/roles", {"role": [str(admin.id)]}
    )
    assert response.status_code == 422
    assert "olivia@acme.example is the last owner. Make someone else an owner first." in response.text
    assert await direct_roles(db, world.memberships["olivia"].id) == {"owner"}
    # With a second owner, the first may step down.
    await post_form(client, f"/o/acme/members/{world.memberships['adam'].id}/roles", {"role": [str(owner.id)]})
    response = await post_form(
        client, f"/o/acme/members/{world.memberships['olivia'].id}/roles", {"role": [str(admin.id)]}
    )
    assert response.status_code == 200
    assert await direct_roles(db, world.memberships["olivia"].id) == {"admin"}


async def test_a_member_without_members_manage_cannot_change_roles(client, world, db):
    await sign_in(client, world.mia)
    response = await post_form(
        client, f"/o/acme/members/{world.memberships['mia'].id}/roles", {"role": [str(world.developer.id)]}
    )
    assert response.status_code == 403
    assert await direct_roles(db, world.memberships["mia"].id) == {"member"}


# --- nothing of another org can be named ---------------------------------------------------------


async def test_another_orgs_role_group_or_member_is_404_whatever_id_is_posted(client, world, db):
    await sign_in(client, world.olivia)
    gus_in_globex = world.memberships["gus"].id
    checks = [
        (f"/o/acme/members/{world.memberships['mia'].id}/roles", {"role": [str(world.globex_role.id)]}),
        (f"/o/acme/members/{gus_in_globex}/roles", {"role": []}),
        (f"/o/acme/groups/{world.globex_team.id}/roles", {"role": []}),
        (f"/o/acme/groups/{world.engineering.id}/roles", {"role": [str(world.globex_role.id)]}),
        (f"/o/acme/groups/{world.engineering.id}/members", {"membership_id": str(gus_in_globex)}),
        (f"/o/acme/groups/{world.globex_team.id}/members", {"membership_id": str(world.memberships["mia"].id)}),
        (f"/o/acme/groups/{world.engineering.id}/members/{gus_in_globex}/remove", {}),
        (f"/o/acme/groups/{world.globex_team.id}", {"name": "Hijacked"}),
        (f"/o/acme/groups/{world.globex_team.id}/delete", {}),
        (f"/o/acme/roles/{world.globex_role.id}", {"name": "Hijacked"}),
        (f"/o/acme/roles/{world.globex_role.id}/delete", {}),
        ("/o/acme/roles/default", {"role_id": str(world.globex_role.id)}),
    ]
    for path, data in checks:
        response = await post_form(client, path, data, follow_redirects=False)
        assert response.status_code == 404, (path, response.status_code)
    for path in (
        f"/o/acme/roles/{world.globex_role.id}",
        f"/o/acme/groups/{world.globex_team.id}",
        f"/o/acme/members/{gus_in_globex}",
    ):
        assert (await client.get(path)).status_code == 404, path
    assert (await db.get(Group, world.globex_team.id)).name == "Globex Team"
    assert await direct_roles(db, world.memberships["mia"].id) == {"member"}
    assert (await db.scalar(select(Organization.default_role_id).where(Organization.id == world.acme.id))) is None


# --- roles -------------------------------------------------------------------------------------


async def test_creating_a_role_with_permissions_from_the_catalog(client, world, db):
    await sign_in(client, world.adam)
    page = await client.get("/o/acme/roles/new")
    for heading in ("Organization administration", "Projects", "Reports", "Developers", "Billing"):
        assert f">{heading}</h3>" in page.text
    response = await post_form(
        client,
        "/o/acme/roles/new",
        {"name": "Support Agent", "description": "Helps customers", "permissions": ["members:read", "reports:read"]},
    )
    assert "The role “Support Agent” has been created." in response.text
    role = await db.scalar(select(Role).where(Role.org_id == world.acme.id, Role.key == "support-agent"))
    assert set(await db.scalars(select(RolePermission.permission).where(RolePermission.role_id == role.id))) == {
        "members:read",
        "reports:read",
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"key": "Not A Key!"}, "key", "Use lowercase letters"),
        ({"key": "developer"}, "key", "already the key of a role here"),
        ({"key": "owner"}, "key", "already the key of a role here"),
        ({"permissions": ["warp:drive"]}, "permissions", "Not permissions of this deployment: warp:drive"),
    ],
)
async def test_role_form_refusals(client, world, db, fields, field, message):
    await sign_in(client, world.olivia)
    before = await count(db, Role)
    response = await post_form(client, "/o/acme/roles/new", {"name": "Ops", "permissions": ["members:read"], **fields})
    assert response.status_code == 422
    assert message in (field_error(response.text, field) or "")
    assert await count(db, Role) == before


async def test_an_admin_cant_put_a_permission_they_lack_into_a_role(client, world, db):
    await sign_in(client, world.adam)
    response = await post_form(client, "/o/acme/roles/new", {"name": "Deleter", "permissions": ["org:delete"]})
    assert response.status_code == 403
    assert "Only owners can put permissions they don't hold into a role: org:delete" in response.text.replace(
        "&#39;", "'"
    )
    response = await post_form(
        client,
        f"/o/acme/roles/{world.developer.id}",
        {"name": "Developer", "permissions": ["api:access", "org:delete"]},
    )
    assert response.status_code == 403
    assert "org:delete" not in set(
        await db.scalars(select(RolePermission.permission).where(RolePermission.role_id == world.developer.id))
    )


async def test_editing_a_role_changes_what_its_holders_can_do_at_once(client, world, db):
    await sign_in(client, world.olivia)
    assert await can(db, world.adam, world.acme, "projects:write")
    response = await post_form(
        client,
        f"/o/acme/roles/{world.developer.id}",
        {"name": "Developer", "description": "", "permissions": ["api:access", "billing:manage"]},
    )
    assert "Its holders have the new permissions now." in response.text
    assert await can(db, world.adam, world.acme, "billing:manage")
    [event] = await events(db, "role.updated")
    assert event.after["added"] == ["billing:manage"]
    assert event.after["removed"] == ["projects:read", "projects:write"]


async def test_built_in_roles_cant_be_edited_or_deleted(client, world, db):
    await sign_in(client, world.olivia)
    admin = await template(db, "admin")
    assert (await post_form(client, f"/o/acme/roles/{admin.id}", {"name": "Boss"})).status_code == 403
    assert (await post_form(client, f"/o/acme/roles/{admin.id}/delete")).status_code == 403
    page = await client.get(f"/o/acme/roles/{admin.id}")
    assert "Built-in roles exist in every organization" in page.text
    assert (await template(db, "admin")).name == "Admin"


async def test_deleting_a_role_in_use_says_who_holds_it_first(client, world, db):
    await sign_in(client, world.olivia)
    page = await client.get(f"/o/acme/roles/{world.developer.id}/delete")
    assert "<strong>0 members</strong> and <strong>1 group</strong>" in page.text
    response = await post_form(client, f"/o/acme/roles/{world.developer.id}/delete")
    assert "The role “Developer” has been deleted." in response.text
    db.expire_all()
    adam = await effective_permissions(db, user_id=world.adam.id, org_id=world.acme.id)
    assert [str(s) for s in adam.sources["api:access"]] == ["via role Admin"], "the group no longer gives it"
    [event] = await events(db, "role.deleted")
    assert event.before["groups"] == 1


async def test_the_default_role_cant_be_deleted_nor_be_owner(client, world, db):
    await sign_in(client, world.olivia)
    response = await post_form(client, "/o/acme/roles/default", {"role_id": str(world.developer.id)})
    assert "New members will get this role." in response.text
    refused = await post_form(client, f"/o/acme/roles/{world.developer.id}/delete")
    assert refused.status_code == 422
    assert "is the default role for new members" in refused.text
    owner = await template(db, "owner")
    response = await post_form(client, "/o/acme/roles/default", {"role_id": str(owner.id)})
    assert "New members can&#39;t become owners by default." in response.text
    roles_page = await client.get("/o/acme/roles")
    assert re.search(r"Developer</strong></a>\s*<span class=\"badge badge--success\">Default", roles_page.text)


# --- groups ------------------------------------------------------------------------------------


async def test_group_lifecycle(client, world, db):
    await sign_in(client, world.adam)
    response = await post_form(client, "/o/acme/groups/new", {"name": "Marketing", "description": "Growth"})
    assert "The group “Marketing” has been created." in response.text
    group_id = re.search(r"/o/acme/groups/([0-9a-f-]{36})$", str(response.url)).group(1)
    duplicate = await post_form(client, "/o/acme/groups/new", {"name": "  marketing "})
    assert duplicate.status_code == 422
    assert field_error(duplicate.text, "name") == "There is already a group called “marketing”."
    renamed = await post_form(client, f"/o/acme/groups/{group_id}", {"name": "Growth", "description": "Growth team"})
    assert "The group has been saved." in renamed.text
    [event] = await events(db, "group.renamed")
    assert (event.before["name"], event.after["name"]) == ("Marketing", "Growth")
    page = await client.get(f"/o/acme/groups/{group_id}/delete")
    assert "0 members stay in Acme" in page.text
    gone = await post_form(client, f"/o/acme/groups/{group_id}/delete")
    assert "The group “Growth” has been deleted." in gone.text


async def test_search_as_you_type_offers_members_not_in_the_group(client, world):
    await sign_in(client, world.adam)
    fragment = await client.get(
        f"/o/acme/groups/{world.engineering.id}/candidates", params={"q": "a"}, headers={"hx-request": "true"}
    )
    assert "<html" not in fragment.text
    assert "Mia Member" in fragment.text and "Olivia Owner" in fragment.text
    assert "Adam Admin" not in fragment.text, "already in the group"
    assert "Gus" not in fragment.text, "not in this org"
    page = await client.get(f"/o/acme/groups/{world.engineering.id}/candidates", params={"q": "mia"})
    assert "Add members to Engineering" in page.text, "a full page without script"


async def test_owner_is_never_a_groups_role(client, world, db):
    await sign_in(client, world.olivia)
    owner = await template(db, "owner")
    response = await post_form(client, f"/o/acme/groups/{world.engineering.id}/roles", {"role": [str(owner.id)]})
    assert response.status_code == 403
    assert "Owner is held by people, not groups" in response.text
    assert await count(db, GroupRole, GroupRole.role_id == owner.id) == 0


async def test_adding_someone_to_a_group_is_granting_its_roles(client, world, db):
    """An admin can't pass on a permission they lack by putting someone into a group that has it.
    (Being in such a group yourself, you do hold it, and may share it.)"""
    deleter = Role(org_id=world.acme.id, key="deleter", name="Deleter", description="")
    board = Group(org_id=world.acme.id, name="Board", name_key="board", description="")
    db.add_all([deleter, board])
    await db.flush()
    db.add(RolePermission(role_id=deleter.id, permission="org:delete"))
    db.add(GroupRole(group_id=board.id, role_id=deleter.id))  # Adam isn't on the board
    await db.commit()
    await sign_in(client, world.adam)
    response = await post_form(
        client, f"/o/acme/groups/{board.id}/members", {"membership_id": str(world.memberships["mia"].id)}
    )
    assert response.status_code == 403
    assert "Deleter" in response.text
    assert await count(db, GroupMember, GroupMember.membership_id == world.memberships["mia"].id) == 0


async def test_the_resolver_is_one_statement_however_many_roles_and_groups(db, world, engine):
    from tests.integration.conftest import count_queries

    with count_queries(engine) as small:
        await effective_permissions(db, user_id=world.adam.id, org_id=world.acme.id)
    for n in range(15):
        role = Role(org_id=world.acme.id, key=f"extra-{n}", name=f"Extra {n}", description="")
        group = Group(org_id=world.acme.id, name=f"Team {n}", name_key=f"team {n}", description="")
        db.add_all([role, group])
        await db.flush()
        db.add_all(
            [
                RolePermission(role_id=role.id, permission="reports:read"),
                GroupRole(group_id=group.id, role_id=role.id),
                GroupMember(group_id=group.id, membership_id=world.memberships["adam"].id),
                MembershipRole(membership_id=world.memberships["adam"].id, role_id=role.id),
            ]
        )
    await db.commit()
    with count_queries(engine) as large:
        adam = await effective_permissions(db, user_id=world.adam.id, org_id=world.acme.id)
    assert small.count == large.count == 1
    assert len(adam.sources["reports:read"]) >= 30


async def test_member_and_permission_pages_cost_the_same_for_any_number_of_groups(client, world, db, app_engine):
    from tests.integration.conftest import count_queries

    await sign_in(client, world.olivia)
    pages = [
        f"/o/acme/members/{world.memberships['adam'].id}",
        "/o/acme/permissions/api:access",
        "/o/acme/groups",
        "/o/acme/roles",
        f"/o/acme/groups/{world.engineering.id}",
    ]
    before = {}
    for page in pages:
        await client.get(page)
        with count_queries(app_engine) as counted:
            await client.get(page)
        before[page] = counted.count
    for n in range(12):
        group = Group(org_id=world.acme.id, name=f"Team {n}", name_key=f"team {n}", description="")
        db.add(group)
        await db.flush()
        db.add_all(
            [
                GroupRole(group_id=group.id, role_id=world.developer.id),
                GroupMember(group_id=group.id, membership_id=world.memberships["adam"].id),
            ]
        )
    await db.commit()
    for page in pages:
        with count_queries(app_engine) as counted:
            assert (await client.get(page)).status_code == 200
        assert counted.count == before[page], (page, counted.statements)


async def test_keys_made_from_names_are_valid_and_free(client, world, db):
    await sign_in(client, world.olivia)
    for name in ("1st line support", "Ops", "Ops", "🚀"):
        response = await post_form(client, "/o/acme/roles/new", {"name": name, "permissions": ["members:read"]})
        assert response.status_code == 200, response.text[:300]
    keys = set(await db.scalars(select(Role.key).where(Role.org_id == world.acme.id)))
    assert {"role-1st-line-support", "ops", "ops-2", "role"} <= keys


async def test_a_permission_no_longer_declared_survives_an_edit(client, world, db):
    db.add(RolePermission(role_id=world.developer.id, permission="legacy:thing"))
    await db.commit()
    await sign_in(client, world.olivia)
    page = await client.get(f"/o/acme/roles/{world.developer.id}")
    assert page.status_code == 200
    await post_form(client, f"/o/acme/roles/{world.developer.id}", {"name": "Dev", "permissions": ["api:access"]})
    held = set(
        await db.scalars(
            select(RolePermission.permission)
            .where(RolePermission.role_id == world.developer.id)
            .execution_options(populate_existing=True)
        )
    )
    assert held == {"api:access", "legacy:thing"}


async def test_the_default_role_form_never_quietly_changes_a_default_you_cant_give(client, world, db):
    deleter = Role(org_id=world.acme.id, key="deleter", name="Deleter", description="")
    db.add(deleter)
    await db.flush()
    db.add(RolePermission(role_id=deleter.id, permission="org:delete"))
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(default_role_id=deleter.id))
    await db.commit()
    await sign_in(client, world.adam)
    page = await client.get("/o/acme/roles")
    assert "Only an owner can change it" in page.text
    assert 'name="role_id"' not in page.text


async def test_a_bad_role_id_on_the_member_page_is_explained(client, world):
    await sign_in(client, world.olivia)
    response = await post_form(client, f"/o/acme/members/{world.memberships['mia'].id}/roles", {"role": "nope"})
    assert response.status_code == 422
    assert 'id="field-roles-error">Enter a valid value.' in response.text


async def test_a_demoted_admin_can_no_longer_change_anything(client, world, db):
    """The guard let the request in; the verb reads authority again after locking the org."""
    from tenantry.access.services import set_member_roles
    from tenantry.audit.services import Actor
    from tenantry.lib.errors import NotPermitted

    member = await template(db, "member")
    await db.execute(
        MembershipRole.__table__.delete().where(MembershipRole.membership_id == world.memberships["adam"].id)
    )
    await db.commit()
    org = await db.get(Organization, world.acme.id)
    mia = await db.get(Membership, world.memberships["mia"].id)
    with pytest.raises(NotPermitted):
        await set_member_roles(
            db,
            org=org,
            membership=mia,
            role_ids={member.id, world.developer.id},
            actor=Actor(user_id=world.adam.id, label="Adam"),
            target_label="mia",
        )
    await db.rollback()
