"""After a merge the server re-points list refs too (issue 17 §4): a visit written offline whose
`contact_ids` names the merged-away contact arrives naming the survivor, and a document attached
offline to the merged-away contact arrives as the survivor's; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcessServer
from synchelp import BACKENDS

from sfa.domain.entities import ACCOUNT, CONTACT, DOCUMENT, VISIT
from sfa.server.merged import repointed
from sfa.services import dedupe, documents
from sfa.store.workspace import Workspace
from sfa.sync import engine


@pytest.fixture(params=BACKENDS)
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    home = tmp_path / "server"
    home.mkdir()
    db = f"sqlite:///{home / 'server.db'}"
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        db = pg.url(pg.new_database())
    srv = _with_blobs(home, db)
    yield srv
    srv.close()


def _with_blobs(home: Path, db: str) -> InProcessServer:
    """The app in-process over any database, keeping document contents under `home`."""
    return InProcessServer(home, db=db, blob_dir=home / "blobs")


class Lap:
    def __init__(self, server: InProcessServer, home: Path, name: str, role: str) -> None:
        self.ws = Workspace(home / name)
        self.ws.store.set_meta("x", "y")
        self.conn = server.login(self.ws, server.add_user(name, role, "north"))

    def sync(self) -> Any:
        return engine.sync_once(self.ws, conn=self.conn)


def _scoped(values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "owner": "ana", "team": "north"}


def test_a_visit_or_document_naming_the_merged_away_contact_names_the_survivor(
    any_server: InProcessServer, tmp_path: Path
) -> None:
    mia = Lap(any_server, tmp_path, "mia", "manager")
    ana = Lap(any_server, tmp_path, "ana", "rep")
    try:
        store = mia.ws.store
        account = store.insert(ACCOUNT, _scoped({"name": "Acme"}))
        keep = store.insert(CONTACT, _scoped({"name": "Jane Doe", "email": "jane@acme.de"}))["id"]
        other = store.insert(CONTACT, _scoped({"name": "Doe, Jane", "email": "JANE@acme.de"}))["id"]
        third = store.insert(CONTACT, _scoped({"name": "Bob Roe", "email": "bob@acme.de"}))["id"]
        mia.sync(), ana.sync()
        # ana, offline: two visits that name the contact about to be merged away
        only = ana.ws.store.insert(
            VISIT,
            _scoped(
                {
                    "account_id": account["id"],
                    "contact_ids": [third, other],
                    "starts_at": "2026-12-01T09:00:00+00:00",
                    "status": "planned",
                }
            ),
        )
        both = ana.ws.store.insert(
            VISIT,
            _scoped(
                {
                    "account_id": account["id"],
                    "contact_ids": [other, third, keep],
                    "starts_at": "2026-12-02T09:00:00+00:00",
                    "status": "planned",
                }
            ),
        )
        card = tmp_path / "card.png"
        card.write_bytes(b"\x89PNG card")
        doc = documents.add(ana.ws, str(card), "contact", other)  # ana, offline, too
        dedupe.merge(mia.ws, "contact", keep, other)  # meanwhile, on the manager's laptop
        mia.sync(), ana.sync(), mia.sync()
        expected = {only["id"]: [third, keep], both["id"]: [keep, third]}  # order kept, once each
        for visit_id, ids in expected.items():
            fields = json.loads(any_server.query(f"SELECT fields FROM record WHERE id = '{visit_id}'")[0][0])
            assert fields["contact_ids"][0] == ids
            for lap in (mia, ana):
                assert lap.ws.store.get(VISIT, visit_id)["contact_ids"] == ids
        fields = json.loads(any_server.query(f"SELECT fields FROM record WHERE id = '{doc['id']}'")[0][0])
        assert fields["record_id"][0] == keep
        for lap in (mia, ana):
            assert lap.ws.store.get(DOCUMENT, doc["id"])["record_id"] == keep
    finally:
        mia.ws.close()
        ana.ws.close()


def test_repointed_keeps_order_and_leaves_untouched_lists_alone() -> None:
    survivors = {"b": "a", "c": "d"}
    assert repointed(["x", "b", "a", "c"], survivors.get) == ["x", "a", "d"]
    assert repointed(["x", "x"], survivors.get) is None  # nothing merged away: the list as sent
    assert repointed([], survivors.get) is None
