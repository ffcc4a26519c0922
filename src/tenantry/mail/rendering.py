"""Emails are template triples: templates/emails/<name>/{subject.txt, body.txt, body.html}."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tenantry.config import Settings
from tenantry.lib.colors import readable_text_color
from tenantry.lib.words import words
from tenantry.orgs.models import Organization
from tenantry.web.templating import TEMPLATES_DIR

DEFAULT_COLOR = "#4f46e5"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Brand:
    """How an email looks: the org's name, colour and logo, or Tenantry's own."""

    name: str
    color: str
    text_color: str
    logo_url: str | None


def brand_for(org: Organization | None, settings: Settings) -> Brand:
    if org is None:
        return Brand(name="Tenantry", color=DEFAULT_COLOR, text_color="#ffffff", logo_url=None)
    color = org.brand_color or DEFAULT_COLOR
    logo = f"{settings.public_base_url}{org.logo_url}" if org.logo_url else None
    return Brand(name=org.name, color=color, text_color=readable_text_color(color), logo_url=logo)


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR / "emails"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,  # a missing value is a bug, not an empty sentence in someone's inbox
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_email(name: str, **context: object) -> RenderedEmail:
    environment = _environment()
    context.setdefault("words", words())  # the deployment's word for an organization
    subject = environment.get_template(f"{name}/subject.txt").render(**context)
    return RenderedEmail(
        # One line, whatever the template or an org's name holds: no header injection.
        subject=" ".join(subject.split())[:300],
        text=environment.get_template(f"{name}/body.txt").render(**context),
        html=environment.get_template(f"{name}/body.html").render(**context),
    )
