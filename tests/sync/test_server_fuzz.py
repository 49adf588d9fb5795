"""The server fuzzed (issue 18): schemathesis against the served OpenAPI document, and Hypothesis
pushing random values into every field of every entity from one client while a teammate's laptop
syncs and runs the reports. The server never answers 500 and never logs a traceback; the teammate's
`sfa sync` and every report exit 0.

Bounded for CI: fixed seeds (derandomized), ~100 examples per operation, `SFA_FUZZ_EXAMPLES` runs
more. The schemathesis run is in-process (on SQLite and PostgreSQL); the field fuzz runs against the real server
process on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import InProcessServer
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serverworld import World
from synchelp import BACKENDS

from sfa.domain.entities import ENTITIES

EXAMPLES = int(os.environ.get("SFA_FUZZ_EXAMPLES", "100"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class _Errors(logging.Handler):
    """Every log record at ERROR or above (an exception in an endpoint is logged so)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, str], _Errors]]:
    """The app in-process over SQLite and over a throwaway PostgreSQL database: its served OpenAPI
    document as schemathesis loads it, a user's headers, and the ERROR log records."""
    home = tmp_path_factory.mktemp("fuzz-server")
    db = None
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        db = pg.url(pg.new_database())
    server = InProcessServer(home, db=db)
    headers = {"Authorization": f"Bearer {server.add_user('ana', 'rep', 'north')}"}
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        # The served OpenAPI document, loaded once per app (not once per operation): every
        # operation's cases are drawn from the same document the app serves.
        yield schemathesis.openapi.from_asgi("/openapi.json", server.app), headers, errors
    finally:
        logging.getLogger().removeHandler(errors)
        server.close()


# Every operation with valid data; those that take input with invalid data too.
OPERATIONS = [
    ("/v1/health", "GET", "positive"),
    ("/v1/me", "GET", "positive"),
    ("/v1/push", "POST", "positive"),
    ("/v1/push", "POST", "negative"),
    ("/v1/pull", "GET", "positive"),
    ("/v1/pull", "GET", "negative"),
]


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS)
def test_schemathesis(path: str, method: str, mode: str, api: tuple[Any, dict[str, str], _Errors]) -> None:
    schema, headers, errors = api
    operation = schema[path][method]

    @given(case=operation.as_strategy(GenerationMode(mode)))
    @FUZZ_SETTINGS
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )
        assert not errors.records, [r.getMessage() for r in errors.records]

    run()


# -- every entity's fields, random values ------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "2026-12-31",
            "20261231",
            "2026-W01-1",
            "2026-12-31T09:00:00.000Z",
            "2026-12-31T09:00:00",
            "1e999999",
            "12.50",
            "-1",
            "EUR",
            "eur",
            "a\x00b",
            "\ud800",
            "new",
            "high",
            "draft",
        ]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
NAMES = sorted(ENTITIES)
POOL = [str(uuid.UUID(int=n, version=4)) for n in range(1, 4)]  # ids reused: later pushes edit them


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    pg = request.getfixturevalue("pg_cluster") if request.param == "postgres" else None
    made = World(tmp_path_factory.mktemp(f"fuzz-{request.param}"), request.param, pg)
    yield made
    made.newcomer_ok(tmp_path_factory.mktemp("newcomer"))
    log = made.server_log()
    made.close()
    assert "Traceback" not in log, log[-3000:]


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    entity = ENTITIES[draw(st.sampled_from(NAMES))]
    names = draw(st.lists(st.sampled_from(entity.field_names), min_size=1, max_size=6, unique=True))
    values = {name: draw(JSON_VALUES) for name in names}
    record_id = draw(st.sampled_from(POOL)) if draw(st.booleans()) else str(uuid.uuid4())
    if "owner" in entity.by_name and draw(st.booleans()):
        values.update(owner="eve", team="north")  # often in the team, so the teammate pulls it
    return entity.name, record_id, values


@given(batch=st.lists(mutations(), min_size=1, max_size=8))
@settings(FUZZ_SETTINGS, max_examples=max(10, EXAMPLES // 5))
def test_random_field_values_never_break_a_teammate(
    world: World, batch: list[tuple[str, str, dict[str, Any]]]
) -> None:
    for entity, record_id, values in batch:
        result = world.push(entity, record_id, values)
        assert result["status"] in ("applied", "conflict", "rejected"), result
    world.teammate_ok()
