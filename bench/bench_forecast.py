"""`sfa report forecast --range` and `sfa forecast backtest --periods 8` on a large store.

    python bench/bench_forecast.py [--runs 3] [--contacts 100000] [--deals 20000]

The store (made once, kept in bench/.data/): the benchmarks' large store of ``--contacts`` contacts
(bench/gen_store.py, no opportunities of its own) plus ``--deals`` simulated opportunities over the
last 30 months with their stage changes (`sfa demo --history 24m`, scaled). Each command runs as a
whole process, interleaved with the bare Typer hello-world; the ratios are against it (issue 16:
at most 1.5x for the report, 5x for the backtest). Also prints the backtest's goals on that store.
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

from bench.common import DATA, cpu_process, hello_command, interleaved, report, sfa_command
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=20_000)
    args = parser.parse_args()
    home = forecast_store(args.contacts, args.deals)
    commands = {
        "hello": hello_command(),
        "report": sfa_command(home, "report", "forecast", "--by", "quarter", "--range"),
        "backtest": sfa_command(home, "forecast", "backtest", "--periods", "8"),
    }
    times = interleaved(commands, args.runs)
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            cpu[name].append(cpu_process(command)[0])
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    hello = times["hello"]
    report_ratio, backtest_ratio = times["report"] / hello, times["backtest"] / hello
    print(f"medians of {args.runs} runs, hello-world {hello * 1000:.0f} ms wall")
    hello_cpu = cpu_median["hello"]
    report(
        [
            (
                f"{label}, CPU",
                f"{cpu_median[name]:.2f} s = {cpu_median[name] / hello_cpu:.1f}x",
                target,
                cpu_median[name] / hello_cpu <= limit,
            )
            for name, label, target, limit in (
                ("report", "report forecast --range", "<= 1.5x", 1.5),
                ("backtest", "forecast backtest --periods 8", "<= 5x", 5.0),
            )
        ]
        + [
            (
                "report forecast --range, wall",
                f"{times['report']:.2f} s = {report_ratio:.1f}x",
                "<= 1.5x",
                report_ratio <= 1.5,
            ),
            (
                "forecast backtest --periods 8, wall",
                f"{times['backtest']:.2f} s = {backtest_ratio:.1f}x",
                "<= 5x",
                backtest_ratio <= 5,
            ),
        ]
    )
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
