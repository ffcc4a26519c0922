"""Plans: usage, changes of plan (and refused downgrades), features a plan lacks, support's overrides.

The tests run with tests/plans.toml: Acme starts on "pro" (everything but SSO, no seat limit).
"""

from __future__ import annotations

import datetime

import httpx
import pytest
from sqlalchemy import delete, select, update

from tenantry.access.models import Role
from tenantry.app import create_app
from tenantry.config import ConfigError
from tenantry.groups.models import Group
from tenantry.invitations.models import Invitation
from tenantry.orgs.models import Organization
from tenantry.plans.catalog import STANDARD, load_plan_catalog
from tenantry.plans.models import PlanOverride
from tests.clock import travel
from tests.conftest import base_settings
from tests.integration.conftest import (
    accept_all_at_once,
    count,
    events,
    field_error,
    make_invitation,
    post_form,
    sign_in,
)
from tests.integration.test_invitations import text_of


async def put_acme_on(db, plan_key: str, world) -> None:
    await db.execute(update(Organization).where(Organization.id == world.acme.id).values(plan_key=plan_key))
    await db.commit()


async def test_the_plan_page_shows_usage_features_and_the_plans(client, world):
    await sign_in(client, world.adam)
    page = text_of((await client.get("/o/acme/plan")).text)
    assert "Acme is on the Pro plan" in page
    assert "3 in use, no limit" in page  # Olivia, Adam, Mia
    assert "Single sign-on" in page and "Upgrade to Scale" in page and "Downgrade to Starter" in page


async def test_upgrading_applies_at_once_and_is_on_record(client, world, db):
    await sign_in(client, world.olivia)
    done = await post_form(client, "/o/acme/plan", {"plan": "scale"}, follow_redirects=True)
    assert "Acme is now on the Scale plan." in text_of(done.text)
    [event] = await events(db, "org.plan_changed")
    assert (event.before["plan"], event.after["plan"]) == ("pro", "scale")
    assert event.actor_user_id == world.olivia.id and event.org_id == world.acme.id


async def test_a_downgrade_that_usage_would_break_is_refused_with_what_to_change(client, world, db):
    await sign_in(client, world.olivia)
    refused = await post_form(client, "/o/acme/plan", {"plan": "starter"})
    assert refused.status_code == 422
    page = text_of(refused.text)
    assert "Starter can't hold what this organization uses now" in page
    assert "Starter has no groups: delete your 1 group." in page
    assert "Starter has no custom roles: delete your 1 custom role." in page
    assert await events(db, "org.plan_changed") == []
    assert (await db.scalar(select(Organization.plan_key).where(Organization.id == world.acme.id))) is None

    # Seats count too: Team has 10; twelve people is two too many.
    await db.execute(update(Role).where(Role.org_id == world.acme.id).values(org_id=world.globex.id))
    await db.commit()
    for n in range(9):
        await make_invitation(db, world.acme, f"extra{n}@acme.example")
    refused = await post_form(client, "/o/acme/plan", {"plan": "team"})
    assert "12 seats are taken" in text_of(refused.text)
    assert "deactivate or remove 2 members, or withdraw invitations" in text_of(refused.text)


async def test_an_unknown_plan_is_refused_next_to_the_field(client, world):
    await sign_in(client, world.olivia)
    refused = await post_form(client, "/o/acme/plan", {"plan": "platinum"})
    assert refused.status_code == 422 and "Choose one of the plans listed." in text_of(refused.text)


async def test_a_feature_the_plan_lacks_is_shown_disabled_and_refused_by_the_server(client, world, db):
    await put_acme_on(db, "team", world)  # no custom roles
    await sign_in(client, world.adam)
    roles = text_of((await client.get("/o/acme/roles")).text)
    assert "The Team plan doesn't include custom roles; the Pro plan does. See the plans" in roles
    page = await client.get("/o/acme/roles/new")
    assert page.status_code == 403 and "Not part of your plan" in page.text
    before = await count(db, Role)
    refused = await post_form(client, "/o/acme/roles/new", {"name": "Auditor", "permissions": "members:read"})
    assert refused.status_code == 403 and await count(db, Role) == before

    await put_acme_on(db, "starter", world)  # no groups, no export either
    assert "The Starter plan doesn't include groups" in text_of((await client.get("/o/acme/groups")).text)
    assert (await post_form(client, "/o/acme/groups/new", {"name": "Sales"})).status_code == 403
    assert (await client.get("/o/acme/activity/export?format=csv")).status_code == 403


