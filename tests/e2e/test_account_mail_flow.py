"""Forgotten password, end to end: the email arrives over SMTP, its link opens in another browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, sign_in, sign_up, unique_email
from tests.mail_sink import html_of, link_in, text_of


def test_forgotten_password_reset_from_the_email(page: Page, new_context, server):
    email = unique_email("fran")
    sign_up(page, server, "Fran Forgetful", email)

    other = new_context(viewport={"width": 1280, "height": 860}).new_page()
    other.goto("/login")
    other.get_by_role("link", name="Forgot your password?").click()
    look(other, "30-forgot")
    other.get_by_label("Email").fill(email.upper())
    other.get_by_role("button", name="Send me a link").click()
    expect(other.get_by_text("we've sent it a link to choose a new password")).to_be_visible()

    message = server.mail.wait_for(email, count=2)[-1]  # after the confirmation email
    assert message["Subject"] == "Choose a new password for Tenantry"
    assert "Choose a new password" in html_of(message)
    other.goto(link_in(text_of(message), "/reset-password/"))
    expect(other.get_by_text(f"For {email}")).to_be_visible()
    look(other, "31-reset")
    other.get_by_label("New password").fill("a completely new passphrase")
    other.get_by_role("button", name="Save new password").click()
    expect(other.get_by_text("Your password is saved.")).to_be_visible()

    page.reload()  # the first browser's session ended with the reset
    expect(page).to_have_url(re.compile(r"/login"))
    notice = server.mail.wait_for(email, count=3)[-1]
    assert notice["Subject"] == "Your Tenantry password was changed"
    sign_in(page, email, "a completely new passphrase")
    expect(page).to_have_url(re.compile(r"/orgs/new$"))
