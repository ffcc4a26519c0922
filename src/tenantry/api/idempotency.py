"""`Idempotency-Key` on API POSTs: a retried request gets the first response, not a second change.

The same key (per API key) with the same method, path and body: the stored response is replayed.
With another body: 422, since it is a different request wearing a used key. Responses of 401,
429 and 5xx aren't stored: retrying those is meant to run again. Kept for 24 hours.
"""

from __future__ import annotations

import datetime
import hashlib
import json

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from tenantry.api.models import ApiKey, IdempotentResponse
from tenantry.lib.clock import utcnow
from tenantry.lib.tokens import hash_token
from tenantry.runtime import runtime_of

HEADER = b"idempotency-key"
KEPT = datetime.timedelta(hours=24)
NOT_STORED = {401, 429}


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _problem(status: int, detail: str) -> bytes:
    title = "Invalid request" if status == 422 else "Bad request"
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()


async def _send_body(send: Send, status: int, content_type: str, body: bytes, *, replayed: bool = False) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        idempotency_key = _header(scope, HEADER)
        scheme, _, token = _header(scope, b"authorization").partition(" ")
        if scope["type"] != "http" or scope["method"] != "POST" or not idempotency_key or scheme.lower() != "bearer":
            await self.app(scope, receive, send)
            return
        if len(idempotency_key) > 255:
            await _send_body(
                send, 400, "application/problem+json", _problem(400, "Idempotency-Key: at most 255 characters.")
            )
            return
        body = b""
        while True:  # the whole request body: it is part of what makes a request "the same"
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()
        sessionmaker = runtime_of(scope["app"]).sessionmaker
        async with sessionmaker() as db:
            found = await db.scalar(
                select(IdempotentResponse)
                .join(ApiKey, ApiKey.id == IdempotentResponse.api_key_id)
                .where(
                    ApiKey.token_hash == hash_token(token.strip()),
                    IdempotentResponse.idempotency_key == idempotency_key,
                    IdempotentResponse.created_at > utcnow() - KEPT,
                )
            )
        if found is not None:
            if found.request_hash != fingerprint:
                detail = "This Idempotency-Key was used for a different request; use a new key for a new request."
                await _send_body(send, 422, "application/problem+json", _problem(422, detail))
                return
            await _send_body(send, found.status_code, found.content_type, found.body, replayed=True)
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
                for key, value in message.get("headers", []):
                    if key.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay_receive, capture)
        caller = scope.get("state", {}).get("api_caller")
        if caller is None or status >= 500 or status in NOT_STORED:
            return
        async with sessionmaker() as db:
            await db.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at <= utcnow() - KEPT))
            db.add(
                IdempotentResponse(
                    api_key_id=caller.key.id,
                    idempotency_key=idempotency_key,
                    request_hash=fingerprint,
                    status_code=status,
                    content_type=content_type[:100],
                    body=b"".join(chunks),
                )
            )
            try:
                await db.commit()
            except IntegrityError:  # the same key sent twice at once: the first one stored wins
                await db.rollback()
