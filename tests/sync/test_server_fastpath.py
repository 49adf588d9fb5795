"""The cheap fixed cost of push and pull (sfa/server/fastpath.py; docs/performance.md "Server CPU per
request"): a cached token never outlives its revocation or its user's change, and the locked
section's arrays, sent as one literal each, reach PostgreSQL exactly as written. On SQLite and
PostgreSQL (in-process app, real databases).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sfa.domain import ids
from sfa.server import admin, fastpath, pushwrite
from tests.sync.inprocess import URL, InProcessServer

CLOCK = "{ms:016d}:00000:{replica}"


@pytest.fixture
def srv(inproc: InProcessServer) -> InProcessServer:
    return inproc


def client(srv: InProcessServer, token: str) -> httpx.Client:
    return httpx.Client(transport=srv.transport, base_url=URL, headers={"authorization": f"Bearer {token}"})


def push(http: httpx.Client, seq: int, fields: dict[str, Any]) -> httpx.Response:
    mutation = {"seq": seq, "entity": "account", "id": ids.uuid7(), "fields": fields}
    return http.post(
        "/v1/push", json={"protocol": 1, "client_id": "lap", "acked": 0, "mutations": [mutation]}
    )


def account(name: str, owner: str, team: str, ms: int) -> dict[str, Any]:
    made = CLOCK.format(ms=ms, replica="aaaa")
    return {"name": [name, made], "owner": [owner, made], "team": [team, made]}


def test_a_cached_token_stops_at_once_when_revoked(srv: InProcessServer) -> None:
    token = srv.add_user("ana", "rep", "north")
    http = client(srv, token)
    assert push(http, 1, account("Acme", "ana", "north", 1_763_000_000_000)).status_code == 200
    assert http.get("/v1/pull", params={"client_id": "lap"}).status_code == 200  # cached now
    admin.revoke_user(srv.home, srv.db, "ana")
    refused = push(http, 2, account("Beta", "ana", "north", 1_763_000_001_000))
    assert refused.status_code == 401, refused.text
    assert http.get("/v1/pull", params={"client_id": "lap"}).status_code == 401
    assert srv.query("SELECT count(*) FROM record")[0][0] == 1


def test_a_cached_user_whose_team_changed_is_judged_as_it_is_now(srv: InProcessServer) -> None:
    token = srv.add_user("ana", "rep", "north")
    http = client(srv, token)
    assert push(http, 1, account("Acme", "ana", "north", 1_763_000_000_000)).status_code == 200
    with srv.engine.begin() as conn:  # as an admin moving ana to another team would
        conn.execute(text("UPDATE app_user SET team = 'south' WHERE name = 'ana'"))
    reply = push(http, 2, account("Beta", "ana", "north", 1_763_000_001_000))
    assert reply.status_code == 200, reply.text
    assert reply.json()["results"][0]["status"] == "rejected"  # north is no longer ana's team
    assert (
        push(http, 3, account("Gamma", "ana", "south", 1_763_000_002_000)).json()["results"][0]["status"]
        == "applied"
    )


def test_users_cache_keeps_no_manager_and_forgets_after_its_seconds() -> None:
    from sfa.server.merge import User

    users = fastpath.Users(seconds=0.0)
    users.put("h", User("ana", "rep", "north"))
    assert users.get("h") is None
    users = fastpath.Users()
    users.put("m", User("mia", "manager", "north"))
    users.put("h", User("ana", "rep", "north"))
    assert users.get("m") is None and users.get("h") == User("ana", "rep", "north")
    users.drop("h")
    assert users.get("h") is None


def test_pyformat_turns_named_placeholders_only() -> None:
    sql = "SELECT x::text FROM t WHERE a = :a AND b IN (:i0, :i1) AND c = 'seq'"
    assert (
        fastpath.pyformat(sql)
        == "SELECT x::text FROM t WHERE a = %(a)s AND b IN (%(i0)s, %(i1)s) AND c = 'seq'"
    )


# what reaches an array literal: text the wire checks have passed (no NUL, no lone surrogate)
element = st.one_of(
    st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(element, max_size=8), numbers=st.lists(st.integers(-(2**62), 2**62), max_size=5))
def test_array_literals_reach_postgresql_as_written(
    pg_cluster: Any, values: list[str | None], numbers: list[int]
) -> None:
    import psycopg

    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT %s::text[], %s::text[], %s::bigint[], %s::boolean[]",
            (
                pushwrite.array_literal(list(values)),
                pushwrite._texts(list(values)),
                pushwrite.array_literal(list(numbers)),
                pushwrite.array_literal([n % 2 == 0 for n in numbers]),
            ),
        ).fetchone()
    assert row == (values, values, numbers, [n % 2 == 0 for n in numbers])


def test_a_pull_records_the_cursor_it_gives_and_nothing_when_refused(srv: InProcessServer) -> None:
    """On PostgreSQL the pull and its client-row write are one statement: the row must hold the
    cursor given, be made for a new client, and be left alone by a refused pull."""
    token = srv.add_user("ana", "rep", "north")
    http = client(srv, token)
    for n in range(3):
        assert push(http, n + 1, account(f"A{n}", "ana", "north", 1_763_000_000_000 + n)).status_code == 200
    pulled = "SELECT pulled FROM client WHERE client_id = 'other'"
    first = http.get("/v1/pull", params={"client_id": "other", "limit": 2})
    assert first.status_code == 200 and first.json()["more"] is True
    assert srv.query(pulled) == [(first.json()["cursor"],)]
    epoch = first.json()["epoch"]
    refused = http.get(
        "/v1/pull", params={"client_id": "other", "cursor": first.json()["cursor"], "epoch": "x"}
    )
    assert refused.status_code == 409
    ahead = http.get("/v1/pull", params={"client_id": "other", "cursor": 10_000, "epoch": epoch})
    assert ahead.status_code == 409
    assert srv.query(pulled) == [(first.json()["cursor"],)]
    rest = http.get(
        "/v1/pull", params={"client_id": "other", "cursor": first.json()["cursor"], "epoch": epoch}
    )
    assert rest.status_code == 200 and rest.json()["more"] is False
    assert srv.query(pulled) == [(rest.json()["cursor"],)]
    ben = client(srv, srv.add_user("ben", "rep", "north"))
    assert ben.get("/v1/pull", params={"client_id": "other"}).status_code == 403
    assert srv.query("SELECT user_name, pulled FROM client WHERE client_id = 'other'") == [
        ("ana", rest.json()["cursor"])
    ]
