"""No input gives a 500: every form a user can see, filled with generated strings.

The forms are found by reading the pages, so a new form is fuzzed the day it appears; a test
checks that every unsafe route is reachable through one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenantry.accounts import sessions
from tenantry.api.keys import create_key
from tenantry.audit.services import Actor
from tenantry.lib.clock import utcnow
from tenantry.members.models import MembershipStatus
from tenantry.members.services import create_membership
from tenantry.orgs.models import OrgSettingsOverrides
from tenantry.orgs.services import create_organization
from tenantry.support.models import SupportAccessRequest
from tests.integration.conftest import SEED_SETTINGS, make_invitation, make_user, post_form, sign_in
from tests.integration.test_route_table import UNSAFE, endpoints

# (who is signed in, the page that shows the form, the form's action). {name} stands for an id
# from the personas (see ids()); the action pattern matches any id there.
FORMS = [
    (None, "/signup", "/signup"),
    (None, "/login", "/login"),
    ("olivia", "/account", "/account/profile"),
    ("olivia", "/account", "/account/password"),
    ("olivia", "/account/sessions", "/account/sessions/revoke-others"),
    ("olivia", "/account/sessions", "/account/sessions/{id}/revoke"),
    ("olivia", "/orgs/new", "/orgs/new"),
    ("olivia", "/o/acme/settings", "/o/acme/settings/name"),
    ("olivia", "/o/acme/settings", "/o/acme/settings/slug"),
    ("olivia", "/o/acme/settings", "/o/acme/settings/branding"),
    ("olivia", "/o/acme/settings/delete", "/o/acme/settings/delete"),
    ("olivia", "/o/acme", "/logout"),
    (None, "/forgot-password", "/forgot-password"),
    (None, "/reset-password/{reset}", "/reset-password/{reset}"),
    (None, "/set-password/{set}", "/set-password/{set}"),
    ("nora", "/account", "/account/verification"),
    ("olivia", "/o/acme/members", "/o/acme/members/{mia}/roles"),
    ("olivia", "/o/acme/roles/new", "/o/acme/roles/new"),
    ("olivia", "/o/acme/roles", "/o/acme/roles/default"),
    ("olivia", "/o/acme/roles/{developer}", "/o/acme/roles/{developer}"),
    ("olivia", "/o/acme/roles/{developer}/delete", "/o/acme/roles/{developer}/delete"),
    ("olivia", "/o/acme/groups/new", "/o/acme/groups/new"),
    ("olivia", "/o/acme/groups/{engineering}", "/o/acme/groups/{engineering}"),
    ("olivia", "/o/acme/groups/{engineering}", "/o/acme/groups/{engineering}/roles"),
    ("olivia", "/o/acme/groups/{engineering}", "/o/acme/groups/{engineering}/members/{adam}/remove"),
    ("olivia", "/o/acme/groups/{engineering}/candidates?q=a", "/o/acme/groups/{engineering}/members"),
    ("olivia", "/o/acme/groups/{engineering}/delete", "/o/acme/groups/{engineering}/delete"),
    ("olivia", "/o/acme/members/{mia}", "/o/acme/members/{mia}/deactivate"),
    ("olivia", "/o/acme/members/{ivy}", "/o/acme/members/{ivy}/reactivate"),
    ("olivia", "/o/acme/members/{mia}/remove", "/o/acme/members/{mia}/remove"),
    ("olivia", "/o/acme/settings/transfer", "/o/acme/settings/transfer"),
    ("mia", "/o/acme/leave", "/o/acme/leave"),
    ("olivia", "/o/acme/members/new", "/o/acme/members/new"),
    ("olivia", "/o/acme/plan", "/o/acme/plan/seats"),
    ("olivia", "/o/acme/plan", "/o/acme/plan"),
    ("sam", "/staff/orgs/{acme}/plan", "/staff/orgs/{acme}/plan"),
    ("sam", "/staff/orgs/{acme}/plan", "/staff/orgs/{acme}/plan/override"),
    ("sam", "/staff/orgs/{acme}/plan", "/staff/orgs/{acme}/plan/override/remove"),
    ("olivia", "/o/acme/settings/metadata", "/o/acme/settings/metadata"),
    ("sam", "/staff/users/{mia_user}/metadata", "/staff/users/{mia_user}/metadata"),
    ("olivia", "/o/acme/settings", "/o/acme/settings/policies"),
    ("olivia", "/o/acme/invitations", "/o/acme/invitations"),
    ("olivia", "/o/acme/invitations", "/o/acme/invitations/{pending}/resend"),
    ("olivia", "/o/acme/invitations", "/o/acme/invitations/{pending}/revoke"),
    ("gus", "/invite/{invite_gus}", "/invite/{invite_gus}/accept"),
    (None, "/invite/{invite_new}", "/invite/{invite_new}/signup"),
    ("sam", "/staff/orgs/deleted", "/staff/orgs/{deleted_org}/restore"),
    ("sam", "/staff/orgs/{acme}/impersonate", "/staff/orgs/{acme}/impersonate"),
    ("sam", "/staff/users/{mia_user}/impersonate", "/staff/users/{mia_user}/impersonate"),
    ("sam", "/staff/orgs/{globex}/impersonate", "/staff/orgs/{globex}/access-requests"),
    ("sam", "/o/acme", "/staff/impersonation/end"),  # the banner's button (the test starts one first)
    ("olivia", "/o/acme/settings/support", "/o/acme/settings/support"),
    ("olivia", "/o/acme/settings/support", "/o/acme/settings/support/requests/{support_request}/approve"),
    ("olivia", "/o/acme/settings/support", "/o/acme/settings/support/requests/{support_request}/refuse"),
    ("sam", "/staff/users/{mia_user}", "/staff/users/{mia_user}/sessions/end"),
    ("sam", "/staff/users/{nora_user}", "/staff/users/{nora_user}/verification"),
    ("olivia", "/o/acme/settings/api-keys", "/o/acme/settings/api-keys"),
    ("olivia", "/o/acme/settings/api-keys", "/o/acme/settings/api-keys/{acme_key}/revoke"),
    ("sam", "/staff/api-keys", "/staff/api-keys"),
    ("sam", "/staff/api-keys", "/staff/api-keys/{app_key}/revoke"),
]
TOKENS = {"reset", "set", "invite_gus", "invite_new"}  # placeholders that aren't ids: filled in before matching


async def ids(world, db) -> dict[str, str]:
    from tenantry.accounts.models import TokenPurpose, User
    from tenantry.accounts.tokens import issue_token
    from tenantry.plans.models import PlanOverride

    mia = await db.get(User, world.mia.id)
    tokens = {
        "reset": await issue_token(db, user=mia, purpose=TokenPurpose.RESET_PASSWORD),
        "set": await issue_token(db, user=mia, purpose=TokenPurpose.SET_PASSWORD),
    }
    await db.commit()
    pending, _ = await make_invitation(db, world.acme, "pending@acme.example")
    ivy = await make_user(db, "Ivy Inactive", "ivy@acme.example")
    ivy_in_acme = await create_membership(db, org=world.acme, user=ivy, roles=[], actor=Actor.system())
    ivy_in_acme.status = MembershipStatus.INACTIVE
    await db.commit()
    db.add(PlanOverride(org_id=world.acme.id, extra_seats=1, extra_features=[]))  # so its remove form shows
    await db.commit()
    _, tokens["invite_gus"] = await make_invitation(db, world.acme, "gus@globex.example")
    _, tokens["invite_new"] = await make_invitation(db, world.acme, "fuzzy@acme.example")
    olivia = await db.get(User, world.olivia.id)
    initech = await create_organization(
        db, creator=olivia, name="Initech", slug="initech", brand_color="", logo=None, actor=Actor.system()
    )
    initech.deleted_at = utcnow()
    db.add(OrgSettingsOverrides(org_id=world.globex.id, support_access="approval"))  # its request form shows
    support_request = SupportAccessRequest(org_id=world.acme.id, staff_user_id=world.sam.id, reason="Ticket SUP-3")
    db.add(support_request)
    # A key of Acme and an app key, so both pages show a revoke form.
    acme_key = await create_key(
        db,
        settings=SEED_SETTINGS,
        org=world.acme,
        name="Backend",
        scopes=["read"],
        expires_at=None,
        actor=Actor.system(),
    )
    app_key = await create_key(
        db, settings=SEED_SETTINGS, org=None, name="App", scopes=["check"], expires_at=None, actor=Actor.system()
    )
    # Mia signed in somewhere, so support's page of her shows "Sign out everywhere".
    sessions.create_session(db, user=mia, settings=SEED_SETTINGS, ip="10.0.0.1", user_agent="laptop")
    await db.commit()
    return {
        "globex": str(world.globex.id),
        "support_request": str(support_request.id),
        "developer": str(world.developer.id),
        "engineering": str(world.engineering.id),
        "mia": str(world.memberships["mia"].id),
        "adam": str(world.memberships["adam"].id),
        "pending": str(pending.id),
        "ivy": str(ivy_in_acme.id),
        "acme": str(world.acme.id),
        "mia_user": str(world.mia.id),
        "nora_user": str(world.nora.id),
        "deleted_org": str(initech.id),
        "acme_key": str(acme_key.row.id),
        "app_key": str(app_key.row.id),
        **tokens,
    }


NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\n\r",
    "<script>alert(1)</script>",
    "' OR '1'='1' --",
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    '=HYPERLINK("http://evil.example")',
    "\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48",  # fullwidth letters
    "e\u0301\u0301\u0301",
    "\u202eevil",
    "😀" * 60,
    "x" * 5000,
    "#zzzzzz",
    "acme",
    "a@b",
]
fuzz_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF), min_size=100, max_size=400),
)


class SameApp(httpx.BaseTransport):
    """A synchronous httpx transport onto the test client's app."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)


