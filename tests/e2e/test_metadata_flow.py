"""Custom metadata in the browser: an admin fills rows, support staff find the org by a value."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, make_staff, sign_in, sign_up, unique_email, watch_console


def test_an_admin_edits_metadata_and_staff_find_the_org_by_it(page: Page, server):
    email = unique_email("fran")
    watch_console(page)
    sign_up(page, server, "Fran Foodie", email)
    page.get_by_label("Organization name").fill("Fresh Foods")
    page.get_by_role("button", name="Create organization").click()
    slug = page.url.rsplit("/", 1)[-1]

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Edit metadata").click()
    page.get_by_label("Key, row 1").fill("Industry")
    page.get_by_label("Value, row 1").fill("food")
    page.get_by_role("button", name="Add another row").click()
    expect(page.get_by_label("Key, row 2")).to_be_visible()
    page.get_by_label("Key, row 2").fill("employees")
    page.get_by_label("Type, row 2").select_option("number")
    page.get_by_label("Value, row 2").fill("fifty")
    page.get_by_role("button", name="Save metadata").click()
    expect(page.get_by_text("Enter a number such as 42, -7 or 3.5.")).to_be_visible()
    expect(page.get_by_label("Key, row 1")).to_have_value("Industry")
    look(page, "70-metadata-errors")

    page.get_by_label("Value, row 2").fill("50")
    page.get_by_label("Value, row 2").press("Enter")  # Enter saves; it doesn't add a row
    expect(page.get_by_text("Metadata saved.")).to_be_visible()
    expect(page.get_by_label("Key, row 1")).to_have_value("employees")
    expect(page.get_by_label("Key, row 3")).to_have_value("")
    look(page, "71-metadata-saved")

    staff_email = make_staff(server)
    page.context.clear_cookies()
    sign_in(page, staff_email)
    page.goto("/staff/activity")
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Organizations").click()
    page.get_by_label("Metadata").fill("employees=50")
    page.get_by_role("button", name="Search").click()
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="Fresh Foods")).to_contain_text("industry=food")
    expect(rows.filter(has_text="Fresh Foods")).to_contain_text(f"/o/{slug}")
    look(page, "72-staff-orgs")

    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Users").click()
    page.get_by_label("Search users by email or name").fill(email)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"Edit metadata of {email}").click()
    page.get_by_label("Key, row 1").fill("tier")
    page.get_by_label("Type, row 1").select_option("boolean")
    page.get_by_label("Value, row 1").fill("true")
    page.get_by_role("button", name="Save metadata").click()
    expect(page.get_by_text("Metadata saved.")).to_be_visible()
    look(page, "73-staff-user-metadata")

    page.context.clear_cookies()
    sign_in(page, email)
    page.goto("/account")
    expect(page.get_by_role("region", name="Metadata")).to_contain_text("true")
    assert page.console_errors == [], page.console_errors