async def test_the_plan_seat_limit_holds_and_support_can_grant_extra_seats(client, world, db):
    await put_acme_on(db, "starter", world)  # 3 seats, all taken
    await sign_in(client, world.adam)
    refused = await post_form(client, "/o/acme/invitations", {"emails": "new@acme.example", "expiry_days": "7"})
    assert refused.status_code == 422
    assert "Acme has 3 seats, all of them taken" in field_error(refused.text, "emails")

    await sign_in(client, world.sam)
    granted = await post_form(
        client,
        f"/staff/orgs/{world.acme.id}/plan/override",
        {"extra_seats": "2", "note": "ticket 4711"},
        follow_redirects=True,
    )
    assert "Override saved." in text_of(granted.text)
    await sign_in(client, world.adam)
    assert "3 of 5 in use" in text_of((await client.get("/o/acme/plan")).text)
    data = {"emails": "new@acme.example", "expiry_days": "7"}
    invited = await post_form(client, "/o/acme/invitations", data)
    assert invited.status_code == 200 and await count(db, Invitation) == 1


async def test_an_override_with_an_end_date_stops_counting_when_it_ends(client, world, db, monkeypatch):
    await put_acme_on(db, "team", world)
    await sign_in(client, world.sam)
    ends_on = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)).date().isoformat()
    data = {"extra_seats": "0", "feature": "custom_roles", "ends_on": ends_on, "note": "trial"}
    saved = await post_form(client, f"/staff/orgs/{world.acme.id}/plan/override", data, follow_redirects=False)
    assert saved.status_code == 303
    [event] = await events(db, "org.plan_override_set")
    assert event.before is None and event.after["extra_features"] == ["custom_roles"]

    await sign_in(client, world.adam)
    assert (await client.get("/o/acme/roles/new")).status_code == 200
    plan_page = text_of((await client.get("/o/acme/plan")).text)
    last_day = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)).strftime("%-d %b %Y")
    assert f"Granted by support: Custom roles, through {last_day} (UTC)." in plan_page

    travel(monkeypatch, days=5)
    await sign_in(client, world.adam)  # sessions don't last 5 days
    assert (await client.get("/o/acme/roles/new")).status_code == 403


async def test_support_refuses_nonsense_overrides_next_to_the_field(client, world, db):
    await sign_in(client, world.sam)
    url = f"/staff/orgs/{world.acme.id}/plan/override"
    nothing = await post_form(client, url, {"extra_seats": "0"})
    assert nothing.status_code == 422 and "Grant extra seats or at least one feature" in text_of(nothing.text)
    past = await post_form(client, url, {"extra_seats": "1", "ends_on": "2020-01-01"})
    assert field_error(past.text, "ends_on") == "Choose a day after today, or leave it empty for no end."
    far = await post_form(client, url, {"extra_seats": "1", "ends_on": "9999-12-31"})
    assert field_error(far.text, "ends_on") == "Choose a day within ten years, or leave it empty for no end."
    huge = await post_form(client, url, {"extra_seats": "100000000"})
    assert field_error(huge.text, "extra_seats").startswith("Enter a number from 0 to")
    bogus = await post_form(client, url, {"extra_seats": "1", "feature": "teleport"})
    assert bogus.status_code == 422
    assert await count(db, PlanOverride) == 0 and await events(db, "org.plan_override_set") == []


async def test_removing_an_override_is_on_record_and_only_the_plan_applies(client, world, db):
    db.add(PlanOverride(org_id=world.acme.id, extra_seats=4, extra_features=["sso"], note="pilot"))
    await db.commit()
    await sign_in(client, world.sam)
    page = text_of((await client.get(f"/staff/orgs/{world.acme.id}/plan")).text)
    assert "Granted by support: 4 extra seats, Single sign-on, with no end date" in page
    removed = await post_form(client, f"/staff/orgs/{world.acme.id}/plan/override/remove", follow_redirects=True)
    assert "Override removed" in text_of(removed.text)
    [event] = await events(db, "org.plan_override_removed")
    assert event.before["extra_seats"] == 4 and event.org_id == world.acme.id
    assert await count(db, PlanOverride) == 0