@dataclass
class Form:
    action: str
    fields: list[str]
    files: list[str]


class FormFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "get").lower() == "post":
            self._current = Form(action=attributes.get("action") or "", fields=[], files=[])
        elif self._current and tag in {"input", "textarea", "select"} and attributes.get("name"):
            name = attributes["name"]
            if name == "_csrf_token":
                return
            (self._current.files if attributes.get("type") == "file" else self._current.fields).append(name)

    def handle_endtag(self, tag):
        if tag == "form" and self._current:
            self.forms.append(self._current)
            self._current = None


def find_form(html: str, action_pattern: str) -> Form:
    finder = FormFinder()
    finder.feed(html)
    regex = re.compile("^" + re.sub(r"\\\{\w+\\\}", "[0-9a-f-]{36}", re.escape(action_pattern)) + "$")
    matches = [f for f in finder.forms if regex.match(f.action)]
    assert matches, f"no form posting to {action_pattern}"
    return matches[0]


def test_every_unsafe_route_has_a_form_here(app):
    covered = {re.sub(r"\{\w+\}", "{}", action) for _, _, action in FORMS}
    for endpoint in endpoints(app):
        if endpoint.method not in UNSAFE:
            continue
        template = re.sub(r"\{\w+:\w+\}", "{}", endpoint.template).replace("/o/{}", "/o/acme")
        assert template in covered, f"{endpoint} has no form in FORMS"


