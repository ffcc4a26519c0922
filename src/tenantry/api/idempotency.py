"""`Idempotency-Key` on API POSTs: a retried request gets the first response, not a second change.

The same key (per API key) with the same method, path and body: the stored response is replayed.
With another body: 422, since it is a different request wearing a used key. While the first is
still running, a second one gets 409 (retry shortly). Responses of 401, 429 and 5xx aren't kept:
retrying those is meant to run again. Kept for 24 hours.

Only a live key is served from here; anything else goes on to the router's guard and its 401/403.
A row is claimed (status 0) before the request runs, under the table's unique constraint, so two
requests with one key at once can't both make the change.
"""

from __future__ import annotations

import datetime
import hashlib
import json

from litestar.datastructures import Headers
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from tenantry.api.keys import PRESENTED, authenticate
from tenantry.api.models import IdempotentResponse
from tenantry.lib.clock import utcnow
from tenantry.lib.ratelimit import Limit, RateLimited
from tenantry.runtime import runtime_of

HEADER = "idempotency-key"
KEPT = datetime.timedelta(hours=24)
NOT_KEPT = {401, 429}
RUNNING = 0  # status_code of a claimed row whose request hasn't answered yet
MAX_BODY = 1024 * 1024  # API bodies are small; a bigger one isn't buffered here


async def _problem(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    titles = {400: "Bad request", 409: "Conflict", 413: "Request too large", 422: "Invalid request"}
    body = {"type": "about:blank", "title": titles.get(status, "Error"), "status": status, "detail": detail}
    await _send(send, status, "application/problem+json", json.dumps(body).encode(), headers=headers)


async def _send(
    send: Send, status: int, content_type: str, body: bytes, *, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None past MAX_BODY."""
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body"):
            return bytes(body)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers.from_scope(scope)
        idempotency_key = headers.get(HEADER, "")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scope["type"] != "http" or scope["method"] != "POST" or not idempotency_key or scheme.lower() != "bearer":
            await self.app(scope, receive, send)
            return
        if len(idempotency_key) > 255:
            await _problem(send, 400, "Idempotency-Key: at most 255 characters.")
            return
        runtime = runtime_of(scope["app"])
        presented = await authenticate(runtime.sessionmaker, runtime.settings, token.strip())
        if presented is None or presented.refusal:  # the guard says why, as for any request
            await self.app(scope, receive, send)
            return
        key = presented.key
        scope.setdefault("state", {})[PRESENTED] = presented  # the guard needn't look the key up again
        body = await _read_body(receive)
        if body is None:
            await _problem(send, 413, f"An API request body may be at most {MAX_BODY // 1024} KB.")
            return
        fingerprint = hashlib.sha256(f"{scope['method']} {scope['path']}\n".encode() + body).hexdigest()
        claimed = await self._claim(runtime.sessionmaker, key.id, idempotency_key, fingerprint)
        if not claimed:
            await self._answer_again(runtime, send, key.id, idempotency_key, fingerprint)
            return

        delivered = False

        async def replay_receive() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, content_type, chunks = 500, "application/json", []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            await self._settle(runtime.sessionmaker, key.id, idempotency_key, status, content_type, b"".join(chunks))

    @staticmethod
    async def _claim(sessionmaker, key_id, idempotency_key: str, fingerprint: str) -> bool:
        """Take the key for this request; False when another request has it (running or done)."""
        async with sessionmaker() as db:
            await db.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at <= utcnow() - KEPT))
            db.add(
                IdempotentResponse(
                    api_key_id=key_id,
                    idempotency_key=idempotency_key,
                    request_hash=fingerprint,
                    status_code=RUNNING,
                    body=b"",
                )
            )
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()
                return False
        return True

    @staticmethod
    async def _answer_again(runtime, send: Send, key_id, idempotency_key: str, fingerprint: str) -> None:
        async with runtime.sessionmaker() as db:
            first = await db.scalar(
                select(IdempotentResponse).where(
                    IdempotentResponse.api_key_id == key_id, IdempotentResponse.idempotency_key == idempotency_key
                )
            )
        if first is None:  # it was let go a moment ago (a 5xx, a 429): try again
            await _problem(send, 409, "A request with this Idempotency-Key just ended without an answer; retry it.")
        elif first.request_hash != fingerprint:
            detail = "This Idempotency-Key was used for a different request; use a new key for a new request."
            await _problem(send, 422, detail)
        elif first.status_code == RUNNING:
            await _problem(send, 409, "The first request with this Idempotency-Key is still running; retry shortly.")
        else:
            try:  # a replay is a request too
                await runtime.limiter.hit(Limit("api:key", runtime.settings.api_requests_per_minute, 60), str(key_id))
            except RateLimited as exc:
                retry = str(exc.retry_after_seconds)
                detail = f"Too many requests for this key; try again in {retry} seconds."
                await _problem(send, 429, detail, headers={"Retry-After": retry})
                return
            await _send(
                send, first.status_code, first.content_type, first.body, headers={"Idempotent-Replayed": "true"}
            )

    @staticmethod
    async def _settle(sessionmaker, key_id, idempotency_key: str, status: int, content_type: str, body: bytes) -> None:
        """Keep the answer for the retries to come, or let the key go when it shouldn't be kept."""
        mine = (IdempotentResponse.api_key_id == key_id) & (IdempotentResponse.idempotency_key == idempotency_key)
        async with sessionmaker() as db:
            if status >= 500 or status in NOT_KEPT:
                await db.execute(delete(IdempotentResponse).where(mine))
            else:
                await db.execute(
                    update(IdempotentResponse)
                    .where(mine)
                    .values(status_code=status, content_type=content_type[:100], body=body)
                )
            await db.commit()
