"""Every model module, imported once, so the metadata (and Alembic) knows every table."""

from __future__ import annotations

from advanced_alchemy.base import orm_registry

from tenantry.access import models as access_models  # noqa: F401
from tenantry.accounts import models as accounts_models  # noqa: F401
from tenantry.api import models as api_models  # noqa: F401
from tenantry.audit import models as audit_models  # noqa: F401
from tenantry.groups import models as groups_models  # noqa: F401
from tenantry.invitations import models as invitations_models  # noqa: F401
from tenantry.lib import ratelimit  # noqa: F401
from tenantry.mail import models as mail_models  # noqa: F401
from tenantry.members import models as members_models  # noqa: F401
from tenantry.orgs import models as orgs_models  # noqa: F401
from tenantry.plans import models as plans_models  # noqa: F401
from tenantry.support import models as support_models  # noqa: F401

metadata = orm_registry.metadata
