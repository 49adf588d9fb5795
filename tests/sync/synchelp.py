"""Helpers for sync tests: the real server process (SQLite or a throwaway PostgreSQL), the fault
proxy in front of it, and laptops (data homes) that sync through the proxy."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from sfa.store.workspace import Workspace
from tests.conftest import Result
from tests.conftest import run_sfa as run_sfa_in_process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests/faultproxy.py

BACKENDS = ["sqlite", "postgres"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def run_sfa(home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`sfa --home HOME ARGS...` in this process (tests/conftest.py run_sfa: the installed command's
    entry point, exit codes and error mapping), at the clock zone the sync tests assume. A laptop's
    commands need no process of their own: the server is the real process, behind the fault proxy;
    what only a killed or concurrent client shows (_popen_sync in test_sync_faults.py) still runs one."""
    return run_sfa_in_process(home, *args, env={"TZ": "Europe/Berlin", **(env or {})})


# -- PostgreSQL ----------------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sfa-pg-", dir="/tmp"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.count = 0

    def _run(self, *args: str, timeout: float = 120) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr or proc.stdout}")

    def start(self) -> None:
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        for attempt in range(3):  # the free port may be taken before PostgreSQL binds it (xdist workers)
            options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            log = self.dir / "log"
            try:
                self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
                return
            except RuntimeError:
                if attempt == 2 or "in use" not in log.read_text(errors="replace"):
                    raise
                self.port = free_port()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={database}", autocommit=True
        ) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self) -> str:
        self.count += 1
        name = f"sfa_{self.count}"
        self.sql(f"CREATE DATABASE {name}")
        return name

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


# -- the server ----------------------------------------------------------------------------------


class PortTaken(Exception):
    """The server could not bind its port: another process took it first."""


class Server:
    def __init__(self, home: Path, db: str, backend: str, pg: PgCluster | None, database: str | None) -> None:
        self.home = home
        self.db = db
        self.backend = backend
        self.pg = pg
        self.database = database
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "server.log"
        self.started = False  # once started, the port is fixed: the fault proxy relays to it

    def admin(self, *args: str) -> Result:
        result = run_sfa(self.home, "server", *args, "--db", self.db)
        assert result.code == 0, result.err
        return result

    def init(self) -> None:
        self.admin("init")

    def add_user(self, name: str, role: str = "rep", team: str | None = "north") -> str:
        args = ["user", "add", name, "--role", role] + (["--team", team] if team else [])
        return self.admin(*args).out.strip()

    def start(self) -> None:
        """Start `sfa server run` on self.port; on the first start, a port another process took
        between free_port() and the server's bind (tests run in parallel) is replaced by a new one."""
        for attempt in range(3):
            try:
                self._start()
                return
            except PortTaken:
                if attempt == 2 or self.started:
                    raise
                self.port = free_port()

    def _start(self) -> None:
        env = {**os.environ, "SFA_SERVER_TEST_HOOKS": "1"}
        logged = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sfa",
                    "--home",
                    str(self.home),
                    "server",
                    "run",
                    "--port",
                    str(self.port),
                    "--db",
                    self.db,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            wait_until(self.healthy, 60, "the server to answer /v1/health")
        except RuntimeError:
            if "address already in use" in self.log.read_text(errors="replace")[logged:].lower():
                raise PortTaken(self.port) from None
            raise
        self.started = True

    def healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/health", timeout=2) as reply:
                return bool(json.loads(reply.read())["ok"])
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc = None

    # A backup and a restore of the whole server database (scenario 12).
    def backup(self) -> None:
        if self.backend == "sqlite":
            path = Path(self.db[len("sqlite:///") :])
            import sqlite3

            source = sqlite3.connect(path)
            target = sqlite3.connect(str(path) + ".bak")
            source.backup(target)
            source.close()
            target.close()
        else:
            assert self.pg is not None
            self.stop()  # a template database must have no other connections
            self.pg.sql(f"CREATE DATABASE {self.database}_bak TEMPLATE {self.database}")
            self.start()

    def restore(self) -> None:
        self.stop()
        if self.backend == "sqlite":
            path = Path(self.db[len("sqlite:///") :])
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            shutil.copy(str(path) + ".bak", path)
        else:
            assert self.pg is not None
            self.pg.sql(f"DROP DATABASE {self.database}")
            self.pg.sql(f"CREATE DATABASE {self.database} TEMPLATE {self.database}_bak")
        self.start()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the server database directly (assertions only)."""
        from sqlalchemy import text

        from sfa.server.storage import make_engine

        engine = make_engine(self.db)
        try:
            with engine.connect() as conn:
                rows = [tuple(r) for r in conn.execute(text(sql)).all()]
                conn.rollback()
        finally:
            engine.dispose()
        return rows

    def records(self) -> dict[tuple[str, str], dict[str, Any]]:
        """entity, id -> field values (no clocks), conflicts excluded."""
        rows = self.query("SELECT entity, id, fields FROM record WHERE entity <> '_conflict'")
        return {(r[0], r[1]): {k: v[0] for k, v in json.loads(r[2]).items()} for r in rows}


# -- laptops -------------------------------------------------------------------------------------


class Laptop:
    def __init__(self, home: Path, url: str) -> None:
        self.home = home
        self.url = url

    def sfa(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return run_sfa(self.home, *args, env=env)

    def ok(self, *args: str) -> Result:
        result = self.sfa(*args)
        assert result.code == 0, f"sfa {' '.join(args)}: {result.err}"
        return result

    def sync(self, env: dict[str, str] | None = None) -> Result:
        return self.sfa("sync", "--json", env=env)

    def synced(self) -> dict[str, Any]:
        result = self.sync()
        assert result.code == 0, result.err
        data: dict[str, Any] = result.json()
        return data

    def login(self, token: str) -> None:
        self.ok("sync", "login", self.url, "--token", token)

    def workspace(self) -> Workspace:
        return Workspace(self.home)

    def records(self) -> dict[tuple[str, str], dict[str, Any]]:
        """entity, id -> wire values of every synced field, read from the local store."""
        from sfa.domain.entities import ENTITIES
        from sfa.store import codec

        ws = self.workspace()
        try:
            found = {}
            for entity in ENTITIES.values():
                for record in ws.store.select(entity, include_deleted=True):
                    found[(entity.name, record["id"])] = {
                        f.name: codec.to_wire(f, record[f.name]) for f in entity.fields
                    }
            return found
        finally:
            ws.close()


def comparable(records: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Field values as the server stores them, with defaults for fields never written."""
    from sfa.domain.entities import ENTITIES
    from sfa.store import codec

    out = {}
    for (name, record_id), values in records.items():
        entity = ENTITIES[name]
        out[(name, record_id)] = {
            f.name: codec.to_wire(f, codec.from_wire(f, values.get(f.name))) for f in entity.fields
        }
    return out
