"""Tenant isolation, enumerated from the OpenAPI document: an Acme org key gets 404 for every
Globex resource on every endpoint, so an endpoint added tomorrow is covered the day it appears."""

from __future__ import annotations

import re

from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import make_invitation

METHODS = {"get", "post", "put", "patch", "delete"}


async def globex_ids(world, db) -> dict[str, str]:
    """A Globex resource for each path parameter the API uses."""
    invitation, _ = await make_invitation(db, world.globex, "new.hire@globex.example")
    return {
        "org": "globex",
        "user_ref": str(world.gus.id),
        "membership_id": str(world.memberships["gus"].id),
        "group_id": str(world.globex_team.id),
        "role_id": str(world.globex_role.id),
        "invitation_id": str(invitation.id),
    }


def operations(document: dict):
    for path, item in document["paths"].items():
        if path.startswith("/api/v1/"):
            for method in sorted(METHODS & set(item)):
                yield method, path


async def test_an_acme_org_key_gets_404_for_every_globex_resource(client, world, db, sessionmaker):
    key = await make_key(sessionmaker, org=world.acme)
    document = (await client.get("/api/schema/openapi.json")).json()
    ids = await globex_ids(world, db)
    with_ids = [(method, path) for method, path in operations(document) if "{" in path]
    assert with_ids, "the API has resources addressed by id"
    for method, path in with_ids:
        params = re.findall(r"\{(\w+)\}", path)
        missing = [name for name in params if name not in ids]
        assert not missing, f"{method.upper()} {path}: add a Globex value for {missing} to globex_ids()"
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        response = await client.request(method.upper(), url, json={}, headers=bearer(key))
        assert response.status_code == 404, (method.upper(), path, response.status_code, response.text[:300])
        assert "globex" not in response.text.lower().replace(url.lower(), ""), (method.upper(), path)


async def test_lists_without_an_org_in_the_path_show_an_org_key_nothing_of_globex(client, world, sessionmaker):
    key = await make_key(sessionmaker, org=world.acme)
    document = (await client.get("/api/schema/openapi.json")).json()
    for method, path in operations(document):
        if method != "get" or "{" in path:
            continue
        response = await client.get(path, headers=bearer(key))
        assert response.status_code in (200, 403), (path, response.status_code)
        body = response.text.lower()
        assert "globex" not in body and "gus@" not in body, path


async def test_a_check_about_globex_with_an_acme_key_is_404(client, world, sessionmaker):
    key = await make_key(sessionmaker, org=world.acme)
    question = {"user": "gus@globex.example", "org": "globex", "permission": "members:read"}
    assert (await client.post("/api/v1/check", json=question, headers=bearer(key))).status_code == 404
    by_id = {**question, "org": str(world.globex.id)}
    assert (await client.post("/api/v1/check", json=by_id, headers=bearer(key))).status_code == 404


async def test_globex_ids_under_acmes_own_path_are_not_found_either(client, world, db, sessionmaker):
    """The org in the path is the key's own; the ids are Globex's: still nothing to find or change."""
    key = await make_key(sessionmaker, org=world.acme)
    app_key = await make_key(sessionmaker, name="App")
    document = (await client.get("/api/schema/openapi.json")).json()
    ids = {**await globex_ids(world, db), "org": "acme"}
    inner = [(m, p) for m, p in operations(document) if p.startswith("/api/v1/orgs/{org}/") and p.count("{") > 1]
    assert inner
    for token in (key, app_key):
        for method, path in inner:
            url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
            response = await client.request(method.upper(), url, json={}, headers=bearer(token))
            # Without a body to read, 404; with one, its checks may speak first (422), never a change.
            expected = (404,) if method in ("get", "delete") else (404, 422)
            assert response.status_code in expected, (method.upper(), path, response.status_code, response.text[:200])
