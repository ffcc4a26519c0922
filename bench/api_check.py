"""`POST /api/v1/check` beside `GET /api/v1/whoami` on a real server, with 1M memberships.

Seeds a throw-away database with bulk SQL (INSERT ... SELECT over generate_series on PostgreSQL,
over a recursive CTE on SQLite) after the migrations: --memberships memberships (1M by default),
as one org of --big-org members in --groups groups plus orgs of 50 members, people belonging to
about five orgs each. Every org has two groups: Engineering (the Contributor role template, which
holds projects:write) and Reporting (the org's own Reporter role); every third member is in each,
the rest only have their direct role (Member; the first one Owner). In the big org each member is
in one or two of its teams, which give Contributor, Analyst or Reporter.

Then starts `tenantry run` on a free port (mail worker off, no effective rate limit), creates an
app key with the check scope, and measures requests per second from --workers concurrent clients,
--seconds per kind in --rounds turns (so that a change in the machine's load touches every kind
alike): the trivial endpoint, and checks of projects:write, asked by ids, for members who hold it
through a group (allow) and members who don't (deny), in 50-member orgs and in the big org, for
someone not in the org, and the batch form (100 checks of the first two kinds). Prints the table,
with the SQL statements behind one request, and the ratios check / whoami (aim: at least 0.5);
asserts nothing. The PostgreSQL database is created here and dropped at the end.

    .venv/bin/python bench/api_check.py                          # SQLite, then PostgreSQL
    .venv/bin/python bench/api_check.py --backend sqlite --memberships 100000   # quicker
    .venv/bin/python bench/api_check.py --backend postgresql \\
        --postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from litestar.testing import TestClient
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from common import analyze
from tenantry.accounts.models import User
from tenantry.api.keys import create_key
from tenantry.app import create_app
from tenantry.audit.services import Actor
from tenantry.config import Settings
from tenantry.db.engine import create_engine, create_sessionmaker
from tenantry.db.migrate import upgrade
from tenantry.orgs.models import Organization
from tenantry.runtime import runtime_of

ROOT = Path(__file__).resolve().parents[1]
PERMISSIONS_FILE = ROOT / "examples" / "permissions.toml"
SECRET = "bench-secret-key-that-is-long-enough-0123456789"
PG_DATABASE = "tenantry_bench_api"
ORG_SIZE = 50
PERMISSION = "projects:write"  # Contributor (through Engineering or a contributor team) holds it
SAMPLES = 500  # distinct (user, org) questions per kind, asked in random order
BATCH_SIZE = 100


def settings_for(url: str) -> Settings:
    return Settings(
        env="test",
        secret_key=SECRET,
        database_url=url,
        permissions_file=str(PERMISSIONS_FILE),
        run_worker=False,
        api_requests_per_minute=1_000_000_000,
    )


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    memberships: int
    big: int  # members of the big org
    groups: int  # teams in the big org
    orgs: int  # orgs of ORG_SIZE members
    users: int

    @classmethod
    def of(cls, memberships: int, big_org: int, groups: int) -> Shape:
        big = min(big_org, memberships // 2)
        orgs = (memberships - big) // ORG_SIZE
        big = memberships - orgs * ORG_SIZE  # the remainder joins the big org: the total is exact
        users = max(big, orgs * ORG_SIZE // 5, 4 * ORG_SIZE)  # people are in about five orgs each
        return cls(memberships=memberships, big=big, groups=max(3, min(groups, big)), orgs=orgs, users=users)

    def user_of(self, org_n: int, i: int) -> int:
        """The user number of member i of org n (0 is the big org, 1.. the small ones)."""
        return i if org_n == 0 else ((org_n - 1) * ORG_SIZE + i) % self.users

    def teams_of(self, i: int) -> set[int]:
        """The big org's teams member i is in (team k gives Contributor when k % 3 == 0)."""
        return {i % self.groups} | ({(i * 7 + 1) % self.groups} if i % 2 == 0 else set())

    def describe(self) -> str:
        return (
            f"{self.orgs:,} orgs of {ORG_SIZE} members + 1 org of {self.big:,} members in {self.groups} groups; "
            f"{self.users:,} users"
        )


