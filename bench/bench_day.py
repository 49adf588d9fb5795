"""Bench the rep's day on a big store against a bare Typer hello world.

Builds (once; reused when it exists) a store with 20,000 accounts, 100,000 contacts, 20,000
opportunities, 50,000 visits, 100,000 tasks and 2,000 quotes, all through ``Store.insert_many`` (so
change capture, outbox and full-text index are filled as in real use). Then it runs, as whole
processes, `sfa today`, `sfa task list --overdue` and `sfa report forecast`, and the baseline
`python bench/hello_typer.py`, each several times with stdout to a pipe, and prints the medians and
the ratio to the baseline (target: at most 1.5x).

    .venv/bin/python bench/bench_day.py [--home DIR] [--runs 7] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sfa.domain.dates import local_today  # noqa: E402
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, QUOTE, TASK, VISIT  # noqa: E402
from sfa.domain.schedule import local_midnight  # noqa: E402
from sfa.domain.stages import DEFAULT_STAGES  # noqa: E402
from sfa.store.db import Store  # noqa: E402

SIZES = {
    "account": 20_000,
    "contact": 100_000,
    "opportunity": 20_000,
    "visit": 50_000,
    "task": 100_000,
    "quote": 2_000,
}
BATCH = 5_000
CITIES = [
    ("Berlin", 52.52, 13.405),
    ("Potsdam", 52.39, 13.06),
    ("Bernau", 52.68, 13.59),
    ("Cottbus", 51.76, 14.33),
    ("Frankfurt (Oder)", 52.34, 14.55),
    ("Brandenburg", 52.41, 12.53),
]
WORDS = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
]
FIRST = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas", "Karl", "Lena"]


def batched(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def insert(store: Store, entity: Any, rows: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for chunk in batched(rows):
        ids += [r["id"] for r in store.insert_many(entity, chunk)]
    return ids


def build(path: Path, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    today = local_today()
    now = datetime.now(UTC)
    timings: dict[str, float] = {}
    store = Store(path)
    try:
        started = time.perf_counter()
        accounts = []
        for n in range(SIZES["account"]):
            city, lat, lon = rng.choice(CITIES)
            accounts.append(
                {
                    "name": f"{rng.choice(WORDS)} {rng.choice(['GmbH', 'AG', 'KG', 'OHG'])} {n}",
                    "city": city,
                    "street": f"Hauptstr. {n % 200 + 1}",
                    "country": "DE",
                    "latitude": round(lat + rng.uniform(-0.2, 0.2), 5),
                    "longitude": round(lon + rng.uniform(-0.3, 0.3), 5),
                    "owner": "rep",
                    "industry": "Retail",
                }
            )
        account_ids = insert(store, ACCOUNT, accounts)
        timings["accounts"] = time.perf_counter() - started

        started = time.perf_counter()
        contacts = [
            {
                "name": f"{rng.choice(FIRST)} {rng.choice(WORDS)}",
                "account_id": account_ids[n % len(account_ids)],
                "email": f"person{n}@example.com",
                "phone": f"+49 30 {1000000 + n}",
                "owner": "rep",
            }
            for n in range(SIZES["contact"])
        ]
        contact_ids = insert(store, CONTACT, contacts)
        timings["contacts"] = time.perf_counter() - started

        started = time.perf_counter()
        opps = []
        for n in range(SIZES["opportunity"]):
            stage = rng.choice(DEFAULT_STAGES)
            opps.append(
                {
                    "name": f"Deal {n}",
                    "account_id": rng.choice(account_ids),
                    "stage": stage.name,
                    "probability": stage.probability,
                    "amount": Decimal(rng.randrange(500, 200_000)),
                    "currency": "USD" if n % 10 == 0 else "EUR",
                    "close_date": today + timedelta(days=rng.randint(-720, 365)),
                    "lost_reason": rng.choice(["price", "competitor", "timing"])
                    if stage.name == "lost"
                    else None,
                    "owner": "rep",
                }
            )
        insert(store, OPPORTUNITY, opps)
        timings["opportunities"] = time.perf_counter() - started

        started = time.perf_counter()
        visits = []
        for n in range(SIZES["visit"]):
            account = rng.randrange(len(account_ids))
            city = accounts[account]
            if n < 6:  # today's visits: a real day
                day, status = today, "planned"
            else:
                day = today + timedelta(days=rng.randint(-3650, 28))
                if day == today:
                    day -= timedelta(days=1)
                status = "planned" if day > today else rng.choice(["done"] * 8 + ["cancelled", "no-show"])
            fixed = n % 3 != 0
            start = local_midnight(day) + (timedelta(hours=8 + n % 9) if fixed else timedelta())
            visits.append(
                {
                    "account_id": account_ids[account],
                    "contact_ids": [contact_ids[account]],
                    "starts_at": start,
                    "duration_min": 45,
                    "fixed_time": fixed,
                    "purpose": "Review",
                    "location": city["city"],
                    "latitude": city["latitude"],
                    "longitude": city["longitude"],
                    "status": status,
                    "outcome": "ok" if status == "done" else None,
                    "owner": "rep",
                }
            )
        visit_ids = insert(store, VISIT, visits)
        timings["visits"] = time.perf_counter() - started

        started = time.perf_counter()
        tasks = []
        for n in range(SIZES["task"]):
            is_open = rng.random() < 0.08  # most tasks of a long-used store are done
            due = today + timedelta(days=rng.randint(-10, 60) if is_open else rng.randint(-3650, -1))
            account = rng.randrange(len(account_ids))
            tasks.append(
                {
                    "title": f"Follow up {n}",
                    "due_date": due if n % 7 else None,
                    "priority": rng.choice(["high", "normal", "normal", "low"]),
                    "status": "open" if is_open else "done",
                    "done_at": None if is_open else now - timedelta(days=rng.randint(1, 3650)),
                    "account_id": account_ids[account],
                    "contact_id": contact_ids[account],
                    "visit_id": visit_ids[n % len(visit_ids)] if n % 2 else None,
                    "owner": "rep",
                }
            )
        insert(store, TASK, tasks)
        timings["tasks"] = time.perf_counter() - started

        started = time.perf_counter()
        quotes = [
            {
                "number": f"Q-2026-BNCH-{n:05d}",
                "revision": 1,
                "account_id": rng.choice(account_ids),
                "currency": "EUR",
                "status": rng.choice(["draft", "sent", "accepted", "rejected", "expired"]),
                "valid_until": today + timedelta(days=rng.randint(-400, 60)),
                "owner": "rep",
            }
            for n in range(SIZES["quote"])
        ]
        insert(store, QUOTE, quotes)
        timings["quotes"] = time.perf_counter() - started
        store.conn.execute("ANALYZE")
    finally:
        store.close()
    return timings


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system, less disturbed by other load) and stdout size of a run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, len(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--home", help="Data directory to build or reuse (default: a temp dir, removed after)."
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="Remove and rebuild the store.")
    parser.add_argument("--no-pyc", action="store_true", help="Keep PYTHONDONTWRITEBYTECODE if set.")
    args = parser.parse_args()

    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="sfa-bench-day-"))
    db = home / "sfa.db"
    if args.rebuild and db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    try:
        if not db.exists():
            home.mkdir(parents=True, exist_ok=True)
            print(f"building {db} ...", flush=True)
            started = time.perf_counter()
            for name, seconds in build(db).items():
                print(f"  {name:<14} {seconds:6.1f} s")
            print(f"  {'total':<14} {time.perf_counter() - started:6.1f} s, {db.stat().st_size / 1e6:.0f} MB")
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("SFA_HOME", None)
        if not args.no_pyc:
            # Installed Python programs run from cached bytecode; without it every process compiles
            # typer, pydantic and sfa from source (~0.2 s here), which hides what is being measured.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = sys.executable
        commands = {
            "bare Typer hello world": [python, str(ROOT / "bench" / "hello_typer.py")],
            "sfa today": [python, "-m", "sfa", "--home", str(home), "today"],
            "sfa task list --overdue": [
                python,
                "-m",
                "sfa",
                "--home",
                str(home),
                "task",
                "list",
                "--overdue",
            ],
            "sfa report forecast": [python, "-m", "sfa", "--home", str(home), "report", "forecast"],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        sizes: dict[str, int] = {}
        for argv in commands.values():  # warm the OS cache and the .pyc files
            run_once(argv, env)
        # Round-robin, so that load from other processes on the machine hits every command alike.
        for _ in range(args.runs):
            for name, argv in commands.items():
                elapsed, used, sizes[name] = run_once(argv, env)
                samples[name].append(elapsed)
                cpu[name].append(used)
        baseline = statistics.median(samples["bare Typer hello world"])
        base_cpu = statistics.median(cpu["bare Typer hello world"])
        print(
            f"\n{'command':<26} {'wall median':>11} {'min':>7} {'ratio':>6} {'cpu median':>11} {'ratio':>6} "
            f"{'stdout':>8}"
        )
        for name, values in samples.items():
            median, cpu_median = statistics.median(values), statistics.median(cpu[name])
            verdict = "" if name.startswith("bare") else ("ok" if median <= 1.5 * baseline else "OVER 1.5x")
            print(
                f"{name:<26} {median * 1000:8.0f} ms {min(values) * 1000:4.0f} ms {median / baseline:5.2f}x "
                f"{cpu_median * 1000:8.0f} ms {cpu_median / base_cpu:5.2f}x {sizes[name]:>7}B  {verdict}"
            )
        print(f"({args.runs} runs each, round-robin; wall runs in ms:)")
        for name, values in samples.items():
            print(f"  {name:<26} {' '.join(f'{v * 1000:.0f}' for v in values)}")
    finally:
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