async def test_staff_plan_pages_are_404_for_everyone_else(client, world):
    await sign_in(client, world.olivia)
    assert (await client.get(f"/staff/orgs/{world.acme.id}/plan")).status_code == 404
    assert (await post_form(client, f"/staff/orgs/{world.acme.id}/plan", {"plan": "scale"})).status_code == 404


async def test_a_plan_change_reaches_a_second_instance_on_its_next_request(client, world, db, settings):
    """Two app instances on one database: nothing about plans is cached in a process."""
    second = create_app(base_settings(settings.database_url, plans_file=settings.plans_file))
    transport = httpx.ASGITransport(app=second)
    async with (
        second.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as other,
    ):
        token = await sign_in(client, world.adam)
        other.cookies.set("tenantry_session", token, domain="testserver.local")
        await put_acme_on(db, "team", world)
        assert (await other.get("/o/acme/roles/new")).status_code == 403
        await sign_in(client, world.olivia)
        moved = await post_form(client, "/o/acme/plan", {"plan": "scale"}, follow_redirects=False)
        assert moved.status_code == 303
        assert (await other.get("/o/acme/roles/new")).status_code == 200


def test_the_plan_file_is_checked_at_start_up(tmp_path):
    def load(text: str):
        path = tmp_path / f"plans{abs(hash(text))}.toml"
        path.write_text(text)
        return load_plan_catalog(str(path))

    assert load_plan_catalog("") is STANDARD
    with pytest.raises(ConfigError, match="unknown feature 'teleport'"):
        load('[[plans]]\nkey = "a"\nname = "A"\nfeatures = ["teleport"]\n')
    with pytest.raises(ConfigError, match="default plan 'gold' is not one of the plans"):
        load('default = "gold"\n[[plans]]\nkey = "a"\nname = "A"\n')
    with pytest.raises(ConfigError, match="declared twice"):
        load('[[plans]]\nkey = "a"\nname = "A"\n[[plans]]\nkey = "a"\nname = "B"\n')
    with pytest.raises(ConfigError, match="seat_limit"):
        load('[[plans]]\nkey = "a"\nname = "A"\nseat_limit = 0\n')
    with pytest.raises(ConfigError, match="declares no plans"):
        load("default = 'a'\n")
    sample = load_plan_catalog("examples/plans.toml")
    assert [p.key for p in sample.plans] == ["free", "team", "business", "enterprise"]
    assert sample.default.key == "free"


async def test_groups_survive_a_lapsed_override_but_no_new_ones_can_be_made(client, world, db):
    await put_acme_on(db, "starter", world)
    await sign_in(client, world.adam)
    page = await client.get(f"/o/acme/groups/{world.engineering.id}")
    assert page.status_code == 200  # existing groups keep working; only new ones need the plan
    assert await count(db, Group) >= 1


async def test_plan_events_read_as_sentences_in_the_activity_log(client, world, db):
    await sign_in(client, world.olivia)
    await post_form(client, "/o/acme/plan", {"plan": "scale"})
    await sign_in(client, world.sam)
    await post_form(
        client,
        f"/staff/orgs/{world.acme.id}/plan/override",
        {"extra_seats": "5", "feature": "sso", "ends_on": "2030-12-31", "note": "ticket 4711"},
    )
    await sign_in(client, world.olivia)
    log = text_of((await client.get("/o/acme/activity")).text)
    assert "Olivia Owner moved the organization from the Pro plan to the Scale plan" in log
    assert "Sam Support granted 5 extra seats, sso beyond the plan through 2030-12-31 (UTC) (ticket 4711)" in log


# --- the activity log's retention, per org, for plans that include it ------------------------------


async def test_an_org_on_a_plan_with_retention_chooses_how_long_its_activity_is_kept(client, world, db):
    await sign_in(client, world.adam)
    saved = await post_form(
        client, "/o/acme/settings/policies", {"retention_choice": "own", "audit_retention_days": "90"}
    )
    assert "Policies saved." in text_of(saved.text)
    [event] = await events(db, "org.settings_changed")
    assert event.before == {"audit_retention_days": None} and event.after == {"audit_retention_days": 90}

    short = await post_form(
        client, "/o/acme/settings/policies", {"retention_choice": "own", "audit_retention_days": "1"}
    )
    assert field_error(short.text, "audit_retention_days") == "Choose between 7 and 3,650 days."