def seed_statements(shape: Shape, dialect: str) -> list[str]:
    """INSERT ... SELECT statements that build the whole data set inside the database."""
    postgres = dialect == "postgresql"
    uuid = "gen_random_uuid()" if postgres else "randomblob(16)"
    uuid_type = "uuid" if postgres else "BLOB"
    now = "now()" if postgres else f"'{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}.000000'"

    def series(alias: str, count: int) -> str:
        if postgres:
            return f"generate_series(0, {count - 1}) AS {alias}(n)"
        return (
            f"(WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {count - 1}) "
            f"SELECT n FROM seq) AS {alias}"
        )

    def template(key: str) -> str:
        return f"(SELECT id FROM roles WHERE org_id IS NULL AND \"key\" = '{key}')"

    return [
        f"CREATE TEMP TABLE t_users (n INTEGER PRIMARY KEY, id {uuid_type} NOT NULL)",
        f"INSERT INTO t_users (n, id) SELECT s.n, {uuid} FROM {series('s', shape.users)}",
        "INSERT INTO users (id, email, name, password_hash, is_staff, created_at, updated_at) "
        f"SELECT id, 'u' || n || '@bench.example', 'User ' || n, NULL, FALSE, {now}, {now} FROM t_users",
        # Org 0 is the big one; 1.. the small ones.
        f"CREATE TEMP TABLE t_orgs (n INTEGER PRIMARY KEY, id {uuid_type} NOT NULL)",
        f"INSERT INTO t_orgs (n, id) SELECT s.n, {uuid} FROM {series('s', shape.orgs + 1)}",
        "INSERT INTO organizations (id, name, slug, created_at, updated_at) "
        "SELECT id, CASE n WHEN 0 THEN 'Big' ELSE 'Org ' || n END, "
        f"CASE n WHEN 0 THEN 'big' ELSE 'org-' || n END, {now}, {now} FROM t_orgs",
        # Every org has a role of its own besides the templates.
        'INSERT INTO roles (id, org_id, "key", name, description, is_builtin, created_at, updated_at) '
        f"SELECT {uuid}, id, 'reporter', 'Reporter', 'Reads reports.', FALSE, {now}, {now} FROM t_orgs",
        "INSERT INTO role_permissions (role_id, permission) SELECT r.id, p.permission FROM roles r "
        "CROSS JOIN (SELECT 'reports:read' AS permission UNION ALL SELECT 'analytics:read') p "
        "WHERE r.org_id IS NOT NULL AND r.\"key\" = 'reporter'",
        # Groups: Engineering and Reporting in each small org, teams in the big one.
        "INSERT INTO groups (id, org_id, name, name_key, description, created_at, updated_at) "
        f"SELECT {uuid}, o.id, g.name, g.name_key, '', {now}, {now} FROM t_orgs o CROSS JOIN "
        "(SELECT 'Engineering' AS name, 'engineering' AS name_key UNION ALL SELECT 'Reporting', 'reporting') g "
        "WHERE o.n > 0",
        "INSERT INTO groups (id, org_id, name, name_key, description, created_at, updated_at) "
        f"SELECT {uuid}, o.id, 'Team ' || s.n, 'team ' || s.n, '', {now}, {now} "
        f"FROM t_orgs o CROSS JOIN {series('s', shape.groups)} WHERE o.n = 0",
        "INSERT INTO group_roles (group_id, role_id) "
        f"SELECT g.id, {template('contributor')} FROM groups g WHERE g.name_key = 'engineering'",
        "INSERT INTO group_roles (group_id, role_id) SELECT g.id, r.id FROM groups g "
        "JOIN roles r ON r.org_id = g.org_id AND r.\"key\" = 'reporter' WHERE g.name_key = 'reporting'",
        "INSERT INTO group_roles (group_id, role_id) "
        f"SELECT g.id, CASE s.n % 3 WHEN 0 THEN {template('contributor')} WHEN 1 THEN {template('analyst')} "
        "ELSE (SELECT r.id FROM roles r WHERE r.org_id = o.id AND r.\"key\" = 'reporter') END "
        f"FROM t_orgs o CROSS JOIN {series('s', shape.groups)} "
        "JOIN groups g ON g.org_id = o.id AND g.name_key = 'team ' || s.n WHERE o.n = 0",
        # Memberships: member i of org n is user ((n - 1) * 50 + i) mod users; of the big org, user i.
        f"CREATE TEMP TABLE t_members (id {uuid_type} NOT NULL, org_id {uuid_type} NOT NULL, "
        "org_n INTEGER NOT NULL, i INTEGER NOT NULL, user_n INTEGER NOT NULL)",
        "INSERT INTO t_members (id, org_id, org_n, i, user_n) "
        f"SELECT {uuid}, o.id, o.n, s.n, ((o.n - 1) * {ORG_SIZE} + s.n) % {shape.users} "
        f"FROM t_orgs o CROSS JOIN {series('s', ORG_SIZE)} WHERE o.n > 0",
        "INSERT INTO t_members (id, org_id, org_n, i, user_n) "
        f"SELECT {uuid}, o.id, 0, s.n, s.n FROM t_orgs o CROSS JOIN {series('s', shape.big)} WHERE o.n = 0",
        "INSERT INTO memberships (id, org_id, user_id, status, sort_name, created_at, updated_at) "
        f"SELECT m.id, m.org_id, u.id, 'active', 'user ' || m.user_n, {now}, {now} "
        "FROM t_members m JOIN t_users u ON u.n = m.user_n",
        "INSERT INTO membership_roles (membership_id, role_id) "
        f"SELECT id, CASE WHEN i = 0 THEN {template('owner')} ELSE {template('member')} END FROM t_members",
        "INSERT INTO group_members (group_id, membership_id, added_at) "
        f"SELECT g.id, m.id, {now} FROM t_members m JOIN groups g ON g.org_id = m.org_id "
        "AND g.name_key = CASE m.i % 3 WHEN 0 THEN 'engineering' ELSE 'reporting' END "
        "WHERE m.org_n > 0 AND m.i % 3 < 2",
        "INSERT INTO group_members (group_id, membership_id, added_at) "
        f"SELECT g.id, x.membership_id, {now} FROM ("
        f"SELECT id AS membership_id, org_id, i % {shape.groups} AS k FROM t_members WHERE org_n = 0 UNION "
        f"SELECT id, org_id, (i * 7 + 1) % {shape.groups} FROM t_members WHERE org_n = 0 AND i % 2 = 0"
        ") x JOIN groups g ON g.org_id = x.org_id AND g.name_key = 'team ' || x.k",
        "DROP TABLE t_members",
        "DROP TABLE t_orgs",
        "DROP TABLE t_users",
    ]


