"""Support views an org as its owner: read-only, with a banner on every page, and a trail the
owner reads in the org's activity log; and an org that lets support in only after an owner
approves, with the request and the answer going by email."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, make_staff, sign_in, sign_up, unique_email, watch_console
from tests.e2e.test_org_admin_flow import create_org
from tests.mail_sink import link_in, text_of

REASON = "Customer says the members page shows the wrong roles"
ORG_ID = re.compile(r"/staff/orgs/([0-9a-f-]{36})$")


def find_org_id(page: Page, name: str) -> str:
    """Search the staff console for the org and open its page; returns its id."""
    page.goto("/staff/orgs")
    page.get_by_label("Name, address or member's email").fill(name)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("row").filter(has_text=name).get_by_role("link", name=name).click()
    page.wait_for_url(ORG_ID)
    match = ORG_ID.search(page.url)
    assert match, page.url
    return match.group(1)


def mail_with_subject(server, address: str, subject: str, timeout: float = 15) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in server.mail.to(address):
            if message["Subject"] == subject:
                return message
        time.sleep(0.1)
    raise AssertionError(f"no “{subject}” to {address}; got {[m['Subject'] for m in server.mail.to(address)]}")


def expect_banner(page: Page, staff: str, customer: str) -> None:
    banner = page.get_by_role("region", name="Support session")
    expect(banner).to_contain_text(f"You are {staff}, viewing as {customer}")
    expect(banner).to_contain_text("Read-only")
    expect(banner).to_contain_text(re.compile(r"\d+ minutes left"))
    expect(banner.get_by_role("button", name="End impersonation")).to_be_visible()


def test_support_views_an_org_read_only_and_the_owner_reads_the_trail(page: Page, server):
    watch_console(page)
    owner = unique_email("owen")
    sign_up(page, server, "Owen Owner", owner)
    slug = create_org(page, "Initech Support")

    staff = make_staff(server, "Sam Support")
    page.context.clear_cookies()
    sign_in(page, staff)
    org_id = find_org_id(page, "Initech Support")
    page.get_by_role("link", name="View as an owner…").click()
    expect(page.get_by_role("heading", name="View Initech Support as an admin")).to_be_visible()
    expect(page.get_by_role("heading", name="Support access: allowed")).to_be_visible()
    look(page, "86-impersonation-start")

    page.get_by_label("Reason").fill("help")
    page.get_by_role("button", name="View as Owen Owner").click()
    expect(page.locator("#field-reason-error")).to_contain_text("at least 10 characters")
    expect(page.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    look(page, "87-impersonation-reason-too-short")

    page.get_by_label("Reason").fill(REASON)
    page.get_by_label("Ticket reference (optional)").fill("SUP-1234")
    expect(page.get_by_label("For how long")).to_have_value("30")
    page.get_by_role("button", name="View as Owen Owner").click()
    page.wait_for_url(re.compile(rf"/o/{slug}$"))
    expect(page.get_by_role("heading", name="Initech Support")).to_be_visible()
    expect_banner(page, "Sam Support", "Owen Owner")
    look(page, "88-impersonation-org-home")

    for path, shot in [
        (f"/o/{slug}/members", "89-impersonation-members"),
        (f"/o/{slug}/settings", "90-impersonation-settings"),
        ("/account", "91-impersonation-account"),
    ]:
        page.goto(path)
        expect_banner(page, "Sam Support", "Owen Owner")
        look(page, shot)

    page.goto(f"/o/{slug}/settings")
    page.get_by_label("Organization name").fill("Initech Hijacked")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", name="Read-only: nothing was changed")).to_be_visible()
    expect(page.get_by_text("You are viewing as Owen Owner in read-only mode")).to_be_visible()
    expect_banner(page, "Sam Support", "Owen Owner")
    look(page, "92-impersonation-read-only-refused")
    page.goto(f"/o/{slug}")
    expect(page.get_by_role("heading", name="Initech Support")).to_be_visible()

    # Ending lands on the staff page of the org, as staff again.
    page.get_by_role("button", name="End impersonation").click()
    page.wait_for_url(re.compile(rf"/staff/orgs/{org_id}$"))
    expect(page.get_by_text("You stopped viewing as Owen Owner. You are yourself again.")).to_be_visible()
    expect(page.get_by_role("link", name="View as an owner…")).to_be_visible()
    expect(page.get_by_role("region", name="Support session")).to_have_count(0)
    look(page, "93-impersonation-ended")
    page.goto("/staff/orgs")
    expect(page.get_by_role("region", name="Support session")).to_have_count(0)
    page.get_by_label("Account menu for Sam Support").click()
    expect(page.get_by_role("link", name=re.compile(r"^Staff: "))).to_be_visible()

    # The owner reads what support did, in the org's own activity log.
    page.context.clear_cookies()
    sign_in(page, owner)
    page.goto(f"/o/{slug}/activity?action=support")
    log = page.get_by_role("main")
    started = f"Sam Support started viewing as {owner}, read-only, for up to 30 minutes: “{REASON}” (ticket SUP-1234)"
    expect(log).to_contain_text(started)
    expect(log).to_contain_text(f"Sam Support (support, as Owen Owner) opened GET /o/{slug}/members → 200")
    expect(log).to_contain_text(f"opened GET /o/{slug}/settings → 200")
    expect(log).to_contain_text(f"sent POST /o/{slug}/settings/name → 403")  # the refused change, too
    expect(log).to_contain_text(f"Sam Support stopped viewing as {owner}")
    expect(log).to_contain_text("opened GET /account → 200")  # the customer's own pages are on record too
    look(page, "94-owner-reads-support-activity")
    assert page.console_errors == [], page.console_errors


def test_owner_approves_support_from_the_email(page: Page, new_context, server):
    watch_console(page)
    owner = unique_email("abby")
    sign_up(page, server, "Abby Approver", owner)
    slug = create_org(page, "Vandelay Approvals")
    page.goto(f"/o/{slug}/settings")
    page.locator("#support").get_by_role("link", name="Support access and requests").click()
    page.get_by_label("After an owner approves").check()
    page.get_by_role("button", name="Save support access").click()
    expect(page.get_by_text("Support access saved.")).to_be_visible()
    expect(page.get_by_label("After an owner approves")).to_be_checked()
    look(page, "95-support-access-approval")

    staff = make_staff(server, "Sid Support")
    desk = new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(desk)
    sign_in(desk, staff)
    org_id = find_org_id(desk, "Vandelay Approvals")
    desk.goto(f"/staff/orgs/{org_id}/impersonate")
    expect(desk.get_by_role("heading", name="Support access: after an owner approves")).to_be_visible()
    expect(desk.get_by_role("button", name="View as Abby Approver")).to_have_count(0)
    look(desk, "96-support-ask-the-owners")
    desk.get_by_label("Reason").fill("Invoices page fails to load for the customer")
    desk.get_by_label("Ticket reference (optional)").fill("SUP-77")
    desk.get_by_role("button", name="Ask the owners").click()
    expect(desk.get_by_text("Request sent: the owners of Vandelay Approvals were emailed.")).to_be_visible()
    expect(desk.get_by_text("is waiting for an owner's answer")).to_be_visible()
    look(desk, "97-support-request-waiting")

    asked = mail_with_subject(server, owner, "Support asks to view Vandelay Approvals")
    assert "Invoices page fails to load for the customer" in text_of(asked)
    link = link_in(text_of(asked), "/o/")
    assert link.endswith(f"/o/{slug}/settings/support"), link
    page.goto(link)
    request = page.get_by_role("listitem").filter(has_text="Sid Support")
    expect(request).to_contain_text("“Invoices page fails to load for the customer”")
    expect(request).to_contain_text("SUP-77")
    look(page, "98-owner-answers-the-request")
    request.get_by_label("Let them in for").select_option(label="1 hour")
    request.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved: support may enter until the time shown.")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Sid Support")).to_contain_text("Approved")

    answered = mail_with_subject(server, staff, "Approved: you may view Vandelay Approvals")
    assert "Abby Approver approved your request" in text_of(answered)
    desk.goto(link_in(text_of(answered), "/staff/orgs/"))
    expect(desk.get_by_text("An owner approved your request: you may enter until")).to_be_visible()
    desk.get_by_label("Reason").fill("Invoices page fails to load for the customer")
    desk.get_by_role("button", name="View as Abby Approver").click()
    desk.wait_for_url(re.compile(rf"/o/{slug}$"))
    expect_banner(desk, "Sid Support", "Abby Approver")
    look(desk, "99-support-enters-after-approval")
    assert page.console_errors == [] and desk.console_errors == [], page.console_errors + desk.console_errors
