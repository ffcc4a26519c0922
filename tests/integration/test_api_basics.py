"""The API's ground rules: bearer keys (prefix, hash only, scopes, expiry, revocation, org reach),
problem documents, Idempotency-Key, per-key rate limits, and the permission check."""

from __future__ import annotations

import datetime
from html import unescape

from sqlalchemy import select

from tenantry.api.keys import revoke_key
from tenantry.api.models import ApiKey
from tenantry.audit.services import Actor
from tenantry.lib.clock import utcnow
from tenantry.lib.tokens import hash_token
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import events, sign_in


async def test_a_key_is_shown_once_and_only_its_hash_is_stored(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    assert token.startswith("tnt_app_") and len(token) > 40
    (row,) = list(await db.scalars(select(ApiKey)))
    assert row.token_hash == hash_token(token) and token not in (row.prefix, row.token_hash)
    assert token.startswith(row.prefix)
    response = await client.get("/api/v1/whoami", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["kind"] == "app" and response.json()["scopes"] == ["read", "write", "check"]
    (created,) = await events(db, "api_key.created")
    assert created.after["kind"] == "app"


async def test_missing_unknown_revoked_and_expired_keys_get_401_problems(client, world, db, sessionmaker, monkeypatch):
    no_header = await client.get("/api/v1/whoami")
    assert no_header.status_code == 401
    assert no_header.headers["content-type"].startswith("application/problem+json")
    assert no_header.json()["status"] == 401 and "Bearer" in no_header.json()["detail"]
    assert (await client.get("/api/v1/whoami", headers=bearer("tnt_app_nope"))).status_code == 401
    assert (await client.get("/api/v1/whoami", headers={"Authorization": "Basic abc"})).status_code == 401

    revoked = await make_key(sessionmaker, name="Old")
    async with sessionmaker() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.name == "Old"))
        await revoke_key(session, key_id=key.id, org=None, actor=Actor.system("tests"))
        await session.commit()
    assert (await client.get("/api/v1/whoami", headers=bearer(revoked))).status_code == 401

    expiring = await make_key(sessionmaker, name="Short", expires_at=utcnow() + datetime.timedelta(hours=1))
    assert (await client.get("/api/v1/whoami", headers=bearer(expiring))).status_code == 200
    from tests.clock import travel

    travel(monkeypatch, hours=2)
    assert (await client.get("/api/v1/whoami", headers=bearer(expiring))).status_code == 401


async def test_a_key_without_the_scope_gets_403(client, world, sessionmaker):
    reader = await make_key(sessionmaker, scopes=("read",))
    question = {"user": "mia@acme.example", "org": "acme", "permission": "members:read"}
    response = await client.post("/api/v1/check", json=question, headers=bearer(reader))
    assert response.status_code == 403
    assert "`check` scope" in response.json()["detail"]


async def test_check_answers_with_the_roles_that_grant_it(client, world, sessionmaker):
    token = await make_key(sessionmaker, scopes=("check",))
    ask = lambda **q: client.post("/api/v1/check", json=q, headers=bearer(token))  # noqa: E731
    adam = (await ask(user="adam@acme.example", org="acme", permission="projects:write")).json()
    assert adam == {
        "allowed": True,
        "sources": [{"role": "Admin", "group": None}, {"role": "Developer", "group": "Engineering"}],
        "reason": "granted",
    }
    mia = (await ask(user=str(world.mia.id), org=str(world.acme.id), permission="projects:write")).json()
    assert mia == {"allowed": False, "sources": [], "reason": "not_granted"}
    gus = (await ask(user="gus@globex.example", org="acme", permission="members:read")).json()
    assert gus["reason"] == "not_a_member" and gus["allowed"] is False
    nobody = (await ask(user="nobody@x.example", org="acme", permission="members:read")).json()
    assert nobody["reason"] == "no_such_user"
    missing = await ask(user="mia@acme.example", org="no-such-org", permission="members:read")
    assert missing.status_code == 404
    unknown = await ask(user="mia@acme.example", org="acme", permission="made:up")
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "permission", "message": unknown.json()["detail"]}]


