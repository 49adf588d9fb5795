"""Push and pull served beside FastAPI's routing (sfa/server/app.py, `dispatch`; fastpath.pull_query)
answer every request as the declared routes do: status, body and headers, for any pull query
(valid ones served by the dispatcher, anything else handed to the routes) and for pushes that fail.
On SQLite and PostgreSQL (in-process app, real databases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.domain import ids
from sfa.server import fastpath
from sfa.server.app import create_app
from tests.sync.inprocess import URL, Bridge, InProcessServer

CLOCK = "{ms:016d}:00000:aaaa"
KEYS = ["cursor", "limit", "epoch", "client_id", "own", "other"]
VALUES = ["0", "1", "2", "01", "+1", "-1", "", " 1", "1.0", "1e3", "5000", "5001", "1000", "2147483647"]
VALUES += ["2147483648", "99999999999", "lap", "lap two", "la%p", "é", "a" * 64, "a" * 65, "x:y.z_-"]


@pytest.fixture
def pair(inproc: InProcessServer) -> Iterator[tuple[InProcessServer, httpx.Client, httpx.Client]]:
    """The server with data in it, and two clients of the same database: one through the app as
    built (the dispatcher), one through an app whose router is reached directly (the routes only)."""
    routes_only = create_app(inproc.engine, reader=inproc.reader)
    routes_only.router.middleware_stack = routes_only.router.app
    token = inproc.add_user("ana", "rep", "north")
    headers = {"authorization": f"Bearer {token}"}
    bridge = Bridge(routes_only)
    fast = httpx.Client(transport=inproc.transport, base_url=URL, headers=headers)
    slow = httpx.Client(transport=bridge, base_url=URL, headers=headers)
    for n in range(3):
        made = CLOCK.format(ms=1_763_000_000_000 + n)
        fields = {"name": [f"Acme {n}", made], "owner": ["ana", made], "team": ["north", made]}
        mutation = {"seq": n + 1, "entity": "account", "id": ids.uuid7(), "fields": fields}
        body = {"protocol": 1, "client_id": "lap", "acked": 0, "mutations": [mutation]}
        assert fast.post("/v1/push", json=body).status_code == 200
    yield inproc, fast, slow
    bridge.shutdown()


def same(a: httpx.Response, b: httpx.Response) -> None:
    assert (a.status_code, a.content) == (b.status_code, b.content)
    assert sorted(a.headers.items()) == sorted(b.headers.items())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES)), max_size=4))
def test_any_pull_query_is_answered_as_the_route_answers_it(
    pair: tuple[InProcessServer, httpx.Client, httpx.Client], query: list[tuple[str, str]]
) -> None:
    _, fast, slow = pair
    first = slow.get("/v1/pull", params=query)
    same(fast.get("/v1/pull", params=query), first)
    assert first.status_code in (200, 400, 403, 409), first.text


def test_every_single_pull_parameter_is_answered_as_the_route_answers_it(
    pair: tuple[InProcessServer, httpx.Client, httpx.Client],
) -> None:
    _, fast, slow = pair
    for key in KEYS:
        for value in VALUES:
            query = [(key, value)]
            same(fast.get("/v1/pull", params=query), slow.get("/v1/pull", params=query))


def test_pull_query_takes_only_what_the_route_would_accept_unchanged() -> None:
    assert fastpath.pull_query([], 1000) == {
        "cursor": 0,
        "limit": 1000,
        "epoch": None,
        "client_id": None,
        "own": 0,
    }
    assert fastpath.pull_query([("cursor", "7"), ("own", "1"), ("client_id", "lap")], 1000) == {
        "cursor": 7,
        "limit": 1000,
        "epoch": None,
        "client_id": "lap",
        "own": 1,
    }
    for odd in (
        [("cursor", "1"), ("cursor", "2")],
        [("limit", "0")],
        [("own", "2")],
        [("cursor", "+1")],
        [("epoch", "")],
        [("client_id", "la p")],
        [("unknown", "1")],
    ):
        assert fastpath.pull_query(odd, 1000) is None, odd


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, b"{}"),
        ({"authorization": "Bearer nope"}, b"{}"),
        ({"authorization": "Basic abc"}, b"{}"),
        (None, b"not json"),
        (None, b'{"protocol": 1}'),
        (None, b'{"protocol": 99, "client_id": "lap", "acked": 0, "mutations": []}'),
        (None, b"[" * 70 + b"]" * 70),
        (None, b'{"protocol": 1, "client_id": "lap", "acked": 0, "mutations": [{"seq": "x"}]}'),
    ],
)
def test_failed_pushes_are_answered_as_the_route_answers_them(
    pair: tuple[InProcessServer, httpx.Client, httpx.Client], headers: dict[str, Any] | None, body: bytes
) -> None:
    _, fast, slow = pair
    kwargs: dict[str, Any] = {"content": body, "headers": {"content-type": "application/json"}}
    if headers is not None:
        fast_headers = {k: v for k, v in fast.headers.items() if k != "authorization"}
        kwargs["headers"] = {**fast_headers, **kwargs["headers"], **headers}
        first = httpx.Client(transport=slow._transport, base_url=URL).post("/v1/push", **kwargs)
        second = httpx.Client(transport=fast._transport, base_url=URL).post("/v1/push", **kwargs)
    else:
        first = slow.post("/v1/push", **kwargs)
        second = fast.post("/v1/push", **kwargs)
    assert first.status_code in (400, 401), first.text
    same(second, first)
