"""Deleting an org and getting it back: the owner deletes it, it is gone for everyone at once;
support restores it from the deleted list within the window."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, make_staff, sign_in, sign_up, unique_email, watch_console


def test_support_restores_an_org_its_owner_deleted(page: Page, server):
    watch_console(page)
    owner = unique_email("rhea")
    sign_up(page, server, "Rhea Restore", owner)
    page.get_by_label("Organization name").fill("Soylent Works")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]

    page.goto(f"/o/{slug}/settings/delete")
    expect(page.get_by_text("within 30 days")).to_be_visible()
    page.get_by_label(f"To confirm, type “{slug}”").fill(slug)
    page.get_by_role("button", name="Delete this organization").click()
    expect(page.get_by_text("Soylent Works has been deleted.")).to_be_visible()
    page.goto(f"/o/{slug}")
    expect(page.get_by_text("There is nothing here")).to_be_visible()

    staff = make_staff(server, "Stan Support")
    page.context.clear_cookies()
    sign_in(page, staff)
    page.goto("/staff/orgs")
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Deleted").click()
    row = page.get_by_role("row").filter(has_text="Soylent Works")
    expect(row).to_contain_text("30 days left")
    expect(row).to_contain_text("by Rhea Restore")
    look(page, "85-staff-deleted")
    row.get_by_role("button", name="Restore Soylent Works").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.get_by_role("heading")).to_have_text("Restore Soylent Works?")
    dialog.get_by_role("button", name="Restore").click()
    expect(page.get_by_text(f"Soylent Works is restored: its members are back in /o/{slug}.")).to_be_visible()

    page.context.clear_cookies()
    sign_in(page, owner)
    page.goto(f"/o/{slug}")
    expect(page.get_by_role("heading", name="Soylent Works")).to_be_visible()
    assert page.console_errors == [], page.console_errors