async def test_a_validation_error_names_the_field(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    response = await client.post(
        "/api/v1/check", json={"user": "mia@acme.example", "org": "acme"}, headers=bearer(token)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["permission"]
    garbage = await client.post(
        "/api/v1/check", content=b"{not json", headers={**bearer(token), "content-type": "application/json"}
    )
    assert garbage.status_code in (400, 422)
    assert garbage.headers["content-type"].startswith("application/problem+json")


async def test_an_org_key_reaches_only_its_org(client, world, sessionmaker):
    acme_key = await make_key(sessionmaker, org=world.acme)
    assert acme_key.startswith("tnt_org_")
    own = await client.post(
        "/api/v1/check",
        json={"user": "mia@acme.example", "org": "acme", "permission": "members:read"},
        headers=bearer(acme_key),
    )
    assert own.status_code == 200
    other = await client.post(
        "/api/v1/check",
        json={"user": "gus@globex.example", "org": "globex", "permission": "members:read"},
        headers=bearer(acme_key),
    )
    assert other.status_code == 404
    batch = await client.post(
        "/api/v1/check/batch",
        json={
            "checks": [
                {"user": "mia@acme.example", "org": "acme", "permission": "members:read"},
                {"user": "gus@globex.example", "org": "globex", "permission": "members:read"},
            ]
        },
        headers=bearer(acme_key),
    )
    assert [r["reason"] for r in batch.json()["results"]] == ["granted", "no_such_org"]


async def test_idempotency_key_replays_the_first_response_and_refuses_another_body(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    question = {"user": "mia@acme.example", "org": "acme", "permission": "members:read"}
    headers = {**bearer(token), "Idempotency-Key": "abc-1"}
    first = await client.post("/api/v1/check", json=question, headers=headers)
    again = await client.post("/api/v1/check", json=question, headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    other = await client.post("/api/v1/check", json={**question, "permission": "roles:manage"}, headers=headers)
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]


async def test_each_key_has_its_own_rate_limit(world_factory):
    async with world_factory(api_requests_per_minute=3) as (client, _world):
        token = await make_key(client.test_sessionmaker)
        other = await make_key(client.test_sessionmaker, name="Other")
        codes = [(await client.get("/api/v1/whoami", headers=bearer(token))).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = await client.get("/api/v1/whoami", headers=bearer(token))
        assert int(limited.headers["retry-after"]) > 0
        assert (await client.get("/api/v1/whoami", headers=bearer(other))).status_code == 200


async def test_the_openapi_document_and_its_docs_page(client, world):
    schema = (await client.get("/api/schema/openapi.json")).json()
    assert "/api/v1/check" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert not any(path.startswith("/o/") for path in schema["paths"]), "the portal isn't part of the API"
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "/api/v1/check" in docs.text and "May this user do this in this org?" in docs.text
    assert f"(OpenAPI {schema['openapi']}; this API's version {schema['info']['version']})" in unescape(docs.text)
    await sign_in(client, world.olivia)  # a page like the others: the switcher lists her orgs
    switcher = (await client.get("/api/docs")).text.split('class="menu org-switcher"')[1][:3000]
    assert "Acme" in switcher and "yet" not in switcher


async def test_an_org_key_stops_when_its_plan_loses_api_keys_or_its_org_is_deleted(client, world, sessionmaker):
    from sqlalchemy import update

    from tenantry.orgs.models import Organization

    token = await make_key(sessionmaker, org=world.acme)
    assert (await client.get("/api/v1/whoami", headers=bearer(token))).status_code == 200
    async with sessionmaker() as session:
        await session.execute(update(Organization).where(Organization.id == world.acme.id).values(plan_key="team"))
        await session.commit()
    refused = await client.get("/api/v1/whoami", headers=bearer(token))
    assert refused.status_code == 403
    assert "plan" in refused.json()["detail"]
    async with sessionmaker() as session:
        await session.execute(
            update(Organization).where(Organization.id == world.acme.id).values(plan_key=None, deleted_at=utcnow())
        )
        await session.commit()
    gone = await client.get("/api/v1/whoami", headers=bearer(token))
    assert gone.status_code == 403 and "deleted" in gone.json()["detail"]
    app_key = await make_key(sessionmaker, name="App")
    assert (await client.get("/api/v1/whoami", headers=bearer(app_key))).status_code == 200


async def test_idempotency_never_answers_for_a_revoked_key(client, world, sessionmaker):
    token = await make_key(sessionmaker, name="Soon revoked")
    question = {"user": "mia@acme.example", "org": "acme", "permission": "members:read"}
    headers = {**bearer(token), "Idempotency-Key": "k-1"}
    assert (await client.post("/api/v1/check", json=question, headers=headers)).status_code == 200
    async with sessionmaker() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.name == "Soon revoked"))
        await revoke_key(session, key_id=key.id, org=None, actor=Actor.system("tests"))
        await session.commit()
    again = await client.post("/api/v1/check", json=question, headers=headers)
    assert again.status_code == 401 and "idempotent-replayed" not in again.headers


async def test_an_idempotency_key_still_running_is_a_409(client, world, sessionmaker):
    from tenantry.api.models import IdempotentResponse

    token = await make_key(sessionmaker, name="Busy")
    async with sessionmaker() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.name == "Busy"))
        question = {"user": "mia@acme.example", "org": "acme", "permission": "members:read"}
        import hashlib
        import json

        body = json.dumps(question).encode()
        session.add(
            IdempotentResponse(
                api_key_id=key.id,
                idempotency_key="busy-1",
                request_hash=hashlib.sha256(b"POST /api/v1/check\n" + body).hexdigest(),
                status_code=0,
                body=b"",
            )
        )
        await session.commit()
    response = await client.post(
        "/api/v1/check",
        content=body,
        headers={**bearer(token), "Idempotency-Key": "busy-1", "content-type": "application/json"},
    )
    assert response.status_code == 409 and "still running" in response.json()["detail"]


async def test_deeply_nested_json_is_a_400_not_a_500(client, world, sessionmaker):
    token = await make_key(sessionmaker)
    body = b"[" * 50_000 + b"]" * 50_000
    response = await client.post(
        "/api/v1/check", content=body, headers={**bearer(token), "content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500


async def test_an_org_key_cant_tell_which_addresses_have_accounts(client, world, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, scopes=("check",))
    ask = {"org": "acme", "permission": "members:read"}
    stranger = await client.post("/api/v1/check", json={**ask, "user": "gus@globex.example"}, headers=bearer(token))
    nobody = await client.post("/api/v1/check", json={**ask, "user": "nobody@x.example"}, headers=bearer(token))
    assert stranger.json() == nobody.json() == {"allowed": False, "sources": [], "reason": "not_a_member"}
    nul = await client.post("/api/v1/check", json={**ask, "user": "a\u0000b"}, headers=bearer(token))
    assert nul.status_code == 200 and nul.json()["reason"] == "not_a_member"
