"""What a long change log costs a first sync (issue 19), against real `sfa server run` processes.

    python bench/bench_server_history.py --backend sqlite
    python bench/bench_server_history.py --backend postgres
    python bench/bench_server_history.py --backend sqlite --records 10000 --history 100000  # quick

Two server databases are seeded straight with set-based SQL (no pushes, to be quick): *small* holds
`--records` live accounts and one logged change each (their creates); *big* holds the same records
behind `--history` logged changes (the creates, then edits of the city, round-robin over the
records, so every record's row holds its last edit). Every change is owned by user `ana` of team
`north`. Printed, each with its ratio against the baseline measured in the same run:

1. the first pull (`GET /v1/pull?cursor=0`) of a user whose scope is empty (`eve`, team `south`):
   median of `--runs` requests, each with a new client id, on small, on big as seeded (the whole log
   present), and on big after `sfa server compact --keep-days 0` (the snapshot path); and the log
   query of that pull alone, in the database (PostgreSQL's `EXPLAIN ANALYZE` execution time, or
   SQLite's in this process), which the machine's load disturbs less. Goal: big costs the same as
   small.
2. a new laptop's first `sfa sync` (a process, logged in as `ana`) of the records: on small (no
   extra history, the log replayed from 0: today's first sync) and on big after the compaction (the
   snapshot, then the log above the floor), `--laptop-runs` times each, alternating between the two
   servers (both run all along), medians. Goal: big ≤ 1.2× small. `--no-laptop` skips it.

The server's process CPU for each step is printed too (user + system, from /proc). Temporary data,
the throwaway PostgreSQL included, is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "sync"))  # the throwaway PostgreSQL of the sync tests
sys.path.insert(0, str(ROOT))

from synchelp import PgCluster, free_port  # noqa: E402

from bench.bench_server_load import new_cluster, pull_sql, tree_cpu  # noqa: E402
from sfa.server import admin, storage  # noqa: E402

# Processes run with cached bytecode, as installed (see bench/bench_sync.py).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
BASE_MS = 1_700_000_000_000  # the seeded clocks: BASE_MS + seq, in the past
LONG_AGO = "2026-01-01T00:00:00.000000Z"  # when the seeded changes were logged


class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def series(self, count: int) -> str:
        if self.postgres:
            return f"s(n) AS (SELECT generate_series(1, {int(count)}))"
        return f"s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {int(count)})"

    def clock(self, seq: str) -> str:
        if self.postgres:
            return f"lpad(({BASE_MS} + {seq})::text, 16, '0') || ':00000:5eed5eed5eed5eed'"
        return f"printf('%016d:00000:5eed5eed5eed5eed', {BASE_MS} + {seq})"

    def uid(self, k: str) -> str:
        if self.postgres:
            return f"lpad(to_hex({k}), 8, '0') || '-0000-7000-8000-' || lpad(to_hex({k}), 12, '0')"
        return f"printf('%08x-0000-7000-8000-%012x', {k}, {k})"

    def text(self, value: str) -> str:
        return f"({value})::text" if self.postgres else f"({value})"


def seed(db: str, records: int, changes: int) -> None:
    """`records` accounts; changes 1..records create them, the rest edit their city round-robin."""
    from sqlalchemy import text

    engine = storage.make_engine(db)
    q = Sql(engine.dialect.name == "postgresql")
    recursive = "" if q.postgres else "RECURSIVE "
    edits = changes - records

    def pair(value: str, clock: str) -> str:
        return f"'[' || {value} || ',\"' || {clock} || '\"]'"

    def full(k: str, city_value: str, city_clock: str) -> str:
        c = q.clock(k)
        name = f"'\"Account ' || {q.text(k)} || '\"'"
        return (
            "'{\"name\":' || "
            + pair(name, c)
            + " || ',\"city\":' || "
            + pair(city_value, city_clock)
            + " || ',\"phone\":' || "
            + pair("'\"+49 30 1234567\"'", c)
            + " || ',\"industry\":' || "
            + pair("'\"Retail\"'", c)
            + " || ',\"owner\":' || "
            + pair("'\"ana\"'", c)
            + " || ',\"team\":' || "
            + pair("'\"north\"'", c)
            + " || '}'"
        )

    def city(seq: str) -> str:
        return f"'\"City ' || {q.text(f'{seq} % 50')} || '\"'"

    # The last change of record k: its last edit, or its create when it has none.
    last = f"(CASE WHEN {edits} >= n THEN {records} + n + (({edits} - n) / {records}) * {records} ELSE n END)"
    with engine.begin() as conn:
        conn.execute(
            text(
                f"WITH {recursive}{q.series(changes)} INSERT INTO change(seq, entity, id, fields, owner, team,"
                " existed, user_name, at) SELECT n, 'account',"
                f" {q.uid(f'CASE WHEN n <= {records} THEN n ELSE (n - {records} - 1) % {records} + 1 END')},"
                f" CASE WHEN n <= {records} THEN {full('n', city('n'), q.clock('n'))}"
                f" ELSE '{{\"city\":' || {pair(city('n'), q.clock('n'))} || '}}' END,"
                f" 'ana', 'north', n > {records}, 'ana', '{LONG_AGO}' FROM s"
            )
        )
        conn.execute(
            text(
                f"WITH {recursive}{q.series(records)} INSERT INTO record(entity, id, fields, owner, team,"
                f" deleted, flagged, seq, updated_at) SELECT 'account', {q.uid('n')},"
                f" {full('n', city(last), q.clock(last))}, 'ana', 'north', false, false, {last},"
                f" '{LONG_AGO}' FROM s"
            )
        )
        conn.execute(text("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": changes})
    if q.postgres:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("COMMIT")  # the engine's BEGIN IMMEDIATE: ANALYZE needs none
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def sfa(home: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=3600,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sfa {' '.join(args)} failed: {proc.stderr}")
    return elapsed, proc.stdout


class Server:
    def __init__(self, home: Path, db: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "sfa", "--home", str(home), "server", "run"]
        command += ["--port", str(self.port), "--db", db]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/v1/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def empty_pull(server: Server, token: str, runs: int, tag: str) -> dict[str, Any]:
    """Median wall time of a first pull (cursor 0, a new client id) by a user who sees nothing."""
    times = []
    cpu_before = server.cpu()
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"}, timeout=600) as http:
        for n in range(runs + 1):
            params: dict[str, Any] = {"cursor": 0, "limit": 1000, "client_id": f"eve-{tag}-{n}"}
            started = time.perf_counter()
            reply = http.get("/v1/pull", params=params)
            elapsed = time.perf_counter() - started
            if reply.status_code != 200 or reply.json()["changes"]:
                raise SystemExit(f"unexpected pull reply {reply.status_code}: {reply.text[:200]}")
            if n:  # the first request warms the server's caches and statements
                times.append(elapsed)
    cpu = (server.cpu() - cpu_before) / (runs + 1)
    return {"median_ms": statistics.median(times) * 1000, "min_ms": min(times) * 1000, "cpu_ms": cpu * 1000}


def query_ms(db: str, runs: int) -> float:
    """The page query the server runs for the empty-scope user's first pull, in the database alone:
    PostgreSQL's own `EXPLAIN ANALYZE` execution time, SQLite's run in this process; median."""
    import re
    import sqlite3

    from sfa.server.merge import User

    sqlite = db.startswith("sqlite")
    sql, params = pull_sql(User("eve", "rep", "south"), sqlite)
    params.update(c=0, h=10**9, n=1000)
    times = []
    if sqlite:
        conn = sqlite3.connect(db[len("sqlite:///") :])
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(db) as pg_conn:
            for _ in range(runs):
                plan = pg_conn.execute(
                    "EXPLAIN (ANALYZE) " + re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql),  # type: ignore[arg-type]
                    params,
                ).fetchall()
                times += [float(row[0].split()[2]) for row in plan if row[0].startswith("Execution Time")]
    return statistics.median(times)


def laptop_sync(tmp: Path, server: Server, token: str, name: str, expect: int) -> dict[str, Any]:
    laptop = tmp / f"laptop-{name}"
    sfa(laptop, "sync", "login", server.url, "--token", token)
    cpu_before = server.cpu()
    elapsed, out = sfa(laptop, "sync", "--json")
    cpu = server.cpu() - cpu_before
    pulled = json.loads(out)["pulled"]
    if pulled != expect:
        raise SystemExit(f"the laptop pulled {pulled} records, not {expect}")
    shutil.rmtree(laptop, ignore_errors=True)
    return {"seconds": elapsed, "records": pulled, "server_cpu_s": cpu}


def timed(what: str, step: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = step()
    print(f"  ({what}: {time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-laptop", action="store_true", help="skip the laptop's first sync")
    parser.add_argument("--laptop-runs", type=int, default=3, help="first syncs on each server (median)")
    args = parser.parse_args()
    if args.history < args.records:
        parser.error("--history must be at least --records")

    tmp = Path(tempfile.mkdtemp(prefix="sfa-history-"))
    pg: PgCluster | None = None
    figures: dict[str, Any] = {"backend": args.backend, "records": args.records, "history": args.history}
    try:
        dbs: dict[str, str] = {}
        if args.backend == "postgres":
            pg = new_cluster()
            if pg is None:
                return 2
            pg.start()
            dbs = {name: pg.url(pg.new_database()) for name in ("small", "big")}
        else:
            dbs = {name: f"sqlite:///{tmp / (name + '.db')}" for name in ("small", "big")}
        tokens: dict[str, dict[str, str]] = {}
        for name, db in dbs.items():
            home = tmp / f"home-{name}"
            admin.init(home, db)
            tokens[name] = {
                "ana": admin.add_user(home, db, "ana", "rep", "north")["token"],
                "eve": admin.add_user(home, db, "eve", "rep", "south")["token"],
            }
            changes = args.records if name == "small" else args.history
            timed(
                f"seed {name}: {changes} changes",
                lambda db=db, changes=changes: seed(db, args.records, changes),
            )

        small = Server(tmp / "home-small", dbs["small"])
        big = Server(tmp / "home-big", dbs["big"])
        try:
            figures["empty_pull_small"] = empty_pull(small, tokens["small"]["eve"], args.runs, "s")
            figures["empty_pull_big"] = empty_pull(big, tokens["big"]["eve"], args.runs, "b")
            figures["empty_pull_small"]["query_ms"] = query_ms(dbs["small"], args.runs)
            figures["empty_pull_big"]["query_ms"] = query_ms(dbs["big"], args.runs)
            compaction = timed(
                "compact big",
                lambda: sfa(tmp / "home-big", "server", "compact", "--keep-days", "0", "--json"),
            )
            figures["compaction"] = {"seconds": compaction[0], **json.loads(compaction[1])}
            figures["empty_pull_big_compacted"] = empty_pull(big, tokens["big"]["eve"], args.runs, "c")
            # The laptops alternate between the two servers, so a change in the machine's load
            # falls on both alike.
            for n in range(0 if args.no_laptop else args.laptop_runs):
                for name, server in (("small", small), ("big", big)):
                    figures.setdefault(f"laptop_{name}", []).append(
                        timed(
                            f"laptop sync {n + 1}, {name}",
                            lambda name=name, server=server: laptop_sync(
                                tmp, server, tokens[name]["ana"], name, args.records
                            ),
                        )
                    )
        finally:
            small.stop()
            big.stop()
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    base = figures["empty_pull_small"]["median_ms"]
    print(f"backend {args.backend}: {args.records} live records; small = {args.records} logged changes,")
    print(f"big = {args.history} logged changes (load average {os.getloadavg()[0]:.1f}: a shared machine)")
    print("1. first pull of a user with an empty scope (median of", args.runs, "requests):")
    for key, label in (
        ("empty_pull_small", "small (baseline)"),
        ("empty_pull_big", "big, whole log"),
        ("empty_pull_big_compacted", "big, compacted"),
    ):
        f = figures[key]
        query = f" (the log query alone {f['query_ms']:.2f} ms)" if "query_ms" in f else ""
        print(
            f"   {label:<18} {f['median_ms']:8.1f} ms (min {f['min_ms']:.1f}, server CPU {f['cpu_ms']:.1f} ms)"
            f"  ratio {f['median_ms'] / base:.2f}{query}"
        )
    if not args.no_laptop:
        s = statistics.median(f["seconds"] for f in figures["laptop_small"])
        b = statistics.median(f["seconds"] for f in figures["laptop_big"])
        s_cpu = statistics.median(f["server_cpu_s"] for f in figures["laptop_small"])
        b_cpu = statistics.median(f["server_cpu_s"] for f in figures["laptop_big"])
        print(
            f"2. a new laptop's first sync of {args.records} records (median of {args.laptop_runs}, alternating):"
        )
        print(f"   small, log replayed (baseline) {s:7.2f} s (server CPU {s_cpu:.2f} s)")
        print(
            f"   big, after compaction          {b:7.2f} s (server CPU {b_cpu:.2f} s)  ratio {b / s:.2f} (goal ≤ 1.2)"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
