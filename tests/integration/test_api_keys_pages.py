"""API keys in the portal: an org's keys (api_keys:manage, on plans with the api_keys feature) and
support's app keys. A new key is shown once, on the page the create form answers with."""

from __future__ import annotations

import datetime
import re
from html import unescape

from sqlalchemy import select, update

from tenantry.accounts.models import User
from tenantry.api.models import ApiKey
from tenantry.audit.sentences import describe
from tenantry.lib.clock import utcnow
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, events, field_error, make_user, post_form, sign_in
from tests.integration.test_invitations import text_of
from tests.integration.test_plans import put_acme_on

PAGE = "/o/acme/settings/api-keys"


def shown_key(html: str) -> str:
    match = re.search(r'<code id="new-key-token">([^<]+)</code>', html)
    assert match, "the new key is on the page"
    return unescape(match.group(1))


async def test_a_new_key_is_shown_once_and_works_at_once(client, world, db):
    await sign_in(client, world.olivia)
    empty = await client.get(PAGE)
    assert empty.status_code == 200 and "No API keys yet" in text_of(empty.text)

    created = await post_form(client, PAGE, {"name": "Backend", "scopes": ["read", "check"], "expires_at": ""})
    assert created.status_code == 200
    assert str(created.url).endswith(PAGE), "the key is on the page the form answers with, in no URL"
    token = shown_key(created.text)
    assert token.startswith("tnt_org_")
    page = text_of(created.text)
    assert "This is the only time it is shown." in page and "can't be shown again" in page
    assert created.headers["referrer-policy"] == "no-referrer" and created.headers["cache-control"] == "no-store"
    assert "set-cookie" not in created.headers or token not in created.headers["set-cookie"]

    whoami = await client.get("/api/v1/whoami", headers=bearer(token))
    assert whoami.status_code == 200
    assert whoami.json()["kind"] == "org" and whoami.json()["org_id"] == str(world.acme.id)
    assert whoami.json()["scopes"] == ["read", "check"]

    listed = await client.get(PAGE)
    assert token not in listed.text, "never shown again"
    text = text_of(listed.text)
    assert "Backend" in text and f"{token[:12]}…" in text
    assert "by Olivia Owner" in text and "just now" in text  # last used: the whoami call
    assert 'data-confirm="Revoke the key “Backend”?"' in listed.text

    [event] = await events(db, "api_key.created")
    assert event.actor_user_id == world.olivia.id and event.org_id == world.acme.id
    assert describe(event) == f"Olivia Owner created the API key Backend ({token[:12]}…) with scopes read, check"


async def test_a_key_can_expire_on_a_chosen_day(client, world, db):
    await sign_in(client, world.adam)
    day = (utcnow() + datetime.timedelta(days=10)).date()
    created = await post_form(client, PAGE, {"name": "Trial", "scopes": "read", "expires_at": day.isoformat()})
    assert created.status_code == 200
    key = await db.scalar(select(ApiKey).where(ApiKey.name == "Trial"))
    expected = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC)
    assert key.expires_at == expected, "it works through the whole chosen day (UTC)"


async def test_bad_input_is_shown_next_to_the_fields_and_creates_nothing(client, world, db):
    await sign_in(client, world.adam)
    refused = await post_form(client, PAGE, {"name": " ", "expires_at": "soon"})
    assert refused.status_code == 422
    assert (
        field_error(refused.text, "expires_at") == "Enter a date such as 2030-12-31, or leave it empty for no expiry."
    )
    refused = await post_form(client, PAGE, {"name": "", "scopes": ["admin"]})
    assert refused.status_code == 422
    assert "Give the key a name" in field_error(refused.text, "name")
    assert field_error(refused.text, "scopes") == "Choose at least one of: read, write, check."
    yesterday = (utcnow() - datetime.timedelta(days=1)).date().isoformat()
    refused = await post_form(client, PAGE, {"name": "Old", "scopes": "read", "expires_at": yesterday})
    assert refused.status_code == 422 and "in the future" in field_error(refused.text, "expires_at")
    assert 'value="Old"' in refused.text, "what was typed stays"
    assert await count(db, ApiKey) == 0 and await events(db, "api_key.created") == []


async def test_an_unconfirmed_address_makes_no_keys(client, world, db):
    """A key can send invitations: someone who signed up with an address they may not own
    doesn't get one."""
    await db.execute(update(User).where(User.id == world.adam.id).values(email_verified_at=None))
    await db.commit()
    await sign_in(client, world.adam)
    refused = await post_form(client, PAGE, {"name": "Relay", "scopes": ["read", "write"], "expires_at": ""})
    assert refused.status_code == 403
    assert "Confirm your email address first: we sent a link to adam@acme.example." in refused.text
    assert await count(db, ApiKey) == 0 and await events(db, "api_key.created") == []


async def test_revoking_a_key_refuses_it_from_then_on(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="Old backend")
    assert (await client.get("/api/v1/whoami", headers=bearer(token))).status_code == 200
    await sign_in(client, world.adam)
    key = await db.scalar(select(ApiKey).where(ApiKey.name == "Old backend"))
    done = await post_form(client, f"{PAGE}/{key.id}/revoke", follow_redirects=True)
    assert "The key has been revoked" in text_of(done.text)
    assert "Revoked" in text_of(done.text) and "Revoke the key" not in done.text
    assert (await client.get("/api/v1/whoami", headers=bearer(token))).status_code == 401
    [event] = await events(db, "api_key.revoked")
    assert event.actor_user_id == world.adam.id and event.org_id == world.acme.id
    assert describe(event) == f"Adam Admin revoked the API key Old backend ({key.prefix}…)"

    again = await post_form(client, f"{PAGE}/{key.id}/revoke", follow_redirects=True)
    assert "That key was revoked already." in text_of(again.text)
    assert len(await events(db, "api_key.revoked")) == 1


