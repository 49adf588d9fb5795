"""Sync figures, measured in one run against a real server process on 127.0.0.1 (SQLite server store).

    .venv/bin/python bench/bench_sync.py            # the figures of issue 4
    .venv/bin/python bench/bench_sync.py --records 5000 --changes 1000 --runs 3   # quick

1. initial sync of N records from the server to a new laptop (`sfa sync` as a process), records/s;
2. pushing M local changes (`sfa sync` as a process), changes/s: M new records, then an edit of one
   field of each of them; and a second laptop pulling each of the two (the laptop's incremental
   pull);
3. a sync with nothing to do vs the bare Typer hello-world process (median of runs), ratio;
4. bytes on the wire per changed field for a typical edit (HTTP heads and bodies, both directions),
   counted by a relaying proxy.

Everything the run writes (the server's and the laptops' homes, ~300 MB at the default sizes) is in
one temporary directory, removed at the end, also when the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from faultproxy import FaultProxy  # noqa: E402

from sfa.domain import ids  # noqa: E402
from sfa.domain.entities import ACCOUNT  # noqa: E402
from sfa.store.workspace import Workspace  # noqa: E402

HELLO = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    print(f"hello {name}")


app()
"""


# Processes run as installed: with cached bytecode (this machine sets PYTHONDONTWRITEBYTECODE, which
# would make every process compile every module it imports and hide what sync itself costs).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def sfa(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**ENV, **(env or {})},
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sfa {' '.join(args)} failed: {proc.stderr}")
    return elapsed, proc.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_seeded(db: str, records: list[dict[str, Any]], changes: list[dict[str, Any]], last: int) -> None:
    """Rows made by a seeder (ana's, team north), written straight into the server database with
    their change-log rows, and the counter moved to the last sequence number."""
    from sqlalchemy import text

    from sfa.server.storage import make_engine

    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
                " VALUES (:e, :i, :f, 'ana', 'north', false, false, :s, 'now')"
            ),
            records,
        )
        conn.execute(
            text(
                "INSERT INTO change(seq, entity, id, fields, owner, team, existed, user_name, at)"
                " VALUES (:s, :e, :i, :f, 'ana', 'north', false, 'ana', 'now')"
            ),
            changes,
        )
        conn.execute(text("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": last})
    engine.dispose()


def seed_server(db: str, count: int) -> None:
    """N account records with their change-log rows, written straight into the server database."""
    clock = f"{int(time.time() * 1000):016d}:00000:5eed5eed5eed5eed"
    records, changes = [], []
    for seq in range(1, count + 1):
        fields = json.dumps(
            {
                "name": [f"Account {seq:06d}", clock],
                "city": ["Berlin", clock],
                "phone": ["+49 30 1234567", clock],
                "industry": ["Retail", clock],
                "owner": ["ana", clock],
                "team": ["north", clock],
                "tags": [["key", "retail"], clock],
            }
        )
        record_id = ids.uuid7()
        records.append({"e": "account", "i": record_id, "f": fields, "s": seq})
        changes.append({"s": seq, "e": "account", "i": record_id, "f": fields})
    write_seeded(db, records, changes, count)


