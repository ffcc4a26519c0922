"""Custom metadata: an org's editor, a user's (staff), the staff directory and its typed search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tenantry.accounts.models import User
from tenantry.members.models import Membership, MembershipStatus
from tenantry.metadata.rules import MAX_BYTES, size_of
from tenantry.orgs.models import Organization
from tests.integration.conftest import count_queries, events, field_error, post_form, sign_in
from tests.integration.test_invitations import text_of


async def org_meta(db, org_id) -> dict:
    return await db.scalar(
        select(Organization.meta).where(Organization.id == org_id).execution_options(populate_existing=True)
    )


async def user_meta(db, user_id) -> dict:
    return await db.scalar(select(User.meta).where(User.id == user_id).execution_options(populate_existing=True))


async def set_org_meta(db, org_id, meta: dict) -> None:
    org = await db.get(Organization, org_id)
    org.meta = meta
    await db.commit()


def rows(*triples) -> dict[str, str]:
    data = {}
    for index, (key, kind, value) in enumerate(triples):
        data.update({f"key-{index}": key, f"type-{index}": kind, f"value-{index}": value})
    return data


# --- the org's editor -------------------------------------------------------------------------


async def test_an_admin_edits_the_org_metadata_as_rows(client, world, db):
    await sign_in(client, world.adam)
    settings = text_of((await client.get("/o/acme/settings")).text)
    assert "Custom metadata" in settings and "None yet." in settings
    page = await client.get("/o/acme/settings/metadata")
    assert page.status_code == 200
    assert 'name="key-0"' in page.text and 'name="remove-0"' in page.text, "an empty row to add one"

    response = await post_form(
        client,
        "/o/acme/settings/metadata",
        rows(("Industry", "string", "food"), ("employees", "number", "50"), ("trial", "boolean", "true")),
    )
    assert response.status_code == 200
    assert "Metadata saved." in response.text
    assert await org_meta(db, world.acme.id) == {"employees": 50, "industry": "food", "trial": True}
    # Shown again as rows, with their types, and one empty row after them.
    html = response.text
    assert 'value="industry"' in html and 'value="50"' in html and 'name="key-3"' in html
    assert '<option value="number" selected>' in html and '<option value="boolean" selected>' in html

    (event,) = await events(db, "org.metadata_changed")
    assert event.org_id == world.acme.id and event.target_label == "acme"
    assert event.before == {"metadata": {}}
    assert event.after == {"metadata": {"employees": 50, "industry": "food", "trial": True}}


async def test_remove_a_row_and_change_a_type(client, world, db):
    await set_org_meta(db, world.acme.id, {"industry": "food", "employees": "50"})
    await sign_in(client, world.olivia)
    data = rows(("employees", "number", "50"), ("industry", "string", "food"))
    data["remove-1"] = "1"
    response = await post_form(client, "/o/acme/settings/metadata", data)
    assert "Metadata saved." in response.text
    assert await org_meta(db, world.acme.id) == {"employees": 50}
    (event,) = await events(db, "org.metadata_changed")
    assert event.before == {"metadata": {"employees": "50", "industry": "food"}}
    assert event.after == {"metadata": {"employees": 50}}
    activity = text_of((await client.get("/o/acme/activity")).text)
    assert "changed the organization's metadata (employees, industry)" in activity


async def test_saving_what_is_there_records_nothing(client, world, db):
    await set_org_meta(db, world.acme.id, {"industry": "food", "trial": True})
    await sign_in(client, world.adam)
    response = await post_form(
        client, "/o/acme/settings/metadata", rows(("trial", "boolean", "true"), ("industry", "string", "food"))
    )
    assert "Nothing to change." in response.text
    assert await events(db, "org.metadata_changed") == []


async def test_a_number_becoming_true_is_a_change(client, world, db):
    await set_org_meta(db, world.acme.id, {"flag": 1})
    await sign_in(client, world.adam)
    response = await post_form(client, "/o/acme/settings/metadata", rows(("flag", "boolean", "true")))
    assert "Metadata saved." in response.text
    assert (await org_meta(db, world.acme.id))["flag"] is True


async def test_bad_rows_show_their_errors_and_change_nothing(client, world, db):
    await set_org_meta(db, world.acme.id, {"industry": "food"})
    await sign_in(client, world.adam)
    response = await post_form(
        client,
        "/o/acme/settings/metadata",
        rows(("industry", "string", "retail"), ("employees", "number", "fifty"), ("Industry", "string", "x")),
    )
    assert response.status_code == 422
    assert field_error(response.text, "value-1") == "Enter a number such as 42, -7 or 3.5."
    assert field_error(response.text, "key-2") == "“industry” is already used in row 1: each key once."
    assert field_error(response.text, "key-0") is None
    assert 'value="fifty"' in response.text and 'value="retail"' in response.text, "what was typed stays"
    assert await org_meta(db, world.acme.id) == {"industry": "food"}
    assert await events(db, "org.metadata_changed") == []


async def test_the_16_kb_limit_exactly_at_and_over(client, world, db):
    await sign_in(client, world.adam)
    overhead = size_of({"notes": ""})
    at_limit = rows(("notes", "string", "x" * (MAX_BYTES - overhead)))
    response = await post_form(client, "/o/acme/settings/metadata", at_limit)
    assert "Metadata saved." in response.text
    assert size_of(await org_meta(db, world.acme.id)) == MAX_BYTES

    over = rows(("notes", "string", "y" * (MAX_BYTES - overhead + 1)))
    response = await post_form(client, "/o/acme/settings/metadata", over)
    assert response.status_code == 422
    assert "Metadata is limited to 16 KB and this is 16 KB (16,385 bytes)" in text_of(response.text)
    assert (await org_meta(db, world.acme.id))["notes"].startswith("x"), "the saved value is still there"


async def test_add_another_row_works_without_javascript_and_saves_nothing(client, world, db):
    await sign_in(client, world.adam)
    data = {**rows(("industry", "string", "food")), "add_row": "1"}
    response = await post_form(client, "/o/acme/settings/metadata", data)
    assert response.status_code == 200
    assert 'value="food"' in response.text and 'name="key-1"' in response.text and 'name="key-2"' not in response.text
    assert await org_meta(db, world.acme.id) == {}
    assert await events(db, "org.metadata_changed") == []


async def test_a_member_without_org_manage_can_not_edit(client, world, db):
    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/settings/metadata")).status_code == 403
    response = await post_form(client, "/o/acme/settings/metadata", rows(("x", "string", "y")))
    assert response.status_code == 403
    assert await org_meta(db, world.acme.id) == {}


# --- a user's metadata, edited by staff ---------------------------------------------------------


async def test_staff_edit_a_users_metadata_and_the_user_sees_it_read_only(client, world, db):
    await sign_in(client, world.mia)
    assert "Metadata" not in text_of((await client.get("/account")).text), "no section while there is none"

    await sign_in(client, world.sam)
    listing = (await client.get("/staff/users", params={"q": "MIA"})).text
    assert "mia@acme.example" in listing and "olivia@acme.example" not in listing
    assert f'href="/staff/users/{world.mia.id}/metadata"' in listing
    response = await post_form(
        client, f"/staff/users/{world.mia.id}/metadata", rows(("tier", "number", "2"), ("beta", "boolean", "false"))
    )
    assert "Metadata saved." in response.text
    assert await user_meta(db, world.mia.id) == {"beta": False, "tier": 2}
    (event,) = await events(db, "user.metadata_changed")
    assert event.org_id is None and event.target_label == "mia@acme.example"
    assert event.before == {"metadata": {}} and event.after == {"metadata": {"beta": False, "tier": 2}}
    assert event.actor_user_id == world.sam.id

    await sign_in(client, world.mia)
    profile = text_of((await client.get("/account")).text)
    assert "Metadata" in profile and "tier 2" in profile and "beta false" in profile
    assert f"/staff/users/{world.mia.id}/metadata" not in (await client.get("/account")).text


async def test_staff_pages_are_404_for_everyone_else(client, world, db):
    await sign_in(client, world.olivia)
    for path in ("/staff/orgs", "/staff/users", f"/staff/users/{world.mia.id}/metadata"):
        assert (await client.get(path)).status_code == 404, path
    response = await post_form(client, f"/staff/users/{world.olivia.id}/metadata", rows(("vip", "boolean", "true")))
    assert response.status_code == 404
    assert await user_meta(db, world.olivia.id) == {}


async def test_an_unknown_user_is_404_for_staff(client, world):
    await sign_in(client, world.sam)
    assert (await client.get(f"/staff/users/{world.acme.id}/metadata")).status_code == 404


# --- the staff directory ------------------------------------------------------------------------


async def test_the_staff_directory_finds_orgs_by_typed_metadata(client, world, db):
    await set_org_meta(db, world.acme.id, {"industry": "food", "employees": 50, "trial": True, "code": "50"})
    await set_org_meta(db, world.globex.id, {"industry": "steel", "employees": "50", "trial": False, "code": 50})
    await sign_in(client, world.sam)

    async def found(**params) -> set[str]:
        response = await client.get("/staff/orgs", params=params)
        assert response.status_code == 200, response.text[:300]
        return {name for name in ("Acme", "Globex") if f">{name}<" in response.text}

    assert await found() == {"Acme", "Globex"}
    assert await found(meta="industry=food") == {"Acme"}
    assert await found(meta="Industry = steel") == {"Globex"}
    assert await found(meta="employees=50") == {"Acme"}, "the number 50, not the text"
    assert await found(meta="employees=50.0") == {"Acme"}
    assert await found(meta='employees="50"') == {"Globex"}, "quoted: the text"
    assert await found(meta="code=50") == {"Globex"}
    assert await found(meta="trial=true") == {"Acme"}
    assert await found(meta="trial=false") == {"Globex"}
    assert await found(meta="industry=Food") == set(), "a string matches exactly"
    assert await found(meta="missing=1") == set()
    assert await found(q="GLOB") == {"Globex"}
    assert await found(q="acme", meta="industry=steel") == set()

    page = text_of((await client.get("/staff/orgs", params={"meta": "industry=food"})).text)
    assert "/o/acme" in page and "3 members" in page and "industry=food" in page and "trial=true" in page
    empty = text_of((await client.get("/staff/orgs", params={"meta": "industry=none"})).text)
    assert "No organization matches" in empty


async def test_a_filter_that_is_not_key_value_says_so(client, world):
    await sign_in(client, world.sam)
    response = await client.get("/staff/orgs", params={"meta": "just words"})
    assert response.status_code == 422
    assert field_error(response.text, "meta") == "Write key=value, e.g. industry=food, employees=50 or trial=true."


async def test_staff_find_the_directory_from_the_activity_page(client, world):
    await sign_in(client, world.sam)
    html = (await client.get("/staff/activity")).text
    assert 'href="/staff/orgs"' in html and 'href="/staff/users"' in html


async def add_orgs(db, world, numbers: range) -> None:
    """Orgs "Org 000"... with metadata, each with Gus as its one member."""
    for number in numbers:
        org = Organization(name=f"Org {number:03}", slug=f"org-{number:03}", meta={"n": number, "kind": "test"})
        db.add(org)
        await db.flush()
        db.add(Membership(org_id=org.id, user_id=world.gus.id, status=MembershipStatus.ACTIVE, sort_name="gus"))
    await db.commit()


@pytest.mark.parametrize("filters", [{}, {"meta": "kind=test"}, {"q": "org"}])
async def test_the_directory_runs_the_same_queries_for_5_or_50_orgs(client, world, db, app_engine, filters):
    await sign_in(client, world.sam)
    await client.get("/staff/orgs")  # the session's first request records its address: not the page's cost
    await add_orgs(db, world, range(5))
    with count_queries(app_engine) as few:
        small = await client.get("/staff/orgs", params=filters)
    await add_orgs(db, world, range(5, 50))
    with count_queries(app_engine) as many:
        big = await client.get("/staff/orgs", params=filters)
    assert small.status_code == big.status_code == 200
    assert small.text.count("/o/org-") == 5 and big.text.count("/o/org-") >= 48
    assert many.count == few.count, "\n".join(s[:120] for s in [*few.statements, "----", *many.statements])
    assert few.count <= 4, "session, switcher, the page: member counts come with the orgs"


async def test_the_directory_pages_by_name(client, world, db):
    await add_orgs(db, world, range(60))
    await sign_in(client, world.sam)
    first = await client.get("/staff/orgs", params={"meta": "kind=test"})
    assert "Org 000" in first.text and "Org 049" in first.text and "Org 050" not in first.text
    next_link = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = await client.get(next_link)
    assert "Org 050" in second.text and "Org 059" in second.text and "Org 049" not in second.text
    assert "Acme" not in second.text, "the filter is kept across pages"
