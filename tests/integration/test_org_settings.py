"""An org's policies: deployment defaults, the org's own choices, one form, and each rule where it bites.

Invitation expiry, the role new members get, the email domains invitations may go to, how long a
member's sign-in lasts for this org, and whether members see each other.
"""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from sqlalchemy import delete, select, update

from tenantry.access.models import MembershipRole, Role, RolePermission
from tenantry.access.services import create_role, grant_role, template_role
from tenantry.accounts.models import UserSession
from tenantry.app import create_app
from tenantry.audit.services import Actor
from tenantry.config import ConfigError
from tenantry.invitations.models import Invitation, InvitationRole
from tenantry.lib.clock import utcnow
from tenantry.lib.tokens import hash_token
from tenantry.members.models import Membership
from tenantry.members.services import create_membership
from tenantry.orgs.models import Organization, OrgSettingsOverrides
from tests.conftest import base_settings
from tests.integration.conftest import (
    CATALOG,
    count,
    events,
    field_error,
    make_invitation,
    post_form,
    sign_in,
)

POLICIES = "/o/acme/settings/policies"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


async def invite(client, data: dict):
    return await post_form(client, "/o/acme/invitations", data, files={"csv": ("", b"", "")})


async def invitation_of(db, email: str) -> Invitation | None:
    return await db.scalar(
        select(Invitation)
        .where(Invitation.email == email)
        .order_by(Invitation.created_at.desc())
        .execution_options(populate_existing=True)
    )


async def roles_of_invitation(db, invitation: Invitation) -> set[str]:
    return set(
        await db.scalars(
            select(Role.key)
            .join(InvitationRole, InvitationRole.role_id == Role.id)
            .where(InvitationRole.invitation_id == invitation.id)
        )
    )


def days_left(invitation: Invitation) -> int:
    return round((invitation.expires_at - utcnow()) / datetime.timedelta(days=1))


async def overrides(db) -> OrgSettingsOverrides | None:
    return await db.scalar(select(OrgSettingsOverrides).execution_options(populate_existing=True))


def policies_text(html: str) -> str:
    section = re.search(r'<section class="card" id="policies".*?</section>', html, re.S)
    assert section, "the settings page has a Policies section"
    return text_of(section.group(0))


# --- inheritance ------------------------------------------------------------------------------


async def test_the_deployment_default_expiry_is_shown_and_used_until_the_org_sets_its_own(world_factory):
    async with world_factory(invitation_expiry_days=10) as (client, world):
        await sign_in(client, world.adam)
        page = policies_text((await client.get("/o/acme/settings")).text)
        assert "Inherit the default (10 days)" in page
        assert "Inherited from the deployment default: 10 days." in page

        assert (await invite(client, {"emails": "ann@acme.example"})).status_code == 200
        async with client.test_sessionmaker() as db:
            assert days_left(await invitation_of(db, "ann@acme.example")) == 10

        saved = await post_form(client, POLICIES, {"expiry_days": "3"}, follow_redirects=True)
        assert "Policies saved." in text_of(saved.text)
        assert "Set by this organization: 3 days." in policies_text(saved.text)
        await invite(client, {"emails": "bob@acme.example"})
        async with client.test_sessionmaker() as db:
            bob = await invitation_of(db, "bob@acme.example")
            assert days_left(bob) == 3
            # a resend starts the org's expiry again, as it is now
            await db.execute(
                update(Invitation).where(Invitation.id == bob.id).values(expires_at=utcnow() + datetime.timedelta(1))
            )
            await db.commit()
        await post_form(client, POLICIES, {"expiry_days": "5"})
        await post_form(client, f"/o/acme/invitations/{bob.id}/resend")
        async with client.test_sessionmaker() as db:
            assert days_left(await invitation_of(db, "bob@acme.example")) == 5

        back = await post_form(client, POLICIES, {"expiry_days": ""}, follow_redirects=True)
        assert "Inherited from the deployment default: 10 days." in policies_text(back.text)
        await invite(client, {"emails": "cat@acme.example"})
        async with client.test_sessionmaker() as db:
            assert days_left(await invitation_of(db, "cat@acme.example")) == 10
            assert (await overrides(db)).invitation_expiry_days is None


