"""What the deployment calls an organization: "organization" unless TENANTRY_ORG_WORD says otherwise
("workspace", "team", "company"). Every page, email and message says it through here.

The word is a deployment-wide constant, like a locale: it is chosen once in the settings and never
differs between requests, orgs or users. Services, audit sentences and permission texts that are
far from the Settings object read it through `words()`, installed once per process by whoever reads
the settings (create_app, the CLI). Module-level texts that need the word are formatted when used,
never at import time, so they follow the installed word. Code identifiers, URLs (/o/..., /orgs),
tables and audit action keys keep saying "org": they are contracts, not text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_WORD = "organization"
WORD_PATTERN = re.compile(r"^[^\W\d_]+(?:[ -][^\W\d_]+)*$")
MAX_WORD_LENGTH = 30


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _article(word: str) -> str:
    # "an organization", "an office", "a workspace", "a team"; words starting with "u" mostly sound
    # like "you" ("a unit", "a union"), so they take "a".
    return "an" if word[:1] in "aeio" else "a"


@dataclass(frozen=True)
class Words:
    """The word in the forms the texts need. `org`/`orgs` are lowercase, `Org`/`Orgs` start a
    sentence or a heading, `an_org` carries its article ("an organization", "a workspace")."""

    org: str = DEFAULT_WORD
    orgs: str = DEFAULT_WORD + "s"

    @property
    def Org(self) -> str:
        return _capitalized(self.org)

    @property
    def Orgs(self) -> str:
        return _capitalized(self.orgs)

    @property
    def an_org(self) -> str:
        return f"{_article(self.org)} {self.org}"

    @property
    def An_org(self) -> str:
        return _capitalized(self.an_org)

    @classmethod
    def from_settings(cls, settings: object) -> Words:
        word = getattr(settings, "org_word", DEFAULT_WORD) or DEFAULT_WORD
        plural = getattr(settings, "org_word_plural", "") or word + "s"
        return cls(org=word, orgs=plural)


def check_word(value: str, setting: str) -> str | None:
    """A problem with a word for TENANTRY_ORG_WORD(_PLURAL), or None."""
    if not 1 <= len(value) <= MAX_WORD_LENGTH:
        return f"{setting} must be 1 to {MAX_WORD_LENGTH} characters long (it is {len(value)})."
    if not WORD_PATTERN.match(value):
        return (
            f"{setting} is {value!r}: use letters, with single spaces or hyphens between words "
            "(for example: workspace, team, company)."
        )
    return None


_installed = Words()


def install_words(words_: Words) -> None:
    """Make `words_` the word of this process (create_app and the CLI do, from the settings)."""
    global _installed
    _installed = words_


def words() -> Words:
    """The deployment's word for an organization."""
    return _installed


_PLACEHOLDERS = ("{an_org}", "{An_org}", "{orgs}", "{Orgs}", "{org}", "{Org}")


def fill(text: str) -> str:
    """`text` with {org}, {orgs}, {Org}, {Orgs}, {an_org}, {An_org} replaced by the deployment's
    word: for texts written once at import time (permission descriptions, feature texts) and
    formatted when shown. Other braces are left alone."""
    current = words()
    for placeholder in _PLACEHOLDERS:
        if placeholder in text:
            text = text.replace(placeholder, getattr(current, placeholder[1:-1]))
    return text
