"""What every response carries, the probes, the error pages."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tenantry.app import create_app
from tests.conftest import base_settings
from tests.integration.conftest import sign_in


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/o/acme",
        "/o/acme/settings",
        "/no/such/page",
        "/static/css/app.css",
        "/healthz",
        "/o/globex",
    ],
)
async def test_security_headers_on_every_response(client, world, path):
    await sign_in(client, world.mia)
    response = await client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in {"same-origin", "no-referrer"}
    assert response.headers["x-frame-options"] == "DENY"
    assert len(response.headers["x-request-id"]) >= 8


async def test_pages_have_no_inline_script_or_style(client, world):
    await sign_in(client, world.olivia)
    for path in ("/login", "/o/acme", "/o/acme/members", "/o/acme/settings", "/account", "/account/sessions"):
        html = (await client.get(path)).text
        assert "<script>" not in html and "<script >" not in html, path
        assert " style=" not in html and "<style" not in html, path
        assert " on" + "click=" not in html, path


async def test_the_request_id_is_always_the_servers_own(client):
    first = await client.get("/healthz", headers={"x-request-id": "chosen-by-the-client"})
    assert first.headers["x-request-id"] != "chosen-by-the-client"
    second = await client.get("/healthz")
    assert len(first.headers["x-request-id"]) == 32 and first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_health_probes(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok", "database": "ok"}


async def test_readyz_says_when_the_database_is_unreachable(tmp_path):
    settings = base_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    app.on_startup.clear()  # start without the database
    async with AsyncTestClient(app) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable"
        assert (await client.get("/healthz")).status_code == 200


async def test_unknown_page_is_a_friendly_404(client, world):
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Go to your organizations" in response.text


async def test_a_crash_is_a_friendly_500_with_a_reference(client, world, monkeypatch):
    import tenantry.orgs.controllers as controllers

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(controllers, "count_active_members", broken)
    await sign_in(client, world.mia)
    response = await client.get("/o/acme")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert response.headers["x-request-id"] in response.text
    assert "boom" not in response.text and "Traceback" not in response.text


async def test_an_oversized_upload_gets_a_clear_page(client, world):
    await sign_in(client, world.olivia)
    token = client.cookies.get("tenantry_csrf") or ""
    response = await client.post(
        "/o/acme/settings/branding",
        data={"_csrf_token": token},
        files={"logo": ("big.png", b"x" * (11 * 1024 * 1024), "image/png")},
        headers={"x-csrftoken": token, "referer": "http://testserver.local/o/acme/settings"},
    )
    assert response.status_code == 413
    assert "That upload is too large" in response.text
    assert 'href="/o/acme/settings"' in response.text, "a way back to the form"


async def test_openapi_document_is_served(client):
    response = await client.get("/api/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Tenantry management API"


async def test_static_files_are_cached_and_versioned(client, world):
    await sign_in(client, world.mia)
    page = (await client.get("/o/acme")).text
    assert "/static/css/app.css?v=" in page
    css = await client.get("/static/css/app.css")
    assert "max-age=31536000" in css.headers["cache-control"]
    htmx = await client.get("/static/vendor/htmx-2.0.11/htmx.min.js")
    assert htmx.status_code == 200 and 'version:"2.0.11"' in htmx.text


async def test_a_failed_commit_is_never_reported_as_success(client, world, db, monkeypatch):
    """The change and its event are lost together, and the user is told so."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.ext.asyncio import AsyncSession

    from tenantry.audit.models import AuditEvent
    from tenantry.orgs.models import Organization
    from tests.integration.conftest import count, post_form

    await sign_in(client, world.adam)
    await client.get("/o/acme/settings")
    real_commit = AsyncSession.commit
    failures = []

    async def failing_commit(self):
        if not failures:
            failures.append(True)
            raise OperationalError("COMMIT", {}, Exception("connection lost"))
        return await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)
    response = await post_form(client, "/o/acme/settings/slug", {"slug": "acme-two"}, follow_redirects=False)
    monkeypatch.setattr(AsyncSession, "commit", real_commit)

    assert response.status_code == 500
    assert "Your change was not saved" in response.text
    assert response.headers["x-request-id"] in response.text
    assert "location" not in response.headers
    assert await count(db, Organization, Organization.slug == "acme") == 1
    assert await count(db, AuditEvent, AuditEvent.action == "org.slug_changed") == 0


async def test_opening_a_form_submission_address_goes_to_the_form(client, world):
    await sign_in(client, world.adam)
    response = await client.get("/o/acme/settings/name", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/o/acme/settings"
    response = await client.get("/account/profile", follow_redirects=False)
    assert response.headers["location"] == "/account"


async def test_too_many_attempts_offers_an_anonymous_visitor_to_sign_in(world_factory):
    from tests.integration.conftest import post_form

    async with world_factory(signin_limit_per_ip=1) as (client, _world):
        await post_form(client, "/login", {"email": "a@x.example", "password": "wrong one"})
        response = await post_form(client, "/login", {"email": "a@x.example", "password": "wrong one"})
        assert response.status_code == 429
        assert 'href="/login">Sign in</a>' in response.text
        assert "Go to your organizations" not in response.text


async def test_pages_are_not_kept_in_the_browser_cache(client, world):
    await sign_in(client, world.mia)
    page = await client.get("/o/acme/members")
    assert page.headers["cache-control"] == "no-store"