async def test_one_event_with_only_what_changed_and_nothing_changed_records_nothing(client, world, db):
    await sign_in(client, world.adam)
    response = await post_form(
        client,
        POLICIES,
        {"expiry_days": "14", "domains_choice": "own", "domains": "Acme.example, @acme.example ACME.co.uk"},
        follow_redirects=True,
    )
    assert "Policies saved." in text_of(response.text)
    [event] = await events(db, "org.settings_changed")
    assert event.before == {"invitation_expiry_days": None, "invitation_email_domains": None}
    assert event.after == {"invitation_expiry_days": 14, "invitation_email_domains": ["acme.example", "acme.co.uk"]}
    assert event.org_id == world.acme.id

    # The form as it now stands, sent again: nothing to change, no event.
    again = await post_form(
        client,
        POLICIES,
        {"expiry_days": "14", "domains_choice": "own", "domains": "acme.example, acme.co.uk"},
        follow_redirects=True,
    )
    assert "Nothing to change." in text_of(again.text)
    assert len(await events(db, "org.settings_changed")) == 1

    activity = text_of((await client.get("/o/acme/activity")).text)
    assert "changed invitation expiry (days) to 14" in activity

    await post_form(client, POLICIES, {"expiry_days": "14", "members_see_each_other": "no"})
    latest = (await events(db, "org.settings_changed"))[-1]
    assert latest.before == {"invitation_email_domains": ["acme.example", "acme.co.uk"], "members_see_each_other": None}
    assert latest.after == {"invitation_email_domains": None, "members_see_each_other": False}


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"expiry_days": "0"}, "expiry_days", "Choose between 1 and 30 days."),
        ({"expiry_days": "31"}, "expiry_days", "Choose between 1 and 30 days."),
        ({"expiry_days": "soon"}, "expiry_days", "Enter a whole number."),
        ({"session_choice": "own", "session_hours": "0"}, "session_hours", None),
        ({"session_choice": "own", "session_hours": "13"}, "session_hours", None),
        ({"session_choice": "own"}, "session_hours", "Enter a number of hours, or choose to inherit the default."),
        ({"domains_choice": "own", "domains": "acme.example, not a domain!"}, "domains", None),
        ({"domains_choice": "own", "domains": "localhost"}, "domains", None),
        ({"domains_choice": "own", "domains": " "}, "domains", None),
        ({"members_see_each_other": "maybe"}, "members_see_each_other", "Enter a valid value."),
        ({"default_role": "not-an-id"}, "default_role", "Enter a valid value."),
    ],
)
async def test_bad_input_is_refused_next_to_its_field_and_changes_nothing(client, world, db, data, field, message):
    await sign_in(client, world.adam)
    response = await post_form(client, POLICIES, data)
    assert response.status_code == 422
    error = field_error(response.text, field)
    assert error, f"an error next to {field}"
    if message:
        assert error == message
    if field == "session_hours" and "session_hours" in data and data["session_hours"] in {"0", "13"}:
        assert error.startswith("Choose between 1 and 12 hours")
    if field == "domains" and data["domains"].strip():
        assert "is not a domain name" in error
    assert await overrides(db) is None
    assert await events(db, "org.settings_changed") == []


