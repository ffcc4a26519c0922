"""Tests that walk the app's own route table, so a route is covered the day it is added.

- every org-scoped route: a non-member gets 404, a member without the permission gets 403;
- every unsafe route refuses a request without a CSRF token;
- every route that isn't public sends an anonymous visitor to sign in.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import update

from tenantry.access.permissions import Permission
from tenantry.api.auth import SCOPE_OPT
from tenantry.api.router import API_PREFIX
from tenantry.app import ORG_PREFIX, _check_org_routes_declare_permission
from tenantry.audit.models import AuditEvent
from tenantry.config import ConfigError
from tenantry.members.models import Membership, MembershipStatus
from tenantry.orgs.context import PERMISSION_OPT
from tenantry.support.web import DURING_IMPERSONATION
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import count, csrf_token, post_form, sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PLACEHOLDERS = {"uuid": lambda: str(uuid.uuid4()), "str": lambda: "x", "int": lambda: "1"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str
    opt: dict

    @property
    def is_org_scoped(self) -> bool:
        return self.template.startswith(ORG_PREFIX)

    def url(self, slug: str) -> str:
        path = self.template.replace(ORG_PREFIX, f"/o/{slug}")
        return re.sub(r"\{(\w+):(\w+)\}", lambda m: PLACEHOLDERS[m.group(2)](), path)

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def endpoints(app: Litestar, *, api: bool = False) -> list[Endpoint]:
    """The portal's routes; with api=True, the JSON API's instead (bearer keys: no session, no CSRF)."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/static"):
            continue
        if route.path.startswith(API_PREFIX) != api:
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method not in {"OPTIONS", "HEAD"}:
                    found.append(Endpoint(method=method, template=route.path, opt=handler.opt))
    return found


REASON_FORM = {"reason": "Checking the route table refuses changes", "minutes": "30"}


async def call(client, endpoint: Endpoint, slug: str = "acme", *, with_csrf: bool = True):
    headers = {"x-csrftoken": await csrf_token(client)} if with_csrf else {}
    return await client.request(endpoint.method, endpoint.url(slug), headers=headers, follow_redirects=False)


def test_the_route_table_has_org_routes_and_unsafe_routes(app):
    found = endpoints(app)
    assert sum(e.is_org_scoped for e in found) >= 8
    assert sum(e.method in UNSAFE for e in found) >= 10


async def test_every_org_route_is_404_for_a_non_member(client, world):
    await sign_in(client, world.gus)
    for endpoint in [e for e in endpoints(client.app) if e.is_org_scoped]:
        response = await call(client, endpoint)
        assert response.status_code == 404, endpoint
        assert "Acme" not in response.text, f"{endpoint} must not hint that the org exists"


async def test_every_org_route_is_404_for_a_deactivated_member(client, world, db):
    await db.execute(
        update(Membership).where(Membership.user_id == world.adam.id).values(status=MembershipStatus.INACTIVE)
    )
    await db.commit()
    await sign_in(client, world.adam)
    for endpoint in [e for e in endpoints(client.app) if e.is_org_scoped]:
        assert (await call(client, endpoint)).status_code == 404, endpoint


async def test_every_org_route_is_404_for_an_org_that_does_not_exist(client, world):
    await sign_in(client, world.olivia)
    for endpoint in [e for e in endpoints(client.app) if e.is_org_scoped]:
        assert (await call(client, endpoint, slug="no-such-org")).status_code == 404, endpoint


async def test_every_org_route_needing_a_permission_is_403_for_a_member_without_it(client, world):
    await sign_in(client, world.mia)  # the member role: members:read only
    checked = 0
    for endpoint in [e for e in endpoints(client.app) if e.is_org_scoped]:
        required = endpoint.opt[PERMISSION_OPT]
        if required is None or required == Permission.MEMBERS_READ:
            continue
        response = await call(client, endpoint)
        assert response.status_code == 403, endpoint
        assert "You don&#39;t have access to this page" in response.text
        checked += 1
    assert checked >= 6


async def test_every_org_route_declares_the_permission_it_needs(app):
    for endpoint in [e for e in endpoints(app) if e.is_org_scoped]:
        assert PERMISSION_OPT in endpoint.opt, endpoint
        required = endpoint.opt[PERMISSION_OPT]
        assert required is None or required in set(Permission), endpoint


async def test_every_staff_route_is_404_for_anyone_but_staff(client, world):
    staff_routes = [e for e in endpoints(client.app) if e.template.startswith("/staff/")]
    assert len(staff_routes) >= 3
    for who in (world.olivia, world.gus):
        await sign_in(client, who)
        for endpoint in staff_routes:
            response = await call(client, endpoint)
            assert response.status_code == 404, endpoint
    await sign_in(client, world.sam)
    real = {"org_id": str(world.acme.id), "user_id": str(world.mia.id)}
    for endpoint in [e for e in staff_routes if e.method == "GET"]:
        url = re.sub(r"\{(\w+):\w+\}", lambda m: real[m.group(1)], endpoint.template)
        assert (await client.get(url, follow_redirects=False)).status_code == 200, endpoint


