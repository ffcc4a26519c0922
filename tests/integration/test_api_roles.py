"""The permission catalog and an org's roles over the API: the portal's verbs with the key as the
actor; reads need `read`, writes `write`; an org key reaches its own org only."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from tenantry.access.models import MembershipRole, Role, RolePermission
from tenantry.orgs.models import Organization
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, count_queries, events

ROLES = "/api/v1/orgs/{org}/roles"


async def put_on_plan(db, org, plan_key: str) -> None:
    await db.execute(update(Organization).where(Organization.id == org.id).values(plan_key=plan_key))
    await db.commit()


def data_statements(counter) -> list[str]:
    """The statements of the endpoint itself, without the bearer check's (the key, its rate limit)."""
    return [s for s in counter.statements if "rate_limit_counters" not in s and "api_keys" not in s]


def by_key(items: list[dict]) -> dict[str, dict]:
    return {item["key"]: item for item in items}


async def test_the_permission_catalog_lists_tenantrys_and_the_products_permissions(client, world, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, scopes=("read",))
    response = await client.get("/api/v1/permissions", headers=bearer(token))
    assert response.status_code == 200
    permissions = by_key(response.json()["items"])
    assert permissions["members:invite"]["built_in"] is True
    assert permissions["members:invite"]["description"] == "Invite people"
    assert permissions["reports:read"]["built_in"] is False  # from examples/permissions.toml
    assert permissions["reports:read"]["description"]
    assert response.json()["next_cursor"] is None
    checker = await make_key(sessionmaker, scopes=("check",), name="Checker")
    assert (await client.get("/api/v1/permissions", headers=bearer(checker))).status_code == 403


async def test_an_orgs_roles_are_the_templates_and_its_own(client, world, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    response = await client.get(ROLES.format(org="acme"), headers=bearer(token))
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["key"] for item in items[:3]] == ["owner", "admin", "member"]
    roles = by_key(items)
    assert "reader" not in roles, "Globex's own role isn't Acme's"
    developer = roles["developer"]
    assert developer == {
        "id": str(world.developer.id),
        "key": "developer",
        "name": "Developer",
        "description": "Builds the product.",
        "permissions": ["api:access", "projects:read", "projects:write"],
        "built_in": False,
        "member_count": 0,
        "group_count": 1,
    }
    assert roles["owner"]["built_in"] is True and roles["owner"]["member_count"] == 1
    assert "org:delete" in roles["owner"]["permissions"] and "org:delete" not in roles["admin"]["permissions"]
    by_id = await client.get(ROLES.format(org=world.acme.id), headers=bearer(token))
    assert by_id.json() == response.json()

    one = await client.get(f"{ROLES.format(org='acme')}/{world.developer.id}", headers=bearer(token))
    assert one.status_code == 200 and one.json() == developer
    owner = await client.get(f"{ROLES.format(org='acme')}/{roles['owner']['id']}", headers=bearer(token))
    assert owner.json()["key"] == "owner"


async def test_the_roles_list_costs_the_same_for_any_number_of_roles(client, world, db, sessionmaker, app_engine):
    token = await make_key(sessionmaker, scopes=("read",))
    path = ROLES.format(org="acme")
    with count_queries(app_engine) as few:
        assert (await client.get(path, headers=bearer(token))).status_code == 200
    for n in range(12):
        role = Role(org_id=world.acme.id, key=f"extra-{n}", name=f"Extra {n}", description="")
        db.add(role)
        await db.flush()
        db.add_all(
            [
                RolePermission(role_id=role.id, permission="reports:read"),
                MembershipRole(membership_id=world.memberships["mia"].id, role_id=role.id),
            ]
        )
    await db.commit()
    with count_queries(app_engine) as many:
        response = await client.get(path, headers=bearer(token))
    assert len(response.json()["items"]) >= 16
    assert len(data_statements(many)) == len(data_statements(few)) <= 5


