"""The walking skeleton, as a user walks it in a real browser."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tenantry.db.engine import create_engine
from tenantry.orgs.models import Organization
from tests.conftest import base_settings
from tests.e2e.conftest import PASSWORD, confirm_email, look, run_async, sign_in, sign_up, unique_email


def logo_file(tmp_path) -> str:
    image = Image.new("RGB", (128, 128), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((16, 16, 112, 112), fill=(234, 88, 12))
    draw.ellipse((40, 40, 88, 88), fill=(255, 255, 255))
    path = tmp_path / "acme-logo.png"
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def org_id_of(database_url: str, slug: str) -> uuid.UUID:
    found: list[uuid.UUID] = []

    async def lookup() -> None:
        engine = create_engine(base_settings(database_url))
        async with engine.connect() as connection:
            found.append(await connection.scalar(select(Organization.id).where(Organization.slug == slug)))
        await engine.dispose()

    run_async(lookup)
    return found[0]


def open_switcher(page: Page):
    page.locator("details.org-switcher > summary").click()
    return page.locator("details.org-switcher .menu__panel")


def test_sign_up_create_two_orgs_switch_sign_out_and_back_in(page: Page, new_context, tmp_path, server):
    email = unique_email("alice")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    look(page, "01-sign-in")
    page.get_by_role("link", name="Create an account").click()
    look(page, "02-sign-up")

    # A mistake first: the message is next to the field, and what was typed stays.
    page.get_by_label("Your name").fill("Alice Example")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#field-password-error")).to_contain_text("too common")
    expect(page.get_by_label("Your name")).to_have_value("Alice Example")
    look(page, "03-sign-up-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="Create your first organization")).to_be_visible()
    expect(page.get_by_text("Confirm your email address: we sent a link to")).to_be_visible()
    expect(page.get_by_label("Organization name")).to_have_count(0)
    look(page, "04-confirm-email")
    confirm_email(page, server, email)
    expect(page.get_by_text("Your email address is confirmed. Thank you!")).to_be_visible()
    page.goto("/orgs/new")
    look(page, "04-first-org")
    page.get_by_label("Organization name").fill("Acme Rockets")
    expect(page.locator("#slug-hint")).to_have_text("Your address will be /o/acme-rockets")
    page.get_by_label("Logo").set_input_files(logo_file(tmp_path))
    page.get_by_label("Brand colour", exact=True).fill("#ea580c")
    expect(page.get_by_label("Pick brand colour")).to_have_value("#ea580c")
    page.get_by_role("button", name="Create organization").click()

    expect(page).to_have_url(re.compile(r"/o/acme-rockets$"))
    expect(page.get_by_role("heading", name="Acme Rockets", level=1)).to_be_visible()
    expect(page.get_by_text("Acme Rockets is ready. You are its owner.")).to_be_visible()
    logo = page.locator(".org-header img.avatar")
    expect(logo).to_be_visible()
    # Visible is not loaded: wait for the image itself (on a busy machine it comes a moment later).
    page.wait_for_function("(img) => img.complete", arg=logo.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", logo.element_handle()) == 128, "the logo really loads"
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    assert accent == "#ea580c", "the brand colour is the accent"
    look(page, "05-org-home")

    # A second org, from the switcher.
    panel = open_switcher(page)
    look(page, "06-switcher-open")
    panel.get_by_role("link", name="Create organization").click()
    expect(page.get_by_role("heading", name="Create an organization")).to_be_visible()
    page.get_by_label("Organization name").fill("Beta Labs")
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(re.compile(r"/o/beta-labs$"))
    # The URL changes before the deferred app.js has run; keys pressed earlier reach a menu
    # that has no arrow-key handling yet.
    page.wait_for_load_state()

    # Switch back with the keyboard only: arrow keys move through the menu, Tab away closes it.
    summary = page.locator("details.org-switcher > summary")
    summary.focus()
    page.keyboard.press("ArrowDown")
    acme_link = page.locator("details.org-switcher").get_by_role("link", name=re.compile("Acme Rockets"))
    expect(acme_link).to_be_focused()
    expect(acme_link).to_contain_text("Owner")
    page.keyboard.press("ArrowDown")
    expect(page.locator("details.org-switcher").get_by_role("link", name=re.compile("Beta Labs"))).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("details.org-switcher")).not_to_have_attribute("open", "")
    summary.focus()
    page.keyboard.press("ArrowDown")
    expect(acme_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/o/acme-rockets$"))

    # Sign out from the account menu, sign back in: we land in the last org used.
    page.locator("details.user-menu > summary").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/o/acme-rockets$"))
    assert page.console_errors == [], page.console_errors

    # Another person can't reach Alice's orgs, by slug or by id.
    other = new_context(viewport={"width": 1280, "height": 860}).new_page()
    sign_up(other, server, "Bob Outsider", unique_email("bob"))
    for path in ("/o/acme-rockets", "/o/acme-rockets/members", "/o/acme-rockets/settings", "/o/beta-labs"):
        response = other.goto(path)
        assert response.status == 404, path
        expect(other.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(other.get_by_text("Acme Rockets")).to_have_count(0)
    org_id = org_id_of(server.database_url, "acme-rockets")
    for path in (f"/o/{org_id}", f"/o/{org_id}/members", f"/o/{org_id.hex}/settings"):
        assert other.goto(path).status == 404, path
    look(other, "07-outsider-404")


def test_org_pages_read_well_at_phone_width(new_context, server):
    page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    sign_up(page, server, "Paula Phone", unique_email("paula"))
    look(page, "m01-first-org")
    page.get_by_label("Organization name").fill("Pocket Org")
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(re.compile(r"/o/pocket-org$"))
    look(page, "m02-org-home")
    page.goto("/o/pocket-org/members")
    look(page, "m03-members")
    page.goto("/o/pocket-org/settings")
    look(page, "m04-settings")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, "nothing overflows sideways at phone width"
    page.locator("details.org-switcher > summary").click()
    look(page, "m05-switcher")