async def seed(url: str, shape: Shape) -> str:
    """The data and an app key with the check scope; returns the key."""
    engine = create_engine(settings_for(url))
    async with engine.begin() as connection:
        for statement in seed_statements(shape, engine.dialect.name):
            await connection.execute(text(statement))
    async with create_sessionmaker(engine)() as db:
        key = await create_key(
            db,
            settings=settings_for(url),
            org=None,
            name="bench",
            scopes=["check", "read"],
            expires_at=None,
            actor=Actor.system("bench"),
        )
        await db.commit()
    await engine.dispose()
    return key.token


# --- the questions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    user_n: int
    org_n: int
    reason: str  # the answer expected: granted, not_granted or not_a_member


def questions(shape: Shape, rng: random.Random) -> dict[str, list[Question]]:
    small = range(1, shape.orgs + 1)

    def in_small_org(remainder: int, reason: str) -> list[Question]:
        members = [i for i in range(1, ORG_SIZE) if i % 3 == remainder]
        picked = [(rng.choice(small), rng.choice(members)) for _ in range(SAMPLES)]
        return [Question(shape.user_of(n, i), n, reason) for n, i in picked]

    def contributor(i: int) -> bool:
        return any(k % 3 == 0 for k in shape.teams_of(i))

    def in_big_org(allowed: bool) -> list[Question]:
        members = [i for i in range(1, shape.big) if contributor(i) == allowed]
        return [Question(i, 0, "granted" if allowed else "not_granted") for i in rng.sample(members, SAMPLES)]

    # User ((n - 1) * 50 + 100) mod users owns org n + 2 and is in others, never in org n.
    outsiders = [rng.choice(small) for _ in range(SAMPLES)]
    return {
        "allow": in_small_org(0, "granted"),  # in Engineering: Contributor through the group
        "deny": in_small_org(2, "not_granted"),  # in no group: Member only
        "allow, big org": in_big_org(True),
        "deny, big org": in_big_org(False),
        "not a member": [Question(shape.user_of(n, 100), n, "not_a_member") for n in outsiders],
    }


