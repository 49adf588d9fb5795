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


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


def run_sfa(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    full_env = {**os.environ, "NO_COLOR": "1", "TZ": "Europe/Berlin"}
    full_env.pop("SFA_HOME", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


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
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "-t", "60", "start"
        )

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
        env = {**os.environ, "SFA_SERVER_TEST_HOOKS": "1"}
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
        wait_until(self.healthy, 60, "the server to answer /v1/health")

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
