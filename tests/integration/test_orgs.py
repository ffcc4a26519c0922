"""Organizations: create, switch, rename, move, brand, delete."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from tenantry.access.models import MembershipRole, Role
from tenantry.accounts.models import User
from tenantry.audit.models import AuditEvent
from tenantry.members.models import Membership
from tenantry.orgs.models import Organization, OrgLogo, SlugRedirect
from tests.integration.conftest import count, events, field_error, make_user, post_form, sign_in


def image_bytes(fmt: str = "PNG", size=(64, 64), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


async def create_org(client, name="Initech", slug="", brand_color="#112233", logo: bytes | None = None, **kw):
    files = {"logo": ("logo.png", logo, "image/png")} if logo is not None else {"logo": ("", b"", "")}
    return await post_form(
        client, "/orgs/new", {"name": name, "slug": slug, "brand_color": brand_color}, files=files, **kw
    )


async def org_by_slug(db, slug) -> Organization | None:
    return await db.scalar(
        select(Organization).where(Organization.slug == slug).execution_options(populate_existing=True)
    )


async def test_creating_an_org_makes_the_creator_its_owner(client, world, db):
    await sign_in(client, world.mia)
    response = await create_org(client, name="Initech Labs", logo=image_bytes())
    assert response.url.path == "/o/initech-labs"
    assert "Initech Labs is ready. You are its owner." in response.text

    org = await org_by_slug(db, "initech-labs")
    assert org.brand_color == "#112233" and org.logo_sha256
    roles = await db.scalars(
        select(Role.key)
        .join(MembershipRole, MembershipRole.role_id == Role.id)
        .join(Membership, Membership.id == MembershipRole.membership_id)
        .where(Membership.org_id == org.id, Membership.user_id == world.mia.id)
    )
    assert list(roles) == ["owner"]
    created = [e for e in await events(db) if e.org_id == org.id]
    assert [e.action for e in created] == ["org.created", "membership.created"]
    assert created[0].actor_user_id == world.mia.id
    assert created[0].after["slug"] == "initech-labs"
    assert all(e.request_id and e.ip for e in created), "who, from where, which request"


async def test_creating_an_org_rolls_back_with_its_audit_event(sessionmaker, world):
    """The change and its event share one transaction: one cannot exist without the other."""
    from tenantry.audit.services import Actor
    from tenantry.orgs.services import create_organization

    async with sessionmaker() as db:
        before = await count(db, AuditEvent)
        user = await db.get(User, world.mia.id)
        await create_organization(
            db, creator=user, name="Ghost", slug="ghost", brand_color="", logo=None, actor=Actor.system()
        )
        assert await count(db, AuditEvent) == before + 2
        await db.rollback()
        assert await count(db, Organization, Organization.slug == "ghost") == 0
        assert await count(db, AuditEvent) == before


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("a", "Use at least 2 characters."),
        ("x" * 49, "Use at most 48 characters."),
        ("Has Spaces", "Use lowercase letters"),
        ("-dash", "Use lowercase letters"),
        ("ünïcode", "Use lowercase letters"),
        ("admin", "is reserved"),
        ("api", "is reserved"),
        ("staff", "is reserved"),
    ],
)
async def test_slug_rules(client, world, db, slug, message):
    await sign_in(client, world.mia)
    response = await create_org(client, name="Initech", slug=slug)
    assert response.status_code == 422
    assert message in field_error(response.text, "slug")
    assert await count(db, Organization) == 2


async def test_a_taken_slug_gets_a_free_suggestion(client, world, db):
    await sign_in(client, world.mia)
    response = await create_org(client, name="Acme Two", slug="acme")
    assert response.status_code == 422
    assert field_error(response.text, "slug") == "“acme” is already taken. “acme-2” is free."
    assert 'value="Acme Two"' in response.text, "what was typed is kept"


async def test_the_slug_is_derived_from_the_name_and_made_unique(client, world, db):
    await sign_in(client, world.mia)
    first = await create_org(client, name="Acme")
    assert first.url.path == "/o/acme-2"
    second = await create_org(client, name="Müller & Söhne GmbH")
    assert second.url.path == "/o/muller-sohne-gmbh"


async def test_slug_hint_while_typing(client, world):
    await sign_in(client, world.mia)
    hint = await client.get("/orgs/slug-hint", params={"name": "Acme"}, headers={"hx-request": "true"})
    assert "Your address will be /o/acme-2" in hint.text
    taken = await client.get("/orgs/slug-hint", params={"slug": "globex"})
    assert "/o/globex is taken" in taken.text and "globex-2" in taken.text
    free = await client.get("/orgs/slug-hint", params={"slug": "hooli"})
    assert "/o/hooli is available." in free.text


async def test_the_slug_hint_is_counted_per_person(client, world, monkeypatch):
    """Nobody lists the deployment's addresses through it; past the limit it just stops telling."""
    from tenantry.lib.ratelimit import Limit
    from tenantry.orgs import controllers

    monkeypatch.setattr(controllers, "SLUG_HINT_LIMIT", Limit("slug-hint:user", 2, 3600))
    await sign_in(client, world.mia)
    for slug in ("hooli", "initech"):
        assert "is available" in (await client.get("/orgs/slug-hint", params={"slug": slug})).text
    stopped = await client.get("/orgs/slug-hint", params={"slug": "globex"})
    assert stopped.status_code == 200
    assert "taken" not in stopped.text and "checked when you create the organization" in stopped.text
    await sign_in(client, world.adam)  # someone else still gets answers
    assert "/o/globex is taken" in (await client.get("/orgs/slug-hint", params={"slug": "globex"})).text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "SVG logos aren't accepted",
        ),
        (b"GIF89a not really", "isn't a PNG, JPEG or WebP image"),
        (image_bytes("GIF"), "Upload a PNG, JPEG or WebP image."),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 600 * 1024, "This file is 600 KB; a logo can be at most 512 KB."),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 3 * 1024 * 1024, "This file is 3.0 MB; a logo can be at most 512 KB."),
    ],
)
async def test_logo_uploads_are_checked(client, world, db, content, message):
    await sign_in(client, world.mia)
    response = await create_org(client, logo=content)
    assert response.status_code == 422
    assert message in field_error(response.text, "logo")
    assert await count(db, Organization) == 2


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_logos_are_served_with_their_real_type(client, world, db, fmt):
    await sign_in(client, world.mia)
    await create_org(client, logo=image_bytes(fmt))
    org = await org_by_slug(db, "initech")
    response = await client.get(org.logo_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[fmt]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in response.headers["cache-control"]
    assert (await client.get(f"/media/logos/{org.id}/" + "0" * 64)).status_code == 404
    assert (await client.get(f"/media/logos/{world.acme.id}/{org.logo_sha256}")).status_code == 404, "per org"
    assert (await client.get(f"/media/logos/{org.logo_sha256}")).status_code == 404
    assert (await client.get("/media/logos/../../etc/passwd")).status_code == 404


async def test_brand_colour_becomes_the_accent(client, world):
    await sign_in(client, world.olivia)
    page = await client.get("/o/acme")
    assert '<link rel="stylesheet" href="/theme/accent/d97706">' in page.text
    css = await client.get("/theme/accent/d97706")
    assert css.headers["content-type"].startswith("text/css")
    assert "--accent:#d97706" in css.text and "--accent-contrast:#000000" in css.text
    assert (await client.get("/theme/accent/zzzzzz")).status_code == 404


async def test_root_goes_to_the_last_org_then_the_first_then_create(client, world, db):
    await sign_in(client, world.gus)
    assert (await client.get("/")).url.path == "/o/globex"
    await sign_in(client, world.olivia)
    await create_org(client, name="Beta")
    await client.get("/o/acme")
    assert (await client.get("/")).url.path == "/o/acme", "the last org used"
    await client.get("/o/beta")
    assert (await client.get("/")).url.path == "/o/beta"
    newcomer = await make_user(db, "Nell New", "nell@elsewhere.example")
    await db.commit()
    await sign_in(client, newcomer)
    page = await client.get("/")
    assert page.url.path == "/orgs/new"
    assert "Create your first organization" in page.text
    assert (await client.get("/staff")).status_code == 404, "the console isn't there for customers"
    await sign_in(client, world.sam)  # support staff, in no org: the console
    console = await client.get("/")
    assert console.url.path == "/staff/orgs"
    assert 'href="/staff/orgs">Support console</a>' in console.text and "org-switcher" not in console.text
    assert (await client.get("/staff")).url.path == "/staff/orgs"
    client.cookies.clear()
    assert (await client.get("/")).url.path == "/login"


async def test_switcher_lists_my_orgs_with_my_roles(client, world):
    await sign_in(client, world.olivia)
    await create_org(client, name="Beta")
    page = await client.get("/o/beta")
    switcher = page.text[page.text.index("switcher-heading") : page.text.index("Create organization")]
    assert switcher.index("Acme") < switcher.index("Beta")
    assert switcher.count("Owner") == 2
    assert "Globex" not in switcher
    await sign_in(client, world.mia)
    page = await client.get("/o/acme")
    assert "Member" in page.text[page.text.index("org-switcher") : page.text.index("Create organization")]


async def test_org_home_shows_logo_name_members_and_my_roles(client, world):
    await sign_in(client, world.adam)
    page = await client.get("/o/acme")
    assert "<h1>Acme</h1>" in page.text
    assert '<p class="stat">3</p>' in page.text
    assert "badge--admin" in page.text


async def test_rename(client, world, db):
    await sign_in(client, world.adam)
    response = await post_form(client, "/o/acme/settings/name", {"name": "Acme Corporation"})
    assert "The organization&#39;s name has been saved." in response.text
    assert (await org_by_slug(db, "acme")).name == "Acme Corporation"
    [event] = await events(db, "org.renamed")
    assert (event.before, event.after) == ({"name": "Acme"}, {"name": "Acme Corporation"})
    bad = await post_form(client, "/o/acme/settings/name", {"name": ""})
    assert bad.status_code == 422 and field_error(bad.text, "name") == "This field is required."


async def test_changing_the_slug_redirects_old_links_for_members_only(client, world, db):
    await sign_in(client, world.adam)
    response = await post_form(client, "/o/acme/settings/slug", {"slug": "acme-corp"})
    assert response.url.path == "/o/acme-corp/settings"
    assert "Links to /o/acme keep working." in response.text
    [event] = await events(db, "org.slug_changed")
    assert (event.before, event.after) == ({"slug": "acme"}, {"slug": "acme-corp"})

    old = await client.get("/o/acme/members?q=mia", follow_redirects=False)
    assert old.status_code == 301
    assert old.headers["location"] == "/o/acme-corp/members?q=mia"

    await sign_in(client, world.gus)
    assert (await client.get("/o/acme/members", follow_redirects=False)).status_code == 404, "no hint to outsiders"
    taken = await create_org(client, name="Acme", slug="acme")
    assert "already taken" in field_error(taken.text, "slug"), "a former slug stays with its org"


async def test_an_org_can_move_back_to_a_former_slug(client, world, db):
    await sign_in(client, world.olivia)
    await post_form(client, "/o/acme/settings/slug", {"slug": "acme-corp"})
    response = await post_form(client, "/o/acme-corp/settings/slug", {"slug": "acme"})
    assert response.url.path == "/o/acme/settings"
    redirects = set(await db.scalars(select(SlugRedirect.old_slug)))
    assert redirects == {"acme-corp"}


async def test_uppercase_slug_in_a_url_redirects_to_the_canonical_one(client, world):
    await sign_in(client, world.mia)
    response = await client.get("/o/ACME/members", follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"] == "/o/acme/members"


async def test_branding_change_and_logo_removal(client, world, db):
    await sign_in(client, world.adam)
    logo = image_bytes("PNG")
    response = await post_form(
        client,
        "/o/acme/settings/branding",
        {"brand_color": "#0f766e"},
        files={"logo": ("l.png", logo, "image/png")},
    )
    assert "Branding saved." in response.text
    org = await org_by_slug(db, "acme")
    assert org.brand_color == "#0f766e" and org.logo_sha256
    assert f'src="{org.logo_url}"' in response.text

    await post_form(
        client,
        "/o/acme/settings/branding",
        {"brand_color": "#0f766e", "remove_logo": "1"},
        files={"logo": ("", b"", "")},
    )
    org = await org_by_slug(db, "acme")
    assert org.logo_sha256 is None
    assert await count(db, OrgLogo) == 0
    changes = await events(db, "org.branding_changed")
    assert [e.after for e in changes] == [
        {"brand_color": "#0f766e", "logo": changes[0].after["logo"]},
        {"brand_color": "#0f766e", "logo": None},
    ]
    assert changes[0].before == {"brand_color": "#d97706", "logo": None}

    bad = await post_form(client, "/o/acme/settings/branding", {"brand_color": "blue"}, files={"logo": ("", b"", "")})
    assert bad.status_code == 422
    assert "Enter a colour as #rrggbb" in field_error(bad.text, "brand_color")


async def test_deleting_needs_the_slug_typed_and_the_owner(client, world, db):
    await sign_in(client, world.adam)
    assert (await client.get("/o/acme/settings/delete")).status_code == 403, "admins can't delete"
    await sign_in(client, world.olivia)
    page = await client.get("/o/acme/settings/delete")
    assert "3 members will lose access" in page.text
    wrong = await post_form(client, "/o/acme/settings/delete", {"confirm": "acm"})
    assert wrong.status_code == 422
    assert field_error(wrong.text, "confirm") == "Type “acme” exactly to confirm."
    assert await org_by_slug(db, "acme") is not None

    assert "Support can restore Acme within 30 days" in page.text
    response = await post_form(client, "/o/acme/settings/delete", {"confirm": "acme"})
    assert response.url.path == "/orgs/new"
    assert "Acme has been deleted. Support can restore it within 30 days." in response.text
    [event] = await events(db, "org.deleted")
    assert event.before == {"name": "Acme", "slug": "acme", "active_members": 3}
    assert event.actor_user_id == world.olivia.id
    await sign_in(client, world.mia)
    assert (await client.get("/o/acme")).status_code == 404
    assert (await client.get("/")).url.path == "/orgs/new"


async def test_my_orgs_page_and_its_empty_state(client, world, db):
    await sign_in(client, world.olivia)
    page = await client.get("/orgs")
    assert "/o/acme" in page.text
    await sign_in(client, await db.get(User, world.sam.id))
    empty = await client.get("/orgs")
    assert "You&#39;re not in any organization yet" in empty.text


@pytest.mark.parametrize("where", ["create", "change"])
async def test_a_slug_taken_at_the_same_moment_is_a_clear_message(client, world, db, monkeypatch, where):
    """Two admins choose the same address at once: the loser sees a message, not an error page."""
    import tenantry.orgs.services as org_services

    async def always_free(*args, **kwargs):
        return True  # as if the other org's insert landed just after our check

    monkeypatch.setattr(org_services, "is_slug_available", always_free)
    await sign_in(client, world.olivia)
    if where == "create":
        response = await create_org(client, name="Globex Two", slug="globex")
    else:
        response = await post_form(client, "/o/acme/settings/slug", {"slug": "globex"})
    assert response.status_code == 422
    assert "“globex” is already taken" in field_error(response.text, "slug")
    assert await count(db, Organization) == 2
    assert (await org_by_slug(db, "acme")) is not None
