"""Email domain names as people type them: "Acme.example, @acme.co.uk" -> ["acme.example", "acme.co.uk"]."""

from __future__ import annotations

import re

import idna

MAX_DOMAINS = 50
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class DomainProblem(ValueError):
    """A domain list that can't be used; the message names the entry and why."""


def normalize_domain(text: str) -> str:
    """One domain, lowercased, checked in its ASCII form (IDNA) and given back as people write it
    ("bücher.example", as email-validator leaves an address's domain). Raises DomainProblem."""
    raw = text.strip().lstrip("@").rstrip(".").lower()
    shown = text.strip()[:100]
    if not raw:
        raise DomainProblem("An empty domain name.")
    try:
        ascii_form = raw if raw.isascii() else idna.encode(raw, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise DomainProblem(f"“{shown}” is not a domain name.") from None
    labels = ascii_form.split(".")
    if (
        len(ascii_form) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise DomainProblem(f"“{shown}” is not a domain name (such as example.com).")
    try:
        return idna.decode(ascii_form) if "xn--" in ascii_form else ascii_form
    except idna.IDNAError:
        raise DomainProblem(f"“{shown}” is not a domain name.") from None


def parse_domains(text: str | list[str]) -> list[str]:
    """Comma-, space- or line-separated domains, normalized and de-duplicated in the order given."""
    pieces = text if isinstance(text, list) else re.split(r"[\s,;]+", text)
    domains: list[str] = []
    for piece in pieces:
        if not piece.strip():
            continue
        domain = normalize_domain(piece)
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        raise DomainProblem(f"That is {len(domains)} domains; list at most {MAX_DOMAINS}.")
    return domains


def domain_of(email: str) -> str | None:
    """The domain of an address, normalized like a listed domain; None if it can't be."""
    try:
        return normalize_domain(email.rsplit("@", 1)[-1])
    except DomainProblem:
        return None
