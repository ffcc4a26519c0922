"""The `tenantry` command as an operator uses it."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tenantry.__main__ import main
from tenantry.accounts.models import User
from tenantry.audit.models import AuditEvent
from tenantry.config import get_settings
from tenantry.db.engine import create_engine, create_sessionmaker
from tests.conftest import SECRET
from tests.integration.conftest import events

TENANTRY = [sys.executable, "-m", "tenantry"]


@pytest.fixture
def cli_env(monkeypatch, settings):
    """The CLI reads TENANTRY_* from the environment, once per process."""
    monkeypatch.setenv("TENANTRY_ENV", "production")
    monkeypatch.setenv("TENANTRY_SECRET_KEY", SECRET)
    monkeypatch.setenv("TENANTRY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TENANTRY_ARGON2_MEMORY_KIB", "19456")
    monkeypatch.setenv("TENANTRY_ARGON2_TIME_COST", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("secret", ["", "too-short"])
def test_start_up_refuses_a_missing_or_short_secret_key(tmp_path, secret):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env.update(TENANTRY_SECRET_KEY=secret, TENANTRY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    for command in (["run"], ["migrate"]):
        result = subprocess.run([*TENANTRY, *command], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert "TENANTRY_SECRET_KEY is" in result.stderr
        assert "at least 32 characters" in result.stderr
        assert "Traceback" not in result.stderr


def test_development_mode_starts_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env.update(TENANTRY_ENV="development", TENANTRY_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    result = subprocess.run([*TENANTRY, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Created the database schema \(revision \d{4}\)\.", result.stdout), result.stdout
    assert (tmp_path / "x.db").exists()
    again = subprocess.run([*TENANTRY, "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert "already up to date (revision" in again.stdout


def test_create_staff(cli_env, engine, settings):
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "create-staff",
            "--email",
            "Sam@Vendor.Example",
            "--name",
            "Sam Support",
            "--role",
            "support-admin",
            "--password-stdin",
        ],
        input="a long staff passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Staff account sam@vendor.example created with role support-admin" in result.output

    async def check() -> None:
        own_engine = create_engine(settings)
        async with create_sessionmaker(own_engine)() as db:
            sam = await db.scalar(select(User).where(User.email == "sam@vendor.example"))
            assert sam.is_staff and sam.staff_role == "support-admin"
            assert sam.password_hash.startswith("$argon2id$")
            [event] = await events(db, "user.staff_created")
            assert event.after == {"staff_role": "support-admin"}
        await own_engine.dispose()

    asyncio.run(check())

    again = runner.invoke(
        main,
        ["create-staff", "--email", "sam@vendor.example", "--name", "Sam", "--password-stdin"],
        input="a long staff passphrase\n",
    )
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--email", "nope"], "a long staff passphrase", "Enter a valid email address"),
        (["--email", "x@vendor.example"], "password", "Password refused"),
        (
            ["--email", "x@vendor.example", "--role", "god"],
            "a long staff passphrase",
            "Invalid value for '--role'",
        ),
    ],
)
def test_create_staff_refuses_bad_input(cli_env, engine, args, password, message):
    result = CliRunner().invoke(main, ["create-staff", "--name", "X", "--password-stdin", *args], input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output


def test_check_migrations_passes(cli_env, engine):
    result = CliRunner().invoke(main, ["check-migrations"])
    assert result.exit_code == 0, result.output
    assert "The migrations match the models." in result.output


def test_the_worker_command_delivers_and_stops_on_sigterm(settings, engine, tmp_path):
    import signal
    import time

    from tenantry.db.engine import create_sessionmaker
    from tenantry.mail.outbox import enqueue
    from tenantry.mail.rendering import RenderedEmail
    from tests.mail_sink import start_sink

    async def queue() -> None:
        own = create_engine(settings)
        async with create_sessionmaker(own)() as db:
            enqueue(db, to="someone@x.example", kind="test", email=RenderedEmail("Hi", "Text", "<p>Html</p>"))
            await db.commit()
        await own.dispose()

    asyncio.run(queue())
    controller, sink = start_sink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env.update(
        TENANTRY_SECRET_KEY=SECRET,
        TENANTRY_DATABASE_URL=settings.database_url,
        TENANTRY_SMTP_HOST="127.0.0.1",
        TENANTRY_SMTP_PORT=str(controller.port),
        TENANTRY_SMTP_TLS="none",
        TENANTRY_MAIL_POLL_SECONDS="0.2",
    )
    worker = subprocess.Popen([*TENANTRY, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sink.wait_for("someone@x.example", timeout=20)
    finally:
        time.sleep(0.3)
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=20)
        controller.stop()
    assert worker.returncode == 0, err
    assert len(sink.messages) == 1


def test_purge_audit_deletes_only_what_is_past_the_window(cli_env, engine, settings, world):
    import asyncio
    import datetime

    from sqlalchemy import func

    from tenantry.lib.clock import utcnow

    async def setup_and_count(old: int) -> int:
        own_engine = create_engine(settings)  # this event loop's own connections
        async with create_sessionmaker(own_engine)() as db:
            for i in range(old):
                db.add(
                    AuditEvent(
                        action="group.created",
                        org_id=world.acme.id,
                        target_label=f"Old {i}",
                        occurred_at=utcnow() - datetime.timedelta(days=40 + i),
                    )
                )
            await db.commit()
            total = await db.scalar(select(func.count()).select_from(AuditEvent))
        await own_engine.dispose()
        return total

    before = asyncio.run(setup_and_count(3))
    unset = CliRunner().invoke(main, ["purge-audit"])
    assert unset.exit_code == 0 and "No retention is set" in unset.output
    result = CliRunner().invoke(main, ["purge-audit", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted 3 audit events older than 30 days." in result.output
    assert asyncio.run(setup_and_count(0)) == before - 3


def test_purge_removes_only_orgs_past_the_restore_window_and_keeps_their_history(
    cli_env, engine, settings, world, monkeypatch
):
    import datetime

    from sqlalchemy import func, update

    from tenantry.groups.models import Group
    from tenantry.invitations.models import Invitation
    from tenantry.lib.clock import utcnow
    from tenantry.members.models import Membership
    from tenantry.orgs.models import Organization
    from tenantry.orgs.slugs import is_slug_available

    async def arrange() -> None:
        own_engine = create_engine(settings)
        async with create_sessionmaker(own_engine)() as db:
            from tests.integration.conftest import make_invitation

            await make_invitation(db, world.acme, "pending@acme.example")
            deleted = {world.acme.id: 31, world.globex.id: 29}  # days ago
            for org_id, days in deleted.items():
                when = utcnow() - datetime.timedelta(days=days)
                await db.execute(update(Organization).where(Organization.id == org_id).values(deleted_at=when))
            await db.commit()
        await own_engine.dispose()

    async def look() -> dict:
        own_engine = create_engine(settings)
        async with create_sessionmaker(own_engine)() as db:

            async def rows(model, *where) -> int:
                return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)

            acme = world.acme.id
            found = {
                "orgs": set(await db.scalars(select(Organization.slug))),
                "acme rows": [
                    await rows(Membership, Membership.org_id == acme),
                    await rows(Group, Group.org_id == acme),
                    await rows(Invitation, Invitation.org_id == acme),
                ],
                "acme events": list(
                    await db.scalars(select(AuditEvent.action).where(AuditEvent.org_id == acme).order_by(AuditEvent.id))
                ),
                "purged": await events(db, "org.purged"),
                "acme free": await is_slug_available(db, "acme"),
                "olivia": await db.get(User, world.olivia.id),
            }
        await own_engine.dispose()
        return found

    asyncio.run(arrange())
    history = asyncio.run(look())["acme events"]
    assert history, "Acme has a history to keep"

    result = CliRunner().invoke(main, ["purge"])
    assert result.exit_code == 0, result.output
    assert "Removed Acme (/o/acme), deleted on" in result.output
    assert "Purged 1 organization deleted more than 30 days ago." in result.output

    after = asyncio.run(look())
    assert after["orgs"] == {"globex"}, "Globex is still within its window"
    assert after["acme rows"] == [0, 0, 0], "members, groups and invitations went with it"
    assert after["acme free"], "its address can be taken again"
    assert after["olivia"] is not None, "its members' accounts stay"
    assert after["acme events"] == [*history, "org.purged"], "its audit history survives the purge"
    [purged] = after["purged"]
    assert purged.actor_user_id is None and purged.actor_label == "tenantry purge"
    assert purged.before["name"] == "Acme" and purged.before["members"] == 3

    again = CliRunner().invoke(main, ["purge"])
    assert "Purged 0 organizations" in again.output
    from tests.clock import travel

    travel(monkeypatch, days=2)
    later = CliRunner().invoke(main, ["purge"])
    assert "Purged 1 organization deleted more than 30 days ago." in later.output
    assert asyncio.run(look())["orgs"] == set()


def test_create_api_key_prints_a_working_key_once(cli_env, settings, world):
    from litestar.testing import TestClient

    from tenantry.api.models import ApiKey
    from tenantry.app import create_app

    result = CliRunner().invoke(
        main, ["create-api-key", "--name", "Backend", "--scope", "read", "--scope", "check", "--expires-days", "30"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Created the API key Backend for every organization, scopes read, check, until ")
    token = lines[1]
    assert token.startswith("tnt_app_")
    assert "can't be shown again" in lines[2]

    with TestClient(create_app(settings)) as client:
        whoami = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.status_code == 200 and whoami.json()["scopes"] == ["read", "check"]

    org_key = CliRunner().invoke(main, ["create-api-key", "--name", "Acme sync", "--scope", "write", "--org", "ACME"])
    assert org_key.exit_code == 0, org_key.output
    assert "for the organization Acme (/o/acme) only" in org_key.output
    assert org_key.output.splitlines()[1].startswith("tnt_org_")

    async def look() -> tuple[list, list]:
        own_engine = create_engine(settings)
        async with create_sessionmaker(own_engine)() as db:
            keys = list(await db.scalars(select(ApiKey).order_by(ApiKey.created_at)))
            created = await events(db, "api_key.created")
        await own_engine.dispose()
        return keys, created

    keys, created = asyncio.run(look())
    assert [(k.name, k.org_id) for k in keys] == [("Backend", None), ("Acme sync", world.acme.id)]
    assert token not in {k.token_hash for k in keys} and keys[0].expires_at is not None
    assert [e.actor_label for e in created] == ["tenantry create-api-key"] * 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--name", "X", "--scope", "admin"], 2, "Invalid value for '--scope'"),
        (["--name", "X"], 2, "Missing option '--scope'"),
        (["--name", "X", "--scope", "read", "--org", "no-such-org"], 2, "There is no organization at /o/no-such-org."),
        (["--name", "X" * 101, "--scope", "read"], 1, "Give the key a name of 1 to 100 characters"),
        (["--name", "X", "--scope", "read", "--expires-days", "0"], 2, "Invalid value for '--expires-days'"),
        (["--name", "X", "--scope", "read", "--org", "globex"], 1, "The Team plan doesn't include API keys"),
    ],
)
def test_create_api_key_refuses_bad_input_in_one_line(cli_env, settings, world, monkeypatch, args, code, message):
    monkeypatch.setenv("TENANTRY_PLANS_FILE", settings.plans_file)  # the tests' plans: Team has no API keys
    get_settings.cache_clear()

    async def globex_on_team() -> None:
        from sqlalchemy import update

        from tenantry.orgs.models import Organization

        own_engine = create_engine(settings)
        async with create_sessionmaker(own_engine)() as db:
            await db.execute(update(Organization).where(Organization.slug == "globex").values(plan_key="team"))
            await db.commit()
        await own_engine.dispose()

    asyncio.run(globex_on_team())
    result = CliRunner().invoke(main, ["create-api-key", *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output and "tnt_" not in result.output
