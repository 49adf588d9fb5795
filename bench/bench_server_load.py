"""Load test of the sync server: simulated reps speaking /v1 against a real `sfa server run`.

    python bench/bench_server_load.py --reps 50 --backend sqlite --seconds 60
    python bench/bench_server_load.py --reps 200 --backend postgres --workers 2 --seconds 60

Each rep pushes 1-20 realistic mutations (new accounts and contacts, edits of its own records), pulls
until it is up to date, pauses 0.5-1.5 s, and repeats: roughly a rep syncing every second, so 200 of
them stand for thousands of reps syncing every few minutes. The server runs as its own process (with
a throwaway PostgreSQL for `--backend postgres`); the load generator shares the machine, as it would
in the figures of docs/performance.md.

Printed: push p50/p95/p99, pull p50/p95, mutations applied per second, how long each push held the
counter row's lock (p50/p95/p99, written by the server under $SFA_SERVER_LOCK_LOG), server CPU per applied
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
import shutil
import signal
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
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sfa-load-"))
    pg: PgCluster | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        if args.backend == "postgres":
            bindir = _pg_bin()
            if bindir is None:
                print("PostgreSQL binaries not found", file=sys.stderr)
                return 2
            pg = PgCluster(bindir)
            pg.start()
            db = pg.url(pg.new_database())
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
        cpu_before = tree_cpu(server.pid)
        tally = Tally()
        started = time.monotonic()

        async def run_all() -> None:
            deadline = time.monotonic() + args.seconds
            await asyncio.gather(
                *(rep_loop(r, url, deadline, tally, args.seed * 100003 + i) for i, r in enumerate(reps))
            )

        asyncio.run(run_all())
        elapsed = time.monotonic() - started
        cpu = tree_cpu(server.pid) - cpu_before
        stop(server)  # its processes write their last lock hold times as they exit
        holds = [float(line) / 1000 for f in lock_dir.glob("lock-*.txt") for line in f.read_text().split()]
        problems = check(db, tally)
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
            f"  p99 {percentile(holds, 0.99):.2f} ms  ({len(holds)} pushes)"
        )
        if tally.applied:
            print(f"server CPU {cpu:.1f} s: {cpu / tally.applied * 1000:.2f} ms per applied mutation")
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
            "mutations_per_s": tally.applied / elapsed,
            "cpu_ms_per_mutation": cpu / tally.applied * 1000 if tally.applied else None,
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
