"""The promise of invitations, in the browser: an admin invites a colleague with a role and a
group, the email arrives over real SMTP, its link opens in a fresh browser, a new account is
created and the colleague lands in the org with what the invitation carried."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, sign_up, unique_email, watch_console
from tests.e2e.test_access_story import create_group, create_role
from tests.mail_sink import html_of, link_in, text_of


def test_an_invited_colleague_joins_with_a_new_account(page: Page, new_context, server):
    admin_email, hire_email = unique_email("ines"), unique_email("theo")
    watch_console(page)
    sign_up(page, server, "Ines Inviter", admin_email)
    page.get_by_label("Organization name").fill("Cyberdyne")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]
    create_role(page, slug, "Support agent", ["members:read"])
    create_group(page, slug, "Helpdesk", ["Analyst"])

    page.goto(f"/o/{slug}/members")
    page.get_by_role("link", name="Invite people").click()
    expect(page.get_by_role("heading", name="Invite people")).to_be_visible()
    look(page, "40-invite-empty")
    page.get_by_label("Email addresses").fill(f"{hire_email}\nnot an address")
    roles = page.get_by_role("group", name="Roles")
    roles.get_by_label("Member", exact=True).uncheck()
    roles.get_by_label("Support agent", exact=True).check()
    page.get_by_role("group", name="Groups").get_by_label("Helpdesk").check()
    page.get_by_label("Personal message").fill("Welcome to the support team!")
    page.get_by_role("button", name="Send invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    expect(page.locator("#invite-invalid")).to_contain_text("not an address — An email address must have an @-sign.")
    row = page.locator("tbody tr", has_text=hire_email)
    expect(row).to_contain_text("Support agent")
    look(page, "41-invite-sent")

    [message] = server.mail.wait_for(hire_email)
    assert "Cyberdyne" in message["Subject"]
    assert "Ines Inviter" in text_of(message) and "Welcome to the support team!" in html_of(message)
    link = link_in(text_of(message), "/invite/")
    page.reload()
    expect(row).to_contain_text("Delivered")

    # The colleague opens the link in a browser of their own.
    hire = new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(hire)
    hire.goto(link)
    expect(hire.get_by_role("heading", name="Join Cyberdyne")).to_be_visible()
    expect(hire.get_by_text("Ines Inviter invited")).to_be_visible()
    expect(hire.locator(".join__details")).to_contain_text("Support agent")
    expect(hire.locator(".join__details")).to_contain_text("Helpdesk")
    expect(hire.get_by_label("Email")).to_have_value(hire_email)
    look(hire, "42-join-new-account")
    hire.get_by_label("Your name").fill("Theo Newhire")
    hire.get_by_label("Password").fill("short")
    hire.get_by_role("button", name="Create account and join").click()
    expect(hire.locator("#field-password-error")).to_be_visible()
    hire.get_by_label("Password").fill("a long and lovely passphrase")
    hire.get_by_role("button", name="Create account and join").click()
    hire.wait_for_url(re.compile(rf"/o/{slug}$"))
    expect(hire.get_by_text("Welcome to Cyberdyne, Theo Newhire!")).to_be_visible()
    expect(hire.get_by_label("Your roles")).to_contain_text("Support agent")
    expect(hire.get_by_text("Confirm your email address")).to_have_count(0)
    look(hire, "43-joined")

    # The admin sees Theo with the role, and in the group (which gives Analyst).
    page.goto(f"/o/{slug}/members")
    expect(page.locator("tbody tr", has_text="Theo Newhire")).to_contain_text("Support agent")
    page.goto(f"/o/{slug}/groups")
    page.get_by_role("link", name="Helpdesk").click()
    expect(page.get_by_role("link", name="Theo Newhire")).to_be_visible()

    # The link is used up.
    other = new_context().new_page()
    other.goto(link)
    expect(other.get_by_role("heading", name="This invitation has already been used")).to_be_visible()
    look(other, "44-join-used")
    assert page.console_errors == [] and hire.console_errors == [], (page.console_errors, hire.console_errors)


def test_signed_in_as_someone_else_the_invitee_switches_account(page: Page, new_context, server):
    admin_email, guest_email, other_email = unique_email("wes"), unique_email("gia"), unique_email("oz")
    sign_up(page, server, "Gia Guest", guest_email)
    page.context.clear_cookies()
    sign_up(page, server, "Wes Welcomer", admin_email)
    page.get_by_label("Organization name").fill("Soylent")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]
    page.goto(f"/o/{slug}/invitations")
    page.get_by_label("Email addresses").fill(guest_email)
    page.get_by_role("button", name="Send invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    link = link_in(text_of(server.mail.wait_for(guest_email, count=2)[-1]), "/invite/")

    # Oz is signed in on this browser; the invitation is Gia's.
    browser = new_context(viewport={"width": 1280, "height": 860}).new_page()
    sign_up(browser, server, "Oz Other", other_email)
    browser.goto(link)
    expect(browser.locator("#join-other-account")).to_contain_text(f"You are signed in as {other_email}")
    look(browser, "45-join-other-account")
    browser.get_by_role("button", name="Sign out and continue").click()
    browser.get_by_role("link", name="Sign in to join").click()
    expect(browser.get_by_label("Email")).to_have_value(guest_email)
    browser.get_by_label("Password").fill("correct horse battery staple")
    browser.get_by_role("button", name="Sign in").click()
    expect(browser.get_by_role("button", name="Join Soylent")).to_be_visible()
    browser.get_by_role("button", name="Join Soylent").click()
    browser.wait_for_url(re.compile(rf"/o/{slug}$"))
    expect(browser.get_by_text("Welcome to Soylent!")).to_be_visible()

    # Withdrawing an invitation asks first.
    page.get_by_label("Email addresses").fill(other_email)
    page.get_by_role("button", name="Send invitations").click()
    page.get_by_role("button", name=f"Withdraw the invitation to {other_email}").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.get_by_role("heading")).to_have_text(f"Withdraw the invitation to {other_email}?")
    look(page, "46-withdraw-confirm")
    dialog.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_text(f"The invitation to {other_email} was withdrawn")).to_be_visible()
