"""The one source of "now", so tests can move time (session timeouts, expiry).

Code calls `utcnow()`; tests shift `offset` (see tests/clock.py). Nothing else reads the clock.
"""

from __future__ import annotations

import datetime

offset = datetime.timedelta(0)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC) + offset
