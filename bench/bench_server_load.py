"""Load test of the sync server: simulated reps speaking /v1 against a real `sfa server run`.

    python bench/bench_server_load.py --reps 50 --backend sqlite --seconds 60
    python bench/bench_server_load.py --reps 200 --backend postgres --workers 2 --seconds 60

Each rep pushes 1-20 realistic mutations (new accounts and contacts, edits of its own records), pulls
until it is up to date, pauses 0.5-1.5 s, and repeats: roughly a rep syncing every second, so 200 of
them stand for thousands of reps syncing every few minutes. The server runs as its own process (with
a throwaway PostgreSQL for `--backend postgres`); the load generator shares the machine, as it would
in the figures of docs/performance.md.

Printed: push p50/p95/p99, pull p50/p95, mutations applied per second, how long each push held the
counter row's lock (p50/p95/p99, written by the server under $SFA_SERVER_LOCK_LOG, with how many holds
were one statement measured inside PostgreSQL, a stale plan found by it, or timed in Python: see
sfa/server/lockstat.py), server CPU per applied
mutation (user + system of the server's processes, from /proc), errors; then the checks: every
acknowledged create is stored exactly once, and the change log's sequence is gap-free and ends at the
counter. Exit status 1 when a check fails or any request errs. Temporary data is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "sync"))  # the throwaway PostgreSQL of the sync tests
sys.path.insert(0, str(ROOT))  # ... whose helpers import tests.conftest

from synchelp import PgCluster, _pg_bin, free_port  # noqa: E402

from sfa.domain import ids  # noqa: E402
from sfa.server import admin, storage  # noqa: E402
from sfa.server import app as server_app  # noqa: E402
from sfa.server.merge import User  # noqa: E402

PAGE = 1000  # changes a pull asks for
CITIES = ("Berlin", "Hamburg", "München", "Köln", "Rosenheim", "Leipzig", "Dresden")


@dataclass
class Rep:
    name: str
    team: str
    token: str
    client_id: str
    replica: str
    seq: int = 0
    cursor: int = 0
    counter: int = 0
    own: list[tuple[str, str]] = field(default_factory=list)  # (entity, id) this rep created
    clocks: dict[tuple[str, str], str] = field(default_factory=dict)  # (id, field) -> last clock

    def clock(self) -> str:
        self.counter += 1
        return f"{int(time.time() * 1000):016d}:{self.counter % 100000:05d}:{self.replica}"

    def mutations(self, rng: random.Random) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
        out, created = [], []
        for _ in range(rng.randint(1, 20)):
            self.seq += 1
            clock = self.clock()
            scope = {"owner": [self.name, clock], "team": [self.team, clock]}
            if self.own and rng.random() < 0.4:
                entity, record_id = rng.choice(self.own)
                key = "city" if entity == "account" else "phone"
                value = rng.choice(CITIES) if key == "city" else f"+49 30 {rng.randint(100000, 999999)}"
                edit: dict[str, Any] = {"seq": self.seq, "entity": entity, "id": record_id}
                edit["fields"] = {key: [value, clock]}
                base = self.clocks.get((record_id, key))
                if base:  # a sequential edit, as a laptop sends it: not a conflict
                    edit["base"] = {key: base}
                self.clocks[(record_id, key)] = clock
                out.append(edit)
                continue
            record_id = ids.uuid7()
            if rng.random() < 0.5:
                entity = "account"
                fields = {
                    "name": [f"Load {record_id[-12:]} GmbH", clock],
                    "city": [rng.choice(CITIES), clock],
                }
            else:
                entity = "contact"
                fields = {
                    "name": [f"Person {record_id[-12:]}", clock],
                    "email": [f"{record_id[-12:]}@example.com", clock],
                }
            out.append({"seq": self.seq, "entity": entity, "id": record_id, "fields": {**fields, **scope}})
            for name in fields:
                self.clocks[(record_id, name)] = clock
            created.append((entity, record_id))
        return out, created


@dataclass
class Tally:
    push: list[float] = field(default_factory=list)
    pull: list[float] = field(default_factory=list)
    applied: int = 0
    rejected: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    acknowledged_creates: list[tuple[str, str]] = field(default_factory=list)


async def rep_loop(rep: Rep, url: str, deadline: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"authorization": f"Bearer {rep.token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        await asyncio.sleep(rng.uniform(0, 1.5))  # reps do not start in lockstep
        while time.monotonic() < deadline:
            batch, created = rep.mutations(rng)
            body = {
                "protocol": 1,
                "client_id": rep.client_id,
                "acked": rep.seq - len(batch),
                "mutations": batch,
            }
            try:
                started = time.perf_counter()
                reply = await client.post("/v1/push", json=body)
                tally.push.append(time.perf_counter() - started)
                if reply.status_code != 200:
                    tally.errors.append(f"push {reply.status_code}: {reply.text[:200]}")
                else:
                    results = reply.json()["results"]
                    by_seq = {r["seq"]: r["status"] for r in results}
                    for mutation in batch:
                        status = by_seq.get(mutation["seq"])
                        tally.applied += status == "applied"
                        tally.rejected += status == "rejected"
                        tally.conflicts += status == "conflict"
                        if status == "conflict" and os.environ.get("SFA_LOAD_DEBUG"):
                            print(mutation, [r for r in results if r["seq"] == mutation["seq"]])
                    applied_ids = {m["id"] for m in batch if by_seq.get(m["seq"]) == "applied"}
                    for entity, record_id in created:
                        if record_id in applied_ids:
                            rep.own.append((entity, record_id))
                            tally.acknowledged_creates.append((entity, record_id))
                more = True
                while more:
                    started = time.perf_counter()
                    params = {"cursor": rep.cursor, "limit": 1000, "client_id": rep.client_id}
                    page = await client.get("/v1/pull", params=params)
                    tally.pull.append(time.perf_counter() - started)
                    if page.status_code != 200:
                        tally.errors.append(f"pull {page.status_code}: {page.text[:200]}")
                        break
                    data = page.json()
                    rep.cursor, more = data["cursor"], data["more"]
                    for change in data["changes"]:  # the server's clocks become the next edit's base
                        for name, pair in (change.get("fields") or {}).items():
                            if (change["id"], name) in rep.clocks:
                                rep.clocks[(change["id"], name)] = pair[1]
            except httpx.HTTPError as exc:
                tally.errors.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(rng.uniform(0.5, 1.5))


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the workers), alive or reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
        total += sum(int(v) for v in fields[11:15]) / tick
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def check(db: str, tally: Tally) -> list[str]:
    from sqlalchemy import text

    problems = []
    engine = storage.make_engine(db)
    try:
        with engine.connect() as conn:
            head = int(conn.execute(text("SELECT value FROM counter WHERE name = 'seq'")).scalar_one())
            count, low, high = conn.execute(text("SELECT count(*), min(seq), max(seq) FROM change")).one()
            if count and (low != 1 or high != head or count != head):
                problems.append(f"change log not gap-free: {count} rows, seq {low}..{high}, counter {head}")
            stored: dict[tuple[str, str], int] = {}
            for entity, record_id in conn.execute(text("SELECT entity, id FROM record")).all():
                stored[(entity, record_id)] = stored.get((entity, record_id), 0) + 1
            missing = [k for k in tally.acknowledged_creates if stored.get(k) != 1]
            if missing:
                problems.append(
                    f"{len(missing)} acknowledged creates not stored exactly once, e.g. {missing[0]}"
                )
            if len(set(tally.acknowledged_creates)) != len(tally.acknowledged_creates):
                problems.append("a create was acknowledged twice")
            conn.rollback()
    finally:
        engine.dispose()
    return problems


# -- the floor: the same rows written and read with the bare driver ----------------------------

RECORD_UPSERT = (
    "INSERT INTO record(entity, id, fields, owner, team, deleted, flagged, seq, updated_at)"
    " VALUES (:e, :i, :f, :o, :t, :d, :g, :s, :u) ON CONFLICT (entity, id) DO UPDATE SET"
    " fields = excluded.fields, owner = excluded.owner, team = excluded.team, deleted = excluded.deleted,"
    " flagged = excluded.flagged, seq = excluded.seq, updated_at = excluded.updated_at"
)
CHANGE_INSERT = (
    "INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team, existed, origin,"
    " user_name, at) VALUES (:seq, :entity, :id, :fields, :owner, :team, :prev_owner, :prev_team,"
    " :existed, :origin, :user_name, :at)"
)
CLIENT_UPSERT = (
    "INSERT INTO client(client_id, user_name, last_seq, last_results, pulled, updated_at)"
    " VALUES (:c, :u, :s, :r, 0, :t) ON CONFLICT (client_id) DO UPDATE SET last_seq = excluded.last_seq,"
    " last_results = excluded.last_results, updated_at = excluded.updated_at"
)


def pyformat(sql: str) -> str:
    """`:name` placeholders as psycopg's `%(name)s`."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


