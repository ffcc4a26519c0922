"""/api/v1/orgs/{org}/events and /api/v1/events: the audit log through the portal's own reader,
filtered, newest first, page after page at a constant cost; an org key reads only its org's."""

from __future__ import annotations

import datetime

from tenantry.audit.services import Actor, Target, record_event
from tenantry.lib.clock import utcnow
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count_queries

SYSTEM = Actor.system("tests")


async def _record(db, org_id, n: int, *, action: str = "group.created", label: str = "Team") -> None:
    for i in range(n):
        record_event(
            db, actor=SYSTEM, action=action, org_id=org_id, target=Target(type="group", id=str(i), label=f"{label} {i}")
        )
    await db.commit()


async def test_an_orgs_events_newest_first_each_with_its_sentence(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    renamed = await client.patch("/api/v1/orgs/acme", json={"name": "Acme Corp"}, headers=bearer(token))
    assert renamed.status_code == 200
    response = await client.get("/api/v1/orgs/acme/events", headers=bearer(token))
    assert response.status_code == 200
    items = response.json()["items"]
    newest = items[0]
    assert newest["action"] == "org.renamed" and newest["org_id"] == str(world.acme.id)
    assert newest["actor_label"].startswith("API key Backend")
    assert newest["actor_user_id"] is None and newest["impersonator_user_id"] is None
    assert (newest["before"], newest["after"]) == ({"name": "Acme"}, {"name": "Acme Corp"})
    assert newest["target_type"] == "organization" and newest["target_label"] == "acme"
    assert newest["sentence"].startswith("API key Backend") and newest["sentence"].endswith("to Acme Corp")
    assert newest["request_id"]
    assert all(item["org_id"] == str(world.acme.id) for item in items)
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)
    assert {"org.created", "membership.created", "role.created", "group.created"} <= {i["action"] for i in items}


async def test_filters_by_action_family_actor_target_and_days(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, scopes=("read",))
    get = lambda query: client.get(f"/api/v1/orgs/acme/events?{query}", headers=bearer(token))  # noqa: E731
    actions = lambda r: {i["action"] for i in r.json()["items"]}  # noqa: E731
    assert actions(await get("action=membership.created")) == {"membership.created"}
    assert actions(await get("action=group")) == {"group.created", "group.role_given", "group.member_added"}
    assert actions(await get("action=group.")) == set()
    targeted = await get("target=mia@")
    assert targeted.json()["items"] and all("mia@" in i["target_label"] for i in targeted.json()["items"])
    await _record(db, world.acme.id, 1, action="group.deleted", label="Zed")
    by_actor = await get("actor=TESTS&action=group.deleted")
    assert [i["target_label"] for i in by_actor.json()["items"]] == ["Zed 0"]
    today = utcnow().date()
    assert len((await get(f"since={today}&until={today}")).json()["items"]) > 0
    tomorrow = today + datetime.timedelta(days=1)
    assert (await get(f"since={tomorrow}")).json()["items"] == []
    assert (await get(f"until={today - datetime.timedelta(days=1)}")).json()["items"] == []
    for query, field in [("since=yesterday", "since"), ("until=2026-02-30", "until"), ("limit=0", "limit")]:
        bad = await get(query)
        assert bad.status_code == 422, query
        assert field in [e["field"] for e in bad.json().get("errors", [])] or field in bad.json()["detail"], query
    backwards = await get(f"since={today}&until={today - datetime.timedelta(days=3)}")
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "until"


async def test_pages_follow_each_other_without_duplicates_at_a_constant_cost(
    client, world, db, sessionmaker, app_engine
):
    token = await make_key(sessionmaker, scopes=("read",))
    await client.get("/api/v1/whoami", headers=bearer(token))  # the key's first use is noted once
    await _record(db, world.acme.id, 2)
    with count_queries(app_engine) as few:
        small = await client.get("/api/v1/orgs/acme/events?action=group.created&limit=3", headers=bearer(token))
    assert len(small.json()["items"]) == 3  # the world's Engineering, then these two
    await _record(db, world.acme.id, 30, label="Squad")
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        url = "/api/v1/orgs/acme/events?action=group.created&limit=20" + (f"&cursor={cursor}" if cursor else "")
        with count_queries(app_engine) as many:
            body = (await client.get(url, headers=bearer(token))).json()
        assert many.count == few.count
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and len(seen) == len(set(seen)) == 33
    with count_queries(app_engine) as everything:
        assert (await client.get("/api/v1/events?limit=20", headers=bearer(token))).status_code == 200
    assert everything.count == few.count - 1  # no org to look up


async def test_an_app_key_reads_every_orgs_events_and_an_org_key_only_its_own(client, world, db, sessionmaker):
    app_key = await make_key(sessionmaker, scopes=("read",))
    everything = (await client.get("/api/v1/events?action=org.created", headers=bearer(app_key))).json()
    assert {i["org_id"] for i in everything["items"]} == {str(world.acme.id), str(world.globex.id)}
    acme_key = await make_key(sessionmaker, org=world.acme, scopes=("read",))
    own = (await client.get("/api/v1/events?action=org.created", headers=bearer(acme_key))).json()
    assert [i["org_id"] for i in own["items"]] == [str(world.acme.id)]
    for ref in ("globex", str(world.globex.id)):
        assert (await client.get(f"/api/v1/orgs/{ref}/events", headers=bearer(acme_key))).status_code == 404


async def test_missing_and_deleted_orgs_are_404_and_reading_needs_the_read_scope(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    for ref in ("no-such-org", "0190a8e4-0000-7000-8000-000000000000", "x" * 3000):
        assert (await client.get(f"/api/v1/orgs/{ref}/events", headers=bearer(token))).status_code == 404
    assert (await client.delete("/api/v1/orgs/globex", headers=bearer(token))).status_code == 204
    assert (await client.get("/api/v1/orgs/globex/events", headers=bearer(token))).status_code == 404
    # Its deletion is in the log of everything.
    deleted = (await client.get("/api/v1/events?action=org.deleted", headers=bearer(token))).json()["items"]
    assert [i["org_id"] for i in deleted] == [str(world.globex.id)]
    checker = await make_key(sessionmaker, scopes=("check",))
    assert (await client.get("/api/v1/orgs/acme/events", headers=bearer(checker))).status_code == 403
    assert (await client.get("/api/v1/events", headers=bearer(checker))).status_code == 403
