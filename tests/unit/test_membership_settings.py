"""The membership rules' settings and the join-link reader of the "create or join" page."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tenantry.config import Settings
from tenantry.invitations.services import invitation_token_in

TOKEN = "W7G5mj8TwmQQyLyF0Uz5aLfSKT4ndRWejHSdzJZspwo"


@pytest.mark.parametrize(("value", "limit"), [("", None), ("  ", None), ("1", 1), ("25", 25)])
def test_an_empty_limit_means_no_limit(monkeypatch, value, limit):
    monkeypatch.setenv("TENANTRY_MAX_ORGS_PER_USER", value)
    assert Settings().max_orgs_per_user == limit


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_limit_below_one_is_refused(monkeypatch, value):
    monkeypatch.setenv("TENANTRY_MAX_ORGS_PER_USER", value)
    with pytest.raises(ValidationError):
        Settings()


def test_the_rules_are_off_by_default(monkeypatch):
    for name in ("TENANTRY_MAX_ORGS_PER_USER", "TENANTRY_REQUIRE_ORG", "TENANTRY_PERSONAL_WORKSPACES"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.max_orgs_per_user, settings.require_org, settings.personal_workspaces) == (None, False, False)


@pytest.mark.parametrize(
    "link",
    [
        f"https://portal.example/invite/{TOKEN}",
        f"  https://portal.example/invite/{TOKEN}/  ",
        f"https://portal.example/invite/{TOKEN}?utm=mail#top",
        f"/invite/{TOKEN}",
        TOKEN,
    ],
)
def test_a_pasted_join_link_gives_its_token(link):
    assert invitation_token_in(link) == TOKEN


@pytest.mark.parametrize(
    "link", ["", "hello", "https://portal.example/o/acme", "https://portal.example/invite/../../etc", "x" * 3000]
)
def test_anything_else_gives_none(link):
    assert invitation_token_in(link) is None
