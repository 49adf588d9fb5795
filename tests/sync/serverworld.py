"""A real server process (SQLite or PostgreSQL) with a hostile client speaking /v1 directly and a
teammate's laptop running `sfa` in-process: the setting of the poison and fuzz tests.

`World.push` sends one mutation as raw JSON with a valid token; `World.teammate_ok` runs the
teammate's `sfa sync` and the reports and asserts every one exits 0.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from synchelp import PgCluster, Server

from sfa.domain.hlc import Hlc
from tests.conftest import run_sfa

REPLICA = "eeeeeeeeeeeeeeee"
# What a teammate runs after a sync: every one must exit 0 whatever was pushed.
REPORTS: tuple[tuple[str, ...], ...] = (
    ("report", "pipeline"),
    ("report", "forecast"),
    ("report", "activity"),
    ("report", "win-loss"),
    ("quote", "list"),
    ("task", "list"),
    ("lead", "list"),
    ("account", "list"),
    ("sync", "status"),
)


def new_id() -> str:
    return str(uuid.uuid4())


class World:
    def __init__(self, root: Path, backend: str, pg: PgCluster | None) -> None:
        home = root / "server"
        home.mkdir()
        database = pg.new_database() if pg else None
        db = pg.url(database) if pg and database else f"sqlite:///{home / 'server.db'}"
        self.server = Server(home, db, backend, pg, database)
        self.server.init()
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.token = self.server.add_user("eve", "rep", "north")
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.http = httpx.Client(base_url=self.url, headers=self.headers, timeout=60)
        self.seqs = itertools.count(1)
        self.last_ms = 0
        self.teammate = root / "ana"
        self.teammate.mkdir()
        ana = self.server.add_user("ana", "rep", "north")
        login = run_sfa(self.teammate, "sync", "login", self.url, "--token", ana)
        assert login.code == 0, login.err

    def clock(self) -> str:
        self.last_ms = max(int(time.time() * 1000), self.last_ms + 1)
        return Hlc(self.last_ms, 0, REPLICA).encode()

    def push_raw(self, mutations: list[dict[str, Any]], client_id: str = "eve-raw") -> httpx.Response:
        body = {"protocol": 1, "client_id": client_id, "mutations": mutations}
        return self.http.post("/v1/push", content=json.dumps(body).encode())

    def push(
        self,
        entity: str,
        record_id: str,
        values: dict[str, Any],
        base: dict[str, str] | None = None,
        clock: str | None = None,
    ) -> dict[str, Any]:
        """One mutation of `values` (each with a fresh clock, or `clock`); its result."""
        stamp = clock or self.clock()
        mutation: dict[str, Any] = {
            "seq": next(self.seqs),
            "entity": entity,
            "id": record_id,
            "fields": {name: [value, stamp] for name, value in values.items()},
        }
        if base:
            mutation["base"] = base
        reply = self.push_raw([mutation])
        assert reply.status_code == 200, reply.text
        result: dict[str, Any] = reply.json()["results"][0]
        return result

    def applied(self, entity: str, values: dict[str, Any], record_id: str | None = None) -> str:
        record_id = record_id or new_id()
        result = self.push(entity, record_id, values)
        assert result["status"] in ("applied", "conflict"), result
        return record_id

    def teammate_ok(self) -> None:
        """The teammate's `sfa sync` and every report exit 0."""
        for args in (("sync",), *REPORTS):
            result = run_sfa(self.teammate, *args)
            assert result.code == 0, (args, result.err)
            assert "Traceback" not in result.err, (args, result.err)

    def newcomer_ok(self, root: Path) -> None:
        """A laptop that joins now pulls the whole log from cursor 0; its sync and reports exit 0."""
        home = root / "newcomer"
        token = self.server.add_user("neo", "rep", "north")
        login = run_sfa(home, "sync", "login", self.url, "--token", token)
        assert login.code == 0, login.err
        self.teammate, before = home, self.teammate
        try:
            self.teammate_ok()
        finally:
            self.teammate = before

    def server_log(self) -> str:
        return self.server.log.read_text(errors="replace")

    def close(self) -> None:
        self.http.close()
        self.server.stop()
