"""The delivery loop: inside `tenantry run` by default, or on its own as `tenantry worker`.

Between deliveries it also ends impersonations that ran out while their browser was away."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging

from sqlalchemy.ext.asyncio import async_sessionmaker

from tenantry.config import Settings
from tenantry.mail.outbox import claim_due, mark_failed, mark_sent
from tenantry.mail.transport import LogTransport, Transport, to_mime, transport_for
from tenantry.support.services import expire_overdue

logger = logging.getLogger("tenantry.mail")


async def deliver_due(sessionmaker: async_sessionmaker, settings: Settings, transport: Transport | None = None) -> int:
    """Send what is due now; returns how many messages were attempted."""
    transport = transport or transport_for(settings)
    claimed = await claim_due(sessionmaker)
    for message in claimed:
        try:
            await transport.send(to_mime(message, mail_from=settings.mail_from))
        except Exception as exc:
            gave_up = await mark_failed(
                sessionmaker,
                message,
                f"{type(exc).__name__}: {exc}",
                retry_for=datetime.timedelta(hours=settings.mail_retry_hours),
            )
            log = logger.error if gave_up else logger.warning
            log("Email %s to %s not delivered (attempt %d): %s", message.id, message.to_address, message.attempts, exc)
        else:
            await mark_sent(sessionmaker, message, to_log=isinstance(transport, LogTransport))
    return len(claimed)


async def end_overdue_impersonations(sessionmaker: async_sessionmaker) -> None:
    """The worker's one chore besides mail: an impersonation whose browser went away still ends on
    time in the customer's activity log (support/services.py: expire_overdue)."""
    try:
        async with sessionmaker() as db:
            if await expire_overdue(db):
                await db.commit()
    except Exception:
        logger.exception("Could not end the impersonations that ran out; will try again")


async def run_worker(sessionmaker: async_sessionmaker, settings: Settings, stop: asyncio.Event) -> None:
    """Deliver until `stop` is set; when nothing is due, wait a little before looking again."""
    transport = transport_for(settings)
    logger.info("Mail worker started (%s)", "SMTP " + settings.smtp_host if settings.smtp_host else "log only")
    while not stop.is_set():
        try:
            attempted = await deliver_due(sessionmaker, settings, transport)
        except Exception:
            logger.exception("The mail worker hit an error; it carries on")
            attempted = 0
        await end_overdue_impersonations(sessionmaker)
        if not attempted:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.mail_poll_seconds)


class MailWorkerHandle:
    """The worker as a background task of the web process (the default for `tenantry run`)."""

    def __init__(self) -> None:
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self, sessionmaker: async_sessionmaker, settings: Settings) -> None:
        self._task = asyncio.create_task(run_worker(sessionmaker, settings, self._stop), name="mail-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            await self._task
