"""The outbox and its worker: retried, never lost, never sent twice."""

from __future__ import annotations

import asyncio
import datetime
from collections import Counter

import pytest
from sqlalchemy import select

from tenantry.audit.models import AuditEvent
from tenantry.lib.clock import utcnow
from tenantry.mail.models import OutboxMessage, OutboxStatus
from tenantry.mail.outbox import enqueue, retry_pause
from tenantry.mail.rendering import RenderedEmail
from tenantry.mail.worker import deliver_due
from tests.clock import travel
from tests.conftest import base_settings
from tests.mail_sink import free_port, html_of, start_sink, text_of


class Recorder:
    """A transport that keeps what it is given (optionally slowly, or failing)."""

    def __init__(self, *, fail: bool = False, pause: float = 0.0) -> None:
        self.sent = []
        self.fail = fail
        self.pause = pause

    async def send(self, message) -> None:
        if self.pause:
            await asyncio.sleep(self.pause)
        if self.fail:
            raise ConnectionRefusedError("SMTP server is down")
        self.sent.append(message)


async def queue(sessionmaker, count: int = 1, kind: str = "test") -> None:
    async with sessionmaker() as db:
        for n in range(count):
            enqueue(
                db,
                to=f"person{n}@x.example",
                kind=kind,
                email=RenderedEmail(subject=f"Hello {n}", text=f"Text {n}", html=f"<p>Html {n}</p>"),
            )
        await db.commit()


async def statuses(sessionmaker) -> list[tuple[str, int]]:
    async with sessionmaker() as db:
        return [(m.status, m.attempts) for m in await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


async def test_due_messages_are_sent_once_as_multipart(sessionmaker, settings, world):
    await queue(sessionmaker, 3)
    transport = Recorder()
    assert await deliver_due(sessionmaker, settings, transport) == 3
    assert await deliver_due(sessionmaker, settings, transport) == 0
    assert len(transport.sent) == 3
    message = transport.sent[0]
    assert message.is_multipart() and text_of(message) == "Text 0\n" and "<p>Html 0</p>" in html_of(message)
    assert message["From"] == settings.mail_from and message["Message-ID"]
    assert await statuses(sessionmaker) == [("sent", 1)] * 3
    async with sessionmaker() as db:
        assert len(list(await db.scalars(select(AuditEvent).where(AuditEvent.action == "email.delivered")))) == 3


async def test_without_a_mail_server_the_log_says_where_the_email_went(sessionmaker, settings, world):
    """`make run` has no SMTP server: "delivered" would be untrue."""
    from tenantry.audit.sentences import describe
    from tenantry.mail.transport import LogTransport

    await queue(sessionmaker, 1)
    assert await deliver_due(sessionmaker, settings, LogTransport()) == 1
    async with sessionmaker() as db:
        [event] = await db.scalars(select(AuditEvent).where(AuditEvent.action == "email.delivered"))
    assert describe(event) == (
        "The email to person0@x.example was written to the server's log (no mail server is set up)"
    )


async def test_a_failure_is_retried_with_growing_pauses_then_given_up(sessionmaker, settings, world, monkeypatch):
    await queue(sessionmaker)
    down = Recorder(fail=True)
    await deliver_due(sessionmaker, settings, down)
    async with sessionmaker() as db:
        message = await db.scalar(select(OutboxMessage))
        assert (message.status, message.attempts) == ("pending", 1)
        assert "SMTP server is down" in message.last_error
        assert message.next_attempt_at - utcnow() > datetime.timedelta(seconds=25)
    assert await deliver_due(sessionmaker, settings, down) == 0, "not before its time"
    travel(monkeypatch, seconds=31)
    await deliver_due(sessionmaker, settings, down)
    assert await statuses(sessionmaker) == [("pending", 2)]
    assert [retry_pause(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    travel(monkeypatch, hours=settings.mail_retry_hours)
    await deliver_due(sessionmaker, settings, down)
    assert await statuses(sessionmaker) == [("failed", 3)]
    async with sessionmaker() as db:
        [failed] = await db.scalars(select(AuditEvent).where(AuditEvent.action == "email.failed"))
        assert failed.after["attempts"] == 3


async def test_smtp_down_then_up_delivers_exactly_once(sessionmaker, database_urls, backend, world, monkeypatch):
    port = free_port()
    settings = base_settings(database_urls[backend], smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    await queue(sessionmaker, 2, kind="invitation")
    await deliver_due(sessionmaker, settings)  # nobody listens on the port yet
    assert await statuses(sessionmaker) == [("pending", 1)] * 2
    controller, sink = start_sink(port)
    try:
        travel(monkeypatch, minutes=1)
        await deliver_due(sessionmaker, settings)
        travel(monkeypatch, hours=1)
        await deliver_due(sessionmaker, settings)
        await asyncio.sleep(0.2)
    finally:
        controller.stop()
    assert sorted(m["Subject"] for m in sink.messages) == ["Hello 0", "Hello 1"], "each exactly once"
    assert await statuses(sessionmaker) == [("sent", 2)] * 2


@pytest.mark.parametrize("workers", [2, 3])
async def test_several_workers_never_send_a_message_twice(sessionmaker, settings, world, workers):
    await queue(sessionmaker, 40)
    transport = Recorder(pause=0.005)

    async def work() -> None:
        while await deliver_due(sessionmaker, settings, transport):
            pass

    await asyncio.gather(*(work() for _ in range(workers)))
    counts = Counter(m["Subject"] for m in transport.sent)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert await statuses(sessionmaker) == [("sent", 1)] * 40


async def test_a_worker_that_died_mid_send_leaves_the_message_to_another(sessionmaker, settings, world, monkeypatch):
    await queue(sessionmaker)
    async with sessionmaker() as db:
        message = await db.scalar(select(OutboxMessage))
        message.status, message.attempts = OutboxStatus.SENDING, 1
        message.locked_until = utcnow() + datetime.timedelta(minutes=5)
        await db.commit()
    transport = Recorder()
    assert await deliver_due(sessionmaker, settings, transport) == 0, "its lease still runs"
    travel(monkeypatch, minutes=6)
    assert await deliver_due(sessionmaker, settings, transport) == 1
    assert await statuses(sessionmaker) == [("sent", 2)]
