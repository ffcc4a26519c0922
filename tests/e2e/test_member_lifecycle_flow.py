"""A member's life in the browser: created by an admin, welcomed by email, deactivated (and cut
off on their next click), reactivated, and finally leaving on their own."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, sign_up, unique_email, watch_console
from tests.mail_sink import link_in, text_of


def test_created_welcomed_deactivated_reactivated_and_leaving(page: Page, new_context, server):
    admin_email, member_email = unique_email("hana"), unique_email("pete")
    watch_console(page)
    sign_up(page, server, "Hana Admin", admin_email)
    page.get_by_label("Organization name").fill("Tyrell")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]

    page.goto(f"/o/{slug}/members")
    page.get_by_role("link", name="Add a member").click()
    look(page, "50-member-new")
    page.get_by_label("Name", exact=True).fill("Pete Provisioned")
    page.get_by_label("Email", exact=True).fill(member_email)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("Pete Provisioned is a member of Tyrell.")).to_be_visible()
    member_url = page.url

    [welcome] = server.mail.wait_for(member_email)
    assert welcome["Subject"] == "Hana Admin added you to Tyrell on Tenantry"
    pete = new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(pete)
    pete.goto(link_in(text_of(welcome), "/set-password/"))
    pete.get_by_label("New password").fill("pete's very own passphrase")
    pete.get_by_role("button", name="Save and sign in").click()
    expect(pete.get_by_text("Welcome, Pete Provisioned!")).to_be_visible()
    pete.goto(f"/o/{slug}")
    expect(pete.get_by_role("heading", name="Tyrell", level=1)).to_be_visible()

    # Deactivated after confirming: Pete's next click finds nothing.
    page.goto(member_url)
    page.get_by_role("button", name="Deactivate").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.get_by_role("heading")).to_have_text("Deactivate Pete Provisioned?")
    look(page, "51-deactivate-confirm")
    dialog.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("Pete Provisioned is deactivated: they can't reach Tyrell any more.")).to_be_visible()
    look(page, "52-member-deactivated")
    pete.reload()
    expect(pete.get_by_role("heading", name="Page not found")).to_be_visible()

    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_text("Pete Provisioned is active again")).to_be_visible()
    pete.goto(f"/o/{slug}")
    expect(pete.get_by_role("heading", name="Tyrell", level=1)).to_be_visible()

    # Pete leaves on his own, after a confirmation page.
    pete.get_by_role("link", name="Leave Tyrell…").click()
    look(pete, "53-leave")
    pete.get_by_role("button", name="Leave Tyrell").click()
    expect(pete.get_by_text("You left Tyrell.")).to_be_visible()
    page.goto(f"/o/{slug}/members")
    expect(page.locator("tbody tr", has_text="Pete Provisioned")).to_have_count(0)

    # The owner alone can't leave.
    page.goto(f"/o/{slug}/leave")
    page.get_by_role("button", name="Leave Tyrell").click()
    expect(page.get_by_text("You are the last owner of Tyrell.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/o/{slug}/leave$"))
    assert page.console_errors == [] and pete.console_errors == [], (page.console_errors, pete.console_errors)
