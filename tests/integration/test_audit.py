"""Every mutation writes its audit event, in the same transaction, with who, where and which request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from tenantry.accounts.models import UserSession
from tenantry.audit.models import AuditEvent
from tests.integration.conftest import PASSWORD, World, count, csrf_token, sign_in
from tests.integration.test_orgs import image_bytes
from tests.integration.test_route_table import UNSAFE, endpoints


@dataclass
class Mutation:
    route: str  # the route template, as in the route table
    action: str  # the audit event it must write
    who: str | None  # the persona acting; None: anonymous
    data: dict[str, str] = field(default_factory=dict)
    files: dict | None = None
    path: Callable[[World, object], Awaitable[str]] | None = None  # for routes with ids


async def other_session_of(world: World, db) -> str:
    session = await db.scalar(select(UserSession).where(UserSession.user_agent == "other browser"))
    return f"/account/sessions/{session.id}/revoke"


MUTATIONS = [
    Mutation("/signup", "user.signed_up", None, {"name": "Nora", "email": "nora@x.example", "password": PASSWORD}),
    Mutation("/login", "user.signed_in", None, {"email": "mia@acme.example", "password": PASSWORD}),
    Mutation("/login", "user.sign_in_failed", None, {"email": "mia@acme.example", "password": "wrong!!!"}),
    Mutation("/logout", "user.signed_out", "mia"),
    Mutation("/account/profile", "user.profile_updated", "mia", {"name": "Mia M."}),
    Mutation(
        "/account/password",
        "user.password_changed",
        "mia",
        {"current_password": PASSWORD, "new_password": "another fine passphrase"},
    ),
    Mutation("/account/sessions/{session_id:uuid}/revoke", "user.session_revoked", "mia", path=other_session_of),
    Mutation("/account/sessions/revoke-others", "user.other_sessions_revoked", "mia"),
    Mutation("/orgs/new", "org.created", "mia", {"name": "Initech", "brand_color": "#123456"}),
    Mutation("/o/{slug:str}/settings/name", "org.renamed", "adam", {"name": "Acme Inc."}),
    Mutation("/o/{slug:str}/settings/slug", "org.slug_changed", "adam", {"slug": "acme-inc"}),
    Mutation(
        "/o/{slug:str}/settings/branding",
        "org.branding_changed",
        "adam",
        {"brand_color": "#000000"},
        files={"logo": ("l.png", image_bytes(), "image/png")},
    ),
    Mutation("/o/{slug:str}/settings/delete", "org.deleted", "olivia", {"confirm": "acme"}),
]


def test_every_unsafe_route_has_a_mutation_in_this_table(app):
    covered = {m.route for m in MUTATIONS}
    unsafe = {e.template for e in endpoints(app) if e.method in UNSAFE}
    assert unsafe == covered, "a new mutating route needs its audit event, and a line here"


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.action)
async def test_each_mutation_writes_exactly_its_event(client, world, db, mutation):
    if mutation.who:
        if mutation.route.startswith("/account/sessions"):
            await sign_in(client, getattr(world, mutation.who), user_agent="other browser")
        await sign_in(client, getattr(world, mutation.who))
    path = mutation.route.replace("{slug:str}", "acme")
    if mutation.path:
        path = await mutation.path(world, db)
    before = {e.id for e in await db.scalars(select(AuditEvent))}
    data = {"_csrf_token": await csrf_token(client), **mutation.data}
    response = await client.post(path, data=data, files=mutation.files, follow_redirects=False)
    assert response.status_code in (200, 303), response.text[:500]

    new = [e for e in await db.scalars(select(AuditEvent)) if e.id not in before]
    matching = [e for e in new if e.action == mutation.action]
    assert len(matching) == 1, [e.action for e in new]
    event = matching[0]
    assert event.request_id == response.headers["x-request-id"], "the event names its request"
    assert event.ip == "testclient", "the client address as the server saw it"
    assert event.occurred_at.tzinfo is not None
    if mutation.who:
        assert event.actor_user_id == getattr(world, mutation.who).id
        assert event.actor_label.startswith(getattr(world, mutation.who).name)
    if mutation.route.startswith("/o/"):
        assert event.org_id == world.acme.id
    assert event.target_type and event.target_label


async def test_a_refused_change_writes_no_event(client, world, db):
    await sign_in(client, world.adam)
    before = await count(db, AuditEvent)
    token = await csrf_token(client)
    response = await client.post("/o/acme/settings/slug", data={"_csrf_token": token, "slug": "globex"})
    assert response.status_code == 422
    response = await client.post("/o/acme/settings/name", data={"_csrf_token": token, "name": ""})
    assert response.status_code == 422
    assert await count(db, AuditEvent) == before