async def test_without_the_feature_retention_is_shown_disabled_and_refused(client, world, db):
    await put_acme_on(db, "team", world)
    await sign_in(client, world.adam)
    page = text_of((await client.get("/o/acme/settings")).text)
    assert "The Team plan doesn't include activity retention; the Pro plan does." in page
    refused = await post_form(
        client, "/o/acme/settings/policies", {"retention_choice": "own", "audit_retention_days": "90"}
    )
    assert refused.status_code == 403
    assert field_error(refused.text, "audit_retention_days").startswith(
        "The Team plan doesn't include activity retention"
    )
    assert await events(db, "org.settings_changed") == []


async def test_the_purge_keeps_each_org_to_its_own_window_only_while_its_plan_allows(db, world, settings):
    from tenantry.audit.models import AuditEvent
    from tenantry.audit.retention import purge_events
    from tenantry.lib.clock import utcnow
    from tenantry.orgs.models import OrgSettingsOverrides
    from tenantry.orgs.settings import retention_overrides

    long_ago = utcnow() - datetime.timedelta(days=100)
    for org in (world.acme, world.globex, None):
        db.add(
            AuditEvent(action="group.created", org_id=org.id if org else None, target_label="old", occurred_at=long_ago)
        )
    db.add(OrgSettingsOverrides(org_id=world.acme.id, audit_retention_days=400))  # Pro: its own counts
    db.add(OrgSettingsOverrides(org_id=world.globex.id, audit_retention_days=30))  # Team: it doesn't
    await db.execute(update(Organization).where(Organization.id == world.globex.id).values(plan_key="team"))
    await db.commit()

    org_days = await retention_overrides(db, settings)
    assert org_days == {world.acme.id: 400}
    assert await purge_events(db, older_than_days=None, org_days=org_days) == 0  # nothing past 400 days
    assert await purge_events(db, older_than_days=60, org_days=org_days) == 2  # Globex's and the account's
    left = list(await db.scalars(select(AuditEvent.org_id).where(AuditEvent.target_label == "old")))
    assert left == [world.acme.id]


async def test_a_plan_seat_limit_holds_when_many_accept_at_once(sessionmaker, world, db, settings):
    """Team has 10 seats: with three members, seven of twenty simultaneous acceptances get in."""

    from sqlalchemy import func

    from tenantry.members.models import Membership, MembershipStatus
    from tests.integration.conftest import make_user

    tokens, users = [], []
    for i in range(20):
        user = await make_user(db, f"Joiner {i}", f"joiner{i}@x.example")
        users.append(user)
        _, token = await make_invitation(db, world.acme, user.email)
        tokens.append(token)
    await db.execute(delete(Role).where(Role.org_id == world.acme.id))  # Team has no custom roles
    await put_acme_on(db, "team", world)

    results = await accept_all_at_once(sessionmaker, settings, [(u.id, t) for u, t in zip(users, tokens, strict=True)])
    assert results.count("joined") == 7, results
    active = await db.scalar(
        select(func.count()).where(Membership.org_id == world.acme.id, Membership.status == MembershipStatus.ACTIVE)
    )
    assert active == 10


async def test_support_verbs_refuse_anyone_but_staff_whoever_calls_them(db, world, settings):
    from tenantry.audit.services import Actor
    from tenantry.lib.errors import NotPermitted
    from tenantry.plans.services import change_plan, set_plan_override

    olivia = Actor(user_id=world.olivia.id, label="Olivia")
    acme = await db.get(Organization, world.acme.id)
    with pytest.raises(NotPermitted):
        await set_plan_override(db, org=acme, extra_seats=5, extra_features=set(), ends_at=None, note="", actor=olivia)
    with pytest.raises(NotPermitted):
        await change_plan(db, settings=settings, org=acme, plan_key="scale", actor=olivia, by_staff=True)


async def test_a_downgrade_that_would_shorten_the_activity_log_is_refused_first(world_factory):
    async with world_factory(audit_retention_days=90) as (client, world):
        async with client.test_sessionmaker() as db:
            from tenantry.orgs.models import OrgSettingsOverrides

            db.add(OrgSettingsOverrides(org_id=world.acme.id, audit_retention_days=3650))
            await db.execute(delete(Role).where(Role.org_id == world.acme.id))  # Team fits otherwise
            await db.commit()
        await sign_in(client, world.olivia)
        refused = await post_form(client, "/o/acme/plan", {"plan": "team"})
        assert refused.status_code == 422
        assert "Team keeps the activity log 90 days, and yours keeps 3650" in text_of(refused.text)