@pytest.mark.parametrize(("who", "page", "action"), FORMS, ids=[f[2] for f in FORMS])
async def test_no_input_gives_a_server_error(client, world, db, who, page, action):
    if who:
        await sign_in(client, getattr(world, who), user_agent="fuzzer")
        await sign_in(client, getattr(world, who))
    values = await ids(world, db)
    if action == "/staff/impersonation/end":
        started = await post_form(
            client, f"/staff/orgs/{world.acme.id}/impersonate", {"reason": "Fuzzing the End button", "minutes": "30"}
        )
        assert started.status_code == 200
    html = (await client.get(page.format(**values))).text
    tokens_filled = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)] if m.group(1) in TOKENS else m.group(0), action)
    form = find_form(html, tokens_filled)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(values=st.fixed_dictionaries({name: fuzz_text for name in form.fields}), blob=st.binary(max_size=2048))
    def post_generated(values, blob):
        token = browser.cookies.get("tenantry_csrf")
        files = {name: ("upload.bin", blob, "application/octet-stream") for name in form.files} or None
        data = {"_csrf_token": token, **values}
        response = browser.post(form.action, data=data, files=files, headers={"x-csrftoken": token})
        assert response.status_code < 500, (form.action, values, response.text[:300])

    # Hypothesis drives plain functions: the same app through a synchronous client (the test
    # client's transport runs the app in its own thread either way).
    transport = SameApp(client._transport)
    with httpx.Client(transport=transport, base_url=client.base_url, cookies=client.cookies) as browser:
        post_generated()


# GET pages with parameters a user (or a crawler) can put anything into.
QUERY_PAGES = [
    (None, "/login", ["next", "expired"]),
    ("olivia", "/o/acme/members", ["q", "cursor"]),
    ("olivia", "/orgs/slug-hint", ["name", "slug"]),
    ("mia", "/orgs/start", ["link"]),
    ("olivia", "/o/acme/activity", ["actor", "action", "target", "since", "until", "cursor"]),
    ("olivia", "/o/acme/activity/export", ["actor", "action", "target", "since", "until", "format"]),
    ("mia", "/account/activity", ["action", "target", "since", "until", "cursor"]),
    ("sam", "/staff/activity", ["actor", "action", "target", "since", "until", "cursor"]),
    ("sam", "/staff/orgs", ["q", "meta", "cursor"]),
    ("sam", "/staff/users", ["q", "cursor"]),
    ("sam", "/staff/orgs/deleted", ["cursor"]),
]


@pytest.mark.parametrize(("who", "path", "params"), QUERY_PAGES, ids=[p[1] for p in QUERY_PAGES])
async def test_no_query_string_gives_a_server_error(client, world, who, path, params):
    if who:
        await sign_in(client, getattr(world, who))

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(values=st.fixed_dictionaries({name: fuzz_text for name in params}))
    def get_generated(values):
        response = browser.get(path, params=values)
        assert response.status_code < 500, (path, values, response.text[:300])

    with httpx.Client(
        transport=SameApp(client._transport), base_url=client.base_url, cookies=client.cookies
    ) as browser:
        get_generated()


async def test_no_org_address_gives_a_server_error(client, world):
    await sign_in(client, world.olivia)

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(slug=fuzz_text.filter(lambda s: s and "/" not in s and s not in {".", ".."}))
    def visit(slug):
        response = browser.get(f"/o/{quote(slug, safe='')}/members")
        assert response.status_code in (200, 301, 404), (slug, response.status_code)

    with httpx.Client(
        transport=SameApp(client._transport), base_url=client.base_url, cookies=client.cookies
    ) as browser:
        visit()
