"""Jinja2 environment: autoescaped, with the few filters the templates need."""

from __future__ import annotations

import datetime
import functools
import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig
from ua_parser import parse as parse_user_agent

from tenantry.access.services import role_choices
from tenantry.lib.clock import utcnow
from tenantry.lib.words import Words

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"


@functools.cache
def static_url(path: str) -> str:
    """/static/<path>?v=<content hash>: cacheable for a year, refreshed when the file changes."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


def iso(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).isoformat() if value else ""


def date(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).strftime("%-d %b %Y") if value else ""


def datetime_utc(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).strftime("%-d %b %Y, %H:%M UTC") if value else ""


def time_ago(value: datetime.datetime | None) -> str:
    if value is None:
        return ""
    seconds = int((utcnow() - value).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in (
        (86400 * 365, "year"),
        (86400 * 30, "month"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"  # pragma: no cover


def device(user_agent: str) -> str:
    """'Chrome on Mac OS X' from a User-Agent header; 'Unknown device' when it says nothing."""
    parsed = parse_user_agent(user_agent or "")
    browser = parsed.user_agent.family if parsed.user_agent else ""
    system = parsed.os.family if parsed.os else ""
    if browser and browser != "Other" and system and system != "Other":
        return f"{browser} on {system}"
    return browser if browser and browser != "Other" else "Unknown device"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def create_template_config(words: Words | None = None) -> TemplateConfig:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static_url"] = static_url
    # What the deployment calls an organization: {{ words.org }}, {{ words.Orgs }}, {{ words.an_org }}.
    environment.globals["words"] = words or Words()
    # The same rule the services enforce decides which role checkboxes are enabled.
    environment.globals["role_choices"] = role_choices
    environment.filters.update(
        iso=iso, date=date, datetime_utc=datetime_utc, time_ago=time_ago, device=device, plural=plural
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))
