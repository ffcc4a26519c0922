"""Account mail: confirming an address, forgetting a password, being told it changed."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from tenantry.accounts.models import User, UserSession, UserToken
from tenantry.lib.tokens import hash_token
from tenantry.mail.models import OutboxMessage
from tenantry.orgs.models import Organization
from tests.clock import travel
from tests.integration.conftest import PASSWORD, count, events, field_error, post_form, sign_in
from tests.mail_sink import link_in


async def mails_to(db, address: str) -> list[OutboxMessage]:
    return list(
        await db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_address == address)
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_signing_up_sends_a_confirmation_link_and_orgs_wait_for_it(client, world, db):
    response = await post_form(client, "/signup", {"name": "Nina", "email": "nina@x.example", "password": PASSWORD})
    assert "Confirm your email address: we sent a link to" in response.text
    assert "First, confirm your email address" in response.text, "no org form until confirmed"
    [mail] = await mails_to(db, "nina@x.example")
    assert mail.kind == "verify_email" and mail.subject == "Confirm your email address for Tenantry"
    link = link_in(mail.text_body, "/verify-email/")
    assert link.startswith("http://testserver.local/verify-email/"), "links use TENANTRY_BASE_URL"
    assert link in mail.html_body

    refused = await post_form(client, "/orgs/new", {"name": "Too Soon"}, files={"logo": ("", b"", "")})
    assert refused.status_code == 403
    assert await count(db, Organization, Organization.name == "Too Soon") == 0

    confirmed = await client.get(path_of(link))
    assert "Your email address is confirmed. Thank you!" in confirmed.text
    assert "Confirm your email address: we sent" not in confirmed.text
    created = await post_form(client, "/orgs/new", {"name": "Right Time"}, files={"logo": ("", b"", "")})
    assert created.url.path == "/o/right-time"
    assert [e.action for e in await events(db, "user.email_verified")] == ["user.email_verified"]


async def test_a_confirmation_link_says_when_it_is_used_expired_or_unknown(client, world, db, monkeypatch):
    await sign_in(client, world.nora)
    await post_form(client, "/account/verification", {"next": "/"})
    link = path_of(link_in((await mails_to(db, world.nora.email))[-1].text_body, "/verify-email/"))
    travel(monkeypatch, hours=49)
    expired = await client.get(link)
    assert expired.status_code == 400 and "This link has expired." in expired.text
    assert "Sign in to ask for a new confirmation link." in expired.text, "her session ended too, meanwhile"
    bogus = await client.get("/verify-email/not-a-token")
    assert "This link isn&#39;t valid." in bogus.text


async def test_resending_kills_the_old_link_and_is_rate_limited(client, world, db):
    await sign_in(client, world.nora)
    first = await post_form(client, "/account/verification", {"next": "/orgs/new"})
    assert first.url.path == "/orgs/new"
    assert "We sent a new link to nora@newcomer.example" in first.text
    await post_form(client, "/account/verification", {"next": "/"})
    old, new = [path_of(link_in(m.text_body, "/verify-email/")) for m in await mails_to(db, world.nora.email)]
    assert "already been used" in (await client.get(old)).text, "a newer link replaces it"
    assert "confirmed" in (await client.get(new)).text
    for _ in range(2):
        await post_form(client, "/account/verification", {"next": "/"})  # already confirmed: nothing sent
    assert len(await mails_to(db, world.nora.email)) == 2


async def test_verification_mail_is_rate_limited_per_user(world_factory):
    async with world_factory(verification_limit_per_user=2) as (client, world):
        await sign_in(client, world.nora)
        for _ in range(2):
            await post_form(client, "/account/verification", {"next": "/"})
        assert (await post_form(client, "/account/verification", {"next": "/"})).status_code == 429


async def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(client, world, db):
    known = await post_form(client, "/forgot-password", {"email": "mia@acme.example"})
    unknown = await post_form(client, "/forgot-password", {"email": "nobody@acme.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("mia@", "X@") == unknown.text.replace("nobody@", "X@")
    assert len(await mails_to(db, "mia@acme.example")) == 1
    assert await mails_to(db, "nobody@acme.example") == []


async def test_resetting_a_password_ends_every_session_and_the_link_works_once(client, world, db):
    await sign_in(client, world.mia)
    await sign_in(client, world.mia)
    client.cookies.clear()
    await post_form(client, "/forgot-password", {"email": "MIA@acme.example"})
    link = path_of(link_in((await mails_to(db, "mia@acme.example"))[-1].text_body, "/reset-password/"))
    page = await client.get(link)
    assert "Choose a new password" in page.text and "For mia@acme.example" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    weak = await post_form(client, link, {"password": "password"})
    assert "too common" in field_error(weak.text, "password")
    response = await post_form(client, link, {"password": "a fresh long passphrase"})
    assert response.url.path == "/o/acme", "signed in afresh"
    assert "Your password is saved." in response.text
    assert await count(db, UserSession, UserSession.user_id == world.mia.id) == 1, "every old session ended"
    assert [m.kind for m in await mails_to(db, "mia@acme.example")] == ["password_reset", "password_changed"]
    again = await post_form(client, link, {"password": "another long passphrase"})
    assert "This link has already been used." in again.text
    token = link.rsplit("/", 1)[-1]
    stored = set(await db.scalars(select(UserToken.token_hash)))
    assert token not in stored and hash_token(token) in stored, "only the hash is kept"


async def test_a_reset_link_expires_after_an_hour(client, world, db, monkeypatch):
    await post_form(client, "/forgot-password", {"email": "mia@acme.example"})
    link = path_of(link_in((await mails_to(db, "mia@acme.example"))[-1].text_body, "/reset-password/"))
    travel(monkeypatch, minutes=61)
    response = await post_form(client, link, {"password": "a fresh long passphrase"})
    assert "This link has expired." in response.text
    user = await db.get(User, world.mia.id)
    await db.refresh(user)
    assert "fresh" not in (user.password_hash or "")


async def test_password_reset_mail_is_rate_limited(world_factory):
    async with world_factory(password_reset_limit_per_email=2) as (client, _world):
        for _ in range(2):
            await post_form(client, "/forgot-password", {"email": "mia@acme.example"})
        assert (await post_form(client, "/forgot-password", {"email": "Mia@Acme.example"})).status_code == 429


async def test_changing_a_password_sends_a_notice(client, world, db):
    await sign_in(client, world.mia)
    await post_form(
        client, "/account/password", {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    )
    [notice] = await mails_to(db, "mia@acme.example")
    assert notice.kind == "password_changed"
    assert "If this wasn't you" in notice.text_body and "/forgot-password" in notice.text_body
