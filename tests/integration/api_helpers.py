"""Keys for API tests: an app key, or an org key of Acme or Globex, made through the service verb."""

from __future__ import annotations

import datetime

from tenantry.api.keys import create_key
from tenantry.audit.services import Actor
from tenantry.orgs.models import Organization
from tests.integration.conftest import SEED_SETTINGS

ALL_SCOPES = ("read", "write", "check")


async def make_key(
    sessionmaker,
    *,
    org: Organization | None = None,
    scopes=ALL_SCOPES,
    name: str = "Backend",
    expires_at: datetime.datetime | None = None,
) -> str:
    async with sessionmaker() as db:
        if org is not None:
            org = await db.get(Organization, org.id)
        new = await create_key(
            db,
            settings=SEED_SETTINGS,
            org=org,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
            actor=Actor.system("tests"),
        )
        await db.commit()
    return new.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
