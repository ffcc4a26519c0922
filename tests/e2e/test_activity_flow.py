"""The activity log in the browser: what happened, as sentences, filtered, with details a click away."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, sign_up, unique_email, watch_console


def test_an_admin_reads_and_filters_the_activity(page: Page, server):
    email = unique_email("aria")
    watch_console(page)
    sign_up(page, server, "Aria Auditor", email)
    page.get_by_label("Organization name").fill("Stark Industries")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]
    page.goto(f"/o/{slug}/invitations")
    page.get_by_label("Email addresses").fill("pepper@stark.example, happy@stark.example")
    page.get_by_role("button", name="Send invitations").click()
    expect(page.get_by_text("2 invitations sent.")).to_be_visible()

    page.get_by_role("link", name="Activity").click()
    log = page.get_by_role("list", name="Events, newest first")
    expect(log).to_contain_text("Aria Auditor invited pepper@stark.example as member")
    expect(log).to_contain_text("Aria Auditor created the organization")
    look(page, "60-activity")

    page.get_by_label("About").fill("pepper")
    page.get_by_label("What").select_option("invitation")
    page.get_by_role("button", name="Filter").click()
    expect(log.locator("li")).to_have_count(1)
    log.get_by_text("Details").click()
    expect(log).to_contain_text("invitation.created")
    look(page, "61-activity-filtered")
    page.get_by_role("link", name="Clear filters").click()
    expect(log.locator("li").first).to_be_visible()

    page.get_by_label("From", exact=True).fill("2001-02-03")
    page.get_by_label("To", exact=True).fill("2001-01-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("The end date comes before the start date.")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    page.goto("/account/activity")
    expect(page.get_by_text("Aria Auditor created an account")).to_be_visible()
    look(page, "62-account-activity")
    assert page.console_errors == [], page.console_errors
