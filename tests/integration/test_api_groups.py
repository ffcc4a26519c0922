"""An org's groups over the API: CRUD, members and roles through groups/services.py with the key
as the actor; reads need `read`, writes `write`; an org key reaches its own org only."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from tenantry.access.models import Role
from tenantry.groups.models import Group, GroupMember, GroupRole
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, count_queries, events, make_user

GROUPS = "/api/v1/orgs/{org}/groups"


def data_statements(counter) -> list[str]:
    """The statements of the endpoint itself, without the bearer check's (the key, its rate limit)."""
    return [s for s in counter.statements if "rate_limit_counters" not in s and "api_keys" not in s]


def group_path(group, org: str = "acme") -> str:
    return f"{GROUPS.format(org=org)}/{group.id}"


async def add_groups(db, org_id, n: int, *, members: list[Membership] = (), role: Role | None = None) -> None:
    for i in range(n):
        group = Group(org_id=org_id, name=f"Team {i:02}", name_key=f"team {i:02}", description="")
        db.add(group)
        await db.flush()
        db.add_all([GroupMember(group_id=group.id, membership_id=m.id) for m in members])
        if role is not None:
            db.add(GroupRole(group_id=group.id, role_id=role.id))
    await db.commit()


async def test_listing_groups_page_by_page(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, scopes=("read",))
    first = await client.get(GROUPS.format(org="acme"), headers=bearer(token))
    assert first.status_code == 200
    (engineering,) = first.json()["items"]
    assert engineering["id"] == str(world.engineering.id)
    assert engineering["name"] == "Engineering" and engineering["description"] == "The builders"
    assert engineering["member_count"] == 1
    assert engineering["roles"] == [{"id": str(world.developer.id), "key": "developer", "name": "Developer"}]
    assert first.json()["next_cursor"] is None

    await add_groups(db, world.acme.id, 5)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(GROUPS.format(org=world.acme.id), params=params, headers=bearer(token))).json()
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Engineering", "Team 00", "Team 01", "Team 02", "Team 03", "Team 04"]
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "many"}):
        response = await client.get(GROUPS.format(org="acme"), params=bad, headers=bearer(token))
        assert response.status_code in (400, 422) and response.json()["status"] in (400, 422)
    tampered = await client.get(GROUPS.format(org="acme"), params={"cursor": "garbage"}, headers=bearer(token))
    assert tampered.status_code == 200 and tampered.json()["items"][0]["name"] == "Engineering"


async def test_the_groups_list_costs_the_same_for_any_number_of_groups(client, world, db, sessionmaker, app_engine):
    token = await make_key(sessionmaker, scopes=("read",))
    path = GROUPS.format(org="acme")
    with count_queries(app_engine) as few:
        assert (await client.get(path, headers=bearer(token))).status_code == 200
    members = [world.memberships["adam"], world.memberships["mia"], world.memberships["olivia"]]
    await add_groups(db, world.acme.id, 30, members=members, role=world.developer)
    with count_queries(app_engine) as many:
        response = await client.get(path, headers=bearer(token))
    assert len(response.json()["items"]) == 31
    assert len(data_statements(many)) == len(data_statements(few)) <= 4

    with count_queries(app_engine) as detail_few:
        await client.get(group_path(world.engineering), headers=bearer(token))
    for n in range(12):
        user = await make_user(db, f"Extra {n}", f"extra{n}@acme.example")
        membership = Membership(org_id=world.acme.id, user_id=user.id, sort_name=f"extra {n}")
        db.add(membership)
        await db.flush()
        db.add(GroupMember(group_id=world.engineering.id, membership_id=membership.id))
    await db.commit()
    with count_queries(app_engine) as detail_many:
        detail = (await client.get(group_path(world.engineering), headers=bearer(token))).json()
    assert len(detail["members"]) == 13 and detail["member_count"] == 13
    assert len(data_statements(detail_many)) == len(data_statements(detail_few))
    with count_queries(app_engine) as members_page:
        page = (await client.get(f"{group_path(world.engineering)}/members?limit=5", headers=bearer(token))).json()
    assert len(page["items"]) == 5 and page["next_cursor"]
    assert len(data_statements(members_page)) <= len(data_statements(detail_few))


