"""/api/v1/orgs/{org}/invitations: invite (the email through the outbox, as from the portal),
list, resend, revoke — the portal's verbs and their rules (one open invitation per address,
domains, seats, the hourly limit), the key on record as the actor, tokens never shown, and
nothing of Globex within an Acme key's reach."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from tenantry.accounts.models import User
from tenantry.audit.services import Actor
from tenantry.invitations.models import Invitation, InvitationStatus
from tenantry.invitations.services import accept_invitation
from tenantry.lib.tokens import hash_token
from tenantry.mail.models import OutboxMessage
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization
from tests.clock import travel
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, count_queries, events, make_invitation, make_user

BASE = "/api/v1/orgs/{org}/invitations"


def invitations_path(org: str = "acme", suffix: str = "") -> str:
    return BASE.format(org=org) + suffix


def fields_of(response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


def emails(response) -> list[str]:
    return [item["email"] for item in response.json()["items"]]


async def outbox(db, email: str) -> list[OutboxMessage]:
    statement = select(OutboxMessage).where(OutboxMessage.to_address == email).order_by(OutboxMessage.id)
    return list(await db.scalars(statement.execution_options(populate_existing=True)))


async def invitation_row(db, invitation_id) -> Invitation:
    statement = select(Invitation).where(Invitation.id == uuid.UUID(str(invitation_id)))
    return await db.scalar(statement.execution_options(populate_existing=True))


async def test_inviting_queues_the_email_through_the_outbox_and_shows_no_token(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Provisioner")
    response = await client.post(
        invitations_path(),
        json={
            "email": "Zoe@New.example",
            "roles": ["developer"],
            "groups": [str(world.engineering.id)],
            "expiry_days": 3,
            "message": "Welcome aboard!\nSee you Monday.",
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "zoe@new.example" and body["status"] == "pending" and body["expired"] is False
    assert [role["key"] for role in body["roles"]] == ["developer"]
    assert body["groups"] == [{"id": str(world.engineering.id), "name": "Engineering"}]
    assert body["message"] == "Welcome aboard!\nSee you Monday."
    assert body["invited_by"].startswith("API key Provisioner")
    assert "token" not in response.text.lower()

    row = await invitation_row(db, body["id"])
    assert row.org_id == world.acme.id and row.token_hash not in response.text
    assert 2 < (row.expires_at - row.created_at).days + 1 <= 3
    (mail,) = await outbox(db, "zoe@new.example")
    assert mail.kind == "invitation" and mail.invitation_id == row.id and mail.org_id == world.acme.id
    assert "/invite/" in mail.text_body and "Welcome aboard!" in mail.text_body
    (created,) = await events(db, "invitation.created")
    assert created.actor_label.startswith("API key Provisioner") and created.actor_user_id is None
    assert created.target_id == str(row.id) and created.after["roles"] == ["developer"]


async def test_an_invitation_from_the_api_is_accepted_like_any_other(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme)
    response = await client.post(invitations_path(), json={"email": "zoe@new.example"}, headers=bearer(token))
    assert response.status_code == 201
    assert [role["key"] for role in response.json()["roles"]] == ["member"], "the org's default role"
    (mail,) = await outbox(db, "zoe@new.example")
    link_token = mail.text_body.split("/invite/", 1)[1].split()[0]
    zoe = await make_user(db, "Zoe Zed", "zoe@new.example")
    await accept_invitation(
        db, settings=client.app.state.runtime.settings, token=link_token, user=zoe, actor=Actor.system("t")
    )
    await db.commit()
    assert await count(db, Membership, Membership.user_id == zoe.id, Membership.org_id == world.acme.id) == 1
    accepted = await client.get(invitations_path(), params={"status": "accepted"}, headers=bearer(token))
    assert emails(accepted) == ["zoe@new.example"] and accepted.json()["items"][0]["accepted_at"]


async def test_inviting_is_refused_with_problems_naming_the_field(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    invite = lambda body: client.post(invitations_path(), json=body, headers=bearer(token))  # noqa: E731
    member = await invite({"email": "mia@acme.example"})
    assert member.status_code == 409 and fields_of(member) == ["email"]
    assert "already a member" in member.json()["detail"]
    assert (await invite({"email": "zoe@new.example"})).status_code == 201
    twice = await invite({"email": "zoe@new.example"})
    assert twice.status_code == 409 and fields_of(twice) == ["email"] and "resend" in twice.json()["detail"]
    for body, field in [
        ({"email": "not an address"}, "email"),
        ({}, "email"),
        ({"email": "x" * 400 + "@a.example"}, "email"),
        ({"email": "a@b.example", "expiry_days": 0}, "expiry_days"),
        ({"email": "a@b.example", "expiry_days": 10_000}, "expiry_days"),
        ({"email": "a@b.example", "expiry_days": "soon"}, "expiry_days"),
        ({"email": "a@b.example", "roles": ["wizard"]}, "roles"),
        ({"email": "a@b.example", "roles": [str(world.globex_role.id)]}, "roles"),
        ({"email": "a@b.example", "groups": ["Globex Team"]}, "groups"),
        ({"email": "a@b.example", "token": "mine"}, "token"),
        ({"email": "a@b.example", "message": "m" * 1001}, "message"),
        ({"email": "a@b.example", "message": "nul\x00"}, "message"),
    ]:
        refused = await invite(body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert fields_of(refused) == [field], (body, refused.json())
    assert await count(db, Invitation) == 1 and len(await outbox(db, "a@b.example")) == 0


async def test_seats_domains_and_the_hourly_limit_come_from_the_verb(world_factory):
    async with world_factory(invitation_limit_per_org_hour=2, invitation_email_domains="acme.example") as (
        client,
        world,
    ):
        token = await make_key(client.test_sessionmaker)
        invite = lambda email: client.post(invitations_path(), json={"email": email}, headers=bearer(token))  # noqa: E731
        outside = await invite("zoe@elsewhere.example")
        assert outside.status_code == 422 and fields_of(outside) == ["email"]
        assert "acme.example" in outside.json()["detail"]
        async with client.test_sessionmaker() as db:
            await db.execute(update(Organization).where(Organization.id == world.acme.id).values(seat_limit=3))
            await db.commit()
        full = await invite("zoe@acme.example")
        assert full.status_code == 422 and fields_of(full) == ["email"] and "seats" in full.json()["detail"]
        limited = await invite("zed@acme.example")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        async with client.test_sessionmaker() as db:
            assert await count(db, Invitation) == 0 and await count(db, OutboxMessage) == 0


async def test_the_list_shows_pending_by_default_pages_by_cursor_in_constant_statements(
    client, world, db, sessionmaker, app_engine
):
    token = await make_key(sessionmaker, scopes=("read",))
    for n in range(5):
        await make_invitation(db, world.acme, f"person{n}@new.example", groups=[world.engineering])
    await make_invitation(db, world.globex, "globex-only@new.example")
    revoked, _ = await make_invitation(db, world.acme, "gone@new.example")
    await db.execute(update(Invitation).where(Invitation.id == revoked.id).values(status=InvitationStatus.REVOKED))
    await db.commit()

    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get(invitations_path(), params=params, headers=bearer(token))
        assert page.status_code == 200
        seen += emails(page)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"person{n}@new.example" for n in range(5)]
    first = (await client.get(invitations_path(), headers=bearer(token))).json()["items"][0]
    assert first["status"] == "pending" and [r["key"] for r in first["roles"]] == ["member"]
    assert first["groups"] == [{"id": str(world.engineering.id), "name": "Engineering"}]
    assert set(first) == {
        "id", "email", "status", "expired", "roles", "groups", "message", "invited_by",
        "created_at", "sent_at", "expires_at", "accepted_at",
    }  # fmt: skip
    gone = await client.get(invitations_path(), params={"status": "revoked"}, headers=bearer(token))
    assert emails(gone) == ["gone@new.example"]
    bad = await client.get(invitations_path(), params={"status": "all"}, headers=bearer(token))
    assert bad.status_code == 422 and fields_of(bad) == ["status"]

    with count_queries(app_engine) as small:
        await client.get(invitations_path(), params={"limit": 3}, headers=bearer(token))
    for n in range(20):
        await make_invitation(db, world.acme, f"more{n:02d}@new.example", groups=[world.engineering])
    with count_queries(app_engine) as large:
        page = await client.get(invitations_path(), params={"limit": 25}, headers=bearer(token))
        assert len(page.json()["items"]) == 25
    assert large.count == small.count


async def test_an_expired_invitation_is_listed_as_expired(client, world, db, sessionmaker, monkeypatch):
    token = await make_key(sessionmaker)
    await make_invitation(db, world.acme, "late@new.example", days=1)
    travel(monkeypatch, days=2)
    (item,) = (await client.get(invitations_path(), headers=bearer(token))).json()["items"]
    assert item["status"] == "pending" and item["expired"] is True


async def test_resending_sends_a_new_link_and_kills_the_old_one(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="Resender")
    invitation, old_token = await make_invitation(db, world.acme, "zoe@new.example")
    response = await client.post(invitations_path(suffix=f"/{invitation.id}/resend"), headers=bearer(token))
    assert response.status_code == 200 and response.json()["status"] == "pending"
    row = await invitation_row(db, invitation.id)
    assert row.token_hash != hash_token(old_token)
    (mail,) = await outbox(db, "zoe@new.example")
    assert mail.kind == "invitation" and mail.invitation_id == invitation.id
    (resent,) = await events(db, "invitation.resent")
    assert resent.actor_label.startswith("API key Resender")

    await db.execute(update(Invitation).where(Invitation.id == invitation.id).values(status=InvitationStatus.REVOKED))
    await db.commit()
    closed = await client.post(invitations_path(suffix=f"/{invitation.id}/resend"), headers=bearer(token))
    assert closed.status_code == 422 and "no longer open" in closed.json()["detail"]
    assert len(await outbox(db, "zoe@new.example")) == 1


async def test_revoking_withdraws_the_link_once(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme)
    invitation, _ = await make_invitation(db, world.acme, "zoe@new.example")
    response = await client.post(invitations_path(suffix=f"/{invitation.id}/revoke"), headers=bearer(token))
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert (await invitation_row(db, invitation.id)).status == InvitationStatus.REVOKED
    again = await client.post(invitations_path(suffix=f"/{invitation.id}/revoke"), headers=bearer(token))
    assert again.status_code == 200 and again.json()["status"] == "revoked"
    (revoked,) = await events(db, "invitation.revoked")
    assert revoked.actor_label.startswith("API key") and revoked.target_id == str(invitation.id)

    used, _ = await make_invitation(db, world.acme, "used@new.example")
    await db.execute(update(Invitation).where(Invitation.id == used.id).values(status=InvitationStatus.ACCEPTED))
    await db.commit()
    refused = await client.post(invitations_path(suffix=f"/{used.id}/revoke"), headers=bearer(token))
    assert refused.status_code == 409 and "accepted" in refused.json()["detail"]


def every_operation(org: str, invitation_id) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", invitations_path(org), None),
        ("POST", invitations_path(org), {"email": "zoe@new.example"}),
        ("POST", invitations_path(org, f"/{invitation_id}/resend"), None),
        ("POST", invitations_path(org, f"/{invitation_id}/revoke"), None),
    ]


async def test_an_acme_key_gets_404_for_everything_of_globex(client, world, db, sessionmaker):
    acme_key = await make_key(sessionmaker, org=world.acme)
    theirs, _ = await make_invitation(db, world.globex, "theirs@new.example")
    for org in ("globex", str(world.globex.id)):
        for method, path, body in every_operation(org, theirs.id):
            response = await client.request(method, path, json=body, headers=bearer(acme_key))
            assert response.status_code == 404, (method, path, response.text)
    # Globex's invitation under Acme's own path: not Acme's.
    for method, path, body in every_operation("acme", theirs.id)[2:]:
        assert (await client.request(method, path, json=body, headers=bearer(acme_key))).status_code == 404
    assert (await invitation_row(db, theirs.id)).status == InvitationStatus.PENDING
    assert await count(db, Invitation, Invitation.org_id == world.globex.id) == 1
    assert await count(db, OutboxMessage) == 0 and await events(db, "invitation.revoked") == []


async def test_missing_orgs_and_ids_are_404_even_for_an_app_key(client, world, db, sessionmaker):
    token = await make_key(sessionmaker)
    theirs, _ = await make_invitation(db, world.globex, "theirs@new.example")
    for invitation_id in (theirs.id, uuid.uuid4()):
        for method, path, body in every_operation("acme", invitation_id)[2:]:
            response = await client.request(method, path, json=body, headers=bearer(token))
            assert response.status_code == 404, (method, path, response.text)
    for org in ("no-such-org", str(uuid.uuid4())):
        for method, path, body in every_operation(org, theirs.id):
            assert (await client.request(method, path, json=body, headers=bearer(token))).status_code == 404
    assert (await invitation_row(db, theirs.id)).status == InvitationStatus.PENDING


@pytest.mark.parametrize("scopes", [("read",), ("check",)])
async def test_writes_need_the_write_scope(client, world, db, sessionmaker, scopes):
    token = await make_key(sessionmaker, scopes=scopes)
    invitation, _ = await make_invitation(db, world.acme, "zoe@new.example")
    for method, path, body in every_operation("acme", invitation.id)[1:]:
        response = await client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == 403, (method, path)
    assert await count(db, Invitation) == 1 and await count(db, OutboxMessage) == 0
    reader = await make_key(sessionmaker, scopes=("write",), name="Writer only")
    assert (await client.get(invitations_path(), headers=bearer(reader))).status_code == 403


async def test_an_app_actor_label_longer_than_the_inviter_column_still_invites(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, name="N" * 100)
    response = await client.post(invitations_path(), json={"email": "zoe@new.example"}, headers=bearer(token))
    assert response.status_code == 201
    assert response.json()["invited_by"].startswith("API key NNN") and len(response.json()["invited_by"]) == 100
    assert await db.scalar(select(User.id).where(User.email == "zoe@new.example")) is None