async def ids_of(url: str, asked: dict[str, list[Question]]) -> tuple[dict[int, str], dict[int, str]]:
    """User and org ids by number: the API is asked with ids, as a SaaS backend would."""
    users = {q.user_n for qs in asked.values() for q in qs}
    orgs = {q.org_n for qs in asked.values() for q in qs}
    engine = create_engine(settings_for(url))
    async with create_sessionmaker(engine)() as db:
        found_users = {
            email: str(uid)
            for email, uid in await db.execute(
                select(User.email, User.id).where(User.email.in_([f"u{n}@bench.example" for n in users]))
            )
        }
        slugs = {n: "big" if n == 0 else f"org-{n}" for n in orgs}
        found_orgs = {
            slug: str(oid)
            for slug, oid in await db.execute(
                select(Organization.slug, Organization.id).where(Organization.slug.in_(slugs.values()))
            )
        }
    await engine.dispose()
    return {n: found_users[f"u{n}@bench.example"] for n in users}, {n: found_orgs[s] for n, s in slugs.items()}


# --- the server and the clients --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(url: str, folder: Path) -> Iterator[str]:
    """`tenantry run` as deployed (one process), as the browser tests start it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env.update(
        TENANTRY_ENV="test",
        TENANTRY_SECRET_KEY=SECRET,
        TENANTRY_DATABASE_URL=url,
        TENANTRY_HOST="127.0.0.1",
        TENANTRY_PORT=str(port),
        TENANTRY_LOG_LEVEL="WARNING",
        TENANTRY_RUN_WORKER="false",
        TENANTRY_API_REQUESTS_PER_MINUTE="1000000000",
        TENANTRY_PERMISSIONS_FILE=str(PERMISSIONS_FILE),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p),
    )
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tenantry", "run"], env=env, stdout=out, stderr=out)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        yield base_url
    except (httpx.TransportError, SystemExit):
        state = "still running" if process.poll() is None else f"exited with {process.returncode}"
        print(f"the server ({state}) said:\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Rate:
    requests_per_second: float
    checks_per_request: int
    client_cpu: float  # share of one core the clients used

    @property
    def checks_per_second(self) -> float:
        return self.requests_per_second * self.checks_per_request


async def measure(
    base_url: str, token: str, plan: dict[str, tuple], seconds: float, rounds: int, workers: int
) -> dict[str, Rate]:
    """Requests per second for each (method, path, bodies, checks per request), `workers` at once.

    The kinds take turns, `rounds` slices of seconds / rounds each, so that a change in the
    machine's load (other processes on two cores) touches them all alike and the ratios hold."""
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    headers = {"Authorization": f"Bearer {token}"}
    done = dict.fromkeys(plan, 0)
    spent = dict.fromkeys(plan, 0.0)
    cpu_spent = dict.fromkeys(plan, 0.0)
    rng = random.Random(10)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as client:

        async def loop(method: str, path: str, bodies: list | None, until: float, count: list[int]) -> None:
            while time.perf_counter() < until:
                response = await client.request(method, path, json=rng.choice(bodies) if bodies else None)
                if response.status_code != 200:
                    raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
                count[0] += 1

        async def slice_of(name: str, length: float) -> tuple[int, float, float]:
            method, path, bodies, _ = plan[name]
            count = [0]
            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.gather(*(loop(method, path, bodies, started + length, count) for _ in range(workers)))
            return count[0], time.perf_counter() - started, time.process_time() - cpu

        for name in plan:  # warm-up
            await slice_of(name, 0.5)
        for _ in range(rounds):
            for name in plan:
                count, elapsed, cpu = await slice_of(name, seconds / rounds)
                done[name] += count
                spent[name] += elapsed
                cpu_spent[name] += cpu
    return {name: Rate(done[name] / spent[name], plan[name][3], cpu_spent[name] / spent[name]) for name in plan}