def pushes_of(db: str) -> list[dict[str, Any]]:
    """The stored change log cut back into the pushes that wrote it (one `at` and user each), with
    the record rows each push upserted (the records as stored: their whole fields)."""
    from sqlalchemy import text

    engine = storage.make_engine(db)
    columns = "seq, entity, id, fields, owner, team, prev_owner, prev_team, existed, origin, user_name, at"
    try:
        with engine.connect() as conn:
            changes = [
                dict(r._mapping) for r in conn.execute(text(f"SELECT {columns} FROM change ORDER BY seq"))
            ]
            records = {
                (r[0], r[1]): r
                for r in conn.execute(
                    text("SELECT entity, id, fields, owner, team, deleted, flagged FROM record")
                )
            }
            conn.rollback()
    finally:
        engine.dispose()
    pushes: list[dict[str, Any]] = []
    for change in changes:
        key = (change["user_name"], change["at"])
        if not pushes or pushes[-1]["key"] != key:
            pushes.append({"key": key, "changes": [], "records": {}})
        pushes[-1]["changes"].append(change)
    for push in pushes:
        top = push["changes"][-1]["seq"]
        for change in push["changes"]:
            row = records.get((change["entity"], change["id"]))
            if row is not None:
                push["records"][(row[0], row[1])] = {
                    "e": row[0],
                    "i": row[1],
                    "f": row[2],
                    "o": row[3],
                    "t": row[4],
                    "d": bool(row[5]),
                    "g": bool(row[6]),
                    "s": top,
                    "u": change["at"],
                }
        results = ",".join(f'"{n}":{{"seq":{n},"status":"applied"}}' for n in range(len(push["changes"])))
        push["client"] = {
            "c": f"floor-{key[0]}",
            "u": key[0],
            "s": top,
            "r": "{" + results + "}",
            "t": key[1],
        }
    return pushes


