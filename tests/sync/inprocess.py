"""The sync server in-process: the FastAPI app over SQLite in a temporary directory, and an httpx
transport that lets the (synchronous) sync client talk to it without a socket or a process.

httpx.ASGITransport is async-only; `Bridge` runs it on one event loop in a background thread (an
anyio blocking portal, the mechanism Starlette's TestClient uses) and hands the synchronous client
the response. Faults for tests: `lose_next` (the server applies the request, the answer never
arrives) and `repeat_next` (the request reaches the server twice, as a retry after a lost answer).

Shared by the in-process tests: the fixtures `server` (SQLite; a module that imports it uses it in
place of tests/sync/conftest.py's server process), `any_server` (SQLite and a throwaway PostgreSQL
database) and `http` (a client of `server`), imported as `from inprocess import server as server`;
and `Pusher`, one user pushing hand-made mutations.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from sqlalchemy import Engine, text
from synchelp import BACKENDS, PgCluster

from sfa.domain import ids
from sfa.domain.hlc import Hlc
from sfa.protocol import PROTOCOL
from sfa.server import admin, storage
from sfa.server.app import create_app
from sfa.server.merge import now_ms
from sfa.store.workspace import Workspace
from sfa.sync import engine

URL = "http://sfa.test"


class Bridge(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self._stack = contextlib.ExitStack()
        self.portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self.lock = threading.Lock()
        self.lose: list[str] = []  # paths whose next answer is lost after the server applied it
        self.repeat: list[str] = []  # paths whose next request is delivered twice
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            reply = await self.inner.handle_async_request(copy)
            content = b"".join([chunk async for chunk in reply.aiter_raw()])  # still gzip-encoded
            return reply.status_code, list(reply.headers.raw), content

        path = request.url.path
        with self.lock:
            repeat = path in self.repeat
            lose = path in self.lose
            if repeat:
                self.repeat.remove(path)
            if lose:
                self.lose.remove(path)
        if repeat:
            self.portal.call(send)
            self.requests += 1
        status, headers, content = self.portal.call(send)
        self.requests += 1
        if lose:
            raise httpx.ReadError("the answer was lost (test)", request=request)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def lose_next(self, path: str) -> None:
        with self.lock:
            self.lose.append(path)

    def repeat_next(self, path: str) -> None:
        with self.lock:
            self.repeat.append(path)

    def close(self) -> None:
        """Called by every client that closes: the bridge outlives them (see `shutdown`)."""

    def shutdown(self) -> None:
        self._stack.close()


class InProcessServer:
    """A server database in `home` and the app over it; users are added with the admin use case."""

    def __init__(
        self, home: Path, *, fresh: bool = True, db: str | None = None, blob_dir: Path | None = None
    ) -> None:
        self.home = home
        self.db = db or f"sqlite:///{home / 'server.db'}"  # db: e.g. a throwaway PostgreSQL database
        if fresh:
            admin.init(home, self.db)
        self.engine: Engine = storage.make_engine(self.db)
        self.reader: Engine = storage.read_engine(self.engine)  # the app's read pool, disposed with it
        self.app = create_app(self.engine, blob_dir, reader=self.reader)
        self.transport = Bridge(self.app)

    def add_user(self, name: str, role: str = "rep", team: str | None = "north") -> str:
        return str(admin.add_user(self.home, self.db, name, role, team)["token"])

    def connect(self, token: str, retries: int = 0) -> engine.Connection:
        from dataclasses import replace

        from sfa.protocol import RETRY

        return engine.Connection(
            URL, token, retry=replace(RETRY, retries=retries), transport=self.transport, sleep=lambda _s: None
        )

    def login(self, ws: Workspace, token: str) -> engine.Connection:
        """Log `ws` in as `sfa sync login` does, and return its connection to this server."""
        engine.login(ws, URL, token, transport=self.transport)
        return self.connect(token)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the server database directly (assertions only)."""
        with self.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text(sql)).all()]
            conn.rollback()
        return rows

    def close(self) -> None:
        self.transport.shutdown()
        self._dispose()

    def _dispose(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()

    # -- an admin's backup and restore (both backends) ----------------------------------------
    pg: PgCluster | None = None  # set when the database is a throwaway PostgreSQL one

    def backup(self) -> None:
        """A copy of the whole database now (SQLite's backup API; a PostgreSQL template copy)."""
        if self.pg is None:
            _copy_sqlite(self.home / "server.db", self.home / "backup.db")
            return
        self._dispose()  # a template database must have no sessions
        name = self.db.rsplit("/", 1)[1]
        self.pg.sql(f"CREATE DATABASE {name}_backup TEMPLATE {name}")

    def restore(self) -> None:
        """The admin puts the backup back in place of the server's database."""
        if self.pg is None:
            _copy_sqlite(self.home / "backup.db", self.home / "server.db")
            return
        self._dispose()
        name = self.db.rsplit("/", 1)[1]
        self.pg.sql(f"DROP DATABASE {name} WITH (FORCE)")
        self.pg.sql(f"CREATE DATABASE {name} TEMPLATE {name}_backup")


def on_backend(home: Path, backend: str, request: Any) -> InProcessServer:
    """An in-process server on `backend` ("sqlite", or "postgres" in the session's cluster)."""
    home.mkdir()
    if backend != "postgres":
        return InProcessServer(home)
    pg: PgCluster = request.getfixturevalue("pg_cluster")
    srv = InProcessServer(home, db=pg.url(pg.new_database()))
    srv.pg = pg
    return srv


def _copy_sqlite(source: Path, target: Path) -> None:
    """A whole-database copy through SQLite's backup API (safe while the server holds connections)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[InProcessServer]:
    """The app in-process over SQLite."""
    srv = on_backend(tmp_path / "server", "sqlite", None)
    yield srv
    srv.close()


@pytest.fixture(params=BACKENDS)
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InProcessServer]:
    """The app in-process on SQLite and on a throwaway PostgreSQL database (tests/sync/conftest.py)."""
    srv = on_backend(tmp_path / "server", request.param, request)
    yield srv
    srv.close()


@pytest.fixture
def http(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(transport=server.transport, base_url=URL) as client:
        yield client


class Pusher:
    """One user pushing hand-made mutations, as a laptop (or any client) would, and reading the
    results. With `seen` (a class attribute), an edit of a record the server has carries the
    server's clocks of its fields as its base: the writer has seen them, it is not concurrent."""

    seen = False

    def __init__(self, server: InProcessServer, name: str, role: str, team: str | None) -> None:
        self.server = server
        self.name = name
        self.token = server.add_user(name, role, team)
        self.client_id = ids.uuid7()
        self.seq = itertools.count(1)
        self.replica = f"{abs(hash(name)) % 16**16:016x}"
        self.tick = itertools.count()

    def clock(self) -> str:
        return Hlc(now_ms(), next(self.tick), self.replica).encode()

    def push(
        self,
        entity: str,
        record_id: str,
        values: dict[str, Any],
        base: dict[str, str] | None = None,
        known: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        fields = {name: [value, self.clock()] for name, value in values.items()}
        mutation: dict[str, Any] = {
            "seq": next(self.seq),
            "entity": entity,
            "id": record_id,
            "fields": fields,
        }
        if self.seen and base is None:
            rows = self.server.query(f"SELECT fields FROM record WHERE id = '{record_id}'")
            if rows:
                mutation["base"] = {k: v[1] for k, v in json.loads(rows[0][0]).items() if k in values}
        elif base:
            mutation["base"] = base
        if known is not None:
            mutation["known"] = known
        body = {"protocol": PROTOCOL, "client_id": self.client_id, "acked": 0, "mutations": [mutation]}
        with httpx.Client(transport=self.server.transport, base_url=URL) as client:
            reply = client.post("/v1/push", json=body, headers={"authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, reply.text
        [result] = reply.json()["results"]
        return dict(result)
