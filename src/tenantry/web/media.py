"""Public, content-addressed files: org logos and the accent stylesheet of a brand colour.

Both are cacheable forever: the URL changes when the content does.
"""

from __future__ import annotations

import re
from uuid import UUID

from litestar import Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.lib.colors import readable_text_color
from tenantry.orgs.services import find_logo

IMMUTABLE = "public, max-age=31536000, immutable"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEX = re.compile(r"^[0-9a-f]{6}$")


@get("/media/logos/{org_id:uuid}/{sha256:str}", opt={"public": True}, name="logo", include_in_schema=False)
async def logo(db_session: AsyncSession, org_id: UUID, sha256: str) -> Response[bytes]:
    if not _SHA256.fullmatch(sha256):
        raise NotFoundException()
    found = await find_logo(db_session, org_id=org_id, sha256=sha256)
    if found is None:
        raise NotFoundException()
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Cache-Control": IMMUTABLE,
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline",
        },
    )


@get("/theme/accent/{hex_color:str}", opt={"public": True}, name="accent_css", include_in_schema=False)
async def accent_css(hex_color: str) -> Response[str]:
    """A brand colour as CSS variables: inline styles are forbidden by our CSP, so the accent of
    an org's pages comes from this tiny stylesheet."""
    if not _HEX.fullmatch(hex_color):
        raise NotFoundException()
    accent = f"#{hex_color}"
    css = f":root{{--accent:{accent};--accent-contrast:{readable_text_color(accent)};}}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": IMMUTABLE})