async def test_every_unsafe_route_refuses_a_read_only_impersonation(client, world, db):
    """Sam views Acme as Olivia (its owner, who may do anything there): every change is refused
    with the read-only message, whatever the route, and nothing but the trail is written."""
    await sign_in(client, world.sam)
    started = await post_form(client, f"/staff/orgs/{world.acme.id}/impersonate", REASON_FORM, follow_redirects=False)
    assert started.status_code == 303
    changes_before = await count(db, AuditEvent, AuditEvent.action != "support.request")
    unsafe = [e for e in endpoints(client.app) if e.method in UNSAFE and not e.opt.get(DURING_IMPERSONATION)]
    assert len(unsafe) >= 30
    for endpoint in unsafe:
        response = await call(client, endpoint)
        assert response.status_code == 403, endpoint
        assert "Read-only: nothing was changed" in response.text, endpoint
    assert await count(db, AuditEvent, AuditEvent.action != "support.request") == changes_before
    assert "viewing as" in (await client.get("/o/acme")).text, "still impersonating, nothing ended it"


def test_an_org_route_without_a_declared_permission_stops_start_up():
    from litestar import Router, get

    @get("/oops")
    async def oops() -> str:
        return "no permission declared"

    app = Litestar(route_handlers=[Router(path=ORG_PREFIX, route_handlers=[oops])])
    with pytest.raises(ConfigError, match="must declare"):
        _check_org_routes_declare_permission(app)


@pytest.mark.parametrize("who", ["olivia", "anonymous"])
async def test_every_unsafe_route_refuses_a_request_without_csrf_token(client, world, who):
    if who == "olivia":
        await sign_in(client, world.olivia)
    unsafe = [e for e in endpoints(client.app) if e.method in UNSAFE]
    for endpoint in unsafe:
        response = await call(client, endpoint, with_csrf=False)
        assert response.status_code == 403, endpoint
        assert "This form has expired" in response.text, endpoint


async def test_every_private_route_sends_an_anonymous_visitor_to_sign_in(client, world):
    for endpoint in endpoints(client.app):
        if endpoint.opt.get("public"):
            continue
        response = await call(client, endpoint)
        assert response.status_code == 303, endpoint
        assert response.headers["location"].startswith("/login"), endpoint


async def test_public_routes_are_few_and_known(app):
    public = sorted({e.template for e in endpoints(app) if e.opt.get("public")})
    assert public == [
        "/",
        "/api/docs",
        "/api/schema",
        "/api/schema/openapi.json",
        "/api/schema/{path:str}",
        "/forgot-password",
        "/healthz",
        "/invite/{token:str}",
        "/invite/{token:str}/signup",
        "/login",
        "/media/logos/{org_id:uuid}/{sha256:str}",
        "/readyz",
        "/reset-password/{token:str}",
        "/set-password/{token:str}",
        "/signup",
        "/theme/accent/{hex_color:str}",
        "/verify-email/{token:str}",
    ]


async def test_every_api_route_answers_401_without_a_key_and_403_without_its_scope(client, world, sessionmaker):
    api = endpoints(client.app, api=True)
    assert len(api) >= 3
    for endpoint in api:
        response = await client.request(endpoint.method, endpoint.url("acme"), json={})
        assert response.status_code == 401, endpoint
        assert response.headers["content-type"].startswith("application/problem+json"), endpoint
    no_scope = await make_key(sessionmaker, scopes=("read",), name="Reader")
    for endpoint in [e for e in api if e.opt.get(SCOPE_OPT) not in (None, "read")]:
        response = await client.request(endpoint.method, endpoint.url("acme"), json={}, headers=bearer(no_scope))
        assert response.status_code == 403, endpoint


async def test_every_page_opens_for_an_owner_with_real_ids(client, world):
    """Every GET route, with ids that exist: a template or query error anywhere shows up here."""
    real = {
        "slug": "acme",
        "role_id": str(world.developer.id),
        "group_id": str(world.engineering.id),
        "membership_id": str(world.memberships["adam"].id),
        "key": "api:access",
        "sha256": "0" * 64,
        "org_id": str(world.acme.id),
        "hex_color": "d97706",
        "path": "openapi.json",
        "token": "not-a-real-token",
        "user_id": str(world.mia.id),
    }
    await sign_in(client, world.olivia)
    opened = 0
    for endpoint in endpoints(client.app):
        if endpoint.method != "GET" or "session_id" in endpoint.template:
            continue
        url = re.sub(r"\{(\w+):\w+\}", lambda m: real[m.group(1)], endpoint.template)
        response = await client.get(url, follow_redirects=False)
        assert response.status_code < 500, (url, response.text[:500])
        opened += 1
    assert opened >= 20
