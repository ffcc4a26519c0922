"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Request, Response, get
from sqlalchemy import text

from tenantry.runtime import runtime_of


@get("/healthz", opt={"public": True}, include_in_schema=False)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", opt={"public": True}, include_in_schema=False)
async def readyz(request: Request) -> Response[dict[str, str]]:
    """The database answers."""
    try:
        async with runtime_of(request.app).engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})