async def test_the_default_role_must_be_one_of_this_org_and_one_the_actor_may_give(client, world, db, settings):
    system = Actor.system("tests")
    keeper = await create_role(
        db,
        settings=settings,
        org=world.acme,
        catalog=CATALOG,
        name="Keeper",
        key="keeper",
        description="",
        permissions={"org:manage", "roles:manage", "members:read"},
        actor=system,
    )
    mia = await db.get(Membership, world.memberships["mia"].id)
    await grant_role(db, membership=mia, role=keeper)
    await db.commit()
    await sign_in(client, world.mia)

    other_orgs = await post_form(client, POLICIES, {"default_role": str(world.globex_role.id)})
    assert other_orgs.status_code == 422
    assert field_error(other_orgs.text, "default_role") == "Choose one of the roles listed."
    owner = await template_role(db, "owner")
    as_owner = await post_form(client, POLICIES, {"default_role": str(owner.id)})
    assert field_error(as_owner.text, "default_role") == "New members can't become owners by default."
    beyond = await post_form(client, POLICIES, {"default_role": str(world.developer.id)})
    assert beyond.status_code == 403
    assert "You can't give “Developer”" in field_error(beyond.text, "default_role")
    page = (await client.get("/o/acme/settings")).text
    assert f'value="{world.developer.id}"' not in page, "only roles Mia may give are offered"
    assert (await db.scalar(select(Organization.default_role_id).where(Organization.id == world.acme.id))) is None
    assert await events(db, "org.settings_changed") == []


# --- the default role -------------------------------------------------------------------------


async def test_new_members_get_the_deployment_default_role_unless_the_org_chose_one(world_factory):
    async with world_factory(default_role="analyst") as (client, world):
        await sign_in(client, world.adam)
        page = policies_text((await client.get("/o/acme/settings")).text)
        assert "Inherit the default (Analyst)" in page
        assert "Inherited from the deployment default: Analyst." in page
        await invite(client, {"emails": "ann@acme.example"})
        async with client.test_sessionmaker() as db:
            assert await roles_of_invitation(db, await invitation_of(db, "ann@acme.example")) == {"analyst"}

        saved = await post_form(client, POLICIES, {"default_role": str(world.developer.id)}, follow_redirects=True)
        assert "Set by this organization: Developer." in policies_text(saved.text)
        await invite(client, {"emails": "bob@acme.example"})
        await post_form(client, "/o/acme/members/new", {"name": "Dee", "email": "dee@acme.example"})
        async with client.test_sessionmaker() as db:
            assert await roles_of_invitation(db, await invitation_of(db, "bob@acme.example")) == {"developer"}
            dee_roles = set(
                await db.scalars(
                    select(Role.key)
                    .join(MembershipRole, MembershipRole.role_id == Role.id)
                    .join(Membership, Membership.id == MembershipRole.membership_id)
                    .join(Organization, Organization.id == Membership.org_id)
                    .where(Organization.slug == "acme", Role.key == "developer")
                )
            )
            assert dee_roles == {"developer"}
            [event] = await events(db, "org.settings_changed")
            assert event.before == {"default_role": None} and event.after == {"default_role": "developer"}

        await post_form(client, POLICIES, {"default_role": ""})
        await invite(client, {"emails": "cat@acme.example"})
        async with client.test_sessionmaker() as db:
            assert await roles_of_invitation(db, await invitation_of(db, "cat@acme.example")) == {"analyst"}


@pytest.mark.parametrize("role", ["no-such-role", "owner"])
def test_a_default_role_that_is_not_a_template_stops_start_up(database_urls, backend, role):
    with pytest.raises(ConfigError, match="TENANTRY_DEFAULT_ROLE"):
        create_app(base_settings(database_urls[backend], default_role=role))


def test_a_bad_deployment_domain_list_stops_start_up(database_urls, backend):
    with pytest.raises(ConfigError, match="TENANTRY_INVITATION_EMAIL_DOMAINS"):
        create_app(base_settings(database_urls[backend], invitation_email_domains="acme.example, nope"))


# --- allowed email domains --------------------------------------------------------------------


async def test_invitations_outside_the_allowed_domains_are_refused_naming_both(client, world, db):
    await sign_in(client, world.adam)
    await post_form(client, POLICIES, {"domains_choice": "own", "domains": "acme.example, acme.co.uk"})
    response = await invite(client, {"emails": "ann@acme.example, zed@evil.example, Yan@Other.example"})
    assert response.status_code == 422
    message = field_error(response.text, "emails")
    assert message == (
        "Invitations can only go to addresses at acme.example, acme.co.uk. "
        "Not allowed: zed@evil.example, yan@other.example."
    )
    assert await count(db, Invitation) == 0, "nobody is invited when any address is refused"
    assert (await invite(client, {"emails": "ann@acme.example, bo@acme.co.uk"})).status_code == 200
    assert await count(db, Invitation) == 2

    direct = await post_form(client, "/o/acme/members/new", {"name": "Zed", "email": "zed@evil.example"})
    assert direct.status_code == 422
    assert "Not allowed: zed@evil.example." in field_error(direct.text, "email")


