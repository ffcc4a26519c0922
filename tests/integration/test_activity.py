"""The audit log as people read it: an org's activity with filters and pages, exports that stream,
your own account's activity, and staff's view across orgs."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

from tenantry.audit.models import AuditEvent
from tenantry.audit.services import Actor, Target, record_event
from tests.integration.conftest import count_queries, post_form, sign_in
from tests.integration.test_invitations import text_of


async def add_events(db, org_id, n: int, *, action: str = "group.created", label: str = "Team") -> None:
    actor = Actor(user_id=None, label="Robot Rita <rita@acme.example>")
    for i in range(n):
        record_event(db, actor=actor, action=action, org_id=org_id, target=Target("group", str(i), f"{label} {i}"))
    await db.commit()


async def test_the_org_activity_reads_as_sentences_newest_first(client, world, db):
    await sign_in(client, world.adam)
    await post_form(client, "/o/acme/invitations", {"emails": "ann@acme.example"}, files={"csv": ("", b"", "")})
    await post_form(client, "/o/acme/settings/name", {"name": "Acme Inc."})
    page = text_of((await client.get("/o/acme/activity")).text)
    renamed = page.index("Adam Admin renamed the organization to Acme Inc.")
    invited = page.index("Adam Admin invited ann@acme.example as member")
    assert renamed < invited, "newest first"
    assert "Activity" in page and "Export CSV" in page


async def test_filters_by_who_what_about_and_when(client, world, db):
    await add_events(db, world.acme.id, 3, label="Design")
    await add_events(db, world.acme.id, 2, action="role.created", label="Auditor")
    await sign_in(client, world.olivia)
    by_action = text_of((await client.get("/o/acme/activity", params={"action": "role"})).text)
    assert by_action.count("Robot Rita created the role Auditor") == 2 and "Design" not in by_action
    by_target = text_of((await client.get("/o/acme/activity", params={"target": "design 1"})).text)
    assert "created the group Design 1" in by_target and "Design 0" not in by_target
    by_actor = text_of((await client.get("/o/acme/activity", params={"actor": "rita@"})).text)
    assert "Robot Rita" in by_actor and "Olivia Owner created the organization" not in by_actor
    nobody = text_of((await client.get("/o/acme/activity", params={"actor": "nobody%_"})).text)
    assert "Nothing matches these filters" in nobody
    old = text_of((await client.get("/o/acme/activity", params={"until": "2001-01-01"})).text)
    assert "Nothing matches these filters" in old
    today = text_of((await client.get("/o/acme/activity", params={"since": "2001-01-01", "until": "2999-12-31"})).text)
    assert "Robot Rita" in today


def filter_options(html: str) -> list[tuple[str, str]]:
    """The "What" filter's (group, option text) pairs."""
    select = html[html.index('id="filter-action"') : html.index("</select>")]
    pairs, group = [], ""
    for match in re.finditer(r'<optgroup label="([^"]*)">|<option value="[^"]*"[^>]*>([^<]*)</option>', select):
        if match.group(1) is not None:
            group = unescape(match.group(1))
        else:
            pairs.append((group, unescape(match.group(2))))
    return pairs


async def test_the_what_filter_groups_actions_in_words(client, world):
    await sign_in(client, world.olivia)
    options = filter_options((await client.get("/o/acme/activity")).text)
    assert options[0] == ("", "Everything")
    assert ("Members", "Members: all") in options and ("Members", "Members \u203a roles changed") in options
    assert ("Roles", "Roles \u203a created") in options
    assert not any("." in text or "_" in text for _, text in options), "no raw action keys"
    account = filter_options((await client.get("/account/activity")).text)
    assert account == [("", "Everything"), ("Account", "Account: all")]


async def test_roles_are_named_as_people_read_them(client, world, db):
    from tenantry.access.services import template_role

    analyst = await template_role(db, "analyst")
    await sign_in(client, world.olivia)
    await post_form(client, "/o/acme/roles/new", {"name": "Report viewer", "permissions": "members:read"})
    await post_form(
        client, f"/o/acme/groups/{world.engineering.id}/roles", {"role": [str(world.developer.id), str(analyst.id)]}
    )
    page = text_of((await client.get("/o/acme/activity")).text)
    assert "Olivia Owner created the role Report viewer" in page
    assert "Olivia Owner gave the group Engineering the role Analyst" in page


async def test_a_bad_date_is_explained_next_to_its_field(client, world):
    await sign_in(client, world.olivia)
    response = await client.get("/o/acme/activity", params={"since": "31/01/2026", "until": "2026-13-01"})
    assert response.status_code == 422
    assert "Enter a date as YYYY-MM-DD" in unescape(response.text)
    far = await client.get("/o/acme/activity", params={"until": "9999-12-31"})
    assert far.status_code == 422 and "Enter a date before the year 9999." in far.text
    export = await client.get("/o/acme/activity/export", params={"until": "9999-12-31", "since": "9999-12-31"})
    assert export.status_code == 200
    backwards = await client.get("/o/acme/activity", params={"since": "2026-02-01", "until": "2026-01-01"})
    assert "The end date comes before the start date." in unescape(backwards.text)


