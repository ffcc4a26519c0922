"""Schemathesis against the live server: every API operation, generated requests (valid and
not), with an app key holding every scope. Nothing may answer 5xx, and every response must match
what the OpenAPI document promises for its status (errors included: the Problem schema)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tenantry.app import create_app
from tenantry.db.engine import create_engine, create_sessionmaker
from tests.conftest import base_settings
from tests.e2e.conftest import run_async
from tests.integration.api_helpers import bearer, make_key
from tests.integration.conftest import build_world

KEYS: dict[str, str] = {}


def _document() -> dict:
    """The API's OpenAPI document, as the server publishes it at /api/schema/openapi.json (the same
    code builds it; a test below checks the live one is identical)."""
    return create_app(base_settings("sqlite+aiosqlite:///:memory:")).openapi_schema.to_schema()


schema = schemathesis.openapi.from_dict(_document()).include(path_regex="^/api/v1/")


@pytest.fixture(scope="session")
def api_key(server) -> str:
    """An app key with every scope, and a world to act on (Acme, Globex and their people)."""
    if server.base_url not in KEYS:

        async def seed() -> None:
            engine = create_engine(base_settings(server.database_url))
            sessionmaker = create_sessionmaker(engine)
            await build_world(sessionmaker)
            KEYS[server.base_url] = await make_key(sessionmaker, name="Schemathesis")
            await engine.dispose()

        run_async(seed)
    return KEYS[server.base_url]


def test_the_live_document_is_the_one_tested(server):
    assert httpx.get(f"{server.base_url}/api/schema/openapi.json").json() == _document()


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_server_error_and_every_response_matches_the_document(case, server, api_key):
    case.call_and_validate(
        base_url=server.base_url,
        headers=bearer(api_key),
        checks=[not_a_server_error, response_schema_conformance],
    )
