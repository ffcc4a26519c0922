"""/api/v1/orgs: list (text, metadata, pages), create, read, change and delete organizations,
through the portal's verbs, each write on record with the key as actor; an org key reaches only
its own org."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tenantry.audit.services import Actor
from tenantry.orgs.models import Organization
from tenantry.orgs.services import create_organization
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count_queries, events


async def _set_meta(db, org_id, meta: dict) -> None:
    org = await db.get(Organization, org_id)
    org.meta = meta
    await db.commit()


async def _more_orgs(db, owner, n: int, *, prefix: str = "Zeta") -> None:
    for i in range(n):
        await create_organization(
            db,
            creator=owner,
            name=f"{prefix} {i:02d}",
            slug=f"{prefix.lower()}-{i:02d}",
            brand_color="",
            logo=None,
            actor=Actor.system("tests"),
        )
    await db.commit()


def _by_key(api_events):
    return [e for e in api_events if e.actor_label.startswith("API key")]


# --- list ------------------------------------------------------------------------------------------


async def test_an_app_key_lists_every_live_org_and_an_org_key_only_its_own(client, world, sessionmaker):
    app_key = await make_key(sessionmaker, scopes=("read",))
    listed = await client.get("/api/v1/orgs", headers=bearer(app_key))
    assert listed.status_code == 200
    body = listed.json()
    assert [o["slug"] for o in body["items"]] == ["acme", "globex"] and body["next_cursor"] is None
    acme = body["items"][0]
    assert acme["id"] == str(world.acme.id) and acme["name"] == "Acme"
    assert acme["member_count"] == 3 and acme["plan"] == "pro" and acme["brand_color"] == "#d97706"
    assert acme["metadata"] == {}

    acme_key = await make_key(sessionmaker, org=world.acme, scopes=("read",))
    own = (await client.get("/api/v1/orgs", headers=bearer(acme_key))).json()
    assert [o["slug"] for o in own["items"]] == ["acme"]
    assert (await client.get("/api/v1/orgs?q=globex", headers=bearer(acme_key))).json()["items"] == []


async def test_the_list_filters_by_text_and_by_a_typed_metadata_value(client, world, db, sessionmaker):
    await _set_meta(db, world.acme.id, {"tier": "gold", "seats": 50, "trial": True})
    await _set_meta(db, world.globex.id, {"tier": "silver", "seats": "50"})
    token = await make_key(sessionmaker, scopes=("read",))
    slugs = lambda r: [o["slug"] for o in r.json()["items"]]  # noqa: E731
    assert slugs(await client.get("/api/v1/orgs?q=GLOB", headers=bearer(token))) == ["globex"]
    assert slugs(await client.get("/api/v1/orgs?q=%25", headers=bearer(token))) == []  # no wildcard
    assert slugs(await client.get("/api/v1/orgs?metadata=tier%3Dgold", headers=bearer(token))) == ["acme"]
    assert slugs(await client.get("/api/v1/orgs?metadata=seats%3D50", headers=bearer(token))) == ["acme"]
    assert slugs(await client.get('/api/v1/orgs?metadata=seats%3D"50"', headers=bearer(token))) == ["globex"]
    assert slugs(await client.get("/api/v1/orgs?metadata=trial%3Dtrue&q=ac", headers=bearer(token))) == ["acme"]
    bad = await client.get("/api/v1/orgs?metadata=no-equals-sign", headers=bearer(token))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "metadata"
    too_many = await client.get("/api/v1/orgs?limit=101", headers=bearer(token))
    assert too_many.status_code == 422 and "limit" in too_many.json()["detail"]


async def test_a_deleted_org_is_not_listed(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    assert (await client.delete("/api/v1/orgs/globex", headers=bearer(token))).status_code == 204
    listed = (await client.get("/api/v1/orgs", headers=bearer(token))).json()
    assert [o["slug"] for o in listed["items"]] == ["acme"]


async def test_pages_follow_each_other_without_duplicates_at_a_constant_cost(
    client, world, db, sessionmaker, app_engine
):
    token = await make_key(sessionmaker, scopes=("read",))
    await client.get("/api/v1/whoami", headers=bearer(token))  # the key's first use is noted once
    with count_queries(app_engine) as few:
        assert (await client.get("/api/v1/orgs?limit=2", headers=bearer(token))).status_code == 200
    await _more_orgs(db, world.olivia, 9)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = "/api/v1/orgs?limit=5" + (f"&cursor={cursor}" if cursor else "")
        with count_queries(app_engine) as many:
            body = (await client.get(url, headers=bearer(token))).json()
        assert many.count == few.count
        seen += [o["slug"] for o in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 11
    assert seen[:2] == ["acme", "globex"]
    # A tampered cursor starts over; it never fails.
    again = await client.get("/api/v1/orgs?limit=5&cursor=nonsense", headers=bearer(token))
    assert again.status_code == 200 and again.json()["items"][0]["slug"] == "acme"


# --- create ----------------------------------------------------------------------------------------


async def test_an_app_key_creates_an_org_with_its_owner_metadata_and_plan(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    response = await client.post(
        "/api/v1/orgs",
        json={
            "name": "Initech",
            "owner": "MIA@acme.example",
            "metadata": {"tier": "gold", "seats": 5},
            "plan": "scale",
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "initech" and body["member_count"] == 1 and body["plan"] == "scale"
    assert body["metadata"] == {"seats": 5, "tier": "gold"}
    org = await db.scalar(select(Organization).where(Organization.slug == "initech"))
    assert str(org.id) == body["id"]
    actions = [(e.action, e.org_id) for e in _by_key(await events(db))]
    assert actions == [
        ("org.created", org.id),
        ("membership.created", org.id),
        ("org.metadata_changed", org.id),
        ("org.plan_changed", org.id),
    ]
    # Mia owns it.
    mine = (await client.get(f"/api/v1/users/{world.mia.id}/orgs", headers=bearer(token))).json()
    initech = next(o for o in mine["orgs"] if o["slug"] == "initech")
    assert [r["key"] for r in initech["roles"]] == ["owner"]


async def test_creating_an_org_names_the_field_it_refuses(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)

    async def create(**body):
        return await client.post("/api/v1/orgs", json=body, headers=bearer(token))

    def fields(response):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        return [e["field"] for e in response.json()["errors"]]

    assert fields(await create(owner="mia@acme.example")) == ["name"]
    assert fields(await create(name="X", owner="nobody@nowhere.example")) == ["owner"]
    assert fields(await create(name="X", owner=str(uuid.uuid4()))) == ["owner"]
    unconfirmed = await create(name="X", owner="nora@newcomer.example")
    assert fields(unconfirmed) == ["owner"] and "confirmed" in unconfirmed.json()["detail"]
    taken = await create(name="X", slug="acme", owner="mia@acme.example")
    assert fields(taken) == ["slug"] and "taken" in taken.json()["detail"]
    assert fields(await create(name="X", slug="-bad slug-", owner="mia@acme.example")) == ["slug"]
    assert fields(await create(name="X", owner="mia@acme.example", colour="red")) == ["colour"]
    assert fields(await create(name="\x00", owner="mia@acme.example")) == ["name"]
    assert fields(await create(name="x" * 101, owner="mia@acme.example")) == ["name"]
    assert fields(await create(name="X", owner="mia@acme.example", plan="platinum")) == ["plan"]
    bad_meta = await create(name="X", owner="mia@acme.example", metadata={"tier": {"nested": 1}, "Bad Key": "x"})
    assert sorted(fields(bad_meta)) == ["metadata.Bad Key", "metadata.tier"]
    huge = await create(name="X", owner="mia@acme.example", metadata={f"k{i}": "x" * 200 for i in range(100)})
    assert fields(huge) == ["metadata"] and "16 KB" in huge.json()["detail"]
    assert fields(await create(name=5, owner="mia@acme.example")) == ["name"]
    assert await db.scalar(select(Organization).where(Organization.name == "X")) is None
    assert _by_key(await events(db)) == []


async def test_only_an_app_key_with_write_scope_creates_orgs(client, world, db, sessionmaker):
    body = {"name": "Initech", "owner": "mia@acme.example"}
    reader = await make_key(sessionmaker, scopes=("read", "check"))
    denied = await client.post("/api/v1/orgs", json=body, headers=bearer(reader))
    assert denied.status_code == 403 and "`write` scope" in denied.json()["detail"]
    acme_key = await make_key(sessionmaker, org=world.acme)
    refused = await client.post("/api/v1/orgs", json=body, headers=bearer(acme_key))
    assert refused.status_code == 403 and "app key" in refused.json()["detail"]
    assert await db.scalar(select(Organization).where(Organization.name == "Initech")) is None


# --- read ------------------------------------------------------------------------------------------


async def test_an_org_by_id_or_slug(client, world, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    by_slug = await client.get("/api/v1/orgs/acme", headers=bearer(token))
    by_id = await client.get(f"/api/v1/orgs/{world.acme.id}", headers=bearer(token))
    assert by_slug.status_code == by_id.status_code == 200
    assert by_slug.json() == by_id.json()
    assert by_slug.json()["member_count"] == 3 and by_slug.json()["created_at"]
    assert (await client.get("/api/v1/orgs/ACME", headers=bearer(token))).status_code == 200


@pytest.mark.parametrize(
    "ref", ["no-such-org", "0190a8e4-0000-7000-8000-000000000000", "x" * 5000, "%00", "acme%2F..", "12345"]
)
async def test_a_missing_org_is_404(client, world, sessionmaker, ref):
    token = await make_key(sessionmaker)
    response = await client.get(f"/api/v1/orgs/{ref}", headers=bearer(token))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_acme_key_gets_404_for_globex_everywhere(client, world, db, sessionmaker):
    acme_key = await make_key(sessionmaker, org=world.acme)
    for ref in ("globex", str(world.globex.id)):
        assert (await client.get(f"/api/v1/orgs/{ref}", headers=bearer(acme_key))).status_code == 404
        patched = await client.patch(f"/api/v1/orgs/{ref}", json={"name": "Mine now"}, headers=bearer(acme_key))
        assert patched.status_code == 404
        assert (await client.delete(f"/api/v1/orgs/{ref}", headers=bearer(acme_key))).status_code == 404
    globex = await db.get(Organization, world.globex.id)
    assert globex.name == "Globex" and globex.deleted_at is None
    assert _by_key(await events(db)) == []


# --- update ----------------------------------------------------------------------------------------


async def test_patch_changes_only_what_is_given_each_with_its_event(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme)
    response = await client.patch(
        "/api/v1/orgs/acme",
        json={"name": "Acme Corp", "slug": "acme-corp", "metadata": {"tier": "gold"}},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["slug"], body["metadata"]) == ("Acme Corp", "acme-corp", {"tier": "gold"})
    assert body["brand_color"] == "#d97706" and body["member_count"] == 3
    changes = _by_key(await events(db))
    assert [e.action for e in changes] == ["org.renamed", "org.slug_changed", "org.metadata_changed"]
    assert all(e.org_id == world.acme.id for e in changes)
    # The new slug reaches it; the same again changes nothing and records nothing.
    again = await client.patch("/api/v1/orgs/acme-corp", json={"name": "Acme Corp"}, headers=bearer(token))
    assert again.status_code == 200
    assert len(_by_key(await events(db))) == 3
    cleared = await client.patch("/api/v1/orgs/acme-corp", json={"metadata": {}}, headers=bearer(token))
    assert cleared.json()["metadata"] == {}
    assert (await client.patch("/api/v1/orgs/acme-corp", json={}, headers=bearer(token))).status_code == 200


async def test_a_refused_field_changes_nothing_at_all(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    refused = await client.patch("/api/v1/orgs/acme", json={"name": "Renamed", "slug": "globex"}, headers=bearer(token))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["slug"]
    org = await db.get(Organization, world.acme.id)
    await db.refresh(org)
    assert org.name == "Acme" and org.slug == "acme"
    assert _by_key(await events(db)) == []
    for body, field in [
        ({"name": ""}, "name"),
        ({"slug": "Not a slug!"}, "slug"),
        ({"metadata": {"x": [1]}}, "metadata.x"),
        ({"metadata": "tier=gold"}, "metadata"),
        ({"deleted_at": None}, "deleted_at"),
    ]:
        response = await client.patch("/api/v1/orgs/acme", json=body, headers=bearer(token))
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field], body


async def test_plans_change_by_app_key_only_and_not_past_what_the_org_uses(client, world, db, sessionmaker):
    app_key = await make_key(sessionmaker)
    upgraded = await client.patch("/api/v1/orgs/acme", json={"plan": "scale"}, headers=bearer(app_key))
    assert upgraded.status_code == 200 and upgraded.json()["plan"] == "scale"
    (changed,) = await events(db, "org.plan_changed")
    assert changed.actor_label.startswith("API key") and changed.after["plan"] == "scale"
    blocked = await client.patch("/api/v1/orgs/acme", json={"plan": "starter"}, headers=bearer(app_key))
    assert blocked.status_code == 422 and blocked.json()["errors"][0]["field"] == "plan"
    assert "groups" in blocked.json()["detail"]
    acme_key = await make_key(sessionmaker, org=world.acme)
    refused = await client.patch("/api/v1/orgs/acme", json={"plan": "pro"}, headers=bearer(acme_key))
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "plan"


async def test_writes_need_the_write_scope(client, world, db, sessionmaker):
    reader = await make_key(sessionmaker, scopes=("read",))
    assert (await client.patch("/api/v1/orgs/acme", json={"name": "No"}, headers=bearer(reader))).status_code == 403
    assert (await client.delete("/api/v1/orgs/acme", headers=bearer(reader))).status_code == 403
    checker = await make_key(sessionmaker, scopes=("check",))
    assert (await client.get("/api/v1/orgs", headers=bearer(checker))).status_code == 403
    assert (await client.get("/api/v1/orgs/acme", headers=bearer(checker))).status_code == 403


# --- delete ----------------------------------------------------------------------------------------


async def test_delete_is_the_portals_soft_delete_and_the_org_is_404_after(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    response = await client.delete(f"/api/v1/orgs/{world.globex.id}", headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    (deleted,) = await events(db, "org.deleted")
    assert deleted.actor_label.startswith("API key") and deleted.org_id == world.globex.id
    assert "restorable_until" in deleted.after
    globex = await db.get(Organization, world.globex.id)
    await db.refresh(globex)
    assert globex.deleted_at is not None  # kept for support to restore
    assert (await client.get("/api/v1/orgs/globex", headers=bearer(token))).status_code == 404
    assert (await client.patch("/api/v1/orgs/globex", json={"name": "G"}, headers=bearer(token))).status_code == 404
    assert (await client.delete("/api/v1/orgs/globex", headers=bearer(token))).status_code == 404


async def test_an_org_key_cannot_delete_its_own_org(client, world, db, sessionmaker):
    acme_key = await make_key(sessionmaker, org=world.acme)
    refused = await client.delete("/api/v1/orgs/acme", headers=bearer(acme_key))
    assert refused.status_code == 403 and "app key" in refused.json()["detail"]
    assert await events(db, "org.deleted") == []