def floor_push(db: str, pushes: list[dict[str, Any]], pg: PgCluster | None) -> dict[str, float]:
    """Write the pushes with the bare driver (psycopg, or sqlite3 for SQLite) into an empty database
    of the same schema, one transaction each: lock the counter, executemany the records, executemany
    the log, the counter, the client row. CPU of this process and of PostgreSQL, and the wall time."""
    engine = storage.make_engine(db)
    storage.migrate(engine)
    engine.dispose()
    cpu, pg_before, started = time.process_time(), pg_cpu(pg), time.perf_counter()
    if pg is not None:
        import psycopg

        with psycopg.connect(db) as conn, conn.cursor() as cur:
            for push in pushes:
                cur.execute("SELECT value FROM counter WHERE name = 'seq' FOR UPDATE")
                cur.fetchone()
                cur.executemany(pyformat(RECORD_UPSERT), list(push["records"].values()))
                cur.executemany(pyformat(CHANGE_INSERT), push["changes"])
                cur.execute("UPDATE counter SET value = %(s)s WHERE name = 'seq'", push["client"])
                cur.execute(pyformat(CLIENT_UPSERT), push["client"])
                conn.commit()
    else:
        conn = sqlite3.connect(db[len("sqlite:///") :], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        for push in pushes:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("SELECT value FROM counter WHERE name = 'seq'").fetchone()
            conn.executemany(RECORD_UPSERT, list(push["records"].values()))
            conn.executemany(CHANGE_INSERT, push["changes"])
            conn.execute("UPDATE counter SET value = :s WHERE name = 'seq'", push["client"])
            conn.execute(CLIENT_UPSERT, push["client"])
            conn.execute("COMMIT")
        conn.close()
    return {
        "client_cpu": time.process_time() - cpu,
        "db_cpu": pg_cpu(pg) - pg_before,
        "seconds": time.perf_counter() - started,
    }


def new_cluster() -> PgCluster | None:
    """A throwaway PostgreSQL cluster (the sync tests' own), not yet started; None, said on stderr,
    when the PostgreSQL binaries are not installed."""
    bindir = _pg_bin()
    if bindir is None:
        print("PostgreSQL binaries not found", file=sys.stderr)
        return None
    return PgCluster(bindir)


def pull_sql(user: User, sqlite: bool) -> tuple[str, dict[str, Any]]:
    """The server's query of one page of the log for `user` (sfa/server/app.py)."""
    params: dict[str, Any] = {}
    terms = server_app._scope_terms(user, params, prev=True)
    sql = server_app._scoped(
        "SELECT seq, entity, id, fields, owner, team, prev_owner, prev_team, existed, origin FROM change"
        " WHERE seq > :c AND seq <= :h",
        "change",
        terms,
        "seq > :c AND seq <= :h",
        sqlite,
    )
    return sql, params


def floor_pull(db: str, users: list[User], head: int, pg: PgCluster | None) -> dict[str, float]:
    """Each user's whole log in pages of PAGE with the bare driver: the server's query, rows fetched,
    the fields JSON passed through as the server does. CPU of this process and of PostgreSQL."""
    cpu, pg_before, started = time.process_time(), pg_cpu(pg), time.perf_counter()
    rows = 0
    if pg is not None:
        import psycopg

        with psycopg.connect(db) as conn, conn.cursor() as cur:
            for user in users:
                sql, params = pull_sql(user, False)
                cursor = 0
                while True:
                    cur.execute(pyformat(sql), {**params, "c": cursor, "h": head, "n": PAGE})
                    page = cur.fetchall()
                    rows += len(page)
                    body = ",".join(f'{{"seq":{r[0]},"id":"{r[2]}","fields":{r[3]}}}' for r in page)
                    conn.rollback()
                    if len(page) < PAGE or not body:
                        break
                    cursor = page[-1][0]
    else:
        conn = sqlite3.connect(db[len("sqlite:///") :], isolation_level=None)
        for user in users:
            sql, params = pull_sql(user, True)
            cursor = 0
            while True:
                page = conn.execute(sql, {**params, "c": cursor, "h": head, "n": PAGE}).fetchall()
                rows += len(page)
                body = ",".join(f'{{"seq":{r[0]},"id":"{r[2]}","fields":{r[3]}}}' for r in page)
                if len(page) < PAGE or not body:
                    break
                cursor = page[-1][0]
        conn.close()
    return {
        "client_cpu": time.process_time() - cpu,
        "db_cpu": pg_cpu(pg) - pg_before,
        "seconds": time.perf_counter() - started,
        "rows": rows,
    }


async def pull_phase(reps: list[Rep], url: str) -> int:
    """Each rep pulls its whole log from cursor 0 as a new laptop would (one request at a time)."""
    pulled = 0
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        for n, rep in enumerate(reps):
            cursor, more = 0, True
            headers = {"authorization": f"Bearer {rep.token}"}
            while more:
                params = {"cursor": cursor, "limit": PAGE, "client_id": f"pull-{n:04d}"}
                page = await client.get("/v1/pull", params=params, headers=headers)
                page.raise_for_status()
                data = page.json()
                cursor, more = data["cursor"], data["more"]
                pulled += len(data["changes"])
    return pulled


def pg_cpu(pg: PgCluster | None) -> float:
    """CPU seconds of the throwaway PostgreSQL: the postmaster and its backends, alive or reaped."""
    if pg is None:
        return 0.0
    pid = int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])
    return tree_cpu(pid)


