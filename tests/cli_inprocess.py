"""sfa run inside the test process: the real entry point (sfa.cli.main.run, with its one error
mapping), stdin/stdout/stderr swapped for buffers. Used where hundreds of runs make a process each
too slow (tests/test_cli_fuzz.py, tests/test_cli_consistency.py).

Unlike tests.conftest.run_sfa, an exception that escapes `run` is not turned into an exit code: it
is kept in `exception`, so a test can tell the one allowed ending (SystemExit) from a traceback.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class InProcessResult:
    code: int | None
    out: str
    err: str
    exception: BaseException | None  # what ended the run: SystemExit, or anything else (a bug)


def run_in_process(home: Path, *args: str, stdin: str = "") -> InProcessResult:
    """`sfa --home HOME ARGS...` in this process; standard input is `stdin` (empty by default)."""
    from sfa.cli import main

    out, err = io.StringIO(), io.StringIO()
    raw_in = io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = raw_in, out, err
    exception: BaseException | None = None
    code: int | None = None
    try:
        main.run(["--home", str(home), *args])
    except SystemExit as exc:
        exception = exc
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # a traceback a user would see; the test reports it
        exception = exc
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        from sfa.cli.common import close_workspace

        close_workspace()
    return InProcessResult(code, out.getvalue(), err.getvalue(), exception)


def store_digest(home: Path) -> str:
    """A digest of every row of every table of the store (the outbox and the history included),
    and of the settings file: equal digests mean nothing was written."""
    digest = hashlib.sha256()
    db = home / "sfa.db"
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            tables = [
                r[0]
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            ]
            for table in tables:
                digest.update(table.encode())
                for row in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                    digest.update(row.encode())
        finally:
            conn.close()
    config = home / "config.toml"
    if config.exists():
        digest.update(config.read_bytes())
    return digest.hexdigest()


def copy_home(template: Path, target: Path) -> Path:
    """A fresh copy of a data home (the store and its settings), to spoil in one test."""
    import shutil

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target)
    return target


def _walk(command: Any, path: tuple[str, ...], ctx: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), (*path, name), ctx)
    else:
        yield path, command


def command_tree() -> dict[tuple[str, ...], Any]:
    """Every leaf command of `sfa`, by its path (("lead", "add"), ("search",) ...)."""
    import typer

    from sfa.cli.main import app

    root = typer.main.get_command(app)
    ctx = root.make_context("sfa", [], resilient_parsing=True)
    return dict(_walk(root, (), ctx))
