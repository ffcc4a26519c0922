"""Who is calling: resolves the session cookie to a user before any handler or guard runs.

Anonymous requests pass through with ``user`` None; the `require_user` guard decides where an
account is needed. A session that timed out is remembered on the request so the sign-in page
can say so.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from tenantry.accounts.sessions import SESSION_COOKIE, resume_session
from tenantry.runtime import runtime_of


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        if not token:
            return AuthenticationResult(user=None, auth=None)
        runtime = runtime_of(connection.app)
        client_ip = connection.client.host if connection.client else ""
        async with runtime.sessionmaker() as db:
            resumed = await resume_session(db, token, settings=runtime.settings, ip=client_ip)
        if resumed is False:
            connection.state.session_expired = True
        if not resumed:
            return AuthenticationResult(user=None, auth=None)
        return AuthenticationResult(user=resumed.user, auth=resumed.session)
