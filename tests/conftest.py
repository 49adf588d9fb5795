"""Shared fixtures: a fresh data home per test, and sfa run in-process (or as a real process)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sfa.store import keys
from sfa.store.workspace import Workspace


@dataclass
class Result:
    code: int
    out: str
    err: str
    # What ended the run: the SystemExit of every clean ending; with keep_exception=True also any
    # other exception (a traceback a user would see, code 1 as a process would exit with).
    exception: BaseException | None = None

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


def run_sfa(
    home: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    keep_exception: bool = False,
) -> Result:
    """`sfa --home HOME ARGS...` in this process, through the same entry point as the installed
    command (sfa.cli.main.run: parsing, the one error mapping, exit codes), stdout not a terminal.
    The one in-process runner of the suite: the `sfa` fixture, the fuzz test and the consistency
    tests all run the CLI through it.

    Far cheaper than a process, which is what lets the suite run hundreds of commands. The
    environment a process would get is set for the call (TZ applied with tzset) and restored;
    standard output is strict UTF-8 and standard error backslash-escapes, as a process's are. An
    exception other than SystemExit escapes, and fails the test, as a traceback would; with
    keep_exception=True it is kept in the result instead (code 1), for a test that reports it.
    """
    from sfa.cli.main import run

    wanted = _environment(env)
    patch: dict[str, str | None] = {k: v for k, v in wanted.items() if os.environ.get(k) != v}
    patch.update({k: None for k in os.environ if k not in wanted})
    code = 0
    ended: BaseException | None = None
    with _IN_PROCESS.isolation(input=input, env=patch) as (stdout, stderr, _output):
        time.tzset()
        try:
            run(["--home", str(home), *args])
        except SystemExit as exit_:
            ended = exit_
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException as exc:  # run() has closed the workspace on its way out
            if not keep_exception:
                raise
            ended, code = exc, 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            out, err = stdout.getvalue(), stderr.getvalue()
    time.tzset()
    return Result(code, _text(out), _text(err), ended)


def _text(data: bytes) -> str:
    """Bytes as subprocess.run(text=True) reads them: UTF-8, universal newlines."""
    return data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture(autouse=True)
def _fresh_local_zone() -> Iterator[None]:
    """`dates.local_zone` is cached for a process's life (a CLI run reads $TZ once); a test that sets
    $TZ, in-process or through `freeze`, must not leave its zone to the next test of the worker."""
    from sfa.domain import dates

    dates.local_zone.cache_clear()
    yield
    dates.local_zone.cache_clear()


@pytest.fixture(autouse=True)
def _keys_handled_not_slept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot's `press` sleeps after every key until the process has been idle for a 20 ms slice of
    wall-clock time, twice, so a test typing a word into a screen that searches as it types waits for
    each letter's search in turn. Instead each key waits until the app and every widget of the screen
    have handled what was queued, again until the screen and the focus stay put (a key the app
    forwards to the focused widget; a key that opens a form, whose screen mounts and takes the
    focus in later messages) — the key's handlers have run, as for a fast typist. A key that
    changed the screen or the focus also gets Pilot's idle wait. `pilot.pause()` keeps Textual's idle
    wait, and tests wait for what lands later (a thread's result, a timer) with it or with
    `tui_support.until`. `SFA_TEST_KEY_IDLE=1` restores Pilot's own wait (to compare)."""
    textual_app = sys.modules.get("textual.app")
    if textual_app is None or os.environ.get("SFA_TEST_KEY_IDLE"):
        return  # not a dashboard test: Textual is not even imported
    from textual._context import active_app
    from textual._wait import wait_for_idle as idle_wait
    from textual.pilot import Pilot

    async def handled(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        app = active_app.get()
        pilot = Pilot(app)
        before = (id(app.screen), len(app.screen_stack), id(app.focused))

        async def settle() -> None:
            settled = None
            for _ in range(20):
                await pilot._wait_for_screen()
                now = (id(app.screen), len(app.screen_stack), id(app.focused), app.screen.is_mounted)
                if now == settled:
                    return
                settled = now

        await settle()
        if (id(app.screen), len(app.screen_stack), id(app.focused)) != before:
            # The key opened or closed a screen, or moved the focus (Enter to the next field): a
            # new screen takes the focus after its first refresh, and a form's fields react to
            # the focus in later messages, so such a key also gets Pilot's own idle wait. Typing
            # into a field, the bulk of the keys, stays fast.
            await idle_wait(0)
            await settle()

    monkeypatch.setattr(textual_app, "wait_for_idle", handled)


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


def store_before(path: Path, migration: str) -> sqlite3.Connection:
    """A store file as the sfa before `migration` left it: every migration before it applied, the
    schema number set, a replica id, and a transaction left open for the test's rows (an upgrade
    test then commits, closes and opens it with today's sfa)."""
    from sfa.store.migrations import MIGRATIONS, execute_script

    conn = sqlite3.connect(path, isolation_level=None)
    keys.register(conn)  # the functions of the generated key columns (V_GENERATED_KEYS on)
    conn.execute("BEGIN")
    number = MIGRATIONS.index(migration)
    for script in MIGRATIONS[:number]:
        execute_script(conn, script)
    conn.execute("INSERT INTO meta VALUES ('replica_id', '00112233aabbccdd')")
    conn.execute(f"PRAGMA user_version = {number}")
    return conn


def insert_old_accounts(conn: sqlite3.Connection, clocks: dict[str, str]) -> None:
    """Into a `store_before` file: one account per entry, named by its key, with the clocks text an
    older sfa wrote (the upgrade tests' rows)."""
    for number, (name, text) in enumerate(clocks.items(), 1):
        conn.execute(
            "INSERT INTO account(id, handle, name, clocks, created_at, updated_at) VALUES (?, ?, ?, ?, 'x', 'x')",
            (f"01a20000-0000-7000-8000-00000000000{number}", f"00000000000{number}", name, text),
        )


# -- helpers of the tests that run many commands (fuzz, consistency) -----------------------------


def store_digest(home: Path) -> str:
    """A digest of every row of every table of the store (the outbox and the history included),
    and of the settings file: equal digests mean nothing was written."""
    digest = hashlib.sha256()
    db = home / "sfa.db"
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        keys.register(conn)  # `SELECT *` computes the generated key columns (sfa/store/keys.py)
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


# -- the order tests are handed out in ------------------------------------------------------------

# The suite runs on every core (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml), each test
# handed to whichever worker is free. A long test handed out last keeps one worker busy while the
# others have nothing left, so the longest known tests go first (longest-processing-time-first);
# the rest keep pytest's order. A name here that no longer matches only loses that head start.
# docs/performance.md, "Test suite".
LONGEST_FIRST = (
    "tests/sync/test_sync_stateful.py::",
    "tests/test_tui_search.py::test_typing_every_prefix_of_common_words_keeps_the_app_alive",
    "tests/test_tui_fuzz.py::",
    "tests/test_tui_paperwork.py::test_random_keys_on_the_new_screens_never_crash",
    "tests/sync/test_sync_random.py::",
    "tests/sync/test_documents_scale.py::",
    "tests/test_readme_tour.py::test_the_readme_tour_runs_as_shown",
    "tests/sync/test_server_service.py::",
    "tests/sync/test_server_fuzz.py::",
)


def pytest_configure(config: pytest.Config) -> None:
    """Compile sfa's modules once, in the controller, before the workers start: where
    PYTHONDONTWRITEBYTECODE is set (as on this machine) a fresh clone has no bytecode for them, and
    every worker and every server or CLI process a test starts compiled them again (0.15 s of CPU
    for the server and dashboard modules each time). Python reads bytecode even when it may not
    write it; installed packages got theirs from pip."""
    share_parsed_css()
    if hasattr(config, "workerinput"):
        return  # a worker: the controller has done it
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "sfa"), quiet=2)


