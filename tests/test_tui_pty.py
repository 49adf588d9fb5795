"""`sfa dashboard` in a real pseudo-terminal: paint, keys, quit, and the terminal left as found."""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

import pexpect
import pyte

from tests.tui_support import load_fixture

ALT_ON, ALT_OFF = "\x1b[?1049h", "\x1b[?1049l"


class Terminal:
    """A pexpect child whose output is fed to a terminal emulator, so the test reads the screen."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "TZ": "UTC", "COLUMNS": "80", "LINES": "24"}
        env.pop("NO_COLOR", None)
        self.child = pexpect.spawn(sys.executable, ["-m", "sfa", "--home", str(home), "dashboard"], env=env,
                                   dimensions=(24, 80), encoding="utf-8", codec_errors="replace", timeout=60)  # fmt: skip
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
        term.wait_for("qualification (2)", "Stage on")  # the footer shows the keys that apply here
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


def test_dashboard_on_a_bad_data_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    import subprocess

    (tmp_path / "sfa.db").write_bytes(b"not a database" * 100)
    for args in (["--home", str(tmp_path), "dashboard"], [f"--home={tmp_path}", "dashboard"]):
        done = subprocess.run(
            [sys.executable, "-m", "sfa", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.startswith("sfa: error: cannot open data file") and done.stderr.count("\n") == 1
    parsed = subprocess.run([sys.executable, "-m", "sfa", "--home", str(tmp_path), "dashboard", "--help"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert parsed.returncode == 0 and "Usage: sfa dashboard" in parsed.stdout
