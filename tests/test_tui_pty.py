"""`sfa dashboard` in a real pseudo-terminal: paint, keys, quit, and the terminal left as found."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.tui_support import load_fixture

ALT_ON, ALT_OFF = "\x1b[?1049h", "\x1b[?1049l"


class Terminal:
    """A pexpect child whose output is fed to a terminal emulator, so the test reads the screen."""

    def __init__(self, home: Path, args: list[str] | None = None) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "TZ": "UTC", "COLUMNS": "80", "LINES": "24"}
        env.pop("NO_COLOR", None)
        args = args or ["-m", "sfa", "--home", str(home), "dashboard"]
        self.child = pexpect.spawn(
            sys.executable,
            args,
            env=env,
            dimensions=(24, 80),
            encoding="utf-8",
            codec_errors="replace",
            timeout=60,
        )
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, *wanted: str, timeout: float = 60) -> str:
        """Read output until the screen shows every one of the texts (frames arrive in pieces)."""
        deadline = time.monotonic() + timeout
        while not all(text in self.text() for text in wanted):
            if time.monotonic() > deadline:
                raise AssertionError(f"{wanted!r} never appeared; the screen:\n{self.text()}")
            try:
                data = self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            self.raw += data
            self.stream.feed(data)
        return self.text()

    def idle(self, seconds: float = 0.4) -> None:
        """Read output for a moment: keys that move the focus are followed by typing only once the
        app has moved it (a key that arrives earlier goes to the field that still has the focus,
        as it would for a person typing ahead faster than the app answers)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.1)
            except pexpect.TIMEOUT:
                continue
            self.raw += data
            self.stream.feed(data)

    def drain(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=10)
            except pexpect.EOF:
                return
            self.raw += data


def test_dashboard_in_a_pseudo_terminal(home: Path) -> None:
    load_fixture(home, today=date.today())  # the dashboard runs on the real clock here
    term = Terminal(home)
    try:
        term.wait_for("1 Today", "Deals closing", "pending")  # navigation, body, status bar
        term.child.send("2")
        term.wait_for("qualification (2)", "> On")  # the footer shows the keys that apply here
        term.child.send("4")
        term.wait_for("Nina Vogel")
        term.child.send("\x11")  # ctrl+q
        term.drain()
    finally:
        term.child.close()
    assert term.child.exitstatus == 0, term.raw[-500:]
    # the alternate screen was entered and left again, and left last
    assert ALT_ON in term.raw and ALT_OFF in term.raw
    assert term.raw.rindex(ALT_OFF) > term.raw.rindex(ALT_ON)
    assert term.raw.rfind("\x1b[?1000l") > term.raw.rfind("\x1b[?1000h")  # mouse reporting off
    assert term.raw.rfind("\x1b[?25h") > term.raw.rfind("\x1b[?25l")  # cursor shown again


def test_only_a_bare_dashboard_start_skips_the_command_parser() -> None:
    from sfa.cli.launch import dashboard_home

    assert dashboard_home(["dashboard"]) == (True, None)
    assert dashboard_home(["--home", "/x", "dashboard"]) == (True, "/x")
    assert dashboard_home(["--home=/x", "dashboard"]) == (True, "/x")
    for other in (["dashboard", "--help"], ["dashboard", "x"], ["lead", "list"], [], ["--home", "/x"]):
        assert dashboard_home(other) == (False, None)


# The two ways into the dashboard: `sfa [--home DIR] dashboard` skips the command parser
# (sfa/cli/launch.py); any other spelling goes through it (sfa/cli/dashboard.py). Both end the same.
ENTRIES = {
    "fast-path": lambda home: ["-m", "sfa", "--home", str(home), "dashboard"],
    "command-parser": lambda home: [
        "-c",
        "import sys; from sfa.cli.main import run; run(sys.argv[1:])",
        "--home",
        str(home),
        "dashboard",
    ],
}
ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def run_in_pty(args: list[str], shell: str | None = None) -> tuple[int, str]:
    """Run `python ARGS` in an 80x24 pseudo-terminal to the end: (exit status, all it wrote)."""
    env = {**os.environ, "TERM": "xterm-256color", "TZ": "UTC"}
    if shell is None:
        child = pexpect.spawn(
            sys.executable,
            args,
            env=env,
            dimensions=(24, 80),
            encoding="utf-8",
            codec_errors="replace",
            timeout=60,
        )
    else:
        child = pexpect.spawn(
            "/bin/sh",
            ["-c", shell],
            env=env,
            dimensions=(24, 80),
            encoding="utf-8",
            codec_errors="replace",
            timeout=60,
        )
    out = child.read()
    child.close()
    return child.exitstatus, out