async def verify(base_url: str, token: str, bodies: dict[str, list[dict]], expected: dict[str, list[Question]]) -> None:
    """Every question once: the answers are the ones the data was built to give (and a warm-up)."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        for kind, asked in bodies.items():
            for body, question in zip(asked, expected[kind], strict=True):
                answer = (await client.post("/api/v1/check", json=body)).json()
                through_group = all(source["group"] for source in answer.get("sources", []))
                if answer.get("reason") != question.reason or not through_group:
                    raise SystemExit(f"{kind}: unexpected answer {answer} to {body}")


def statements_per_request(url: str, token: str, requests: dict[str, tuple]) -> dict[str, int]:
    """SQL statements behind one request of each kind (in-process, the same app)."""
    app = create_app(settings_for(url))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the app logs at INFO
    statements: list[str] = []
    event.listen(runtime_of(app).engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts = {}
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        for name, (method, path, bodies, _) in requests.items():
            client.request(method, path, json=bodies[0] if bodies else None)  # the key's last_used_at
            statements.clear()
            assert client.request(method, path, json=bodies[0] if bodies else None).status_code == 200
            counts[name] = len(statements)
    return counts


# --- one backend -----------------------------------------------------------------------------------


def run_backend(url: str, label: str, shape: Shape, args: argparse.Namespace, folder: Path) -> dict[str, Rate]:
    print(f"\n== {label}: {url.split('@')[-1]}")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the app of the run before logs at INFO
    started = time.perf_counter()
    upgrade(settings_for(url))
    migrated = time.perf_counter()
    token = asyncio.run(seed(url, shape))
    seeded = time.perf_counter()
    analyze(url)
    analyzed = time.perf_counter()
    print(
        f"seeded {shape.memberships:,} memberships: {shape.describe()} "
        f"(migrate {migrated - started:.0f}s, insert {seeded - migrated:.0f}s, analyze {analyzed - seeded:.0f}s)"
    )

    asked = questions(shape, random.Random(8))
    user_ids, org_ids = asyncio.run(ids_of(url, asked))
    bodies = {
        kind: [{"user": user_ids[q.user_n], "org": org_ids[q.org_n], "permission": PERMISSION} for q in qs]
        for kind, qs in asked.items()
    }
    mixed = bodies["allow"] + bodies["deny"]
    rng = random.Random(9)
    batches = [{"checks": rng.sample(mixed, BATCH_SIZE)} for _ in range(50)]
    plan = {"whoami": ("GET", "/api/v1/whoami", None, 1)}
    plan |= {f"check {kind}": ("POST", "/api/v1/check", b, 1) for kind, b in bodies.items()}
    plan[f"batch of {BATCH_SIZE}"] = ("POST", "/api/v1/check/batch", batches, BATCH_SIZE)

    with server(url, folder) as base_url:
        asyncio.run(verify(base_url, token, bodies, asked))
        rates = asyncio.run(measure(base_url, token, plan, args.seconds, args.rounds, args.workers))
    counts = statements_per_request(url, token, plan)

    whoami = rates["whoami"].requests_per_second
    print(f"\n{'request':<34}{'req/s':>9}{'checks/s':>10}{'/ whoami':>10}{'statements':>12}{'client CPU':>12}")
    for name, rate in rates.items():
        ratio = rate.checks_per_second / whoami
        print(
            f"{name:<34}{rate.requests_per_second:>9,.0f}{rate.checks_per_second:>10,.0f}{ratio:>10.2f}"
            f"{counts[name]:>12}{rate.client_cpu:>11.0%}"
        )
    return rates


def summary(results: dict[str, dict[str, Rate]]) -> None:
    print("\ncheck / whoami, requests per second (aim: at least 0.5):")
    for label, rates in results.items():
        whoami = rates["whoami"].requests_per_second
        parts = [
            f"{kind} {rates[f'check {kind}'].requests_per_second / whoami:.2f}"
            for kind in ("allow", "deny", "allow, big org", "deny, big org", "not a member")
        ]
        print(f"  {label:<11}" + "; ".join(parts))


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A database of the benchmark's own, dropped at the end whatever happens."""
    url = make_url(admin_url)
    connect = {"host": url.host, "port": url.port or 5432, "user": url.username, "password": url.password}

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(**connect, database=url.database or "postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{PG_DATABASE}"'))
    try:
        yield url.set(drivername="postgresql+asyncpg", database=PG_DATABASE).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--memberships", type=int, default=1_000_000)
    parser.add_argument("--big-org", type=int, default=10_000, help="members of the big org")
    parser.add_argument("--groups", type=int, default=500, help="groups of the big org")
    parser.add_argument("--seconds", type=float, default=10.0, help="per kind of request, in all")
    parser.add_argument("--rounds", type=int, default=10, help="turns the kinds take")
    parser.add_argument("--workers", type=int, default=8, help="concurrent requests")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help=f"a server where the database {PG_DATABASE} may be created (and is dropped at the end)",
    )
    args = parser.parse_args()
    shape = Shape.of(args.memberships, args.big_org, args.groups)
    if shape.orgs < 1 or shape.big < SAMPLES * 4:
        parser.error("--memberships too small: try at least 10000")

    results = {}
    folder = Path(tempfile.mkdtemp(prefix="tenantry-bench-api-"))
    try:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
            results["SQLite"] = run_backend(url, "SQLite", shape, args, folder)
        if args.backend in ("postgresql", "both"):
            with postgres_database(args.postgres_url) as url:
                results["PostgreSQL"] = run_backend(url, "PostgreSQL", shape, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary(results)


if __name__ == "__main__":
    main()
