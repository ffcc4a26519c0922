"""The promise of groups, in the browser: teams get roles; joining a team grants them at once,
leaving takes them away on the next request."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tenantry.access.permissions import BuiltinRole
from tenantry.access.services import template_role
from tenantry.accounts.services import find_user_by_email
from tenantry.audit.services import Actor
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization
from tests.conftest import base_settings
from tests.e2e.conftest import look, run_async, sign_up, unique_email, watch_console


def join_as_member(database_url: str, slug: str, email: str) -> None:
    async def join() -> None:
        engine = create_engine(base_settings(database_url))
        async with create_sessionmaker(engine)() as db:
            org = await db.scalar(select(Organization).where(Organization.slug == slug))
            user = await find_user_by_email(db, email)
            await create_membership(
                db, org=org, user=user, roles=[await template_role(db, BuiltinRole.MEMBER)], actor=Actor.system()
            )
            await db.commit()
        await engine.dispose()

    run_async(join)


def create_role(page: Page, slug: str, name: str, permissions: list[str]) -> None:
    page.goto(f"/o/{slug}/roles/new")
    page.get_by_label("Name", exact=True).fill(name)
    for key in permissions:
        page.locator(f'input[name="permissions"][value="{key}"]').check()
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_text(f"The role “{name}” has been created.")).to_be_visible()


def create_group(page: Page, slug: str, name: str, roles: list[str]) -> None:
    page.goto(f"/o/{slug}/groups/new")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name=name, level=2)).to_be_visible()
    for role in roles:
        page.get_by_role("group", name="Roles of this group").get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Save roles").click()
    expect(page.get_by_text(f"{name}'s roles have been saved")).to_be_visible()


def permission_row(page: Page, key: str):
    return page.locator("table.perm-table tr", has=page.get_by_role("link", name=key, exact=True))


def test_a_new_hire_gains_and_loses_api_access_with_the_engineering_group(page: Page, new_context, server):
    admin_email, hire_email = unique_email("ada"), unique_email("nina")
    sign_up(page, server, "Ada Admin", admin_email)
    page.get_by_label("Organization name").fill("Initech")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]

    create_role(page, slug, "API access", ["api:access"])
    look(page, "20-role-page")
    create_role(page, slug, "Analytics", ["analytics:read", "reports:read"])
    page.goto(f"/o/{slug}/roles/new")
    look(page, "21-role-form")
    page.goto(f"/o/{slug}/roles")
    look(page, "22-roles")

    create_group(page, slug, "Engineering", ["API access"])
    create_group(page, slug, "Marketing", ["Analytics"])
    create_group(page, slug, "Finance", ["Billing manager"])
    page.goto(f"/o/{slug}/groups")
    expect(page.locator("tbody tr")).to_have_count(3)
    look(page, "23-groups")

    hire = new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(hire)
    sign_up(hire, server, "Nina New", hire_email)
    join_as_member(server.database_url, slug, hire_email)
    hire.goto(f"/o/{slug}")
    hire.get_by_role("link", name="What you can do here, and why →").click()
    expect(permission_row(hire, "api:access")).to_have_count(0)

    # The admin puts Nina into Engineering, finding her as they type.
    page.goto(f"/o/{slug}/groups")
    page.get_by_role("link", name="Engineering").click()
    page.get_by_label("Add a member").fill("nin")
    candidate = page.locator("#group-candidates li", has_text="Nina New")
    expect(candidate).to_be_visible()
    look(page, "24-group-add-member")
    candidate.get_by_role("button", name="Add Nina New").click()
    expect(page.get_by_text("Nina New is now in Engineering.")).to_be_visible()
    look(page, "25-group")

    # Nina's very next request: API access, and why.
    hire.reload()
    row = permission_row(hire, "api:access")
    expect(row).to_contain_text("via group Engineering → role API access")
    look(hire, "26-member-can-do")

    # Removed from the group (after confirming), she loses it on her next request.
    page.get_by_role("button", name="Remove Nina New").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.get_by_role("heading")).to_have_text("Remove Nina New from Engineering?")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("Nina New has left Engineering.")).to_be_visible()
    hire.reload()
    expect(permission_row(hire, "api:access")).to_have_count(0)

    # Who holds billing? Nobody yet: Finance has no members.
    page.goto(f"/o/{slug}/permissions/billing:manage")
    expect(page.get_by_text("via group")).to_have_count(0)
    look(page, "27-permission")
    assert page.console_errors == [] and hire.console_errors == [], (page.console_errors, hire.console_errors)


def test_roles_change_inline_on_the_members_list(page: Page, server):
    owner_email, mate_email = unique_email("olaf"), unique_email("milo")
    sign_up(page, server, "Milo Mate", mate_email)
    page.context.clear_cookies()
    sign_up(page, server, "Olaf Owner", owner_email)
    page.get_by_label("Organization name").fill("Hooli")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]
    join_as_member(server.database_url, slug, mate_email)

    page.goto(f"/o/{slug}/members")
    row = page.locator("tbody tr", has_text="Milo Mate")
    row.get_by_text("Change").click()
    look(page, "28-members-inline-edit")
    row.get_by_label("Analyst", exact=True).check()
    url_before = page.url
    row.get_by_role("button", name="Save roles").click()
    expect(row.locator(".saved-note")).to_have_text("Saved")
    expect(row).to_contain_text("Analyst")
    assert page.url == url_before, "the cell changed in place"

    # The owner's own row: the owner role can't be taken from the last owner.
    own = page.locator("tbody tr", has_text="Olaf Owner")
    own.get_by_text("Change").click()
    own.get_by_label("Owner", exact=True).uncheck()
    own.get_by_label("Admin", exact=True).check()
    own.get_by_role("button", name="Save roles").click()
    expect(own.locator(".inline-error")).to_contain_text("is the last owner")
    expect(own.locator(".badges")).to_contain_text("Owner")
