"""/api/v1/users: read and create users, and a user's orgs with the roles and effective permissions
the portal itself would give them; an org key sees only its own members, in its own org."""

from __future__ import annotations

from sqlalchemy import select

from tenantry.accounts.models import User
from tenantry.audit.services import Actor
from tenantry.members.lifecycle import deactivate_member
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.services import create_organization
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, count_queries, events

SYSTEM = Actor.system("tests")

# --- read ------------------------------------------------------------------------------------------


async def test_a_user_by_id_or_email(client, world, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    by_id = await client.get(f"/api/v1/users/{world.gus.id}", headers=bearer(token))
    by_email = await client.get("/api/v1/users/GUS@globex.example", headers=bearer(token))
    assert by_id.status_code == by_email.status_code == 200
    assert by_id.json() == by_email.json()
    gus = by_id.json()
    assert (gus["email"], gus["name"], gus["email_verified"], gus["has_password"]) == (
        "gus@globex.example",
        "Gus Globex",
        True,
        True,
    )
    assert gus["metadata"] == {} and set(gus) == {
        "id",
        "email",
        "name",
        "created_at",
        "email_verified",
        "has_password",
        "metadata",
    }


async def test_a_missing_user_is_404(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    for ref in ("nobody@nowhere.example", "0190a8e4-0000-7000-8000-000000000000", "x" * 5000, "%00"):
        response = await client.get(f"/api/v1/users/{ref}", headers=bearer(token))
        assert response.status_code == 404, ref
        assert (await client.get(f"/api/v1/users/{ref}/orgs", headers=bearer(token))).status_code == 404


async def test_an_org_key_sees_only_its_own_members(client, world, db, sessionmaker):
    acme_key = await make_key(sessionmaker, org=world.acme, scopes=("read",))
    assert (await client.get("/api/v1/users/mia@acme.example", headers=bearer(acme_key))).status_code == 200
    for ref in ("gus@globex.example", str(world.gus.id), "sam@vendor.example"):
        assert (await client.get(f"/api/v1/users/{ref}", headers=bearer(acme_key))).status_code == 404
        assert (await client.get(f"/api/v1/users/{ref}/orgs", headers=bearer(acme_key))).status_code == 404
    # A deactivated member is still on the member list: still visible, in no org.
    org = await db.get(Organization, world.acme.id)
    membership = await db.get(Membership, world.memberships["mia"].id)
    await deactivate_member(db, org=org, membership=membership, user=world.mia, actor=SYSTEM)
    await db.commit()
    mia = await client.get("/api/v1/users/mia@acme.example/orgs", headers=bearer(acme_key))
    assert mia.status_code == 200 and mia.json()["orgs"] == []


async def test_reading_users_needs_the_read_scope(client, world, sessionmaker):
    checker = await make_key(sessionmaker, scopes=("check",))
    assert (await client.get("/api/v1/users/mia@acme.example", headers=bearer(checker))).status_code == 403
    assert (await client.get("/api/v1/users/mia@acme.example/orgs", headers=bearer(checker))).status_code == 403


# --- create ----------------------------------------------------------------------------------------


async def test_an_app_key_creates_a_user_without_a_password(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    response = await client.post(
        "/api/v1/users", json={"email": " Pat@Initech.example ", "name": "Pat Provisioned"}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["email"], body["name"], body["email_verified"], body["has_password"]) == (
        "pat@initech.example",
        "Pat Provisioned",
        False,
        False,
    )
    user = await db.scalar(select(User).where(User.email == "pat@initech.example"))
    assert str(user.id) == body["id"] and user.password_hash is None
    (created,) = await events(db, "user.created")
    assert created.actor_label.startswith("API key") and created.target_id == str(user.id)
    assert created.org_id is None
    # An app that has confirmed the address says so, and the user can then own an org.
    confirmed = await client.post(
        "/api/v1/users",
        json={"email": "quinn@initech.example", "name": "Quinn", "email_verified": True},
        headers=bearer(token),
    )
    assert confirmed.json()["email_verified"] is True
    org = await client.post(
        "/api/v1/orgs", json={"name": "Initech", "owner": "quinn@initech.example"}, headers=bearer(token)
    )
    assert org.status_code == 201


async def test_creating_a_user_names_the_field_it_refuses(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    before = await count(db, User)

    async def create(**body):
        return await client.post("/api/v1/users", json=body, headers=bearer(token))

    taken = await create(email="MIA@acme.example", name="Mia Again")
    assert taken.status_code == 409
    assert taken.json()["errors"] == [{"field": "email", "message": taken.json()["detail"]}]
    for body, field in [
        ({"email": "not an address", "name": "X"}, "email"),
        ({"email": "a" * 320 + "@x.example", "name": "X"}, "email"),
        ({"name": "X"}, "email"),
        ({"email": "x@x.example"}, "name"),
        ({"email": "x@x.example", "name": ""}, "name"),
        ({"email": "x@x.example", "name": "\x07bell"}, "name"),
        ({"email": "x@x.example", "name": "X", "password": "hunter2"}, "password"),
        ({"email": "x@x.example", "name": "X", "email_verified": "maybe"}, "email_verified"),
    ]:
        response = await create(**body)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field], body
    assert await count(db, User) == before
    assert await events(db, "user.created") == []


async def test_only_an_app_key_with_write_scope_creates_users(client, world, db, sessionmaker):
    body = {"email": "pat@initech.example", "name": "Pat"}
    reader = await make_key(sessionmaker, scopes=("read",))
    assert (await client.post("/api/v1/users", json=body, headers=bearer(reader))).status_code == 403
    acme_key = await make_key(sessionmaker, org=world.acme)
    refused = await client.post("/api/v1/users", json=body, headers=bearer(acme_key))
    assert refused.status_code == 403 and "app key" in refused.json()["detail"]
    assert await db.scalar(select(User).where(User.email == "pat@initech.example")) is None


# --- the user's orgs -------------------------------------------------------------------------------


async def test_a_users_orgs_with_roles_direct_and_through_groups_and_permissions(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    response = await client.get("/api/v1/users/adam@acme.example/orgs", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == str(world.adam.id)
    (acme,) = body["orgs"]
    assert (acme["id"], acme["slug"], acme["name"]) == (str(world.acme.id), "acme", "Acme")
    assert acme["roles"] == [
        {"key": "admin", "name": "Admin", "group": None},
        {"key": "developer", "name": "Developer", "group": "Engineering"},
    ]
    assert acme["permissions"] == sorted(acme["permissions"])
    assert {"projects:write", "members:invite", "members:read"} <= set(acme["permissions"])
    # The same answer as the permission check, permission by permission.
    for permission in ("projects:write", "roles:manage", "org:delete"):
        check = await make_key(sessionmaker, scopes=("check",), name=f"Check {permission}")
        answer = await client.post(
            "/api/v1/check",
            json={"user": "adam@acme.example", "org": "acme", "permission": permission},
            headers=bearer(check),
        )
        assert answer.json()["allowed"] == (permission in acme["permissions"])


async def test_org_policies_and_deleted_orgs_shape_the_answer(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    mia_before = (await client.get("/api/v1/users/mia@acme.example/orgs", headers=bearer(token))).json()
    assert "members:read" in mia_before["orgs"][0]["permissions"]
    db.add(OrgSettingsOverrides(org_id=world.acme.id, members_see_each_other=False))
    await db.commit()
    mia = (await client.get("/api/v1/users/mia@acme.example/orgs", headers=bearer(token))).json()
    assert "members:read" not in mia["orgs"][0]["permissions"]
    adam = (await client.get("/api/v1/users/adam@acme.example/orgs", headers=bearer(token))).json()
    assert "members:read" in adam["orgs"][0]["permissions"]  # a manager still sees members
    app_key = await make_key(sessionmaker, name="Writer")
    assert (await client.delete("/api/v1/orgs/acme", headers=bearer(app_key))).status_code == 204
    gone = (await client.get("/api/v1/users/adam@acme.example/orgs", headers=bearer(token))).json()
    assert gone["orgs"] == []


async def test_an_org_key_sees_only_its_own_org_of_a_user(client, world, db, sessionmaker):
    globex = await db.get(Organization, world.globex.id)
    mia = await db.get(User, world.mia.id)
    from tenantry.access.permissions import BuiltinRole
    from tenantry.access.services import template_role
    from tenantry.members.services import create_membership

    await create_membership(db, org=globex, user=mia, roles=[await template_role(db, BuiltinRole.MEMBER)], actor=SYSTEM)
    await db.commit()
    app_key = await make_key(sessionmaker, scopes=("read",))
    both = (await client.get("/api/v1/users/mia@acme.example/orgs", headers=bearer(app_key))).json()
    assert [o["slug"] for o in both["orgs"]] == ["acme", "globex"]
    acme_key = await make_key(sessionmaker, org=world.acme, scopes=("read",))
    own = (await client.get("/api/v1/users/mia@acme.example/orgs", headers=bearer(acme_key))).json()
    assert [o["slug"] for o in own["orgs"]] == ["acme"]


async def test_a_users_orgs_cost_the_same_for_one_org_or_many(client, world, db, sessionmaker, app_engine):
    token = await make_key(sessionmaker, scopes=("read",))
    await client.get("/api/v1/whoami", headers=bearer(token))  # the key's first use is noted once
    with count_queries(app_engine) as one:
        first = await client.get("/api/v1/users/gus@globex.example/orgs", headers=bearer(token))
    assert len(first.json()["orgs"]) == 1
    gus = await db.get(User, world.gus.id)
    for i in range(8):
        await create_organization(
            db, creator=gus, name=f"Gus {i}", slug=f"gus-{i}", brand_color="", logo=None, actor=SYSTEM
        )
    await db.commit()
    with count_queries(app_engine) as many:
        response = await client.get("/api/v1/users/gus@globex.example/orgs", headers=bearer(token))
    assert len(response.json()["orgs"]) == 9
    assert all(o["roles"] == [{"key": "owner", "name": "Owner", "group": None}] for o in response.json()["orgs"])
    assert many.count == one.count
