"""`sfa report forecast --range` and `sfa forecast backtest --periods 8` on a large store.

    python bench/bench_forecast.py [--runs 3] [--contacts 100000] [--deals 20000]

The store (made once, kept in bench/.data/): the benchmarks' large store of ``--contacts`` contacts
(bench/gen_store.py, no opportunities of its own) plus ``--deals`` simulated opportunities over the
last 30 months with their stage changes (`sfa demo --history 24m`, scaled). Each command runs as a
whole process, interleaved with the bare Typer hello-world; the ratios are against it (issue 16:
at most 1.5x for the report, 5x for the backtest), CPU seconds (user + system), median of
``--runs``, in three modes:
- cold: no kept result at all (the kept files deleted before each run). The store's per-deal
  forecast summary (migration V_FORECAST_SUMMARY, kept like an index on every write) stays: it is
  part of the store, not a result a user could lack (docs/prediction.md, "Speed", round 5);
- after a move: the first run after a deal was moved today (`sfa opp stage`, untimed, on a copy of
  the store): the kept results are checked against the changes and stay valid;
- kept: the same command again, nothing changed.
Also prints the backtest's goals on that store.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import statistics

from bench.common import DATA, cpu_process, hello_command, report, sfa_command, time_process
from bench.gen_store import generate
from sfa.domain.prediction import RUN_IN_MONTHS
from sfa.services import demo
from sfa.store.migrations import LATEST
from sfa.store.workspace import Workspace

MONTHS = 24


def forecast_store(contacts: int, deals: int) -> Path:
    home = DATA / f"store-v{LATEST}-{contacts}-forecast-{deals}"
    if not (home / "ok").exists():
        shutil.rmtree(home, ignore_errors=True)
        generate(
            home,
            contacts=contacts,
            accounts=max(1, contacts // 5),
            timeline=0,
            opportunities=0,
            leads=contacts // 10,
        )
        ws = Workspace(home)
        try:
            # The simulator varies each month's intake by ±20 %: aim at the mean.
            per_month = max(1, round(deals / (MONTHS + RUN_IN_MONTHS + 1)))
            added = demo.add_history(ws, MONTHS, seed=1, deals_per_month=per_month)
        finally:
            ws.close()
        print(f"  store: {contacts} contacts, {added} opportunities with their stage changes")
        (home / "ok").write_text("complete\n")
    return home


MODES = ("cold", "after a move", "kept")
KEPT_FILES = {"report": "forecast-estimates.json", "backtest": "forecast-backtest.json"}
TOGGLE = ("qualification", "rfp received")  # a deal moved back and forth between two open stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=20_000)
    args = parser.parse_args()
    store = forecast_store(args.contacts, args.deals)
    home = DATA / "forecast-moves"  # a copy: the moves must not change the kept store
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(store, home)
    commands = {
        "hello": hello_command(),
        "report": sfa_command(home, "report", "forecast", "--by", "quarter", "--range"),
        "backtest": sfa_command(home, "forecast", "backtest", "--periods", "8"),
    }
    deal = subprocess.run(
        [*sfa_command(home, "opp", "list", "--stage", TOGGLE[0], "--json")],
        capture_output=True,
        text=True,
        check=True,
    )
    deal_id = json.loads(deal.stdout)[0]["id"]
    moves = 0

    def move() -> None:
        nonlocal moves
        moves += 1
        subprocess.run(
            [*sfa_command(home, "opp", "stage", deal_id, TOGGLE[moves % 2])], check=True, capture_output=True
        )

    for command in commands.values():
        time_process(command, 1)  # warm-up: bytecode written, file pages cached, results kept
    cpu: dict[str, list[float]] = {"hello": []}
    wall: dict[str, list[float]] = {"hello": []}
    for _ in range(args.runs):
        for mode in MODES:
            for name in ("report", "backtest"):
                if mode == "cold":
                    (home / KEPT_FILES[name]).unlink(missing_ok=True)
                elif mode == "after a move":
                    move()
                figures = cpu_process(commands[name])
                cpu.setdefault(f"{name}|{mode}", []).append(figures[0])
                wall.setdefault(f"{name}|{mode}", []).append(figures[1])
                figures = cpu_process(commands["hello"])
                cpu["hello"].append(figures[0])
                wall["hello"].append(figures[1])
    hello_cpu = statistics.median(cpu["hello"])
    print(
        f"medians of {args.runs} runs; hello-world {hello_cpu * 1000:.0f} ms CPU, "
        f"{statistics.median(wall['hello']) * 1000:.0f} ms wall"
    )
    rows = []
    for name, label, limit in (
        ("report", "report forecast --range", 1.5),
        ("backtest", "forecast backtest --periods 8", 5.0),
    ):
        for mode in MODES:
            value = statistics.median(cpu[f"{name}|{mode}"])
            ratio = value / hello_cpu
            wall_ratio = statistics.median(wall[f"{name}|{mode}"]) / statistics.median(wall["hello"])
            rows.append(
                (
                    f"{label}, {mode}, CPU",
                    f"{value:.2f} s = {ratio:.1f}x (wall {wall_ratio:.1f}x)",
                    f"<= {limit:g}x",
                    ratio <= limit,
                )
            )
    report(rows)
    out = subprocess.run(
        [*sfa_command(home, "forecast", "backtest", "--json")], capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(out)
    methods = data["methods"]
    print(f"  best: {data['best']}")
    for name, figures in methods.items():
        print(f"    {name:<9} " + " ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