async def test_creating_a_role_goes_through_the_verb_with_the_key_as_actor(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="Provisioner")
    response = await client.post(
        ROLES.format(org="acme"),
        json={"name": "Support agent", "description": "Answers tickets", "permissions": ["reports:read"]},
        headers=bearer(token),
    )
    assert response.status_code == 201
    role = response.json()
    assert role["key"] == "support-agent" and role["built_in"] is False
    assert role["permissions"] == ["reports:read"] and role["description"] == "Answers tickets"
    created = (await events(db, "role.created"))[-1]
    assert created.actor_label.startswith("API key Provisioner") and created.actor_user_id is None
    assert created.org_id == world.acme.id and created.target_id == role["id"]

    with_key = await client.post(
        ROLES.format(org="acme"), json={"name": "Billing", "key": "billing-team"}, headers=bearer(token)
    )
    assert with_key.status_code == 201 and with_key.json()["key"] == "billing-team"
    assert with_key.json()["permissions"] == []


async def test_creating_a_role_refuses_bad_input_naming_the_field(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    path = ROLES.format(org="acme")
    cases = [
        ({"key": "x"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "Ops\x00"}, "name"),
        ({"name": "\u200b"}, "name"),
        ({"name": "Ops", "key": "Not a key!"}, "key"),
        ({"name": "Ops", "key": "developer"}, "key"),  # taken
        ({"name": "Ops", "key": "owner"}, "key"),  # a template's
        ({"name": "Ops", "permissions": ["made:up"]}, "permissions"),
        ({"name": "Ops", "permissions": "reports:read"}, "permissions"),
        ({"name": "Ops", "description": "d" * 301}, "description"),
        ({"name": "Ops", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post(path, json=body, headers=bearer(token))
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [error["field"] for error in response.json()["errors"]], (body, response.json())
    assert await count(db, Role, Role.org_id == world.acme.id) == 1
    assert len(await events(db, "role.created")) == 2  # the world's own: Developer and Globex Reader


async def test_a_plan_without_custom_roles_refuses_them(client, world, db, sessionmaker):
    await put_on_plan(db, world.acme, "team")
    token = await make_key(sessionmaker)
    response = await client.post(ROLES.format(org="acme"), json={"name": "Ops"}, headers=bearer(token))
    assert response.status_code == 403
    assert "custom roles" in response.json()["detail"].lower()
    assert await count(db, Role, Role.org_id == world.acme.id) == 1


async def test_changing_a_role_changes_only_what_is_sent(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Provisioner")
    path = f"{ROLES.format(org='acme')}/{world.developer.id}"
    renamed = await client.patch(path, json={"name": "Engineer"}, headers=bearer(token))
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Engineer" and renamed.json()["key"] == "developer"
    assert renamed.json()["permissions"] == ["api:access", "projects:read", "projects:write"]
    assert renamed.json()["description"] == "Builds the product."
    narrowed = await client.patch(path, json={"permissions": ["projects:read"]}, headers=bearer(token))
    assert narrowed.json()["permissions"] == ["projects:read"] and narrowed.json()["name"] == "Engineer"
    first, second = await events(db, "role.updated")
    assert first.after["name"] == "Engineer" and second.after["removed"] == ["api:access", "projects:write"]
    assert all(e.actor_label.startswith("API key Provisioner") for e in (first, second))

    # Adam holds Developer through Engineering: he lost projects:write on his next request.
    check = await make_key(sessionmaker, scopes=("check",), name="Checker")
    answer = await client.post(
        "/api/v1/check",
        json={"user": "adam@acme.example", "org": "acme", "permission": "api:access"},
        headers=bearer(check),
    )
    assert answer.json()["allowed"] is True and answer.json()["sources"] == [{"role": "Admin", "group": None}]

    nothing = await client.patch(path, json={}, headers=bearer(token))
    assert nothing.status_code == 200 and len(await events(db, "role.updated")) == 2


async def test_changing_a_role_refuses_bad_input_naming_the_field(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    path = f"{ROLES.format(org='acme')}/{world.developer.id}"
    for body, field in [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"permissions": None}, "permissions"),
        ({"permissions": ["nope:nope"]}, "permissions"),
        ({"key": "other"}, "key"),  # a role's key never changes
    ]:
        response = await client.patch(path, json=body, headers=bearer(token))
        assert response.status_code == 422, body
        assert [error["field"] for error in response.json()["errors"]] == [field], response.json()
    assert await events(db, "role.updated") == []


async def test_built_in_roles_cant_be_changed_or_deleted(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    admin = await db.scalar(select(Role).where(Role.org_id.is_(None), Role.key == "admin"))
    path = f"{ROLES.format(org='acme')}/{admin.id}"
    changed = await client.patch(path, json={"name": "Boss"}, headers=bearer(token))
    assert changed.status_code == 403 and "Built-in roles" in changed.json()["detail"]
    deleted = await client.delete(path, headers=bearer(token))
    assert deleted.status_code == 403
    assert await db.scalar(select(Role.name).where(Role.id == admin.id)) == "Admin"


async def test_deleting_a_role(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="Provisioner")
    path = f"{ROLES.format(org='acme')}/{world.developer.id}"
    response = await client.delete(path, headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    assert await count(db, Role, Role.id == world.developer.id) == 0
    (deleted,) = await events(db, "role.deleted")
    assert deleted.actor_label.startswith("API key Provisioner") and deleted.before["groups"] == 1
    assert (await client.get(path, headers=bearer(token))).status_code == 404
    assert (await client.delete(path, headers=bearer(token))).status_code == 404


async def test_the_default_role_cant_be_deleted(client, world, db, sessionmaker):
    await db.execute(
        update(Organization).where(Organization.id == world.acme.id).values(default_role_id=world.developer.id)
    )
    await db.commit()
    token = await make_key(sessionmaker)
    response = await client.delete(f"{ROLES.format(org='acme')}/{world.developer.id}", headers=bearer(token))
    assert response.status_code == 422 and "default role" in response.json()["detail"]
    assert await count(db, Role, Role.id == world.developer.id) == 1


async def test_writes_need_the_write_scope(client, world, db, sessionmaker):
    reader = await make_key(sessionmaker, scopes=("read", "check"))
    path = ROLES.format(org="acme")
    one = f"{path}/{world.developer.id}"
    for response in [
        await client.post(path, json={"name": "Ops"}, headers=bearer(reader)),
        await client.patch(one, json={"name": "Ops"}, headers=bearer(reader)),
        await client.delete(one, headers=bearer(reader)),
    ]:
        assert response.status_code == 403 and "`write` scope" in response.json()["detail"]
    writer = await make_key(sessionmaker, scopes=("write",), name="Writer")
    assert (await client.get(path, headers=bearer(writer))).status_code == 403
    assert (await client.get(one, headers=bearer(writer))).status_code == 403
    assert await count(db, Role, Role.org_id == world.acme.id) == 1


async def test_another_orgs_roles_are_404(client, world, db, sessionmaker):
    """Acme's key on Globex's paths, and Globex's role ids under Acme's path: as if they didn't exist."""
    acme_key = await make_key(sessionmaker, org=world.acme)
    app_key = await make_key(sessionmaker, name="App")
    globex_path = ROLES.format(org="globex")
    globex_role = f"{globex_path}/{world.globex_role.id}"
    for org in ("globex", str(world.globex.id)):
        assert (await client.get(ROLES.format(org=org), headers=bearer(acme_key))).status_code == 404
    responses = [
        await client.get(globex_role, headers=bearer(acme_key)),
        await client.post(globex_path, json={"name": "Mole"}, headers=bearer(acme_key)),
        await client.patch(globex_role, json={"name": "Mole"}, headers=bearer(acme_key)),
        await client.delete(globex_role, headers=bearer(acme_key)),
    ]
    under_acme = f"{ROLES.format(org='acme')}/{world.globex_role.id}"
    for key in (acme_key, app_key):
        responses += [
            await client.get(under_acme, headers=bearer(key)),
            await client.patch(under_acme, json={"name": "Mole"}, headers=bearer(key)),
            await client.delete(under_acme, headers=bearer(key)),
        ]
    missing = f"{ROLES.format(org='acme')}/{uuid.uuid4()}"
    responses += [
        await client.get(missing, headers=bearer(app_key)),
        await client.patch(missing, json={"name": "x"}, headers=bearer(app_key)),
        await client.get(ROLES.format(org="no-such-org"), headers=bearer(app_key)),
        await client.post(ROLES.format(org="no-such-org"), json={"name": "x"}, headers=bearer(app_key)),
    ]
    for response in responses:
        assert response.status_code == 404, (response.request.method, response.request.url)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await db.scalar(select(Role.name).where(Role.id == world.globex_role.id)) == "Globex Reader"
    assert await count(db, Role, Role.org_id == world.globex.id) == 1
    assert await events(db, "role.updated") == [] and await events(db, "role.deleted") == []
