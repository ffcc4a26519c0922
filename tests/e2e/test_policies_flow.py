"""An owner sets the org's policies from the keyboard: a mistake is explained next to its field,
then the saved values say they are the org's own, and inviting outside the domains is refused."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import look, sign_up, unique_email, watch_console
from tests.e2e.test_org_admin_flow import create_org


def test_owner_sets_policies_and_inviting_follows_them(page: Page, server):
    watch_console(page)
    sign_up(page, server, "Pia Policy", unique_email("pia"))
    slug = create_org(page, "Policy Works")

    page.goto(f"/o/{slug}/settings#policies")
    policies = page.locator("#policies")
    expect(policies.get_by_text("Inherited from the deployment default: 7 days.")).to_be_visible()
    look(page, "p01-policies")

    policies.get_by_label("Invitation links stay valid for").select_option(label="14 days")
    policies.get_by_label("Only these domains:").check()
    policies.get_by_label("Allowed domains").fill("policy.example, localhost")
    policies.get_by_label("Members see each other").select_option(label="No")
    policies.get_by_role("button", name="Save policies").click()
    expect(page.locator("#field-domains-error")).to_have_text("“localhost” is not a domain name (such as example.com).")
    expect(policies.get_by_label("Invitation links stay valid for")).to_have_value("14")
    look(page, "p02-policies-error")

    policies.get_by_label("Allowed domains").fill("Policy.example, @policy.example")
    policies.get_by_label("Allowed domains").press("Enter")
    expect(page.get_by_text("Policies saved.")).to_be_visible()
    expect(policies.get_by_text("Set by this organization: 14 days.")).to_be_visible()
    expect(policies.get_by_text("Set by this organization: policy.example.")).to_be_visible()
    expect(policies.get_by_label("Allowed domains")).to_have_value("policy.example")
    look(page, "p03-policies-saved")

    page.goto(f"/o/{slug}/invitations")
    expect(page.locator("#allowed-domains")).to_have_text("Only addresses at policy.example can be invited.")
    expect(page.get_by_label("Link valid for (days)")).to_have_value("14")
    page.get_by_label(re.compile("Email addresses")).fill("ann@policy.example, zed@elsewhere.example")
    page.get_by_role("button", name="Send invitations").click()
    expect(page.locator("#field-emails-error")).to_contain_text("Not allowed: zed@elsewhere.example.")
    look(page, "p04-invite-refused")
    assert page.console_errors == []