def share_parsed_css() -> None:
    """Parse each dashboard stylesheet once per test process, not once per app. Textual caches what
    it parsed in each app's `Stylesheet`, and every test starts a new app, so every test parsed the
    same CSS again (about 6 % of a dashboard test's CPU). The key holds all that the parse reads
    (the text, where it came from, its kind and scope, and the theme's variables); the parsed rules
    are only read once made. A user's `sfa dashboard` starts one app: nothing changes for it."""
    from textual.css.stylesheet import Stylesheet

    parse = Stylesheet._parse_rules
    parsed: dict[tuple[Any, ...], Any] = {}

    def shared(
        self: Stylesheet,
        css: str,
        read_from: Any,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> Any:
        key = (css, read_from, is_default_rules, tie_breaker, scope, tuple(sorted(self._variables.items())))
        if key not in parsed:
            parsed[key] = parse(self, css, read_from, is_default_rules, tie_breaker, scope)
        return parsed[key]

    Stylesheet._parse_rules = shared  # type: ignore[method-assign]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (the configured default): one worker per core plus one. Much of a test's time is
    waiting (a server or PostgreSQL starting, a sync round trip through the fault proxy, a dashboard
    frame), and an extra worker computes meanwhile: on 2 cores the whole suite took 363-370 s with
    2 workers and 320 s with 3 (docs/performance.md)."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        for place, prefix in enumerate(LONGEST_FIRST):
            if item.nodeid.startswith(prefix):
                return place
        return len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the others keep their order