def start_server(server_home: Path, db: str) -> tuple[subprocess.Popen[bytes], int]:
    """A real `sfa server run` on a free port of 127.0.0.1 (not yet answering: wait_until_up)."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfa",
            "--home",
            str(server_home),
            "server",
            "run",
            "--port",
            str(port),
            "--db",
            db,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    return server, port


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer") from None
            time.sleep(0.1)


def timed_sync(home: Path, direction: str, expected: int) -> dict[str, float | int]:
    """`sfa sync` of `home` as a process; checks it moved `expected` changes one way ("pushed" or
    "pulled") and returns the figures."""
    elapsed, out = sfa(home, "sync", "--json")
    moved = json.loads(out)[direction]
    assert moved == expected, out
    return {"changes": moved, "seconds": round(elapsed, 2), "changes_per_s": round(moved / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sfa-bench-"))
    try:
        print(json.dumps(run(tmp, options), indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, options: argparse.Namespace) -> dict[str, object]:
    server_home = tmp / "server"
    db = f"sqlite:///{server_home / 'server.db'}"
    sfa(server_home, "server", "init", "--db", db)
    token = sfa(server_home, "server", "user", "add", "ana", "--team", "north", "--db", db)[1].strip()
    token_bob = sfa(server_home, "server", "user", "add", "bob", "--team", "north", "--db", db)[1].strip()
    seed_server(db, options.records)
    server, port = start_server(server_home, db)
    proxy = FaultProxy(port).start()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/v1/health")
        figures: dict[str, object] = {}

        # 1. initial sync
        laptop = tmp / "laptop"
        sfa(laptop, "sync", "login", proxy.url, "--token", token)
        elapsed, out = sfa(laptop, "sync", "--json")
        pulled = json.loads(out)["pulled"]
        assert pulled == options.records, out
        figures["initial_sync"] = {
            "records": pulled,
            "seconds": round(elapsed, 2),
            "records_per_s": round(pulled / elapsed),
        }

        # 2. push local changes
        writer = tmp / "writer"
        sfa(writer, "sync", "login", proxy.url, "--token", token_bob)
        sfa(writer, "sync")
        ws = Workspace(writer)
        rows = [
            {"name": f"New {i:05d}", "city": "Hamburg", "owner": "bob", "team": "north"}
            for i in range(options.changes)
        ]
        ws.store.insert_many(ACCOUNT, rows)
        ws.close()
        figures["push"] = timed_sync(writer, "pushed", options.changes)
        figures["pull_inserts"] = timed_sync(laptop, "pulled", options.changes)

        # 2b. edits: one field of each of the records just pushed, pushed, then pulled by the laptop
        ws = Workspace(writer)
        mine = [r["id"] for r in ws.store.select(ACCOUNT, "owner = ?", ("bob",), fields=("owner",))]
        with ws.store.transaction():
            for n, record_id in enumerate(mine):
                ws.store.update(ACCOUNT, record_id, {"city": f"Kiel {n:05d}"})
        ws.close()
        figures["push_edits"] = timed_sync(writer, "pushed", options.changes)
        figures["pull_edits"] = timed_sync(laptop, "pulled", options.changes)

        # 3. a sync with nothing to do vs the bare Typer hello world
        hello = tmp / "hello.py"
        hello.write_text(HELLO)
        sfa(writer, "sync")
        subprocess.run([sys.executable, str(hello)], capture_output=True, check=True, timeout=60, env=ENV)
        noop, bare = [], []
        for _ in range(options.runs):
            noop.append(sfa(writer, "sync")[0])
            started = time.perf_counter()
            subprocess.run([sys.executable, str(hello)], capture_output=True, check=True, timeout=60, env=ENV)
            bare.append(time.perf_counter() - started)
        figures["noop_sync"] = {
            "median_s": round(statistics.median(noop), 3),
            "typer_hello_median_s": round(statistics.median(bare), 3),
            "ratio": round(statistics.median(noop) / statistics.median(bare), 2),
        }

        # 4. bytes on the wire per changed field, for a typical edit (one field of one contact)
        sfa(laptop, "sync")  # catch up, so that the next pull holds just the edit
        ws = Workspace(writer)
        record = ws.store.select(ACCOUNT, limit=1)[0]
        ws.store.update(ACCOUNT, record["id"], {"phone": "+49 40 7654321"})
        ws.close()
        up, down = proxy.bytes_up, proxy.bytes_down
        sfa(writer, "sync")
        push_bytes = (proxy.bytes_up - up) + (proxy.bytes_down - down)
        up, down = proxy.bytes_up, proxy.bytes_down
        sfa(laptop, "sync")
        pull_bytes = (proxy.bytes_up - up) + (proxy.bytes_down - down)
        figures["bytes_per_changed_field"] = {
            "push_round": push_bytes,
            "pull_round": pull_bytes,
            "note": "one field edit; HTTP heads and bodies, both ways",
        }
    finally:
        proxy.stop()
        server.terminate()
        server.wait(30)
    return figures


if __name__ == "__main__":
    main()
