"""Plans in the browser: an owner reads the usage, moves down and up, meets a feature the plan
lacks; support grants extra seats from the staff page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, make_staff, sign_in, sign_up, unique_email, watch_console


def test_an_owner_changes_plan_and_meets_a_feature_the_plan_lacks(page: Page, server):
    watch_console(page)
    sign_up(page, server, "Paula Planner", unique_email("paula"))
    page.get_by_label("Organization name").fill("Planet Express")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]

    page.get_by_role("link", name="Plan", exact=True).click()
    expect(page.get_by_text("Planet Express is on the Pro plan")).to_be_visible()
    look(page, "80-plan")

    page.get_by_role("button", name="Downgrade to Starter").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog.get_by_role("heading")).to_have_text("Move Planet Express to Starter?")
    dialog.get_by_role("button", name="Switch to Starter").click()
    expect(page.get_by_text("Planet Express is now on the Starter plan.")).to_be_visible()

    page.get_by_role("link", name="Groups").click()
    expect(page.get_by_role("button", name="New group")).to_be_disabled()
    expect(page.get_by_text("The Starter plan doesn't include groups; the Team plan does.")).to_be_visible()
    look(page, "81-groups-locked")
    page.get_by_role("link", name="See the plans").click()

    page.get_by_role("button", name="Upgrade to Team").click()
    page.locator("dialog.confirm").get_by_role("button", name="Switch to Team").click()
    expect(page.get_by_text("Planet Express is now on the Team plan.")).to_be_visible()
    page.goto(f"/o/{slug}/groups")
    page.get_by_role("link", name="New group").click()
    expect(page.get_by_role("heading", name="New group")).to_be_visible()

    staff_email = make_staff(server)
    page.context.clear_cookies()
    sign_in(page, staff_email)
    page.goto(f"/o/{slug}")  # staff are not members: nothing here for them
    expect(page.get_by_text("There is nothing here")).to_be_visible()
    page.goto(f"/staff/orgs?q={slug}")
    page.get_by_role("link", name="Planet Express").click()
    expect(page.get_by_role("heading", name="Planet Express")).to_be_visible()  # support's page of the org
    page.get_by_role("link", name="Change plan or grant more").click()
    page.get_by_label("Extra seats").fill("5")
    page.get_by_label("Single sign-on").check()
    page.get_by_label("Note").fill("ticket 4711: pilot")
    page.get_by_role("button", name="Save override").click()
    expect(page.get_by_text("Override saved.")).to_be_visible()
    expect(page.get_by_text("Granted by support: 5 extra seats, Single sign-on, with no end date.")).to_be_visible()
    look(page, "82-staff-plan")
    assert page.console_errors == [], page.console_errors
