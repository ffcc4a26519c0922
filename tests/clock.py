"""Move Tenantry's clock in a test: `travel(monkeypatch, hours=3)`."""

from __future__ import annotations

import datetime

from tenantry.lib import clock


def travel(monkeypatch, **delta) -> None:
    monkeypatch.setattr(clock, "offset", clock.offset + datetime.timedelta(**delta))
