"""The push in two phases (docs/sync-protocol.md, "Server sequence"): merged outside the counter
lock, written under it. Another push that commits between the phases must be noticed: the batch is
planned again under the lock, so no write is judged against a record state that is gone.

Deterministic: the app's `after_plan` hook runs a second push, to completion, after the first
push planned and before it locks. On SQLite and PostgreSQL (in-process app, real databases).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sfa.domain import ids
from tests.sync.inprocess import URL, InProcessServer

CLOCK = "{ms:016d}:00000:{replica}"


def clock(ms: int, replica: str) -> str:
    return CLOCK.format(ms=ms, replica=replica)


@pytest.fixture
def srv(inproc: InProcessServer) -> InProcessServer:
    return inproc


def client(srv: InProcessServer, name: str) -> httpx.Client:
    token = srv.add_user(name, "rep", "north")
    return httpx.Client(transport=srv.transport, base_url=URL, headers={"authorization": f"Bearer {token}"})


def push(http: httpx.Client, client_id: str, acked: int, mutations: list[dict[str, Any]]) -> Any:
    body = {"protocol": 1, "client_id": client_id, "acked": acked, "mutations": mutations}
    reply = http.post("/v1/push", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def once(srv: InProcessServer, action: Callable[[], None]) -> None:
    """Run `action` between the phases of the next push (only once)."""

    def hook() -> None:
        srv.app.state.after_plan = None
        action()

    srv.app.state.after_plan = hook


def gap_free(srv: InProcessServer) -> None:
    head = srv.query("SELECT value FROM counter WHERE name = 'seq'")[0][0]
    seqs = [row[0] for row in srv.query("SELECT seq FROM change ORDER BY seq")]
    assert seqs == list(range(1, head + 1))


def test_a_write_that_lands_between_the_phases_is_merged_against(srv: InProcessServer) -> None:
    ana, ben = client(srv, "ana"), client(srv, "ben")
    record = ids.uuid7()
    made = clock(1_763_000_000_000, "aaaa")
    create = {"name": ["Acme", made], "owner": ["ana", made], "team": ["north", made]}
    push(ana, "ana-laptop", 0, [{"seq": 1, "entity": "account", "id": record, "fields": create}])
    # Both edit the city having seen the create: concurrent edits of one field.
    ben_edit = {"city": ["Köln", clock(1_763_000_000_500, "bbbb")]}
    ana_edit = {"city": ["Berlin", clock(1_763_000_000_900, "aaaa")]}
    seen: list[Any] = []
    once(
        srv,
        lambda: seen.append(
            push(ben, "ben-laptop", 0, [{"seq": 1, "entity": "account", "id": record, "fields": ben_edit}])
        ),
    )
    reply = push(ana, "ana-laptop", 1, [{"seq": 2, "entity": "account", "id": record, "fields": ana_edit}])
    assert seen and seen[0]["results"][0]["status"] == "applied"
    # Planned before ben's write, ana's edit looked like the only one; planned again under the lock it
    # is concurrent with ben's: the later clock wins and ben's value is kept in a conflict.
    assert reply["results"][0]["status"] == "conflict"
    fields = srv.query(f"SELECT fields FROM record WHERE id = '{record}'")[0][0]
    assert '"Berlin"' in fields
    conflicts = srv.query("SELECT fields FROM record WHERE entity = '_conflict'")
    assert len(conflicts) == 1 and "Köln" in conflicts[0][0]
    gap_free(srv)


def test_a_push_between_the_phases_elsewhere_does_not_replan_and_seqs_do_not_overlap(
    srv: InProcessServer,
) -> None:
    ana, ben = client(srv, "ana"), client(srv, "ben")
    made = clock(1_763_000_000_000, "aaaa")

    def create(seq: int, owner: str) -> dict[str, Any]:
        fields = {"name": [f"Firm {seq}", made], "owner": [owner, made], "team": ["north", made]}
        return {"seq": seq, "entity": "account", "id": ids.uuid7(), "fields": fields}

    once(srv, lambda: push(ben, "ben-laptop", 0, [create(n, "ben") for n in range(1, 4)]))
    reply = push(ana, "ana-laptop", 0, [create(n, "ana") for n in range(1, 6)])
    assert [r["status"] for r in reply["results"]] == ["applied"] * 5
    assert reply["last_seq"] == 5
    assert srv.query("SELECT count(*) FROM record")[0][0] == 8
    gap_free(srv)


def test_the_same_batch_twice_at_once_is_applied_once(srv: InProcessServer) -> None:
    ana = client(srv, "ana")
    made = clock(1_763_000_000_000, "aaaa")
    batch = [
        {
            "seq": n,
            "entity": "contact",
            "id": ids.uuid7(),
            "fields": {"name": [f"P {n}", made], "owner": ["ana", made], "team": ["north", made]},
        }
        for n in range(1, 4)
    ]
    seen: list[Any] = []
    once(srv, lambda: seen.append(push(ana, "ana-laptop", 0, batch)))  # a retry overtaking the first
    reply = push(ana, "ana-laptop", 0, batch)
    assert [r["status"] for r in seen[0]["results"]] == ["applied"] * 3
    assert [r["status"] for r in reply["results"]] == ["applied"] * 3
    assert srv.query("SELECT count(*) FROM record")[0][0] == 3
    assert srv.query("SELECT count(*) FROM change")[0][0] == 3
    gap_free(srv)


def test_pulls_and_token_checks_take_no_write_lock(srv: InProcessServer) -> None:
    """A writer holds the database's write lock (SQLite) / the counter row (PostgreSQL) open; pulls
    and token checks still answer, from a snapshot (docs/sync-protocol.md, the read pool)."""
    import threading

    from sqlalchemy import text

    ana = client(srv, "ana")
    made = clock(1_763_000_000_000, "aaaa")
    fields = {"name": ["Acme", made], "owner": ["ana", made], "team": ["north", made]}
    push(ana, "ana-laptop", 0, [{"seq": 1, "entity": "account", "id": ids.uuid7(), "fields": fields}])
    assert ana.get("/v1/pull", params={"cursor": 0, "client_id": "ana-laptop"}).status_code == 200
    replies: list[int] = []
    with srv.engine.begin() as held:  # a push's second phase, stuck
        lock = " FOR UPDATE" if srv.engine.dialect.name == "postgresql" else ""
        held.execute(text(f"SELECT value FROM counter WHERE name = 'seq'{lock}"))

        def read() -> None:
            replies.append(ana.get("/v1/me").status_code)
            replies.append(ana.get("/v1/pull", params={"cursor": 0}).status_code)
            page = ana.get("/v1/pull", params={"cursor": 0, "client_id": "ana-laptop"})
            replies.append(page.status_code)  # the cursor it was given already: nothing to write

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=30)  # liveness, not timing: the old pull waited for the lock for 60 s
        assert not reader.is_alive(), "a read waited for the write lock"
    assert replies == [200, 200, 200]


def test_on_postgresql_the_locked_section_is_one_statement_and_a_stale_plan_falls_back(
    srv: InProcessServer,
) -> None:
    """PostgreSQL: a push writes through sfa_push_write (sfa/server/pushwrite.py), whose check finds
    a plan made stale between the phases (nothing written) and leaves it to the Python path, which
    plans again under the lock. SQLite: every hold is the Python path's."""
    from sfa.server import lockstat

    ana, ben = client(srv, "ana"), client(srv, "ben")
    record = ids.uuid7()
    made = clock(1_763_000_000_000, "aaaa")
    create = {"name": ["Acme", made], "owner": ["ana", made], "team": ["north", made]}
    before = dict(lockstat.kinds)
    push(ana, "ana-laptop", 0, [{"seq": 1, "entity": "account", "id": record, "fields": create}])
    ben_edit = {"city": ["Köln", clock(1_763_000_000_500, "bbbb")]}
    once(
        srv,
        lambda: push(
            ben, "ben-laptop", 0, [{"seq": 1, "entity": "account", "id": record, "fields": ben_edit}]
        ),
    )
    ana_edit = {"city": ["Berlin", clock(1_763_000_000_900, "aaaa")]}
    reply = push(ana, "ana-laptop", 1, [{"seq": 2, "entity": "account", "id": record, "fields": ana_edit}])
    assert reply["results"][0]["status"] == "conflict"
    taken = {how: lockstat.kinds.get(how, 0) - before.get(how, 0) for how in ("statement", "stale", "python")}
    if srv.engine.dialect.name == "postgresql":
        # ana's create and ben's edit in one statement each; ana's edit: stale, then Python.
        assert taken == {"statement": 2, "stale": 1, "python": 1}
    else:
        assert taken == {"statement": 0, "stale": 0, "python": 3}
    assert srv.query("SELECT last_seq FROM client WHERE client_id = 'ana-laptop'")[0][0] == 2
    assert srv.query("SELECT last_seq FROM client WHERE client_id = 'ben-laptop'")[0][0] == 1
    gap_free(srv)


def test_a_first_push_after_a_pull_made_the_client_row_is_written_in_one_statement(
    srv: InProcessServer,
) -> None:
    """A pull makes the client row (without the counter lock) while a push of the same new client
    is between its phases: the push's plan saw no row; it is planned again and its row written."""
    ana = client(srv, "ana")
    made = clock(1_763_000_000_000, "aaaa")
    fields = {"name": ["Acme", made], "owner": ["ana", made], "team": ["north", made]}
    once(srv, lambda: ana.get("/v1/pull", params={"cursor": 0, "client_id": "ana-laptop"}).raise_for_status())
    reply = push(ana, "ana-laptop", 0, [{"seq": 1, "entity": "account", "id": ids.uuid7(), "fields": fields}])
    assert [r["status"] for r in reply["results"]] == ["applied"]
    assert srv.query("SELECT user_name, last_seq FROM client WHERE client_id = 'ana-laptop'") == [("ana", 1)]
    gap_free(srv)
