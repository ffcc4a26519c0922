"""Sign-up, sign-in, sign-out, sessions, profile and password, as a user meets them."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select

from tenantry.accounts.models import User, UserSession
from tenantry.accounts.sessions import SESSION_COOKIE
from tenantry.lib.tokens import hash_token
from tests.clock import travel
from tests.conftest import base_settings
from tests.integration.conftest import (
    PASSWORD,
    count,
    csrf_token,
    events,
    field_error,
    post_form,
    sign_in,
)


async def sign_up(client, name="Nora New", email="nora@initech.example", password=PASSWORD):
    return await post_form(client, "/signup", {"name": name, "email": email, "password": password})


async def test_sign_up_creates_the_account_and_signs_in(client, db):
    response = await sign_up(client)
    assert response.status_code == 200
    assert response.url.path == "/orgs/new", "a new user lands on 'create your first organization'"
    assert "Create your first organization" in response.text
    assert "Welcome to Tenantry, Nora New!" in response.text

    user = await db.scalar(select(User).where(User.email == "nora@initech.example"))
    assert user is not None and user.name == "Nora New"
    params = extract_parameters(user.password_hash)
    assert user.password_hash.startswith("$argon2id$")
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2

    token = client.cookies.get(SESSION_COOKIE)
    rows = list(await db.scalars(select(UserSession).where(UserSession.user_id == user.id)))
    assert len(rows) == 1
    assert rows[0].token_hash == hash_token(token) != token, "only the token's hash is stored"
    assert [e.action for e in await events(db, "user.signed_up")] == ["user.signed_up"]


async def test_sign_up_email_is_case_insensitive_and_unique(client, db, world):
    response = await sign_up(client, email="  OLIVIA@Acme.Example ")
    assert response.status_code == 422
    assert "already exists" in field_error(response.text, "email")
    assert await count(db, User) == 6


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 101}, "name", "Use at most 100 characters."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"password": "short"}, "password", "Use at least 8 characters."),
        ({"password": "x" * 129}, "password", "Use at most 128 characters."),
        ({"password": "password123"}, "password", "too common"),
        ({"password": "Qwertyuiop"}, "password", "too common"),
        ({"password": "nora@initech.example"}, "password", "email address"),
    ],
)
async def test_sign_up_refuses_bad_input_next_to_the_field(client, db, fields, field, message):
    data = {"name": "Nora New", "email": "nora@initech.example", "password": PASSWORD, **fields}
    response = await post_form(client, "/signup", data)
    assert response.status_code == 422
    assert message in (field_error(response.text, field) or "")
    assert await count(db, User) == 0, "nothing is created"
    assert client.cookies.get(SESSION_COOKIE) is None
    if field != "password":
        assert 'value="' + data["name"][:20] in response.text or field == "name", "what was typed is kept"


async def test_a_64_character_passphrase_is_accepted(client):
    response = await sign_up(client, password="a long passphrase " * 3 + "0123456789")
    assert response.url.path == "/orgs/new"


async def test_sign_in_lands_in_the_last_used_org(client, world, db):
    await sign_in(client, world.olivia)
    await client.get("/o/acme/members")
    client.cookies.clear()
    response = await post_form(client, "/login", {"email": "olivia@acme.example", "password": PASSWORD})
    assert response.url.path == "/o/acme"
    assert [e.target_label for e in await events(db, "user.signed_in")] == ["olivia@acme.example"]


async def test_wrong_password_and_unknown_email_get_the_same_answer(client, world, db):
    wrong_password = await post_form(client, "/login", {"email": "olivia@acme.example", "password": "nope nope"})
    unknown_email = await post_form(client, "/login", {"email": "nobody@acme.example", "password": "nope nope"})
    assert wrong_password.status_code == unknown_email.status_code
    message = "match an account"
    assert message in wrong_password.text and message in unknown_email.text
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731 - the typed email differs
    assert strip(wrong_password.text).replace("olivia", "") == strip(unknown_email.text).replace("nobody", "")
    assert client.cookies.get(SESSION_COOKIE) is None
    failed = await events(db, "user.sign_in_failed")
    assert [e.target_label for e in failed] == ["olivia@acme.example", "(unknown account)"]
    assert failed[0].target_id == str(world.olivia.id)


async def test_sign_in_issues_a_new_session_id(client, world, db):
    old_token = await sign_in(client, world.olivia)
    await post_form(client, "/login", {"email": "olivia@acme.example", "password": PASSWORD})
    new_token = client.cookies.get(SESSION_COOKIE)
    assert new_token and new_token != old_token
    hashes = set(await db.scalars(select(UserSession.token_hash)))
    assert hash_token(old_token) not in hashes, "the session from before sign-in is gone"
    assert hash_token(new_token) in hashes


async def test_sign_in_upgrades_a_hash_made_with_weaker_parameters(client, world, db):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    user = await db.get(User, world.mia.id)
    user.password_hash = weak
    await db.commit()
    await post_form(client, "/login", {"email": "mia@acme.example", "password": PASSWORD})
    await db.refresh(user)
    params = extract_parameters(user.password_hash)
    assert user.password_hash != weak
    assert (params.time_cost, params.memory_cost) == (2, 19 * 1024)


async def test_next_only_goes_to_paths_on_this_site(client, world):
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await post_form(client, "/login", {"email": "mia@acme.example", "password": PASSWORD, "next": evil})
        assert response.url.host == "testserver.local"
        client.cookies.delete(SESSION_COOKIE, domain="testserver.local")
    response = await post_form(
        client, "/login", {"email": "mia@acme.example", "password": PASSWORD, "next": "/o/acme/members"}
    )
    assert response.url.path == "/o/acme/members"


async def test_a_page_that_needs_an_account_sends_to_sign_in_and_back(client, world):
    response = await client.get("/o/acme/members?q=mia", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fo%2Facme%2Fmembers%3Fq%3Dmia"
    page = await client.get(response.headers["location"])
    assert 'name="next" value="/o/acme/members?q=mia"' in page.text


async def test_sign_out_ends_the_session(client, world, db):
    token = await sign_in(client, world.mia)
    response = await post_form(client, "/logout")
    assert response.url.path == "/login"
    assert "You have signed out." in response.text
    assert await count(db, UserSession, UserSession.token_hash == hash_token(token)) == 0
    assert len(await events(db, "user.signed_out")) == 1
    client.cookies.set(SESSION_COOKIE, token, domain="testserver.local")
    assert (await client.get("/account", follow_redirects=False)).status_code == 303, "the old cookie is dead"


async def test_session_cookie_flags(client, world):
    response = await post_form(
        client, "/login", {"email": "mia@acme.example", "password": PASSWORD}, follow_redirects=False
    )
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie, "plain http in tests: Secure would make the cookie unusable"


async def test_session_cookie_is_secure_when_served_over_https(database_urls, backend, engine):
    from litestar.testing import AsyncTestClient

    from tenantry.app import create_app

    app = create_app(base_settings(database_urls[backend], base_url="https://portal.example"))
    async with AsyncTestClient(app, base_url="https://portal.example") as client:
        await client.get("/signup")
        response = await client.post(
            "/signup",
            data={
                "name": "Nora",
                "email": "nora@initech.example",
                "password": PASSWORD,
                "_csrf_token": client.cookies.get("tenantry_csrf"),
            },
            follow_redirects=False,
        )
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
        assert "Secure" in cookie
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_idle_session_times_out(client, world, db, monkeypatch, settings):
    await sign_in(client, world.mia)
    assert (await client.get("/account")).status_code == 200
    travel(monkeypatch, minutes=settings.session_idle_minutes + 1)
    response = await client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    page = await client.get(response.headers["location"])
    assert "Your session ended after a period of inactivity" in page.text
    assert await count(db, UserSession) == 0


async def test_active_session_still_ends_at_the_absolute_timeout(client, world, monkeypatch, settings):
    await sign_in(client, world.mia)
    step = settings.session_idle_minutes - 5
    elapsed = 0
    while elapsed + step < settings.session_absolute_hours * 60:
        travel(monkeypatch, minutes=step)
        elapsed += step
        assert (await client.get("/account")).status_code == 200, "activity keeps the session alive"
    travel(monkeypatch, minutes=step)
    assert (await client.get("/account", follow_redirects=False)).status_code == 303


async def test_sessions_page_lists_devices_and_signs_one_out(client, world, db):
    await sign_in(
        client,
        world.mia,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    )
    phone = client.cookies.get(SESSION_COOKIE)
    await sign_in(
        client,
        world.mia,
        user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    )
    page = await client.get("/account/sessions")
    assert "Mobile Safari on iOS" in page.text
    assert "Chrome on Linux" in page.text
    assert "This browser" in page.text

    phone_session = await db.scalar(select(UserSession).where(UserSession.token_hash == hash_token(phone)))
    response = await post_form(client, f"/account/sessions/{phone_session.id}/revoke")
    assert "That session has been signed out." in response.text
    assert await count(db, UserSession, UserSession.id == phone_session.id) == 0
    assert len(await events(db, "user.session_revoked")) == 1


async def test_nobody_can_revoke_someone_elses_session(client, world, db):
    await sign_in(client, world.gus)
    gus_session = await db.scalar(select(UserSession))
    await sign_in(client, world.mia)
    response = await post_form(client, f"/account/sessions/{gus_session.id}/revoke")
    assert "already ended" in response.text
    assert await count(db, UserSession, UserSession.id == gus_session.id) == 1


async def test_sign_out_all_other_sessions(client, world, db):
    for _ in range(3):
        await sign_in(client, world.mia)
    response = await post_form(client, "/account/sessions/revoke-others")
    assert "Signed out of 2 other sessions." in response.text
    assert await count(db, UserSession) == 1
    assert (await client.get("/account")).status_code == 200, "this browser stays signed in"


async def test_profile_name_change(client, world, db):
    await sign_in(client, world.mia)
    response = await post_form(client, "/account/profile", {"name": "Mia Martínez"})
    assert "Your name has been saved." in response.text
    assert "Mia Martínez" in response.text
    [event] = await events(db, "user.profile_updated")
    assert event.before == {"name": "Mia Member"} and event.after == {"name": "Mia Martínez"}
    response = await post_form(client, "/account/profile", {"name": "   "})
    assert response.status_code == 422
    assert field_error(response.text, "name") == "This field is required."


async def test_password_change_needs_the_current_password_and_signs_out_elsewhere(client, world, db):
    other_browser = await sign_in(client, world.mia)
    await sign_in(client, world.mia)
    wrong = await post_form(
        client, "/account/password", {"current_password": "nope", "new_password": "a brand new passphrase"}
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "current_password") == "That isn't your current password."

    response = await post_form(
        client, "/account/password", {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    )
    assert "Your password has been changed." in response.text
    assert await count(db, UserSession) == 1, "only this browser's fresh session remains"
    assert await count(db, UserSession, UserSession.token_hash == hash_token(other_browser)) == 0
    assert len(await events(db, "user.password_changed")) == 1
    client.cookies.clear()
    login = await post_form(client, "/login", {"email": "mia@acme.example", "password": "a brand new passphrase"})
    assert login.url.path == "/o/acme"


async def test_sign_in_is_rate_limited_per_email(database_urls, backend, engine, world_factory):
    async with world_factory(signin_limit_per_email=3) as (client, _world):
        for _ in range(3):
            response = await post_form(client, "/login", {"email": "mia@acme.example", "password": "wrong one"})
            assert response.status_code == 200
        response = await post_form(client, "/login", {"email": "mia@acme.example", "password": PASSWORD})
        assert response.status_code == 429
        assert "Too many attempts" in response.text
        assert int(response.headers["retry-after"]) > 0
        other = await post_form(client, "/login", {"email": "adam@acme.example", "password": PASSWORD})
        assert other.url.path == "/o/acme", "another account from the same place is not blocked"


async def test_sign_in_is_rate_limited_per_ip(world_factory):
    async with world_factory(signin_limit_per_ip=4) as (client, _world):
        for email in ("a@x.example", "b@x.example", "c@x.example", "d@x.example"):
            await post_form(client, "/login", {"email": email, "password": "wrong one"})
        response = await post_form(client, "/login", {"email": "mia@acme.example", "password": PASSWORD})
        assert response.status_code == 429


async def test_sign_up_is_rate_limited_per_ip(world_factory):
    async with world_factory(signup_limit_per_ip=2) as (client, _world):
        for n in range(2):
            await post_form(client, "/signup", {"name": "X", "email": f"x{n}@x.example", "password": "short"})
        response = await post_form(client, "/signup", {"name": "X", "email": "y@x.example", "password": PASSWORD})
        assert response.status_code == 429


async def test_forms_without_csrf_token_are_refused(client, world, db):
    await sign_in(client, world.mia)
    response = await client.post("/account/profile", data={"name": "Hacked"})
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert (await db.get(User, world.mia.id)).name == "Mia Member"
    ok = await client.post(
        "/account/profile", data={"name": "Mia M"}, headers={"x-csrftoken": await csrf_token(client)}
    )
    assert ok.status_code == 200, "htmx sends the token as a header instead"


async def test_the_same_address_signed_up_twice_at_once_is_a_clear_message(client, world, db, monkeypatch):
    import tenantry.accounts.services as account_services

    async def nobody(*args, **kwargs):
        return None  # as if the other tab's insert landed just after our check

    monkeypatch.setattr(account_services, "find_user_by_email", nobody)
    response = await sign_up(client, email="mia@acme.example")
    assert response.status_code == 422
    assert "already exists" in field_error(response.text, "email")
    assert await count(db, User) == 6


async def test_sessions_that_timed_out_are_not_listed_nor_counted(client, world, db, monkeypatch, settings):
    await sign_in(client, world.mia, user_agent="forgotten laptop")
    travel(monkeypatch, hours=settings.session_absolute_hours + 1)
    await sign_in(client, world.mia, user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36")
    page = await client.get("/account/sessions")
    assert "forgotten laptop" not in page.text
    response = await post_form(client, "/account/sessions/revoke-others")
    assert "There were no other sessions to sign out." in response.text


async def test_signing_in_forgets_the_users_timed_out_sessions(client, world, db, monkeypatch, settings):
    await sign_in(client, world.mia, user_agent="old")
    travel(monkeypatch, minutes=settings.session_idle_minutes + 1)
    client.cookies.clear()
    await post_form(client, "/login", {"email": "mia@acme.example", "password": PASSWORD})
    remaining = list(await db.scalars(select(UserSession)))
    assert len(remaining) == 1 and remaining[0].user_agent != "old"


async def test_the_per_email_limit_counts_lookalike_addresses_too(world_factory):
    fullwidth_a, ideographic_stop = "\uff41", "\u3002"
    async with world_factory(signin_limit_per_email=3) as (client, _world):
        for variant in ("mia@acme.example", "MIA@acme.example", f"mia@{fullwidth_a}cme.example"):
            await post_form(client, "/login", {"email": variant, "password": "wrong one"})
        lookalike = f"mia@acme{ideographic_stop}example"
        response = await post_form(client, "/login", {"email": lookalike, "password": PASSWORD})
        assert response.status_code == 429
