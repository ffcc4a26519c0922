"""Org slugs: the org's address, /o/<slug>. Derived from the name, editable, unique forever.

A slug an org used before stays reserved for it (its old links redirect), so nobody can take
over a bookmarked address.
"""

from __future__ import annotations

import re
import secrets
from uuid import UUID

from slugify import slugify
from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.orgs.models import Organization, SlugRedirect

MIN_SLUG_LENGTH = 2
MAX_SLUG_LENGTH = 48
_SHAPE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

RESERVED_SLUGS = frozenset(
    """
    about account accounts admin administrator api app apps assets auth billing blog dashboard docs
    email help healthz invitation invitations invite invites join login logout mail media new null
    o oauth org orgs organization organizations readyz register root saml scim security settings
    signin signout signup sso staff static status support system tenantry theme undefined webhooks
    www
    """.split()  # noqa: SIM905 - a word list reads better as words
)


def looks_like_slug(text: str) -> bool:
    """Could be an org's address, in any letter case (/o/ACME redirects to /o/acme)."""
    return len(text) <= MAX_SLUG_LENGTH and _SHAPE.fullmatch(text.lower()) is not None


def slug_from_name(name: str) -> str:
    """'Acme Corp.' -> 'acme-corp'; 'Müller & Söhne' -> 'muller-sohne'. Always a usable shape."""
    slug = slugify(name, max_length=MAX_SLUG_LENGTH, word_boundary=True, lowercase=True)
    if len(slug) < MIN_SLUG_LENGTH:
        slug = f"{slug}-org" if slug else "my-org"
    if slug in RESERVED_SLUGS:
        slug = f"{slug}-org"
    return slug[:MAX_SLUG_LENGTH].strip("-")


def slug_problem(slug: str) -> str | None:
    """Why this slug can't be used, or None. Availability is checked separately."""
    if len(slug) < MIN_SLUG_LENGTH:
        return f"Use at least {MIN_SLUG_LENGTH} characters."
    if len(slug) > MAX_SLUG_LENGTH:
        return f"Use at most {MAX_SLUG_LENGTH} characters."
    if not _SHAPE.fullmatch(slug):
        return "Use lowercase letters a–z, digits and hyphens, starting and ending with a letter or digit."
    if slug in RESERVED_SLUGS:
        return f"“{slug}” is reserved. Choose another address."
    return None


def _shorten(slug: str, limit: int) -> str:
    """At most `limit` characters, cut between words when the slug has several."""
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    if "-" in cut and slug[limit] != "-":
        cut = cut.rsplit("-", 1)[0]
    return cut.strip("-") or "org"


async def _taken(db: AsyncSession, candidates: list[str], *, org_id: UUID | None) -> set[str]:
    in_use = select(Organization.slug.label("slug")).where(Organization.slug.in_(candidates))
    remembered = select(SlugRedirect.old_slug.label("slug")).where(SlugRedirect.old_slug.in_(candidates))
    if org_id is not None:  # an org may always return to its own current or former slugs
        in_use = in_use.where(Organization.id != org_id)
        remembered = remembered.where(SlugRedirect.org_id != org_id)
    return set(await db.scalars(union_all(in_use, remembered)))


async def is_slug_available(db: AsyncSession, slug: str, *, org_id: UUID | None = None) -> bool:
    return not await _taken(db, [slug], org_id=org_id)


async def suggest_free_slug(db: AsyncSession, wanted: str, *, org_id: UUID | None = None) -> str:
    """The wanted slug if free, else the first free one of wanted-2 ... wanted-9, else a random tail."""
    base = _shorten(wanted, MAX_SLUG_LENGTH - 3)
    candidates = [wanted] + [f"{base}-{n}" for n in range(2, 10)]
    taken = await _taken(db, candidates, org_id=org_id)
    for candidate in candidates:
        if candidate not in taken and slug_problem(candidate) is None:
            return candidate
    while True:
        candidate = f"{_shorten(wanted, MAX_SLUG_LENGTH - 7)}-{secrets.token_hex(3)}"
        if await is_slug_available(db, candidate, org_id=org_id):
            return candidate