async def test_a_group_with_its_members_and_roles(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    response = await client.get(group_path(world.engineering), headers=bearer(token))
    assert response.status_code == 200
    group = response.json()
    assert group["name"] == "Engineering" and group["roles"][0]["key"] == "developer"
    assert group["members"] == [
        {
            "membership_id": str(world.memberships["adam"].id),
            "user_id": str(world.adam.id),
            "name": "Adam Admin",
            "email": "adam@acme.example",
            "status": "active",
        }
    ]
    assert group["members_next_cursor"] is None
    members = await client.get(f"{group_path(world.engineering)}/members", headers=bearer(token))
    assert members.json() == {"items": group["members"], "next_cursor": None}


async def test_creating_a_group(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="Provisioner")
    response = await client.post(
        GROUPS.format(org="acme"), json={"name": "  Support ", "description": "First line"}, headers=bearer(token)
    )
    assert response.status_code == 201
    group = response.json()
    assert group["name"] == "Support" and group["description"] == "First line"
    assert group["members"] == [] and group["roles"] == [] and group["member_count"] == 0
    created = (await events(db, "group.created"))[-1]
    assert created.actor_label.startswith("API key Provisioner") and created.actor_user_id is None
    assert created.target_id == group["id"] and created.org_id == world.acme.id
    assert await count(db, Group, Group.org_id == world.acme.id) == 2


async def test_creating_a_group_refuses_bad_input_naming_the_field(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    for body, field in [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "ENGINEERING"}, "name"),  # taken, whatever the case
        ({"name": "x" * 65}, "name"),
        ({"name": "Ops\x00"}, "name"),
        ({"name": 42}, "name"),
        ({"name": "Ops", "description": "d" * 301}, "description"),
        ({"name": "Ops", "members": []}, "members"),
    ]:
        response = await client.post(GROUPS.format(org="acme"), json=body, headers=bearer(token))
        assert response.status_code == 422, body
        assert field in [error["field"] for error in response.json()["errors"]], (body, response.json())
    assert await count(db, Group, Group.org_id == world.acme.id) == 1


async def test_a_plan_without_groups_refuses_them(client, world, db, sessionmaker):
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(plan_key="starter"))
    await db.commit()
    token = await make_key(sessionmaker)
    response = await client.post(GROUPS.format(org="acme"), json={"name": "Ops"}, headers=bearer(token))
    assert response.status_code == 403 and "groups" in response.json()["detail"].lower()
    assert await count(db, Group, Group.org_id == world.acme.id) == 1


