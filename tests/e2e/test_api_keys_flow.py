"""API keys in the browser: an owner creates one, copies it from the one page that shows it, sees it
work, and revokes it through the confirmation dialog; support staff make an app key."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, make_staff, sign_in, sign_up, unique_email, watch_console


def test_an_owner_creates_copies_and_revokes_a_key(page: Page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    watch_console(page)
    sign_up(page, server, "Kai Keys", unique_email("kai"))
    page.get_by_label("Organization name").fill("Keyed Co")
    page.get_by_role("button", name="Create organization").click()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Manage API keys").click()
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    look(page, "30-api-keys-empty")

    page.get_by_label("Name").fill("Billing backend")
    page.get_by_role("checkbox", name="check").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("This is the only time it is shown.")).to_be_visible()
    token = page.locator("#new-key-token").inner_text().strip()
    assert token.startswith("tnt_org_")
    page.get_by_role("button", name="Copy to clipboard").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    look(page, "31-api-key-shown-once")

    whoami = httpx.get(f"{server.base_url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.status_code == 200 and whoami.json()["scopes"] == ["read", "check"]

    page.get_by_role("link", name="I have copied it").click()
    row = page.get_by_role("row").filter(has_text="Billing backend")
    expect(row).to_contain_text(token[:12] + "…")
    expect(row).to_contain_text("just now")
    assert token not in page.content()
    look(page, "32-api-keys-list")

    row.get_by_role("button", name="Revoke Billing backend").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Revoke the key “Billing backend”?")
    dialog.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("The key has been revoked")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Billing backend")).to_contain_text("Revoked")
    whoami = httpx.get(f"{server.base_url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.status_code == 401
    assert page.console_errors == []


def test_a_support_admin_makes_an_app_key(page: Page, server):
    staff_email = make_staff(server, "Ada Escalation", role="support-admin")
    sign_in(page, staff_email)
    page.goto("/staff/orgs")
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("Provisioning")
    page.get_by_role("checkbox", name="write").check()
    page.get_by_role("button", name="Create app key").click()
    token = page.locator("#new-key-token").inner_text().strip()
    assert token.startswith("tnt_app_")
    page.get_by_role("link", name="I have copied it").click()
    expect(page.get_by_role("row").filter(has_text="Provisioning")).to_contain_text("read")
    look(page, "33-staff-app-keys")
