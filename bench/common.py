"""Helpers shared by the benchmarks: timing whole processes against the bare Typer baseline."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
PYTHON = sys.executable


def sfa_command(home: Path, *args: str) -> list[str]:
    return [PYTHON, "-m", "sfa", "--home", str(home), *args]


def hello_command() -> list[str]:
    return [PYTHON, str(BENCH / "hello_typer.py")]


def time_process(command: Sequence[str], runs: int, stdin: str | None = None) -> list[float]:
    """Wall seconds of each run; stdout is a pipe, as in a script."""
    env = {**os.environ, "NO_COLOR": "1"}
    # Time programs as installed: with their bytecode cached. (Some sandboxes set this variable,
    # which makes every process recompile every module: baseline and sfa alike, but not evenly.)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, cwd=ROOT)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.strip()}")
    return samples


def cpu_process(command: Sequence[str]) -> tuple[float, float]:
    """(CPU seconds, user + system, and wall seconds) of one run; stdout is a pipe, as in a script.

    CPU time is what a command costs the machine, whatever else runs: on a shared, loaded machine it
    says what wall time cannot."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time_process(command, 1)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def interleaved(commands: dict[str, Sequence[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command, runs interleaved so machine noise hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():
        time_process(command, 1)  # warm-up: bytecode written, file pages cached
    for _ in range(runs):
        for name, command in commands.items():
            samples[name] += time_process(command, 1)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(rows: list[tuple[str, str, str, bool]]) -> None:
    """rows: (what, figure, target, met)"""
    width = max(len(r[0]) for r in rows)
    for what, figure, target, met in rows:
        print(f"  {what:<{width}}  {figure:>22}  target {target:<12} {'ok' if met else 'MISSED'}")
