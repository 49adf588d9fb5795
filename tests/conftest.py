"""Shared fixtures: a fresh data home per test, and sfa run in-process (or as a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfa.store.workspace import Workspace


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Result]


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    full_env = {**os.environ, "NO_COLOR": "1", "TZ": os.environ.get("TZ", "Europe/Berlin")}
    full_env.pop("SFA_HOME", None)
    full_env.update(env or {})
    return full_env


def run_sfa_process(
    home: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> Result:
    """Run `python -m sfa --home HOME ARGS...` as a process, stdout not a terminal. For what only a
    process shows: the entry point, import hygiene, signals, a crash's exit."""
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(home), *args],
        input=input,
        capture_output=True,
        text=True,
        env=_environment(env),
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


_IN_PROCESS = CliRunner()


def run_sfa(home: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """`sfa --home HOME ARGS...` in this process, through the same entry point as the installed
    command (sfa.cli.main.run: parsing, the one error mapping, exit codes), stdout not a terminal.

    Far cheaper than a process, which is what lets the suite run hundreds of commands. The
    environment a process would get is set for the call (TZ applied with tzset) and restored. An
    exception other than SystemExit escapes, and fails the test, as a traceback would.
    """
    from sfa.cli.main import run

    wanted = _environment(env)
    patch: dict[str, str | None] = {k: v for k, v in wanted.items() if os.environ.get(k) != v}
    patch.update({k: None for k in os.environ if k not in wanted})
    code = 0
    with _IN_PROCESS.isolation(input=input, env=patch) as (stdout, stderr, _output):
        time.tzset()
        try:
            run(["--home", str(home), *args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            out, err = stdout.getvalue(), stderr.getvalue()
    time.tzset()
    return Result(code, _text(out), _text(err))


def _text(data: bytes) -> str:
    """Bytes as subprocess.run(text=True) reads them: UTF-8, universal newlines."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def sfa(home: Path) -> Runner:
    def runner(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        return run_sfa(home, *args, input=input, env=env)

    return runner


@pytest.fixture
def ws(home: Path) -> Any:
    workspace = Workspace(home)
    yield workspace
    workspace.close()


# -- the order tests are handed out in ------------------------------------------------------------

# The suite runs on every core (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml), each test
# handed to whichever worker is free. A long test handed out last keeps one worker busy while the
# others have nothing left, so the longest known tests go first (longest-processing-time-first);
# the rest keep pytest's order. A name here that no longer matches only loses that head start.
# docs/performance.md, "Test suite".
LONGEST_FIRST = (
    "tests/test_tui_search.py::test_typing_every_prefix_of_common_words_keeps_the_app_alive",
    "tests/sync/test_sync_stateful.py::",
    "tests/test_readme_tour.py::test_the_readme_tour_runs_as_shown",
    "tests/sync/test_sync_random.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        for place, prefix in enumerate(LONGEST_FIRST):
            if item.nodeid.startswith(prefix):
                return place
        return len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the others keep their order
