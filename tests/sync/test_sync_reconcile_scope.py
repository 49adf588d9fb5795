"""A reconcile (the re-send after a reset or a new epoch) sends only what the server takes from the
logged-in user, and a re-send the server refuses all the same never shows as the user's rejected
change (docs/sync-protocol.md, "Restore"). On SQLite and PostgreSQL, in-process.

- A laptop that held other teams' records (it was an admin's) and is taken over by a rep (`sfa sync
  login --adopt` resets it): the other teams' records are not re-sent; nothing is rejected.
- A rep moved to another team on the server: at the reset the laptop asks the server for the
  user's team, and the old team's records are not re-sent.
- A rep's laptop re-sends a product a restore lost (products are created by managers only): the
  server refuses it, the rep sees no rejected change, and the manager's laptop brings it back.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from inprocess import URL, InProcessServer, on_backend
from sqlalchemy import text

from sfa.domain import scope
from sfa.domain.entities import ACCOUNT, PRODUCT
from sfa.server import admin, merge
from sfa.services import records, syncing
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture
def inproc(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Iterator[InProcessServer]:
    srv = on_backend(tmp_path / "server", backend, request)
    yield srv
    srv.close()


def server_fields(server: InProcessServer, record_id: str) -> Any:
    import json

    rows = server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
    return {k: v[0] for k, v in json.loads(rows[0][0]).items()} if rows else None


def test_a_rep_taking_over_an_admins_laptop_resends_no_other_teams_records(
    inproc: InProcessServer, tmp_path: Path
) -> None:
    ana, sam, box = (Workspace(tmp_path / n) for n in ("ana", "sam", "box"))
    ana_conn = inproc.login(ana, inproc.add_user("ana", "rep", "north"))
    sam_conn = inproc.login(sam, inproc.add_user("sam", "rep", "south"))
    north = ana.store.insert(ACCOUNT, {"name": "North Co", "city": "Kiel", **records.scope_defaults(ana)})
    south = sam.store.insert(ACCOUNT, {"name": "South Co", "city": "Ulm", **records.scope_defaults(sam)})
    engine.sync_once(ana, conn=ana_conn), engine.sync_once(sam, conn=sam_conn)
    root_conn = inproc.login(box, inproc.add_user("root", "admin", None))
    engine.sync_once(box, conn=root_conn)
    assert box.store.find(ACCOUNT, north["id"]) is not None  # the admin's laptop holds both teams
    # Sam's token on the admin's laptop: adopted, so the laptop resets and reconciles as sam.
    token = inproc.add_user("sam2", "rep", "south")
    engine.login(box, URL, token, transport=inproc.transport, switch="adopt")
    summary = engine.sync_once(box, conn=inproc.connect(token))
    assert summary.resent == 0  # North Co is not sam2's to send (South Co the server has)
    assert summary.rejected == 0 and syncing.rejected_records(box) == []
    assert server_fields(inproc, north["id"])["name"] == "North Co"
    assert box.store.find(ACCOUNT, south["id"]) is not None
    for ws in (ana, sam, box):
        ws.close()


def test_a_rep_whose_team_changed_resends_no_records_of_the_old_team(
    inproc: InProcessServer, tmp_path: Path
) -> None:
    """The role and team come from the server at the reset, not from the login long ago."""
    ana, bob = Workspace(tmp_path / "ana"), Workspace(tmp_path / "bob")
    ana_conn = inproc.login(ana, inproc.add_user("ana", "rep", "north"))
    bob_conn = inproc.login(bob, inproc.add_user("bob", "rep", "north"))
    north = ana.store.insert(ACCOUNT, {"name": "North Co", **records.scope_defaults(ana)})
    engine.sync_once(ana, conn=ana_conn), engine.sync_once(bob, conn=bob_conn)
    assert bob.store.find(ACCOUNT, north["id"]) is not None
    with inproc.engine.begin() as conn:  # the admin moves bob to team south
        conn.execute(text("UPDATE app_user SET team = 'south' WHERE name = 'bob'"))
    admin.init(inproc.home, inproc.db, new_epoch=True)  # and later restores a backup: every laptop resets
    summary = engine.sync_once(bob, conn=bob_conn)
    assert summary.reset and summary.resent == 0, summary
    assert summary.rejected == 0 and syncing.rejected_records(bob) == []
    assert bob.store.meta("sync.team") == "south"
    ana.close(), bob.close()


def test_a_resend_the_server_refuses_is_not_the_reps_rejected_change(
    inproc: InProcessServer, tmp_path: Path
) -> None:
    mia, bob = Workspace(tmp_path / "mia"), Workspace(tmp_path / "bob")
    mia_conn = inproc.login(mia, inproc.add_user("mia", "manager", "north"))
    bob_conn = inproc.login(bob, inproc.add_user("bob", "rep", "north"))
    inproc.backup()  # before the product
    product = mia.store.insert(
        PRODUCT, {"sku": "W-1", "name": "Widget", "unit_price": "10", "currency": "EUR"}
    )
    engine.sync_once(mia, conn=mia_conn), engine.sync_once(bob, conn=bob_conn)
    assert bob.store.find(PRODUCT, product["id"]) is not None
    inproc.restore()
    assert server_fields(inproc, product["id"]) is None
    summary = engine.sync_once(bob, conn=bob_conn)  # the rep reconciles first: re-sends the product
    assert summary.reset and summary.resent >= 1
    assert summary.rejected == 0 and syncing.rejected_records(bob) == []
    assert server_fields(inproc, product["id"]) is None  # refused: products are the managers'
    engine.sync_once(mia, conn=mia_conn)  # the manager's laptop brings it back
    assert server_fields(inproc, product["id"])["name"] == "Widget"
    engine.sync_once(bob, conn=bob_conn)
    assert bob.store.find(PRODUCT, product["id"]) is not None
    assert syncing.rejected_records(bob) == [] and bob.store.outbox(10) == []
    mia.close(), bob.close()


NAMES = st.sampled_from(["ana", "bob", "", None])
TEAMS = st.sampled_from(["north", "south", "", None])


@given(
    st.sampled_from(merge.ROLES),
    st.sampled_from(["ana", "bob"]),
    TEAMS,
    NAMES,
    TEAMS,
    st.frozensets(st.sampled_from(["north", "south", "west"])),
    st.sampled_from(["account", "commission_line", "commission_statement", None]),
)
def test_the_laptops_scope_rule_is_the_servers(
    role: str,
    user: str,
    team: str | None,
    owner: str | None,
    record_team: str | None,
    teams: frozenset[str],
    entity: str | None,
) -> None:
    """`teams`: a manager's territory subtree, as /v1/me names it to the laptop; `entity`: some
    record types are private to their owner among reps."""
    server_user = merge.User(user, role, team or None, teams=teams)
    assert scope.visible(
        role, user, team or None, owner, record_team, teams=teams, entity=entity
    ) == merge.visible(server_user, owner or None, record_team or None, entity)


def test_the_laptops_children_are_the_servers() -> None:
    for entity, key in itertools.chain(scope.CHILD_PARENTS.items(), [("account", None)]):
        state = {key: ["p", "c"]} if key else {"record_id": ["p", "c"]}
        assert merge.parent_of(entity, state) == ("p" if key else None)
        assert merge.own_scope(entity, {}) is None or key is None
