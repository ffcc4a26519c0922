"""Browser tests: a real `tenantry run` process, driven in Debian's Chromium through Playwright.

Every page a test visits can be checked with axe-core (no serious or critical violation) and
photographed into tests/e2e/artifacts/ for a human to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import POSTGRES_URL, SECRET, _create_postgres_database
from tests.mail_sink import MailSink, link_in, start_sink, text_of

CHROMIUM = os.environ.get("TENANTRY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE = Path(__file__).with_name("vendor") / "axe-4.11.4.min.js"
ARTIFACTS = Path(__file__).with_name("artifacts")
PASSWORD = "correct horse battery staple"
E2E_BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@dataclass
class Server:
    base_url: str
    database_url: str
    process: subprocess.Popen
    log: Path
    mail: MailSink  # every email the server sends arrives here, over real SMTP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(database_url: str, port: int, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTRY_")}
    env.update(
        TENANTRY_ENV="test",
        TENANTRY_SECRET_KEY=SECRET,
        TENANTRY_DATABASE_URL=database_url,
        TENANTRY_HOST="127.0.0.1",
        TENANTRY_PORT=str(port),
        TENANTRY_BASE_URL=f"http://127.0.0.1:{port}",
        TENANTRY_ARGON2_MEMORY_KIB="19456",
        TENANTRY_ARGON2_TIME_COST="2",
        TENANTRY_ARGON2_PARALLELISM="1",
        TENANTRY_LOG_LEVEL="WARNING",
        TENANTRY_SMTP_HOST="127.0.0.1",
        TENANTRY_SMTP_PORT=str(smtp_port),
        TENANTRY_SMTP_TLS="none",
        TENANTRY_MAIL_FROM="Tenantry <no-reply@e2e.example>",
        TENANTRY_MAIL_POLL_SECONDS="0.2",
        # Every browser test signs up from 127.0.0.1; the limits have their own integration tests.
        TENANTRY_SIGNUP_LIMIT_PER_IP="1000",
        TENANTRY_SIGNIN_LIMIT_PER_IP="1000",
        TENANTRY_PERMISSIONS_FILE=str(Path(__file__).resolve().parents[2] / "examples" / "permissions.toml"),
        TENANTRY_PLANS_FILE=str(Path(__file__).resolve().parents[1] / "plans.toml"),
    )
    return env


@pytest.fixture(scope="session", params=E2E_BACKENDS)
def server(request, tmp_path_factory, worker_id_safe) -> Iterator[Server]:
    """A real server process on its own database, migrated with `tenantry migrate`."""
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite+aiosqlite:///{folder / 'tenantry.db'}"
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright may already own this thread's loop
            database_url = pool.submit(asyncio.run, _create_postgres_database(f"e2e_{worker_id_safe}")).result()
    port = _free_port()
    controller, sink = start_sink()
    env = _server_env(database_url, port, controller.port)
    subprocess.run([sys.executable, "-m", "tenantry", "migrate"], env=env, check=True, capture_output=True)
    log = folder / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tenantry", "run"], env=env, stdout=out, stderr=out)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"the server did not start:\n{log.read_text()}")
    yield Server(base_url=base_url, database_url=database_url, process=process, log=log, mail=sink)
    process.terminate()
    process.wait(timeout=10)
    controller.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, server):
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        # bypass_csp lets the test inject axe-core; the app's own CSP is asserted elsewhere.
        context = browser.new_context(base_url=server.base_url, bypass_csp=True, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context) -> Page:
    page = new_context(viewport={"width": 1280, "height": 860}).new_page()
    watch_console(page)
    return page


def watch_console(page: Page) -> None:
    """Collect script errors and CSP refusals; a 4xx page the test asked for is not one."""
    page.console_errors = []

    def collect(message) -> None:
        expected = message.text.startswith("Failed to load resource: the server responded with a status of 4")
        if message.type == "error" and not expected:
            page.console_errors.append(message.text)

    page.on("console", collect)
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))


def check_accessibility(page: Page, name: str) -> None:
    """axe-core must find no serious or critical violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: " + "\n".join(bad)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def look(page: Page, name: str) -> None:
    """Check a page's accessibility and keep a picture of it."""
    check_accessibility(page, name)
    screenshot(page, name)


def run_async(coroutine_function) -> None:
    """Run database set-up beside Playwright, whose sync API keeps an event loop in this thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine_function()).result()


def make_staff(server: Server, name: str = "Sam Support", role: str = "support") -> str:
    """A support staff account on the test server, as `tenantry create-staff` makes it; its email."""
    from tenantry.accounts.staff import create_staff_account
    from tests.conftest import base_settings

    email = unique_email(name.split()[0].lower())
    settings = base_settings(server.database_url)
    run_async(lambda: create_staff_account(settings, email=email, name=name, role=role, password=PASSWORD))
    return email


def unique_email(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}@e2e.example"


def sign_up(page: Page, server: Server, name: str, email: str, password: str = PASSWORD) -> None:
    """Create an account and confirm its address from the email, as a person would."""
    page.goto("/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/orgs/new$"))
    confirm_email(page, server, email)
    page.goto("/orgs/new")


def confirm_email(page: Page, server: Server, email: str) -> None:
    [message] = server.mail.wait_for(email)
    page.goto(link_in(text_of(message), "/verify-email/"))


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