async def test_the_deployment_domains_apply_until_the_org_chooses_and_accepting_is_not_rechecked(world_factory):
    async with world_factory(invitation_email_domains="acme.example") as (client, world):
        async with client.test_sessionmaker() as db:
            _, token = await make_invitation(db, world.acme, "gus@globex.example")
        await sign_in(client, world.adam)
        page = policies_text((await client.get("/o/acme/settings")).text)
        assert "Inherit the default (acme.example)" in page
        refused = await invite(client, {"emails": "zed@globex.example"})
        assert "Not allowed: zed@globex.example." in field_error(refused.text, "emails")

        await post_form(client, POLICIES, {"domains_choice": "own", "domains": "globex.example"})
        assert (await invite(client, {"emails": "zed@globex.example"})).status_code == 200
        anyone = await post_form(client, POLICIES, {"domains_choice": "any"}, follow_redirects=True)
        assert "Set by this organization: any domain." in policies_text(anyone.text)
        assert (await invite(client, {"emails": "yan@elsewhere.example"})).status_code == 200

        await post_form(client, POLICIES, {"domains_choice": "own", "domains": "acme.example"})
        await sign_in(client, world.gus)  # invited before the rule: the inviter was checked then
        accepted = await post_form(client, f"/invite/{token}/accept", follow_redirects=True)
        assert accepted.url.path == "/o/acme" and "Welcome to Acme!" in unescape(accepted.text)


# --- session lifetime -------------------------------------------------------------------------


async def age_session(db, token: str, hours: int) -> None:
    await db.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_token(token))
        .values(created_at=utcnow() - datetime.timedelta(hours=hours))
    )
    await db.commit()