def print_statements(db: str, top: int) -> None:
    """The `top` statements of the run by total execution time (pg_stat_statements: time, not CPU;
    nested statements, those of sfa_push_write, counted on their own as well)."""
    import psycopg

    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT calls, plans, total_exec_time, total_plan_time, rows, shared_blks_hit + local_blks_hit,"
            " wal_records, toplevel, regexp_replace(query, '\\s+', ' ', 'g')"
            " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
            " WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT %s",
            (top,),
        ).fetchall()
    print(
        "pg_stat_statements (calls, plans, exec ms, plan ms, ms a call, rows, buffers hit, WAL records, top level):"
    )
    for calls, plans, exec_ms, plan_ms, count, hits, wal, toplevel, query in rows:
        print(
            f"  {calls:7d} {plans:7d} {exec_ms:9.0f} {plan_ms:7.0f} {exec_ms / max(calls, 1):7.3f} {count:8d} {hits:9d}"
            f" {wal:7d} {'t' if toplevel else 'n'}  {query[:300]}"
        )


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--teams", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pull-reps",
        type=int,
        default=10,
        help="reps that pull their whole log after the run (CPU per change)",
    )
    parser.add_argument(
        "--pg-statements",
        type=int,
        default=0,
        metavar="N",
        help="PostgreSQL: load pg_stat_statements and print the N statements that took most time in the run",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sfa-load-"))
    pg: PgCluster | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        if args.backend == "postgres":
            pg = new_cluster()
            if pg is None:
                return 2
            pg.start()
            if args.pg_statements:
                # Loaded at start-up only; pg_ctl restart keeps the options the cluster started with.
                pg.sql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
                pg._run(
                    "pg_ctl",
                    "-D",
                    str(pg.dir / "data"),
                    "-l",
                    str(pg.dir / "log"),
                    "-w",
                    "-t",
                    "60",
                    "restart",
                )
                pg.sql("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
                pg.sql("ALTER SYSTEM SET pg_stat_statements.track_planning = on")
                pg.sql("SELECT pg_reload_conf()")
            db = pg.url(pg.new_database())
            if args.pg_statements:
                pg.sql("CREATE EXTENSION pg_stat_statements", db.rsplit("/", 1)[-1])
        else:
            db = f"sqlite:///{tmp / 'server.db'}"
        home = tmp / "home"
        admin.init(home, db)
        reps = []
        for n in range(args.reps):
            name, team = f"rep{n:04d}", f"team{n % args.teams}"
            token = admin.add_user(home, db, name, "rep", team)["token"]
            reps.append(Rep(name, team, token, f"load-{n:04d}", f"{n:016x}"))
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "sfa",
            "--home",
            str(home),
            "server",
            "run",
            "--port",
            str(port),
            "--db",
            db,
        ]
        if args.workers > 1:
            command += ["--workers", str(args.workers)]
        lock_dir = tmp / "lock"
        lock_dir.mkdir()
        env = {**os.environ, "SFA_SERVER_LOCK_LOG": str(lock_dir)}
        server_log = (tmp / "server.log").open("wb")  # a pipe nobody reads would stall the server
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=server_log, env=env)
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{url}/v1/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        if pg is not None and args.pg_statements:
            pg.sql("SELECT pg_stat_statements_reset()", db.rsplit("/", 1)[-1])
        cpu_before, pg_before = tree_cpu(server.pid), pg_cpu(pg)
        tally = Tally()
        started = time.monotonic()

        async def run_all() -> None:
            deadline = time.monotonic() + args.seconds
            await asyncio.gather(
                *(rep_loop(r, url, deadline, tally, args.seed * 100003 + i) for i, r in enumerate(reps))
            )

        asyncio.run(run_all())
        elapsed = time.monotonic() - started
        cpu, pg_load = tree_cpu(server.pid) - cpu_before, pg_cpu(pg) - pg_before
        if pg is not None and args.pg_statements:
            print_statements(db, args.pg_statements)
        # Pulls alone: reps pulling their whole log from 0, for the server's CPU per pulled change.
        pullers = reps[: max(0, min(args.pull_reps, len(reps)))]
        cpu_before, pg_before = tree_cpu(server.pid), pg_cpu(pg)
        pulled = asyncio.run(pull_phase(pullers, url))
        pull_cpu, pull_pg = tree_cpu(server.pid) - cpu_before, pg_cpu(pg) - pg_before
        stop(server)  # its processes write their last lock hold times as they exit
        lines = [line.split() for f in lock_dir.glob("lock-*.txt") for line in f.read_text().splitlines()]
        holds = [float(parts[0]) / 1000 for parts in lines if parts]
        kinds: dict[str, int] = {}
        for parts in lines:
            kinds[parts[-1]] = kinds.get(parts[-1], 0) + 1
        problems = check(db, tally)
        # The floor, in the same run: the same rows written and read with the bare driver.
        pushes = pushes_of(db)
        logged = sum(len(p["changes"]) for p in pushes)
        floor_db = pg.url(pg.new_database()) if pg is not None else f"sqlite:///{tmp / 'floor.db'}"
        floor = floor_push(floor_db, pushes, pg)
        users = [User(rep.name, "rep", rep.team) for rep in pullers]
        pull_floor = floor_pull(floor_db, users, logged, pg)
        print(f"reps {args.reps}  backend {args.backend}  workers {args.workers}  {elapsed:.0f} s")
        print(
            f"push  p50 {percentile(tally.push, 0.5):.1f}  p95 {percentile(tally.push, 0.95):.1f}"
            f"  p99 {percentile(tally.push, 0.99):.1f} ms  ({len(tally.push)} pushes)"
        )
        print(
            f"pull  p50 {percentile(tally.pull, 0.5):.1f}  p95 {percentile(tally.pull, 0.95):.1f} ms  ({len(tally.pull)} pages)"
        )
        print(
            f"mutations applied {tally.applied} ({tally.applied / elapsed:.0f}/s), conflicts {tally.conflicts},"
            f" rejected {tally.rejected}"
        )
        print(
            f"counter lock held  p50 {percentile(holds, 0.5):.2f}  p95 {percentile(holds, 0.95):.2f}"
            f"  p99 {percentile(holds, 0.99):.2f} ms  ({len(holds)} holds: "
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            + ")"
        )
        requests = len(tally.push) + len(tally.pull)
        if tally.applied:
            print(
                f"server CPU {cpu:.1f} s: {cpu / tally.applied * 1000:.2f} ms per applied mutation,"
                f" {cpu / requests * 1000:.2f} ms per request ({len(tally.push)} pushes, {len(tally.pull)} pulls)"
            )
        db_name = "PostgreSQL" if pg is not None else "SQLite (in the process)"
        push_ratio = pull_ratio = None
        if logged:
            floor_total = floor["client_cpu"] + floor["db_cpu"]
            push_ratio = (cpu + pg_load) / floor_total if floor_total else None
            print(
                f"CPU per logged change ({logged} changes in {len(pushes)} pushes): server {cpu / logged * 1000:.3f}"
                f" ms + {db_name} {pg_load / logged * 1000:.3f} ms during the run (its pulls included);"
                f" floor, the same rows with bare {'psycopg' if pg else 'sqlite3'} executemany, one"
                f" transaction a push: {floor['client_cpu'] / logged * 1000:.3f} ms + {db_name}"
                f" {floor['db_cpu'] / logged * 1000:.3f} ms ({floor['seconds']:.1f} s);"
                f" ratio {push_ratio:.1f}x (goal <= 3x)"
                if push_ratio
                else "floor too small to measure"
            )
        if pulled:
            pull_total = pull_floor["client_cpu"] + pull_floor["db_cpu"]
            rows = pull_floor["rows"] or 1
            pull_ratio = (pull_cpu + pull_pg) / pulled / (pull_total / rows) if pull_total else None
            print(
                f"CPU per pulled change ({len(pullers)} reps pulled {pulled} changes from 0):"
                f" server {pull_cpu / pulled * 1000:.3f} ms + {db_name} {pull_pg / pulled * 1000:.3f} ms;"
                f" floor, the server's query with bare {'psycopg' if pg else 'sqlite3'}, rows fetched:"
                f" {pull_floor['client_cpu'] / rows * 1000:.3f} ms + {pull_floor['db_cpu'] / rows * 1000:.3f}"
                f" ms ({pull_floor['rows']} rows); ratio "
                + (f"{pull_ratio:.1f}x" if pull_ratio else "n/a (floor too small to measure)")
            )
        print(f"errors {len(tally.errors)}" + (f": {tally.errors[0]}" if tally.errors else ""))
        if tally.errors:
            print(
                "server log (last lines):\n" + "\n".join((tmp / "server.log").read_text().splitlines()[-15:])
            )
        print(
            "checks: "
            + (
                "every acknowledged create stored once; sequence gap-free"
                if not problems
                else "; ".join(problems)
            )
        )
        summary = {
            "reps": args.reps,
            "backend": args.backend,
            "workers": args.workers,
            "push_ms": [percentile(tally.push, q) for q in (0.5, 0.95, 0.99)],
            "pull_ms": [percentile(tally.pull, q) for q in (0.5, 0.95)],
            "lock_ms": [percentile(holds, q) for q in (0.5, 0.95, 0.99)],
            "lock_holds": kinds,
            "mutations_per_s": tally.applied / elapsed,
            "cpu_ms_per_mutation": cpu / tally.applied * 1000 if tally.applied else None,
            "cpu_ms_per_request": cpu / requests * 1000 if requests else None,
            "cpu_ms_per_change": [cpu / logged * 1000, pg_load / logged * 1000] if logged else None,
            "floor_ms_per_change": [floor["client_cpu"] / logged * 1000, floor["db_cpu"] / logged * 1000]
            if logged
            else None,
            "cpu_floor_ratio": push_ratio,
            "pull_cpu_ms_per_change": [pull_cpu / pulled * 1000, pull_pg / pulled * 1000] if pulled else None,
            "pull_floor_ms_per_change": [
                pull_floor["client_cpu"] / max(1, pull_floor["rows"]) * 1000,
                pull_floor["db_cpu"] / max(1, pull_floor["rows"]) * 1000,
            ]
            if pulled
            else None,
            "pull_floor_ratio": pull_ratio,
            "errors": len(tally.errors),
            "problems": problems,
        }
        print(json.dumps(summary))
        return 1 if problems or tally.errors else 0
    finally:
        if server is not None:
            stop(server)
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
