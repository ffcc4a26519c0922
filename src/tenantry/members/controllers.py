"""The members page: search as you type, keyset pagination."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.access.permissions import Permission
from tenantry.lib.forms import clean_query_text
from tenantry.members.services import count_active_members, list_members
from tenantry.orgs.context import OrgContext


class MembersController(Controller):
    path = "/members"
    tags = ["members"]

    @get("/", opt={"permission": Permission.MEMBERS_READ}, name="org_members")
    async def members_page(
        self,
        request: Request,
        db_session: AsyncSession,
        org_context: OrgContext,
        q: str = "",
        cursor: str | None = None,
    ) -> Template:
        page = await list_members(db_session, org_id=org_context.org.id, search=q, cursor=cursor)
        context = {"page": page, "q": clean_query_text(q)}
        if request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "members-results":
            return Template("members/_results.html", context=context)
        context["member_count"] = await count_active_members(db_session, org_id=org_context.org.id)
        return Template("members/list.html", context=context)