async def test_a_member_signed_in_too_long_ago_signs_in_again_for_this_org_only(client, world, db):
    member = await template_role(db, "member")
    await create_membership(db, org=world.globex, user=world.mia, roles=[member], actor=Actor.system("tests"))
    await db.commit()
    await sign_in(client, world.adam)
    page = policies_text((await client.get("/o/acme/settings")).text)
    assert "Inherit the default (no extra limit)" in page
    saved = await post_form(client, POLICIES, {"session_choice": "own", "session_hours": "4"}, follow_redirects=True)
    assert "Set by this organization: 4 hours." in policies_text(saved.text)

    token = await sign_in(client, world.mia)
    await age_session(db, token, 3)
    assert (await client.get("/o/acme")).status_code == 200, "within the org's limit"
    await age_session(db, token, 5)
    assert (await client.get("/o/globex")).status_code == 200, "Globex has no such rule"
    response = await client.get("/o/acme/members?q=a", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fo%2Facme%2Fmembers%3Fq%3Da"
    assert await count(db, UserSession, UserSession.token_hash == hash_token(token)) == 0, "the session ended"
    login = text_of((await client.get(response.headers["location"])).text)
    assert "Acme asks its members to sign in again every 4 hours." in login
    assert (await client.get("/o/globex", follow_redirects=False)).status_code == 303, (
        "signed out everywhere: it was one session"
    )

    fresh = await sign_in(client, world.mia)
    assert (await client.get("/o/acme")).status_code == 200
    assert fresh != token


async def test_the_deployment_session_limit_is_inherited(world_factory):
    async with world_factory(org_session_hours=2) as (client, world):
        token = await sign_in(client, world.mia)
        async with client.test_sessionmaker() as db:
            await age_session(db, token, 3)
        assert (await client.get("/o/acme", follow_redirects=False)).status_code == 303


# --- members see each other -------------------------------------------------------------------


async def test_when_members_may_not_see_each_other_they_see_only_themselves(client, world, db):
    await sign_in(client, world.olivia)
    await post_form(client, POLICIES, {"members_see_each_other": "no"})
    mia_id, adam_id = world.memberships["mia"].id, world.memberships["adam"].id

    await sign_in(client, world.mia)
    home = await client.get("/o/acme")
    assert 'href="/o/acme/members"' not in home.text, "no Members tab"
    assert f'href="/o/acme/members/{mia_id}"' in home.text, "but their own page"
    assert (await client.get("/o/acme/members")).status_code == 403
    assert (await client.get(f"/o/acme/members/{adam_id}")).status_code == 403
    assert (await client.get(f"/o/acme/groups/{world.engineering.id}")).status_code == 403
    assert (await client.get("/o/acme/groups")).status_code == 403
    own = await client.get(f"/o/acme/members/{mia_id}")
    assert own.status_code == 200 and "Mia Member" in own.text
    assert "See the list of members" not in own.text, "her page says what she may do under the policy"

    await sign_in(client, world.adam)  # manages members: sees everyone
    assert (await client.get("/o/acme/members")).status_code == 200
    assert (await client.get(f"/o/acme/groups/{world.engineering.id}")).status_code == 200

    await sign_in(client, world.olivia)
    await post_form(client, POLICIES, {"members_see_each_other": ""})
    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/members")).status_code == 200, "back to the default: yes"
    assert "See the list of members" in (await client.get(f"/o/acme/members/{mia_id}")).text


async def test_managing_groups_doesnt_list_members_the_policy_hides(client, world, db):
    """A group's "add a member" search lists members: under the policy, groups:manage alone
    doesn't open it."""
    groups_only = Role(org_id=world.acme.id, key="group-keeper", name="Group keeper", description="")
    db.add(groups_only)
    await db.flush()
    db.add(RolePermission(role_id=groups_only.id, permission="groups:manage"))
    db.add(MembershipRole(membership_id=world.memberships["mia"].id, role_id=groups_only.id))
    db.add(OrgSettingsOverrides(org_id=world.acme.id, members_see_each_other=False))
    await db.commit()
    await sign_in(client, world.mia)
    candidates = f"/o/acme/groups/{world.engineering.id}/candidates"
    for headers in ({}, {"hx-request": "true"}):
        response = await client.get(candidates, params={"q": "acme"}, headers=headers)
        assert response.status_code == 403
        assert "olivia@acme.example" not in response.text
    await sign_in(client, world.adam)  # manages members: the policy doesn't apply
    response = await client.get(candidates, params={"q": "mia"}, headers={"hx-request": "true"})
    assert response.status_code == 200 and "mia@acme.example" in response.text


async def test_the_deployment_may_hide_members_from_each_other_and_an_org_may_show_them(world_factory):
    async with world_factory(members_see_each_other=False) as (client, world):
        await sign_in(client, world.mia)
        assert (await client.get("/o/acme/members")).status_code == 403
        await sign_in(client, world.olivia)
        page = policies_text((await client.get("/o/acme/settings")).text)
        assert "Inherit the default (No)" in page and "Inherited from the deployment default: no." in page
        await post_form(client, POLICIES, {"members_see_each_other": "yes"})
        await sign_in(client, world.mia)
        assert (await client.get("/o/acme/members")).status_code == 200


async def test_a_deleted_org_keeps_its_policies_for_a_restore_and_the_purge_removes_them(client, world, db):
    await sign_in(client, world.olivia)
    await post_form(client, POLICIES, {"expiry_days": "9"})
    assert await count(db, OrgSettingsOverrides) == 1
    response = await post_form(client, "/o/acme/settings/delete", {"confirm": "acme"}, follow_redirects=False)
    assert response.status_code == 303
    assert await count(db, OrgSettingsOverrides) == 1  # restorable as it was
    await db.execute(delete(Organization).where(Organization.id == world.acme.id))  # what the purge does
    await db.commit()
    assert await count(db, OrgSettingsOverrides) == 0
