"""Who is calling: resolves the session cookie to a user before any handler or guard runs.

Anonymous requests pass through with ``user`` None; the `require_user` guard decides where an
account is needed. A session that timed out is remembered on the request so the sign-in page
can say so. A staff browser in a live impersonation is the customer for the request (the staff
member rides along in ``request.state.impersonation``); one whose impersonation just ran out is
the staff member again, and told so.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.plugins.flash import flash

from tenantry.accounts.sessions import SESSION_COOKIE, resume_session
from tenantry.runtime import runtime_of
from tenantry.support.services import resume_impersonation


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        if not token:
            return AuthenticationResult(user=None, auth=None)
        runtime = runtime_of(connection.app)
        client_ip = connection.client.host if connection.client else ""
        async with runtime.sessionmaker() as db:
            resumed = await resume_session(db, token, settings=runtime.settings, ip=client_ip)
            if resumed and resumed.user.is_staff:
                impersonation = await resume_impersonation(db, session=resumed.session, staff=resumed.user)
                if impersonation.live is not None:
                    connection.state.impersonation = impersonation.live
                    return AuthenticationResult(user=impersonation.live.target, auth=resumed.session)
                if impersonation.ran_out:
                    # A form sent from the customer's page must not now be carried out as staff.
                    connection.state.impersonation_ran_out = True
                    flash(
                        connection,
                        "Your impersonation ended: its time ran out. You are yourself again.",
                        category="info",
                    )
        if resumed is False:
            connection.state.session_expired = True
        if not resumed:
            return AuthenticationResult(user=None, auth=None)
        return AuthenticationResult(user=resumed.user, auth=resumed.session)
