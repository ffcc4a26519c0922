"""The pure rules behind an org's policies: domain lists, and effective values with their source."""

from __future__ import annotations

import uuid

import pytest

from tenantry.config import ConfigError, Settings
from tenantry.lib.domains import DomainProblem, domain_of, parse_domains
from tenantry.lib.forms import InvalidInput
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tenantry.orgs.settings import check_invitation_domains, org_settings_of


def settings(**values) -> Settings:
    return Settings(env="development", **values)


def test_domains_are_lowercased_deduplicated_and_may_be_written_with_an_at_sign():
    assert parse_domains("Acme.example, @acme.example\nACME.co.uk; acme.example.") == ["acme.example", "acme.co.uk"]
    assert parse_domains("xn--bcher-kva.example Bücher.example") == ["bücher.example"]
    assert parse_domains("") == []


@pytest.mark.parametrize(
    "text", ["localhost", "not a domain!", "-acme.example", "acme.123", "a..example", "😀.example"]
)
def test_what_is_not_a_domain_name_is_named(text):
    with pytest.raises(DomainProblem, match="is not a domain name"):
        parse_domains(text)


def test_an_address_matches_its_domain_however_it_is_written():
    assert domain_of("ann@Bücher.Example") == "bücher.example"
    assert domain_of("ann@[127.0.0.1]") is None


def test_effective_values_come_from_the_org_when_it_chose_else_from_the_deployment():
    deployment = settings(invitation_expiry_days=10, invitation_email_domains="acme.example", org_session_hours="")
    org = Organization(id=uuid.uuid4(), name="Acme", slug="acme")
    inherited = org_settings_of(deployment, org, None)
    assert inherited.invitation_expiry_days.value == 10 and inherited.invitation_expiry_days.inherited
    assert inherited.invitation_email_domains.value == ["acme.example"]
    assert inherited.session_hours.value is None
    assert inherited.members_see_each_other.value is True
    assert inherited.deployment_default_role == "member"

    row = OrgSettingsOverrides(
        org_id=org.id,
        invitation_expiry_days=3,
        invitation_email_domains=[],
        session_hours=4,
        members_see_each_other=False,
    )
    own = org_settings_of(deployment, org, row)
    assert (own.invitation_expiry_days.value, own.invitation_expiry_days.default) == (3, 10)
    assert not own.invitation_expiry_days.inherited and own.invitation_expiry_days.source == "this organization"
    assert own.invitation_email_domains.value == [] and own.allows_email("anyone@anywhere.example")
    assert own.session_hours.value == 4 and own.members_see_each_other.value is False
    with pytest.raises(InvalidInput, match=r"Not allowed: zed@evil\.example"):
        check_invitation_domains(inherited, ["ann@acme.example", "zed@evil.example"])


def test_deployment_settings_that_could_never_apply_stop_start_up():
    with pytest.raises(ConfigError, match="TENANTRY_ORG_SESSION_HOURS"):
        settings(org_session_hours=24, session_absolute_hours=12).check()
    with pytest.raises(ConfigError, match="TENANTRY_INVITATION_EMAIL_DOMAINS"):
        settings(invitation_email_domains="acme.example, nope").check()
    with pytest.raises(ConfigError, match="not a role template"):
        settings(default_role="boss").check_default_role({"owner", "admin", "member"})
    settings(default_role="admin").check_default_role({"owner", "admin", "member"})
