"""An owner runs their org: members search, settings, address change, sessions, deletion."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tenantry.access.permissions import BuiltinRole
from tenantry.access.services import template_role
from tenantry.audit.services import Actor
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization
from tests.conftest import base_settings
from tests.e2e.conftest import look, run_async, sign_in, sign_up, unique_email, watch_console


def seed_members(database_url: str, slug: str, names: list[str]) -> None:
    """Put people into an org straight through the services (invitations come later)."""

    async def seed() -> None:
        from tenantry.accounts.services import create_user

        engine = create_engine(base_settings(database_url))
        try:
            async with create_sessionmaker(engine)() as db:
                org = await db.scalar(select(Organization).where(Organization.slug == slug))
                member = await template_role(db, BuiltinRole.MEMBER)
                for name in names:
                    email = f"{name.split()[0].lower()}-{org.id.hex[:6]}@e2e.example"
                    user = await create_user(db, name=name, email=email, password_hash=None, actor=Actor.system())
                    await create_membership(db, org=org, user=user, roles=[member], actor=Actor.system())
                await db.commit()
        finally:
            await engine.dispose()

    run_async(seed)


def create_org(page: Page, name: str) -> str:
    page.goto("/orgs/new")
    page.get_by_label("Organization name").fill(name)
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url(re.compile(r"/o/[a-z0-9-]+$"))
    return page.url.rsplit("/", 1)[-1]


def test_owner_manages_members_settings_sessions_and_deletes(page: Page, new_context, server):
    email = unique_email("olga")
    sign_up(page, server, "Olga Owner", email)
    slug = create_org(page, "Umbrella Health")
    seed_members(server.database_url, slug, ["Zoe Zimmer", "Yusuf Yilmaz", "Xavier Xu", "Wanda Wu"])

    # Search as you type: the table narrows without a page load; the URL follows.
    page.goto(f"/o/{slug}/members")
    expect(page.locator(".cell-person__name")).to_have_count(5)
    look(page, "10-members")
    page.get_by_label("Search members by name or email").fill("yus")
    expect(page.locator(".cell-person__name")).to_have_count(1)
    expect(page.locator(".cell-person__name")).to_have_text("Yusuf Yilmaz")
    expect(page).to_have_url(re.compile(r"q=yus"))
    page.get_by_label("Search members by name or email").fill("nobody-here")
    expect(page.get_by_text("No member matches “nobody-here”")).to_be_visible()
    look(page, "11-members-empty-search")

    # Settings: a bad address is explained next to the field; a good one moves the org.
    page.goto(f"/o/{slug}/settings")
    look(page, "12-settings")
    page.get_by_label("New address").fill("Umbrella Health!")
    page.get_by_role("button", name="Change address").click()
    expect(page.locator("#field-slug-error")).to_contain_text("Use lowercase letters")
    expect(page.get_by_label("New address")).to_be_focused()
    look(page, "13-settings-error")
    page.get_by_label("New address").fill("umbrella")
    page.get_by_role("button", name="Change address").click()
    expect(page).to_have_url(re.compile(r"/o/umbrella/settings$"))
    expect(page.get_by_text(f"Links to /o/{slug} keep working.")).to_be_visible()
    page.goto(f"/o/{slug}/members")
    expect(page).to_have_url(re.compile(r"/o/umbrella/members$"))

    # Sessions: another browser signs in; this one signs it out through the confirm dialog.
    phone = new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(phone, email)
    page.goto("/account/sessions")
    expect(page.locator(".session")).to_have_count(2)
    look(page, "14-sessions")
    page.get_by_role("button", name="Sign out all other sessions").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Sign out of all other sessions?")
    look(page, "15-confirm-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".session")).to_have_count(2)
    page.get_by_role("button", name="Sign out all other sessions").click()
    page.locator("dialog.confirm").get_by_role("button", name="Sign out others").click()
    expect(page.get_by_text("Signed out of 1 other session.")).to_be_visible()
    phone.goto("/account")
    expect(phone).to_have_url(re.compile(r"/login"))

    # Profile page.
    page.goto("/account")
    look(page, "16-profile")

    # Delete, with the address typed to confirm.
    page.goto("/o/umbrella/settings")
    page.get_by_role("link", name="Delete organization…").click()
    look(page, "17-delete")
    page.get_by_label("To confirm, type “umbrella”").fill("umbrela")
    page.get_by_role("button", name="Delete this organization").click()
    expect(page.locator("#field-confirm-error")).to_have_text("Type “umbrella” exactly to confirm.")
    page.get_by_label("To confirm, type “umbrella”").fill("umbrella")
    page.get_by_role("button", name="Delete this organization").click()
    expect(page.get_by_text("Umbrella Health has been deleted.")).to_be_visible()
    expect(page.get_by_role("heading", name="Create your first organization")).to_be_visible()
    assert page.console_errors == [], page.console_errors


def test_a_member_sees_403_in_the_org_layout(page: Page, new_context, server):
    owner_email, member_email = unique_email("owen"), unique_email("mona")
    sign_up(page, server, "Owen Owner", owner_email)
    slug = create_org(page, "Wayne Works")
    member = new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(member)
    sign_up(member, server, "Mona Member", member_email)

    async def join() -> None:
        from tenantry.accounts.services import find_user_by_email

        engine = create_engine(base_settings(server.database_url))
        async with create_sessionmaker(engine)() as db:
            org = await db.scalar(select(Organization).where(Organization.slug == slug))
            user = await find_user_by_email(db, member_email)
            role = await template_role(db, BuiltinRole.MEMBER)
            await create_membership(db, org=org, user=user, roles=[role], actor=Actor.system())
            await db.commit()
        await engine.dispose()

    run_async(join)
    member.goto(f"/o/{slug}")
    expect(member.get_by_role("link", name="Settings")).to_have_count(0), "no tab for what you can't do"
    response = member.goto(f"/o/{slug}/settings")
    assert response.status == 403
    expect(member.get_by_role("heading", name="You don't have access to this page")).to_be_visible()
    expect(member.get_by_role("link", name="Back to Wayne Works")).to_be_visible()
    look(member, "18-forbidden")


def test_a_double_click_creates_one_organization(page: Page, server):
    sign_up(page, server, "Dora Double", unique_email("dora"))
    page.get_by_label("Organization name").fill("Twice Inc")
    page.get_by_role("button", name="Create organization").dblclick()
    expect(page).to_have_url(re.compile(r"/o/twice-inc$"))
    page.goto("/orgs")
    expect(page.locator(".org-card")).to_have_count(1)
