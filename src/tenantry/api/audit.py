"""/api/v1/orgs/{org}/events and /api/v1/events: the audit log, filtered, newest first, through
the portal's own reader (audit.activity.list_events). An org key reads its own org's events only."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.api.auth import SCOPE_OPT, ApiCaller
from tenantry.api.checks import org_in_reach
from tenantry.api.models import Scope
from tenantry.api.schemas_audit import EventList, EventOut
from tenantry.api.schemas_orgs import CursorParam, PageSize
from tenantry.audit.activity import ActivityFilters, list_events
from tenantry.audit.models import AuditEvent
from tenantry.audit.sentences import describe
from tenantry.lib.forms import InvalidInput

Text = Annotated[str, Parameter(max_length=200, description="Part of its name or address")]
# `actor` names the portal's Actor dependency: the query parameter reaches the handler by another name.
ActorText = Annotated[str, Parameter(query="actor", max_length=200, description="Part of the actor's name or address")]
Day = Annotated[str, Parameter(max_length=20, description="YYYY-MM-DD (UTC), inclusive")]
Action = Annotated[
    str,
    Parameter(max_length=64, description="An action (`invitation.created`) or a family (`invitation`)"),
]


def event_out(event: AuditEvent) -> EventOut:
    return EventOut(
        id=event.id,
        action=event.action,
        occurred_at=event.occurred_at,
        actor_label=event.actor_label,
        actor_user_id=event.actor_user_id,
        impersonator_user_id=event.impersonator_user_id,
        target_type=event.target_type,
        target_id=event.target_id,
        target_label=event.target_label,
        org_id=event.org_id,
        before=event.before,
        after=event.after,
        request_id=event.request_id,
        sentence=describe(event),
    )


async def events_page(
    db: AsyncSession,
    *,
    org_id: UUID | None,
    filters: dict[str, str],
    cursor: str | None,
    limit: int,
) -> EventList:
    """One page in one statement; a bad date is a 422 naming `since` or `until`."""
    wanted = ActivityFilters.from_query(filters)
    if wanted.errors:
        raise InvalidInput(wanted.errors)
    page = await list_events(db, wanted, org_id=org_id, cursor=cursor, per_page=limit)
    return EventList(items=[event_out(event) for event in page.items], next_cursor=page.next_cursor)


class EventsController(Controller):
    path = "/"
    tags = ["audit"]

    @get(
        "/orgs/{org:str}/events",
        opt={SCOPE_OPT: Scope.READ},
        summary="An organization's audit events",
    )
    async def org_events(
        self,
        db_session: AsyncSession,
        api: ApiCaller,
        org: str,
        actor_text: ActorText = "",
        action: Action = "",
        target: Text = "",
        since: Day = "",
        until: Day = "",
        cursor: CursorParam = None,
        limit: PageSize = 50,
    ) -> EventList:
        """Newest first."""
        found = await org_in_reach(db_session, api, org)
        return await events_page(
            db_session,
            org_id=found.id,
            filters={"actor": actor_text, "action": action, "target": target, "since": since, "until": until},
            cursor=cursor,
            limit=limit,
        )

    @get("/events", opt={SCOPE_OPT: Scope.READ}, summary="Audit events of every organization")
    async def all_events(
        self,
        db_session: AsyncSession,
        api: ApiCaller,
        actor_text: ActorText = "",
        action: Action = "",
        target: Text = "",
        since: Day = "",
        until: Day = "",
        cursor: CursorParam = None,
        limit: PageSize = 50,
    ) -> EventList:
        """For an app key, everything support staff see: every org's events and the accounts'
        own (sign-ins, password changes). For an org key, its own org's events."""
        return await events_page(
            db_session,
            org_id=api.org_id,
            filters={"actor": actor_text, "action": action, "target": target, "since": since, "until": until},
            cursor=cursor,
            limit=limit,
        )
