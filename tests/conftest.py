"""Shared fixtures: a fresh data home per test, and sfa run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sfa.store.workspace import Workspace


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Result]


def run_sfa(home: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run `python -m sfa --home HOME ARGS...` as a process, stdout not a terminal."""
    full_env = {**os.environ, "NO_COLOR": "1", "TZ": os.environ.get("TZ", "Europe/Berlin")}
    full_env.pop("SFA_HOME", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(home), *args],
        input=input,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


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
