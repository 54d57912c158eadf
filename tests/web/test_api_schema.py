"""Property-based tests of /api/v1 against its own OpenAPI description (schemathesis,
in-process over ASGI): no answer is a server error, and every answer — status code,
content type, headers, body — is one the description declares. Bounded: a few dozen
generated requests per route, well under a minute on both backends."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from arayis_cli.web.app import create_app
from arayis_cli.web.config import ServeConfig
from tests.helpers import Cli, app_in

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def served(loaded: Cli) -> tuple[Any, str]:
    """The app over a database with applications in each state, and a full key."""
    app_in(loaded, "new")
    app_in(loaded, "completed", code="0009907822", fin="2ERRY24")
    key = loaded.json("api-key", "create", "egov", "--scope", "submit,status,print")["key"]
    config = ServeConfig(
        db_url=loaded.url, key_cache_seconds=60, api_burst=100_000, api_rate_per_minute=10**6
    )
    return create_app(config), str(key)


def test_every_answer_matches_the_description(served: tuple[Any, str]) -> None:
    from hypothesis import given

    app, key = served
    headers = {"authorization": f"Bearer {key}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    seen: list[tuple[str, int]] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def answers_as_described(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen.append((case.operation.label, response.status_code))

        answers_as_described()
    # The generated requests reached every route, and some of them got through.
    assert {label for label, _status in seen} == {op.label for op in operations}
    assert any(status < 300 for _label, status in seen), seen


def test_the_description_is_openapi_3_1(served: tuple[Any, str]) -> None:
    from starlette.testclient import TestClient

    with TestClient(served[0]) as client:
        doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {"/applications", "/applications/{app_id}/print", "/changes"} <= set(doc["paths"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
