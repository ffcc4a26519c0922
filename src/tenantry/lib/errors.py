"""Refusals a service verb can answer with; the web layer turns each into the right page."""

from __future__ import annotations

from tenantry.lib.forms import InvalidInput


class NotFound(Exception):
    """No such thing in this org: another org's id, a deleted row, a made-up id. Always a 404."""


class NotPermitted(InvalidInput):
    """Allowed to ask, not allowed to do this: e.g. give a role with permissions you lack.
    Shown next to the field like any refused input, with a 403."""

    status = 403