async def test_changing_a_group_changes_only_what_is_sent(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Provisioner")
    path = group_path(world.engineering)
    described = await client.patch(path, json={"description": "Ships it"}, headers=bearer(token))
    assert described.status_code == 200
    assert described.json()["name"] == "Engineering" and described.json()["description"] == "Ships it"
    renamed = await client.patch(path, json={"name": "Platform"}, headers=bearer(token))
    assert renamed.json()["name"] == "Platform" and renamed.json()["description"] == "Ships it"
    (updated,) = await events(db, "group.updated")
    (rename,) = await events(db, "group.renamed")
    assert updated.after["description"] == "Ships it" and rename.after["name"] == "Platform"
    assert updated.actor_label.startswith("API key Provisioner") and rename.actor_label.startswith("API key")

    await client.post(GROUPS.format(org="acme"), json={"name": "Design"}, headers=bearer(token))
    taken = await client.patch(path, json={"name": "design"}, headers=bearer(token))
    assert taken.status_code == 422 and taken.json()["errors"][0]["field"] == "name"
    null = await client.patch(path, json={"name": None}, headers=bearer(token))
    assert null.status_code == 422 and null.json()["errors"][0]["field"] == "name"
    assert await db.scalar(select(Group.name).where(Group.id == world.engineering.id)) == "Platform"


async def test_deleting_a_group_keeps_its_members_in_the_org(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="Provisioner")
    response = await client.delete(group_path(world.engineering), headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    assert await count(db, Group, Group.id == world.engineering.id) == 0
    assert await count(db, Membership, Membership.id == world.memberships["adam"].id) == 1
    (deleted,) = await events(db, "group.deleted")
    assert deleted.actor_label.startswith("API key Provisioner")
    assert deleted.before["members"] == 1 and deleted.before["roles"] == ["developer"]
    assert (await client.get(group_path(world.engineering), headers=bearer(token))).status_code == 404
    assert (await client.delete(group_path(world.engineering), headers=bearer(token))).status_code == 404


async def test_putting_members_in_a_group_by_email_user_id_or_membership_id(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Provisioner")
    check = await make_key(sessionmaker, scopes=("check",), name="Checker")
    path = f"{group_path(world.engineering)}/members"
    question = {"user": "mia@acme.example", "org": "acme", "permission": "projects:write"}
    assert (await client.post("/api/v1/check", json=question, headers=bearer(check))).json()["allowed"] is False

    added = await client.post(path, json={"member": "MIA@acme.example"}, headers=bearer(token))
    assert added.status_code == 201
    assert added.json() == {
        "membership_id": str(world.memberships["mia"].id),
        "user_id": str(world.mia.id),
        "name": "Mia Member",
        "email": "mia@acme.example",
        "status": "active",
    }
    answer = (await client.post("/api/v1/check", json=question, headers=bearer(check))).json()
    assert answer["allowed"] is True and answer["sources"] == [{"role": "Developer", "group": "Engineering"}]
    event = (await events(db, "group.member_added"))[-1]
    assert event.actor_label.startswith("API key Provisioner") and event.after == {"member": "mia@acme.example"}

    again = await client.post(path, json={"member": str(world.mia.id)}, headers=bearer(token))
    assert again.status_code == 200 and again.json()["membership_id"] == str(world.memberships["mia"].id)
    by_membership = await client.post(path, json={"member": str(world.memberships["olivia"].id)}, headers=bearer(token))
    assert by_membership.status_code == 201 and by_membership.json()["email"] == "olivia@acme.example"
    members = (await client.get(path, headers=bearer(token))).json()["items"]
    assert [m["name"] for m in members] == ["Adam Admin", "Mia Member", "Olivia Owner"]
    assert len(await events(db, "group.member_added")) == 3  # the world's Adam, then Mia and Olivia


async def test_only_members_of_the_org_can_join_its_groups(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    path = f"{group_path(world.engineering)}/members"
    for member in [
        "gus@globex.example",  # a user, not in Acme
        str(world.gus.id),
        str(world.memberships["gus"].id),  # Globex's membership
        "nobody@nowhere.example",
        str(uuid.uuid4()),
    ]:
        response = await client.post(path, json={"member": member}, headers=bearer(token))
        assert response.status_code == 422, member
        assert response.json()["errors"] == [{"field": "member", "message": response.json()["detail"]}]
    for body in [{}, {"member": ""}, {"member": "a\x00b"}, {"member": ["mia@acme.example"]}]:
        response = await client.post(path, json=body, headers=bearer(token))
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "member", body
    assert await count(db, GroupMember, GroupMember.group_id == world.engineering.id) == 1


async def test_taking_a_member_out_of_a_group(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="Provisioner")
    path = f"{group_path(world.engineering)}/members/{world.memberships['adam'].id}"
    response = await client.delete(path, headers=bearer(token))
    assert response.status_code == 204
    assert await count(db, GroupMember, GroupMember.group_id == world.engineering.id) == 0
    (removed,) = await events(db, "group.member_removed")
    assert removed.actor_label.startswith("API key Provisioner") and removed.before == {"member": "adam@acme.example"}
    assert (await client.delete(path, headers=bearer(token))).status_code == 404  # not in it any more
    mia_not_in_it = f"{group_path(world.engineering)}/members/{world.memberships['mia'].id}"
    assert (await client.delete(mia_not_in_it, headers=bearer(token))).status_code == 404
    assert len(await events(db, "group.member_removed")) == 1


async def test_setting_a_groups_roles_by_key_or_id(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Provisioner")
    path = f"{group_path(world.engineering)}/roles"
    member = await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == "member"))
    response = await client.put(path, json={"roles": ["ANALYST", str(member.id)]}, headers=bearer(token))
    assert response.status_code == 200
    assert [role["key"] for role in response.json()["roles"]] == ["member", "analyst"]
    given = [e.after["role"] for e in await events(db, "group.role_given") if e.actor_label.startswith("API key")]
    taken = [e.before["role"] for e in await events(db, "group.role_taken")]
    assert sorted(given) == ["analyst", "member"] and taken == ["developer"]
    assert all(e.actor_label.startswith("API key Provisioner") for e in await events(db, "group.role_taken"))

    cleared = await client.put(path, json={"roles": []}, headers=bearer(token))
    assert cleared.status_code == 200 and cleared.json()["roles"] == []
    assert await count(db, GroupRole, GroupRole.group_id == world.engineering.id) == 0


async def test_setting_a_groups_roles_refuses_what_the_portal_refuses(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    path = f"{group_path(world.engineering)}/roles"
    owner = await client.put(path, json={"roles": ["owner"]}, headers=bearer(token))
    assert owner.status_code == 403 and owner.json()["errors"][0]["field"] == "roles"
    for roles in (["made-up"], [str(world.globex_role.id)], ["reader"], [str(uuid.uuid4())]):
        response = await client.put(path, json={"roles": roles}, headers=bearer(token))
        assert response.status_code == 422, roles
        assert response.json()["errors"][0]["field"] == "roles"
    for body in ({}, {"roles": "developer"}, {"roles": [""]}, {"roles": ["x"] * 101}):
        response = await client.put(path, json=body, headers=bearer(token))
        assert response.status_code == 422 and response.json()["errors"][0]["field"].startswith("roles"), body
    held = set(await db.scalars(select(GroupRole.role_id).where(GroupRole.group_id == world.engineering.id)))
    assert held == {world.developer.id}


async def test_writes_need_the_write_scope(client, world, db, sessionmaker):
    reader = await make_key(sessionmaker, scopes=("read", "check"))
    path = group_path(world.engineering)
    for response in [
        await client.post(GROUPS.format(org="acme"), json={"name": "Ops"}, headers=bearer(reader)),
        await client.patch(path, json={"name": "Ops"}, headers=bearer(reader)),
        await client.delete(path, headers=bearer(reader)),
        await client.post(f"{path}/members", json={"member": "mia@acme.example"}, headers=bearer(reader)),
        await client.delete(f"{path}/members/{world.memberships['adam'].id}", headers=bearer(reader)),
        await client.put(f"{path}/roles", json={"roles": []}, headers=bearer(reader)),
    ]:
        assert response.status_code == 403 and "`write` scope" in response.json()["detail"]
    writer = await make_key(sessionmaker, scopes=("write",), name="Writer")
    for read in (GROUPS.format(org="acme"), path, f"{path}/members"):
        assert (await client.get(read, headers=bearer(writer))).status_code == 403
    assert await count(db, GroupMember, GroupMember.group_id == world.engineering.id) == 1
    assert await count(db, Group, Group.org_id == world.acme.id) == 1


async def test_another_orgs_groups_are_404(client, world, db, sessionmaker):
    """Acme's key on Globex's paths, and Globex's group ids under Acme's path: as if they didn't exist."""
    acme_key = await make_key(sessionmaker, org=world.acme)
    app_key = await make_key(sessionmaker, name="App")
    gus = world.memberships["gus"].id

    def every_endpoint(org: str, group_id) -> list[tuple[str, str, dict | None]]:
        one = f"{GROUPS.format(org=org)}/{group_id}"
        return [
            ("GET", one, None),
            ("PATCH", one, {"name": "Mole"}),
            ("DELETE", one, None),
            ("GET", f"{one}/members", None),
            ("POST", f"{one}/members", {"member": "gus@globex.example"}),
            ("DELETE", f"{one}/members/{gus}", None),
            ("PUT", f"{one}/roles", {"roles": []}),
        ]

    calls = [(acme_key, method, path, body) for method, path, body in every_endpoint("globex", world.globex_team.id)]
    calls += [(acme_key, "GET", GROUPS.format(org=org), None) for org in ("globex", str(world.globex.id))]
    calls += [(acme_key, "POST", GROUPS.format(org="globex"), {"name": "Mole"})]
    for key in (acme_key, app_key):
        calls += [(key, method, path, body) for method, path, body in every_endpoint("acme", world.globex_team.id)]
    calls += [(app_key, method, path, body) for method, path, body in every_endpoint("acme", uuid.uuid4())]
    calls += [(app_key, method, path, body) for method, path, body in every_endpoint("nope", world.engineering.id)]
    # Gus's Globex membership under Acme's own group: not a member of this org.
    calls += [(app_key, "DELETE", f"{group_path(world.engineering)}/members/{gus}", None)]
    for key, method, path, body in calls:
        response = await client.request(method, path, json=body, headers=bearer(key))
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await db.scalar(select(Group.name).where(Group.id == world.globex_team.id)) == "Globex Team"
    assert await count(db, Group, Group.org_id == world.globex.id) == 1
    assert await count(db, GroupMember, GroupMember.group_id == world.globex_team.id) == 0
    writes = ("group.created", "group.renamed", "group.deleted", "group.member_removed", "group.role_given")
    assert not [e for action in writes for e in await events(db, action) if e.actor_label.startswith("API key")]