def lines_after_the_app(raw: str) -> list[str]:
    """What is left on the terminal after the app's last frame: the text after the alternate
    screen was left, without the escape codes that restore the terminal."""
    tail = raw[raw.rindex(ALT_OFF) + len(ALT_OFF) :] if ALT_OFF in raw else raw
    return [line for line in ESCAPE.sub("", tail).replace("\r", "").split("\n") if line.strip()]


def assert_terminal_restored(raw: str) -> None:
    assert ALT_ON in raw and raw.rindex(ALT_OFF) > raw.rindex(ALT_ON)
    assert raw.rfind("\x1b[?1000l") > raw.rfind("\x1b[?1000h")  # mouse reporting off
    assert raw.rfind("\x1b[?25h") > raw.rfind("\x1b[?25l")  # cursor shown again


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_crash_restores_the_terminal_writes_a_log_and_exits_1(home: Path, entry: str) -> None:
    """An error nobody handled, in the middle of a session: the data file lost a table after the
    dashboard started (damaged, or changed by another program). Opening Quotes reads it."""
    load_fixture(home, today=date.today())
    term = Terminal(home, ENTRIES[entry](home))
    try:
        term.wait_for("1 Today", "Deals closing")
        with sqlite3.connect(home / "sfa.db") as db:
            db.execute("DROP TABLE quote_line")
        term.child.send("5")
        term.drain()
    finally:
        term.child.close()
    assert term.child.exitstatus == 1, term.raw[-800:]
    assert_terminal_restored(term.raw)
    logs = sorted(home.glob("crash-*.log"))
    assert len(logs) == 1 and re.fullmatch(r"crash-\d{8}-\d{6}\.log", logs[0].name)
    log = logs[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "no such table: quote_line" in log
    assert "sfa/tui/screens/quotes.py" in log  # where it happened
    shown = lines_after_the_app(term.raw)
    assert shown == [
        "sfa: error: the dashboard stopped on an unexpected error (OperationalError: no such table: "
        f"quote_line); the traceback is in {logs[0]}"
    ], shown
    assert "Traceback" not in ESCAPE.sub("", term.raw)  # not on the terminal: in the log


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_crash_at_start_up_is_one_line_and_exit_1(home: Path, entry: str) -> None:
    load_fixture(home, today=date.today())
    with sqlite3.connect(home / "sfa.db") as db:
        db.execute("DROP TABLE task")  # Today reads the tasks due before its first paint
    status, raw = run_in_pty(ENTRIES[entry](home))
    assert status == 1, raw[-800:]
    assert_terminal_restored(raw)
    (log,) = home.glob("crash-*.log")
    assert "no such table: task" in log.read_text(encoding="utf-8")
    assert lines_after_the_app(raw) == [
        "sfa: error: the dashboard stopped on an unexpected error (OperationalError: no such table: task); "
        f"the traceback is in {log}"
    ]


@pytest.mark.parametrize("entry", ENTRIES)
def test_dashboard_refuses_an_output_that_is_not_a_terminal(tmp_path: Path, entry: str) -> None:
    """`sfa dashboard > file`: one line, exit 2, and nothing created (not even the data home)."""
    home = tmp_path / "new-home"
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout:
        done = subprocess.run(
            [sys.executable, *ENTRIES[entry](home)],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert out.read_text() == ""  # no escape codes written into the file
    assert (
        done.stderr.startswith("sfa: error: dashboard: the output is not a terminal")
        and done.stderr.count("\n") == 1
    )
    assert not home.exists()


@pytest.mark.parametrize("entry", ENTRIES)
def test_dashboard_refuses_an_input_that_is_not_a_terminal(tmp_path: Path, entry: str) -> None:
    home = tmp_path / "new-home"
    command = " ".join(shlex.quote(part) for part in [sys.executable, *ENTRIES[entry](home)])
    status, raw = run_in_pty([], shell=f"exec {command} < /dev/null")
    assert status == 2
    assert ALT_ON not in raw
    assert [line.strip() for line in raw.splitlines() if line.strip()] == [
        "sfa: error: dashboard: the input is not a terminal; run `sfa dashboard` in a terminal "
        "(for scripts, every dashboard action is also a command with --json)"
    ]
    assert not home.exists()


@pytest.mark.parametrize("entry", ENTRIES)
def test_dashboard_on_a_bad_data_file_is_one_line_and_exit_1(tmp_path: Path, entry: str) -> None:
    (tmp_path / "sfa.db").write_bytes(b"not a database" * 100)
    status, raw = run_in_pty(ENTRIES[entry](tmp_path))
    assert status == 1 and ALT_ON not in raw  # refused before the app started
    lines = [line for line in raw.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sfa: error: cannot open data file")


def test_dashboard_help_goes_through_the_command_parser(tmp_path: Path) -> None:
    parsed = subprocess.run(
        [sys.executable, "-m", "sfa", "--home", str(tmp_path), "dashboard", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert parsed.returncode == 0 and "Usage: sfa dashboard" in parsed.stdout


def test_plan_a_visit_log_it_with_a_follow_up_and_quit(home: Path) -> None:
    """The rep's loop in a real terminal: Week, plan a visit (account picker, time), log it with a
    follow-up task, quit; the store has both and the terminal is left as found."""
    from sfa.services import tasks, visits
    from sfa.store.workspace import Workspace

    today = date.today()
    load_fixture(home, today=today)
    term = Terminal(home)
    try:
        term.wait_for("1 Today", "pending")
        term.child.send("8")
        term.wait_for("Week ", "n Plan")
        term.child.send("n")
        term.wait_for("Plan a visit at which account?")
        term.child.send("donau")
        term.wait_for("Donau Logistik ·")
        term.child.send("\r")
        term.wait_for("Plan a visit: Donau Logistik")
        term.child.send("\x15")  # ctrl+u: the proposed time goes
        term.wait_for("required")  # the field is empty (and has the focus)
        term.child.send(f"{today.isoformat()} 19:00")
        term.wait_for(f"{today.isoformat()} 19:00")
        term.child.send("\r")  # Enter: the next field (duration, kept)
        term.idle()
        term.child.send("\r")
        term.idle()
        term.child.send("tender walkthrough")
        term.wait_for("tender walkthrough")
        term.child.send("\x13")  # ctrl+s
        term.wait_for("visit planned")
        term.child.send("l")
        term.wait_for("Log visit: Donau Logistik")
        term.child.send("\x15")  # keys before the form has the focus are not typed anywhere:
        while not re.search(r"Outcome \*\s+x", term.text()):  # type one and wait for it
            term.child.send("x")
            try:
                term.wait_for("Outcome *             x", timeout=2)
            except AssertionError:
                continue
        term.child.send("\x7f")  # backspace: the outcome empty again
        term.wait_for("required")
        for text in ("tender likely", "\r", "\r", "Send the tender documents", "\r", "+2d"):
            term.child.send(text)
            if text == "\r":
                term.idle()
            else:
                term.wait_for(text)
        term.child.send("\x13")
        term.wait_for("visit logged; 1 follow-up")
        term.child.send("\x11")  # ctrl+q
        term.drain()
    finally:
        term.child.close()
    assert term.child.exitstatus == 0, term.raw[-500:]
    assert term.raw.rindex(ALT_OFF) > term.raw.rindex(ALT_ON)
    assert term.raw.rfind("\x1b[?1000l") > term.raw.rfind("\x1b[?1000h")
    assert term.raw.rfind("\x1b[?25h") > term.raw.rfind("\x1b[?25l")
    ws = Workspace(home)
    try:
        [visit] = [r["visit"] for r in visits.agenda(ws, today, today) if r["account"] == "Donau Logistik"]
        assert (visit["status"], visit["outcome"], visit["purpose"]) == (
            "done",
            "tender likely",
            "tender walkthrough",
        )
        [task] = [t for t in tasks.list_tasks(ws, "open") if t["title"] == "Send the tender documents"]
        assert task["visit_id"] == visit["id"]
    finally:
        ws.close()