async def test_an_org_sees_and_revokes_only_its_own_keys(client, world, db, sessionmaker):
    await make_key(sessionmaker, org=world.globex, name="Globex backend")
    await make_key(sessionmaker, name="The app's key")
    await sign_in(client, world.olivia)
    page = text_of((await client.get(PAGE)).text)
    assert "Globex backend" not in page and "The app's key" not in page
    for name in ("Globex backend", "The app's key"):
        other = await db.scalar(select(ApiKey).where(ApiKey.name == name))
        assert (await post_form(client, f"{PAGE}/{other.id}/revoke")).status_code == 404
    assert await events(db, "api_key.revoked") == []


async def test_only_members_who_manage_api_keys_reach_the_page(client, world, db):
    await sign_in(client, world.mia)  # a member: no api_keys:manage
    assert (await client.get(PAGE)).status_code == 403
    assert (await post_form(client, PAGE, {"name": "Mine", "scopes": "read"})).status_code == 403
    assert "/settings/api-keys" not in (await client.get("/o/acme")).text
    await sign_in(client, world.gus)  # not in Acme at all
    assert (await client.get(PAGE)).status_code == 404
    assert (await post_form(client, PAGE, {"name": "Mine", "scopes": "read"})).status_code == 404
    assert await count(db, ApiKey) == 0


async def test_the_settings_page_leads_to_the_keys(client, world):
    await sign_in(client, world.olivia)
    settings = (await client.get("/o/acme/settings")).text
    assert 'href="/o/acme/settings/api-keys"' in settings


async def test_a_plan_without_api_keys_shows_why_and_refuses_new_keys(client, world, db, sessionmaker):
    token = await make_key(sessionmaker, org=world.acme, name="From the Pro days")
    await put_acme_on(db, "team", world)
    await sign_in(client, world.adam)
    page = await client.get(PAGE)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "The Team plan doesn't include API keys" in text and "See the plans" in text
    assert re.search(r"<fieldset disabled", page.text), "the create form is off"
    assert "From the Pro days" in text, "keys made before are still listed"
    refused = await post_form(client, PAGE, {"name": "New", "scopes": "read"})
    assert refused.status_code == 403 and await count(db, ApiKey) == 1
    assert "Not part of the Team plan." in text_of((await client.get("/o/acme/settings")).text)

    key = await db.scalar(select(ApiKey))
    revoked = await post_form(client, f"{PAGE}/{key.id}/revoke", follow_redirects=False)
    assert revoked.status_code == 303, "a key can still be switched off"
    assert (await client.get("/api/v1/whoami", headers=bearer(token))).status_code == 401


async def test_only_a_support_admin_makes_app_keys(client, world, db):
    """An app key acts on every org, past each one's support access setting: not for plain support."""
    await sign_in(client, world.sam)
    page = await client.get("/staff/api-keys")
    assert "Only support-admins can make or revoke app keys" in text_of(page.text)
    refused = await post_form(client, "/staff/api-keys", {"name": "Mine", "scopes": ["read"]})
    assert refused.status_code == 403
    assert await db.scalar(select(ApiKey)) is None


async def test_support_staff_create_and_revoke_app_keys(client, world, db):
    ada = await make_user(db, "Ada Escalation", "ada@vendor.example", staff_role="support-admin")
    await db.commit()
    await sign_in(client, ada)
    page = await client.get("/staff/api-keys")
    assert page.status_code == 200 and "No app keys yet" in text_of(page.text)
    assert 'href="/staff/api-keys" aria-current="page"' in page.text
    created = await post_form(client, "/staff/api-keys", {"name": "Billing backend", "scopes": ["check"]})
    assert created.status_code == 200
    token = shown_key(created.text)
    assert token.startswith("tnt_app_")
    whoami = (await client.get("/api/v1/whoami", headers=bearer(token))).json()
    assert whoami["kind"] == "app" and whoami["scopes"] == ["check"]
    [event] = await events(db, "api_key.created")
    assert event.actor_user_id == ada.id and event.org_id is None
    assert describe(event).startswith("Ada Escalation created the app key Billing backend (tnt_app_")

    listed = await client.get("/staff/api-keys")
    assert token not in listed.text and "Billing backend" in listed.text
    key = await db.scalar(select(ApiKey))
    done = await post_form(client, f"/staff/api-keys/{key.id}/revoke", follow_redirects=True)
    assert "The app key has been revoked" in text_of(done.text)
    assert (await client.get("/api/v1/whoami", headers=bearer(token))).status_code == 401


async def test_the_staff_keys_page_is_not_there_for_anyone_else(client, world, db, sessionmaker):
    await make_key(sessionmaker, name="The app's key")
    key = await db.scalar(select(ApiKey))
    for who in (world.olivia, world.gus):
        await sign_in(client, who)
        assert (await client.get("/staff/api-keys")).status_code == 404
        assert (await post_form(client, "/staff/api-keys", {"name": "Mine", "scopes": "read"})).status_code == 404
        assert (await post_form(client, f"/staff/api-keys/{key.id}/revoke")).status_code == 404
    assert await count(db, ApiKey) == 1 and await events(db, "api_key.revoked") == []
