"""Server administration added for issue 18: `sfa server repair` of a record an older server accepted
with poison, `sfa server user rotate`, and the permissions of the server's files."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import httpx
from inprocess import URL, InProcessServer
from inprocess import server as server
from sqlalchemy import text

from sfa.domain.entities import ENTITIES
from sfa.domain.hlc import Hlc
from sfa.protocol import clock_problem
from sfa.server import wire
from tests.conftest import run_sfa

CLOCK = Hlc(1_763_875_469_123, 0, "aaaaaaaaaaaaaaaa").encode()


def _poison(server: InProcessServer, entity: str, fields: dict[str, list[object]]) -> str:
    """A record as an older server stored it, unchecked, with its change in the log."""
    record_id = str(uuid.uuid4())
    dumped = json.dumps(fields)
    with server.engine.begin() as conn:
        seq = int(conn.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar_one()) + 1
        conn.execute(
            text(
                "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
                " VALUES (:e, :i, :f, 'ana', 'north', false, false, :s, 'now')"
            ),
            {"e": entity, "i": record_id, "f": dumped, "s": seq},
        )
        conn.execute(
            text(
                "INSERT INTO change(seq, entity, id, fields, owner, team, existed, user_name, at)"
                " VALUES (:s, :e, :i, :f, 'ana', 'north', false, 'ana', 'now')"
            ),
            {"e": entity, "i": record_id, "f": dumped, "s": seq},
        )
        conn.execute(text("UPDATE counter SET value = :s WHERE name = 'seq'"), {"s": seq})
    return record_id


def test_repair_writes_a_corrective_change(server: InProcessServer, tmp_path: Path) -> None:
    quote = _poison(
        server,
        "quote",
        {
            "number": ["Q-1", CLOCK],
            "revision": [10**30, "9:00000:x"],
            "account_id": [str(uuid.uuid4()), CLOCK],
            "valid_until": ["20261231", CLOCK],
            "status": [{"x": 1}, CLOCK],
            "owner": ["ana", CLOCK],
            "team": ["north", CLOCK],
        },
    )
    args = ("server", "repair", "--entity", "quote", "--id", quote, "--db", server.db, "--json")
    result = run_sfa(server.home, *args)
    assert result.code == 0, result.err
    report = result.json()
    assert set(report["fixed"]) == {"revision", "valid_until", "status"}
    fields = json.loads(server.query(f"SELECT fields FROM record WHERE id = '{quote}'")[0][0])
    values = {name: pair[0] for name, pair in fields.items()}
    assert values["revision"] == 1 and values["status"] == "draft" and values["valid_until"] is None
    assert values["number"] == "Q-1" and values["owner"] == "ana"
    entity = ENTITIES["quote"]
    for name, (value, clock) in fields.items():
        wire.check_value(entity, name, value)
        assert clock_problem(clock) is None and clock > CLOCK  # fixed width, after every valid clock
    last = server.query("SELECT seq, fields FROM change ORDER BY seq DESC LIMIT 1")[0]
    assert last[0] == report["seq"] and json.loads(last[1]) == fields  # the whole record, logged
    again = run_sfa(server.home, *args)
    assert again.code == 0 and again.json()["fixed"] == {}  # nothing left to repair
    missing = run_sfa(
        server.home, "server", "repair", "--entity", "quote", "--id", str(uuid.uuid4()), "--db", server.db
    )
    assert missing.code != 0 and "no quote" in missing.err
    wrong = run_sfa(
        server.home, "server", "repair", "--entity", "spaceship", "--id", quote, "--db", server.db
    )
    assert wrong.code != 0 and "entity" in wrong.err


def test_rotate_issues_a_new_token(server: InProcessServer) -> None:
    old = server.add_user("ana")
    result = run_sfa(server.home, "server", "user", "rotate", "ana", "--db", server.db, "--json")
    assert result.code == 0, result.err
    new = result.json()["token"]
    assert new != old
    with httpx.Client(transport=server.transport, base_url=URL) as http:
        assert http.get("/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert http.get("/v1/me", headers={"Authorization": f"Bearer {new}"}).json()["user"] == "ana"
    missing = run_sfa(server.home, "server", "user", "rotate", "nobody", "--db", server.db)
    assert missing.code != 0 and "nobody" in missing.err


def test_server_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run_sfa(home, "server", "init")
    assert result.code == 0, result.err
    server_dir = home / "server"
    assert stat.S_IMODE(os.stat(server_dir).st_mode) == 0o700
    for path in server_dir.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path


def test_laptop_store_and_config_are_private(tmp_path: Path) -> None:
    home = tmp_path / "laptop"
    assert run_sfa(home, "account", "add", "Acme").code == 0
    assert run_sfa(home, "config", "set", "currency", "EUR").code == 0
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    found = list(home.rglob("*"))
    assert any(p.suffix == ".toml" for p in found) and any(p.suffix == ".db" for p in found), found
    for path in found:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
