"""/api/v1/orgs/{org}/members: list, add an existing user, get, set roles, deactivate,
reactivate, remove — the portal's verbs and their rules (last owner, seats, org limits), each
write on record with the key as its actor, and nothing of Globex within an Acme key's reach."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from tenantry.access.services import template_role
from tenantry.audit.services import Actor
from tenantry.members.models import Membership
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, count_queries, events, make_user

BASE = "/api/v1/orgs/{org}/members"


def members_path(org: str = "acme", suffix: str = "") -> str:
    return BASE.format(org=org) + suffix


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["items"]]


def fields_of(response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def set_seat_limit(db, org, limit: int | None) -> None:
    await db.execute(update(Organization).where(Organization.id == org.id).values(seat_limit=limit))
    await db.commit()


async def add_people(sessionmaker, org, how_many: int, *, prefix: str = "Person") -> None:
    async with sessionmaker() as session:
        member = await template_role(session, "member")
        org = await session.get(Organization, org.id)
        for n in range(how_many):
            user = await make_user(session, f"{prefix} {n:02d}", f"{prefix.lower()}{n:02d}@acme.example")
            await create_membership(session, org=org, user=user, roles=[member], actor=Actor.system("tests"))
        await session.commit()


async def test_the_members_list_shows_direct_roles_groups_and_filters_by_status(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    response = await client.get(members_path(), headers=bearer(token))
    assert response.status_code == 200
    assert names(response) == ["Adam Admin", "Mia Member", "Olivia Owner"]
    adam = response.json()["items"][0]
    assert adam["id"] == str(world.memberships["adam"].id) and adam["user_id"] == str(world.adam.id)
    assert adam["email"] == "adam@acme.example" and adam["status"] == "active"
    assert [role["key"] for role in adam["roles"]] == ["admin"], "only roles held directly"
    assert adam["groups"] == [{"id": str(world.engineering.id), "name": "Engineering"}]
    assert adam["joined_at"] and response.json()["next_cursor"] is None
    # The same org by its id.
    by_id = await client.get(members_path(str(world.acme.id)), headers=bearer(token))
    assert names(by_id) == names(response)

    mia = world.memberships["mia"].id
    assert (await client.post(members_path(suffix=f"/{mia}/deactivate"), headers=bearer(token))).status_code == 200
    inactive = await client.get(members_path(), params={"status": "inactive"}, headers=bearer(token))
    assert names(inactive) == ["Mia Member"] and inactive.json()["items"][0]["status"] == "inactive"
    active = await client.get(members_path(), params={"status": "active"}, headers=bearer(token))
    assert names(active) == ["Adam Admin", "Olivia Owner"]
    bad = await client.get(members_path(), params={"status": "gone"}, headers=bearer(token))
    assert bad.status_code == 422 and fields_of(bad) == ["status"]


async def test_the_members_list_pages_by_cursor_in_a_constant_number_of_statements(
    client, world, sessionmaker, app_engine
):
    token = await make_key(sessionmaker)
    await add_people(sessionmaker, world.acme, 7)
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await client.get(members_path(), params=params, headers=bearer(token))
        assert page.status_code == 200 and len(page.json()["items"]) <= 3
        seen += names(page)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 10 == len(set(seen))
    assert seen == sorted(seen, key=str.lower)

    with count_queries(app_engine) as small:
        assert len((await client.get(members_path(), params={"limit": 5}, headers=bearer(token))).json()["items"]) == 5
    await add_people(sessionmaker, world.acme, 30, prefix="More")
    with count_queries(app_engine) as large:
        big = await client.get(members_path(), params={"limit": 40}, headers=bearer(token))
        assert len(big.json()["items"]) == 40
    assert large.count == small.count

    for limit in (0, 101, "x"):
        refused = await client.get(members_path(), params={"limit": limit}, headers=bearer(token))
        assert refused.status_code == 422 and fields_of(refused) == ["limit"]
    tampered = await client.get(members_path(), params={"cursor": "not-ours"}, headers=bearer(token))
    assert tampered.status_code == 200 and len(tampered.json()["items"]) == 40


async def test_get_one_membership(client, world, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    response = await client.get(members_path(suffix=f"/{world.memberships['mia'].id}"), headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["email"] == "mia@acme.example"
    assert [role["key"] for role in response.json()["roles"]] == ["member"]


async def test_adding_an_existing_user_with_roles_and_groups(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Provisioner")
    zoe = await make_user(db, "Zoe Zed", "zoe@acme.example")
    await db.commit()
    response = await client.post(
        members_path(),
        json={"user": "ZOE@acme.example", "roles": ["developer", "member"], "groups": ["engineering"]},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user_id"] == str(zoe.id) and body["status"] == "active"
    assert [role["key"] for role in body["roles"]] == ["member", "developer"]
    assert [group["name"] for group in body["groups"]] == ["Engineering"]
    (created,) = [e for e in await events(db, "membership.created") if e.target_label == "zoe@acme.example"]
    assert created.actor_label.startswith("API key Provisioner") and created.actor_user_id is None
    assert created.org_id == world.acme.id and sorted(created.after["roles"]) == ["developer", "member"]
    (joined,) = [e for e in await events(db, "group.member_added") if e.after == {"member": "zoe@acme.example"}]
    assert joined.target_id == str(world.engineering.id) and joined.actor_label.startswith("API key Provisioner")
    again = await client.get(members_path(suffix=f"/{body['id']}"), headers=bearer(token))
    assert again.json() == body


async def test_adding_without_roles_gives_the_default_role_and_by_id_works(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    yan = await make_user(db, "Yan Yu", "yan@elsewhere.example")
    await db.commit()
    response = await client.post(members_path(), json={"user": str(yan.id)}, headers=bearer(token))
    assert response.status_code == 201
    assert [role["key"] for role in response.json()["roles"]] == ["member"] and response.json()["groups"] == []


async def test_an_org_key_invites_but_cant_pull_someone_in(client, world, db, sessionmaker):
    """Else one org could add anyone of the deployment, and learn who has an account."""
    token = await make_key(sessionmaker, org=world.acme)
    before = len(await events(db, "membership.created"))
    response = await client.post(members_path(), json={"user": "gus@globex.example"}, headers=bearer(token))
    assert response.status_code == 403
    assert "invite them instead" in response.json()["detail"] + str(response.json().get("errors"))
    assert len(await events(db, "membership.created")) == before


async def test_adding_is_refused_with_problems_naming_the_field(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    await make_user(db, "Zoe Zed", "zoe@acme.example")
    await db.commit()
    add = lambda body: client.post(members_path(), json=body, headers=bearer(token))  # noqa: E731

    already = await add({"user": "mia@acme.example"})
    assert already.status_code == 409 and fields_of(already) == ["user"]
    assert "already a member" in already.json()["detail"]
    nobody = await add({"user": "nobody@acme.example"})
    assert nobody.status_code == 422 and fields_of(nobody) == ["user"]
    assert (await add({"user": str(uuid.uuid4())})).status_code == 422
    unknown_role = await add({"user": "zoe@acme.example", "roles": ["wizard"]})
    assert unknown_role.status_code == 422 and fields_of(unknown_role) == ["roles"]
    assert "wizard" in unknown_role.json()["detail"]
    globex_role = await add({"user": "zoe@acme.example", "roles": [str(world.globex_role.id)]})
    assert globex_role.status_code == 422 and fields_of(globex_role) == ["roles"], "another org's role isn't ours"
    globex_group = await add({"user": "zoe@acme.example", "groups": [str(world.globex_team.id)]})
    assert globex_group.status_code == 422 and fields_of(globex_group) == ["groups"]
    for body, field in [
        ({}, "user"),
        ({"user": ""}, "user"),
        ({"user": "zoe@acme.example", "admin": True}, "admin"),
        ({"user": "zoe@acme.example", "roles": "member"}, "roles"),
        ({"user": 42}, "user"),
        ({"user": "x" * 10_000}, "user"),
        ({"user": "zoe\x00@acme.example"}, "user"),
    ]:
        refused = await add(body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert fields_of(refused) == [field], (body, refused.json())
    # A lone surrogate (PostgreSQL can't store it): refused when the JSON is read.
    surrogate = await client.post(
        members_path(),
        content=b'{"user": "zoe@acme.example", "roles": ["\\ud800"]}',
        headers={**bearer(token), "content-type": "application/json"},
    )
    assert surrogate.status_code in (400, 422)
    assert surrogate.headers["content-type"].startswith("application/problem+json")
    assert await count(db, Membership, Membership.org_id == world.acme.id) == 3


async def test_adding_past_the_seat_limit_or_the_org_limit_is_a_problem_not_an_error(world_factory):
    async with world_factory(max_orgs_per_user=1) as (client, world):
        token = await make_key(client.test_sessionmaker)
        gus = await client.post(members_path(), json={"user": "gus@globex.example"}, headers=bearer(token))
        assert gus.status_code == 422 and fields_of(gus) == ["user"]
        assert "the most anyone can belong to" in gus.json()["detail"]
        async with client.test_sessionmaker() as db:
            await make_user(db, "Zoe Zed", "zoe@acme.example")
            await db.commit()
            await set_seat_limit(db, world.acme, 3)
        full = await client.post(members_path(), json={"user": "zoe@acme.example"}, headers=bearer(token))
        assert full.status_code == 422 and "seats" in full.json()["detail"]
        async with client.test_sessionmaker() as db:
            assert await count(db, Membership, Membership.org_id == world.acme.id) == 3


async def test_setting_roles_and_the_last_owner_keeps_the_owner_role(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    mia = world.memberships["mia"].id
    response = await client.put(
        members_path(suffix=f"/{mia}/roles"), json={"roles": ["admin", str(world.developer.id)]}, headers=bearer(token)
    )
    assert response.status_code == 200
    assert [role["key"] for role in response.json()["roles"]] == ["admin", "developer"]
    (changed,) = await events(db, "membership.roles_changed")
    assert changed.actor_label.startswith("API key") and changed.target_label == "mia@acme.example"
    assert changed.before == {"roles": ["member"]} and changed.after == {"roles": ["admin", "developer"]}

    olivia = world.memberships["olivia"].id
    demoted = await client.put(
        members_path(suffix=f"/{olivia}/roles"), json={"roles": ["admin"]}, headers=bearer(token)
    )
    assert demoted.status_code == 422 and fields_of(demoted) == ["roles"]
    assert "last owner" in demoted.json()["detail"]
    still = await client.get(members_path(suffix=f"/{olivia}"), headers=bearer(token))
    assert [role["key"] for role in still.json()["roles"]] == ["owner"]
    # With a second owner, the first may step down.
    promoted = await client.put(members_path(suffix=f"/{mia}/roles"), json={"roles": ["owner"]}, headers=bearer(token))
    assert promoted.status_code == 200
    stepped_down = await client.put(
        members_path(suffix=f"/{olivia}/roles"), json={"roles": ["admin"]}, headers=bearer(token)
    )
    assert stepped_down.status_code == 200

    unknown = await client.put(members_path(suffix=f"/{mia}/roles"), json={"roles": ["nope"]}, headers=bearer(token))
    assert unknown.status_code == 422 and fields_of(unknown) == ["roles"]
    missing = await client.put(members_path(suffix=f"/{mia}/roles"), json={}, headers=bearer(token))
    assert missing.status_code == 422 and fields_of(missing) == ["roles"]


async def test_deactivate_and_reactivate_keep_roles_and_guard_the_last_owner(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Lifecycle")
    adam = world.memberships["adam"].id
    off = await client.post(members_path(suffix=f"/{adam}/deactivate"), headers=bearer(token))
    assert off.status_code == 200 and off.json()["status"] == "inactive"
    assert [role["key"] for role in off.json()["roles"]] == ["admin"] and off.json()["groups"]
    twice = await client.post(members_path(suffix=f"/{adam}/deactivate"), headers=bearer(token))
    assert twice.status_code == 200 and twice.json()["status"] == "inactive"
    on = await client.post(members_path(suffix=f"/{adam}/reactivate"), headers=bearer(token))
    assert on.status_code == 200 and on.json()["status"] == "active"
    (deactivated,) = await events(db, "membership.deactivated")
    (reactivated,) = await events(db, "membership.reactivated")
    assert deactivated.actor_label.startswith("API key Lifecycle") and reactivated.actor_label.startswith("API key")

    olivia = world.memberships["olivia"].id
    last = await client.post(members_path(suffix=f"/{olivia}/deactivate"), headers=bearer(token))
    assert last.status_code == 422 and "last owner" in last.json()["detail"]

    await client.post(members_path(suffix=f"/{adam}/deactivate"), headers=bearer(token))
    await set_seat_limit(db, world.acme, 2)
    full = await client.post(members_path(suffix=f"/{adam}/reactivate"), headers=bearer(token))
    assert full.status_code == 422 and "seats" in full.json()["detail"]


async def test_removing_a_member_and_never_the_last_owner(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    adam = world.memberships["adam"].id
    response = await client.delete(members_path(suffix=f"/{adam}"), headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    assert await count(db, Membership, Membership.id == adam) == 0
    (removed,) = await events(db, "membership.removed")
    assert removed.actor_label.startswith("API key") and removed.before["groups"] == ["Engineering"]
    assert (await client.delete(members_path(suffix=f"/{adam}"), headers=bearer(token))).status_code == 404

    olivia = world.memberships["olivia"].id
    last = await client.delete(members_path(suffix=f"/{olivia}"), headers=bearer(token))
    assert last.status_code == 422 and "last owner" in last.json()["detail"]
    assert await count(db, Membership, Membership.id == olivia) == 1


def every_operation(org: str, membership_id) -> list[tuple[str, str, dict | None]]:
    one = members_path(org, f"/{membership_id}")
    return [
        ("GET", members_path(org), None),
        ("POST", members_path(org), {"user": "zoe@acme.example"}),
        ("GET", one, None),
        ("PUT", one + "/roles", {"roles": ["member"]}),
        ("POST", one + "/deactivate", None),
        ("POST", one + "/reactivate", None),
        ("DELETE", one, None),
    ]


async def test_an_acme_key_gets_404_for_everything_of_globex(client, world, db, sessionmaker):
    await make_user(db, "Zoe Zed", "zoe@acme.example")
    await db.commit()
    acme_key = await make_key(sessionmaker, org=world.acme)
    gus = world.memberships["gus"].id
    for org in ("globex", str(world.globex.id)):
        for method, path, body in every_operation(org, gus):
            response = await client.request(method, path, json=body, headers=bearer(acme_key))
            assert response.status_code == 404, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
    # Globex's membership id under Acme's own path: not Acme's, so not found either.
    for method, path, body in every_operation("acme", gus)[2:]:
        assert (await client.request(method, path, json=body, headers=bearer(acme_key))).status_code == 404
    assert await count(db, Membership, Membership.org_id == world.globex.id) == 1
    assert await events(db, "membership.deactivated") == []


async def test_missing_orgs_and_ids_are_404_even_for_an_app_key(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    gus = world.memberships["gus"].id
    for method, path, body in every_operation("acme", gus)[2:] + every_operation("acme", uuid.uuid4())[2:]:
        response = await client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == 404, (method, path, response.text)
    for org in ("no-such-org", str(uuid.uuid4()), "%00", "x" * 500):
        assert (await client.get(members_path(org), headers=bearer(token))).status_code == 404
    not_a_uuid = await client.get(members_path(suffix="/not-a-uuid"), headers=bearer(token))
    assert not_a_uuid.status_code in (400, 404, 422) and not_a_uuid.headers["content-type"].startswith(
        "application/problem+json"
    )
    # A deleted org is gone for the API.
    await db.execute(
        update(Organization).where(Organization.id == world.globex.id).values(deleted_at=world.acme.created_at)
    )
    await db.commit()
    assert (await client.get(members_path("globex"), headers=bearer(token))).status_code == 404


@pytest.mark.parametrize("scopes", [("read",), ("check",)])
async def test_writes_need_the_write_scope(client, world, db, sessionmaker, scopes):
    token = await make_key(sessionmaker, scopes=scopes)
    mia = world.memberships["mia"].id
    for method, path, body in every_operation("acme", mia):
        if method == "GET":
            continue
        response = await client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == 403, (method, path)
        assert "`write` scope" in response.json()["detail"]
    assert await events(db, "membership.deactivated") == [] and await count(db, Membership) == 4


async def test_reads_need_the_read_scope(client, world, sessionmaker):
    token = await make_key(sessionmaker, scopes=("write",))
    assert (await client.get(members_path(), headers=bearer(token))).status_code == 403
    assert (
        await client.get(members_path(suffix=f"/{world.memberships['mia'].id}"), headers=bearer(token))
    ).status_code == 403


async def test_a_membership_added_through_the_api_reaches_the_org_at_once(client, world, db, sessionmaker):
    """What the SaaS backend relies on: the check answers from the same data, at once."""
    token = await make_key(sessionmaker)
    zoe = await make_user(db, "Zoe Zed", "zoe@acme.example")
    await db.commit()
    ask = {"user": str(zoe.id), "org": "acme", "permission": "projects:write"}
    before = await client.post("/api/v1/check", json=ask, headers=bearer(token))
    assert before.json()["reason"] == "not_a_member"
    added = await client.post(members_path(), json={"user": str(zoe.id), "roles": ["developer"]}, headers=bearer(token))
    assert (await client.post("/api/v1/check", json=ask, headers=bearer(token))).json()["allowed"] is True
    await client.post(members_path(suffix=f"/{added.json()['id']}/deactivate"), headers=bearer(token))
    assert (await client.post("/api/v1/check", json=ask, headers=bearer(token))).json()["allowed"] is False
    assert await db.scalar(select(Membership.status).where(Membership.id == uuid.UUID(added.json()["id"]))) == (
        "inactive"
    )


async def test_adding_someone_outside_the_allowed_domains_is_refused(world_factory):
    async with world_factory(invitation_email_domains="acme.example") as (client, _world):
        token = await make_key(client.test_sessionmaker)
        gus = await client.post(members_path(), json={"user": "gus@globex.example"}, headers=bearer(token))
        assert gus.status_code == 422 and fields_of(gus) == ["user"] and "acme.example" in gus.json()["detail"]


async def test_a_retried_add_with_the_same_idempotency_key_adds_once(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    await make_user(db, "Zoe Zed", "zoe@acme.example")
    await db.commit()
    headers = {**bearer(token), "Idempotency-Key": "add-zoe"}
    first = await client.post(members_path(), json={"user": "zoe@acme.example"}, headers=headers)
    again = await client.post(members_path(), json={"user": "zoe@acme.example"}, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert len(await events(db, "membership.created")) == 5  # the world's four, and Zoe once