async def test_pages_walk_the_log_by_keyset_without_overlap(client, world, db):
    await add_events(db, world.acme.id, 120)
    await sign_in(client, world.olivia)
    seen, url, pages = [], "/o/acme/activity?action=group", 0
    while url:
        html = (await client.get(url)).text
        seen += re.findall(r"created the group Team (\d+)", text_of(html))
        pages += 1
        match = re.search(r'href="([^"]*cursor=[^"]*)"[^>]*>\s*Next', html)
        url = unescape(match.group(1)) if match else None
    assert pages == 3
    assert [int(n) for n in seen] == list(range(119, -1, -1)), "newest first, each once"


async def test_a_page_costs_the_same_number_of_statements_however_long_the_log(client, world, db, app_engine):
    await sign_in(client, world.olivia)
    await client.get("/o/acme/activity")
    with count_queries(app_engine) as small:
        await client.get("/o/acme/activity")
    await add_events(db, world.acme.id, 300)
    with count_queries(app_engine) as large:
        await client.get("/o/acme/activity")
    assert small.count == large.count


async def test_names_with_markup_or_newlines_never_break_a_line(client, world, db):
    await add_events(db, world.acme.id, 1, label='<script>alert("x")</script>\nsecond line')
    await sign_in(client, world.olivia)
    html = (await client.get("/o/acme/activity")).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; second line" in html


async def test_the_export_streams_csv_and_json_lines_of_this_org_only(client, world, db):
    await add_events(db, world.acme.id, 3, label='=HYPERLINK("http://evil.example")')
    await add_events(db, world.globex.id, 2, label="Globex secret")
    await sign_in(client, world.olivia)
    response = await client.get("/o/acme/activity/export", params={"format": "csv", "target": "hyperlink"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert re.match(r'attachment; filename="acme-activity-\d{8}-\d{4}\.csv"', response.headers["content-disposition"])
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3
    assert all(row["target"].startswith("'=HYPERLINK") for row in rows), "no formula runs in a spreadsheet"
    assert "Globex" not in response.text

    lines = (await client.get("/o/acme/activity/export", params={"format": "jsonl"})).text.splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["org_id"] for r in records} == {str(world.acme.id)}
    assert records == sorted(records, key=lambda r: r["id"]), "oldest first, as a log reads"
    assert any(r["action"] == "org.created" for r in records)

    await sign_in(client, world.mia)
    assert (await client.get("/o/acme/activity/export")).status_code == 403


async def test_a_long_export_comes_in_batches(client, world, db, monkeypatch):
    from tenantry.audit import activity

    monkeypatch.setattr(activity, "EXPORT_BATCH", 7)
    await add_events(db, world.acme.id, 30)
    await sign_in(client, world.olivia)
    lines = (await client.get("/o/acme/activity/export", params={"format": "jsonl", "target": "team"})).text
    assert len(lines.splitlines()) == 30


async def test_your_account_activity_shows_your_sign_ins_and_nobody_elses(client, world, db):
    await post_form(client, "/login", {"email": "mia@acme.example", "password": "wrong password!"})
    await post_form(client, "/login", {"email": "adam@acme.example", "password": "wrong password!"})
    await sign_in(client, world.mia)
    await post_form(client, "/account/profile", {"name": "Mia M."})
    page = text_of((await client.get("/account/activity")).text)
    assert "a sign-in to mia@acme.example failed" in page.lower()
    assert "Mia M. changed their profile" in page or "Mia Member changed their profile" in page
    assert "adam@acme.example" not in page
    assert "renamed" not in page, "org events belong to the org's page"


async def test_staff_see_every_org_and_everyone_else_gets_404(client, world, db):
    await add_events(db, world.globex.id, 1, label="Globex team")
    await sign_in(client, world.olivia)
    assert (await client.get("/staff/activity")).status_code == 404
    await sign_in(client, world.sam)
    page = text_of((await client.get("/staff/activity")).text)
    assert "created the group Globex team 0" in page and "Acme" in page and "Globex" in page
    assert (await client.get("/staff/activity", params={"action": "org"})).status_code == 200


async def test_the_log_has_no_route_that_changes_it(app):
    from tests.integration.test_route_table import UNSAFE, endpoints

    assert not [e for e in endpoints(app) if "activity" in e.template and e.method in UNSAFE]
    assert AuditEvent.__tablename__ == "audit_events"


# --- append-only, and retention -------------------------------------------------------------------


async def test_the_database_refuses_to_change_an_event(db, world, backend):
    import pytest
    from sqlalchemy import delete, func, select, update
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(update(AuditEvent).values(action="org.nothing_happened"))
    await db.rollback()
    if backend == "postgresql":  # SQLite has no way to tell the purge apart, so it refuses UPDATE only
        with pytest.raises(DBAPIError, match="append-only"):
            await db.execute(delete(AuditEvent))
        await db.rollback()
        assert await db.scalar(select(func.count()).select_from(AuditEvent)) > 0
