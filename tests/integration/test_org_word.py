"""TENANTRY_ORG_WORD: a deployment that calls an organization a "workspace" never says "organization"
on a page, in an email or in the activity log (lib/words.py)."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from tenantry.access.services import sync_role_templates
from tenantry.app import create_app
from tenantry.audit.sentences import describe
from tenantry.config import ConfigError
from tenantry.lib.words import Words, install_words, words
from tenantry.mail.models import OutboxMessage
from tenantry.runtime import runtime_of
from tests.conftest import base_settings
from tests.integration.conftest import events, post_form, sign_in
from tests.integration.test_route_table import endpoints

# Routes that answer no page a person reads: the API schema, health checks, images, exports.
NOT_PAGES = ("/api/", "/healthz", "/readyz", "/media/", "/theme/", "/static/")
# Attributes a person reads or hears (a screen reader speaks aria-label and title).
READ_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "data-confirm", "data-confirm-detail"}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def restore_default_word():
    """The word is per process (like a locale): put the default back for the tests that follow."""
    yield
    install_words(Words())


@pytest.fixture
async def workspace_world(world_factory, restore_default_word):
    async with world_factory(org_word="workspace") as (client, world):
        # The personas' world syncs the built-in roles from the default catalog; a deployment syncs
        # them at start-up from its own, in its own word.
        async with client.test_sessionmaker() as db:
            await sync_role_templates(db, runtime_of(client.app).catalog)
            await db.commit()
        yield client, world


def real_ids(world) -> dict[str, str]:
    return {
        "slug": "acme",
        "role_id": str(world.developer.id),
        "group_id": str(world.engineering.id),
        "membership_id": str(world.memberships["adam"].id),
        "key": "api:access",
        "org_id": str(world.acme.id),
        "user_id": str(world.mia.id),
    }


async def pages_of(client, world) -> dict[str, str]:
    """Every GET page whose address can be filled from the personas, as text: url -> text."""
    ids = real_ids(world)
    seen = {}
    for endpoint in endpoints(client.app):
        template = endpoint.template
        if endpoint.method != "GET" or template.startswith(NOT_PAGES):
            continue
        names = re.findall(r"\{(\w+):\w+\}", template)
        if any(name not in ids for name in names):
            continue
        url = re.sub(r"\{(\w+):\w+\}", lambda m: ids[m.group(1)], template)
        response = await client.get(url, follow_redirects=False)
        assert response.status_code < 500, url
        if response.headers.get("content-type", "").startswith("text/html"):
            seen[url] = visible_text(response.text)
    return seen


async def test_every_page_says_the_deployments_word(workspace_world):
    client, world = workspace_world
    await sign_in(client, world.olivia)
    owner_pages = await pages_of(client, world)
    await sign_in(client, world.sam)
    staff_pages = {url: text for url, text in (await pages_of(client, world)).items() if url.startswith("/staff")}
    await sign_in(client, world.mia)
    forbidden = visible_text((await client.get("/o/acme/settings")).text)
    not_found = visible_text((await client.get("/no/such/page")).text)

    pages = {**owner_pages, **staff_pages, "403": forbidden, "404": not_found}
    assert len(owner_pages) >= 20 and len(staff_pages) >= 3
    for url, text in pages.items():
        assert "organization" not in text.lower(), (url, text[text.lower().find("organization") - 80 :][:200])

    # Where the default deployment says "organization", this one says "workspace".
    assert "Your workspaces" in owner_pages["/orgs"] and "Create workspace" in owner_pages["/orgs"]
    assert "Create a workspace" in owner_pages["/orgs/new"] and "Workspace name" in owner_pages["/orgs/new"]
    assert "Delete this workspace" in owner_pages["/o/acme/settings"]
    assert "Workspace administration" in owner_pages["/o/acme/permissions"]
    assert "Full control, including deleting the workspace." in owner_pages["/o/acme/roles"]
    assert "created the workspace acme" in owner_pages["/o/acme/activity"]
    assert "Workspaces" in staff_pages["/staff/orgs"] and "Deleted workspaces" in staff_pages["/staff/orgs/deleted"]
    assert "Your role in this workspace doesn't include this." in forbidden
    assert "go back to your workspaces" in not_found


async def test_invitation_and_welcome_emails_say_the_deployments_word(workspace_world):
    client, world = workspace_world
    await sign_in(client, world.olivia)
    invited = await post_form(
        client, "/o/acme/invitations", {"emails": "kim@example.org"}, files={"csv": ("", b"", "")}
    )
    assert invited.status_code < 400
    created = await post_form(client, "/o/acme/members/new", {"name": "Carl Created", "email": "carl@example.org"})
    assert created.status_code < 400
    async with client.test_sessionmaker() as db:
        mails = {mail.kind: mail for mail in await db.scalars(select(OutboxMessage))}
    for kind in ("invitation", "welcome"):
        mail = mails[kind]
        body = unescape(re.sub(r"<[^>]+>", " ", mail.html_body))
        assert "the workspace Acme" in mail.text_body and "the workspace" in body, kind
        assert "organization" not in (mail.subject + mail.text_body + body).lower(), kind


async def test_activity_sentences_say_the_deployments_word(workspace_world):
    client, world = workspace_world
    async with client.test_sessionmaker() as db:
        [created] = [e for e in await events(db, "org.created") if e.org_id == world.acme.id]
    assert words().org == "workspace"
    assert describe(created).endswith("created the workspace acme")
    await sign_in(client, world.olivia)
    page = visible_text((await client.get("/o/acme/activity")).text)
    assert "Workspace" in page  # the filter's group of workspace events


async def test_the_default_deployment_says_organization(client, world, db):
    assert words() == Words() and words().an_org == "an organization"
    await sign_in(client, world.olivia)
    page = visible_text((await client.get("/orgs")).text)
    assert "Your organizations" in page and "Create organization" in page
    [created] = [e for e in await events(db, "org.created") if e.org_id == world.acme.id]
    assert describe(created).endswith("created the organization acme")


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"org_word": ""}, "TENANTRY_ORG_WORD"),
        ({"org_word": "work space!"}, "TENANTRY_ORG_WORD"),
        ({"org_word": "x" * 31}, "TENANTRY_ORG_WORD"),
        ({"org_word": "team", "org_word_plural": "team<s>"}, "TENANTRY_ORG_WORD_PLURAL"),
    ],
)
def test_start_up_refuses_a_word_that_is_not_one(overrides, setting, restore_default_word):
    with pytest.raises(ConfigError, match=setting):
        create_app(base_settings("sqlite+aiosqlite:///:memory:", **overrides))


def test_the_words_read_well():
    assert Words("workspace", "workspaces").an_org == "a workspace"
    assert Words("office", "offices").An_org == "An office"
    assert Words("team", "teams").Orgs == "Teams"
    assert Words.from_settings(base_settings("sqlite+aiosqlite:///:memory:", org_word=" Team ")).orgs == "teams"
    assert (
        Words.from_settings(
            base_settings("sqlite+aiosqlite:///:memory:", org_word="company", org_word_plural="companies")
        ).orgs
        == "companies"
    )
