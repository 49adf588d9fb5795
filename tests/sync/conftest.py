"""Fixtures for sync tests: the real server process (SQLite or a throwaway PostgreSQL), the fault
proxy in front of it, and laptops (data homes) that sync through the proxy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultproxy import FaultProxy
from synchelp import BACKENDS, Laptop, PgCluster, Server, _pg_bin


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = _pg_bin()
    if bindir is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found; .ci/install-postgres installs them"
        if os.environ.get("CI"):
            pytest.fail(reason)  # in CI a skipped PostgreSQL run would hide a missing install
        pytest.skip(reason)
    cluster = PgCluster(bindir)
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    home = tmp_path / "server-home"
    home.mkdir()
    pg: PgCluster | None = None
    database = None
    if backend == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        database = pg.new_database()
        db = pg.url(database)
    else:
        db = f"sqlite:///{home / 'server.db'}"
    srv = Server(home, db, backend, pg, database)
    srv.init()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultProxy]:
    fault = FaultProxy(server.port).start()
    yield fault
    fault.stop()


@pytest.fixture
def laptop(tmp_path: Path, proxy: FaultProxy, server: Server) -> Any:
    made: list[Laptop] = []

    def make(name: str, role: str = "rep", team: str | None = "north", login: bool = True) -> Laptop:
        home = tmp_path / f"laptop-{name}"
        home.mkdir()
        lap = Laptop(home, proxy.url)
        if login:
            lap.login(server.add_user(name, role, team))
        made.append(lap)
        return lap

    return make


@pytest.fixture(params=BACKENDS)
def inproc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The server app in this process, on SQLite and on PostgreSQL, reached through an httpx transport
    (tests/sync/inprocess.py): for tests of what the server answers, without a process."""
    from tests.sync.inprocess import InProcessServer

    db = None
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_cluster")
        db = pg.url(pg.new_database())
    (tmp_path / "server").mkdir()
    server = InProcessServer(tmp_path / "server", db=db)
    yield server
    server.close()
