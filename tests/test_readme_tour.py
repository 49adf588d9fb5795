"""README.md's five-minute tour is a test: its `$ sfa ...` lines run in order, in one fresh home, and
print what the README shows.

Each `$ ` line of the tour's code blocks (with its `\\` continuation lines) runs in bash, with HOME
a temporary folder standing for /home/anna, USER anna, `sfa` on PATH, and ~ as the working folder,
holding the files the tour reads (tests/fixtures/tour/). The lines below a command, up to the next `$ `, are its expected output (stdout and
stderr as a terminal shows them, interleaved). What differs from run to run is matched by pattern:
record refs and ids, quote numbers (they carry a per-laptop code), tokens and sync timestamps. The
value a README ref stands for is taken from the line that printed it and put into the later commands
that use it (`sfa lead qualify 36a338` runs with the ref this run printed). A line that is only `…`
stands for any number of left-out lines. A command exits 0, or non-zero when its output shows
`sfa: error:`, or the N its comment names (`# ... exit 3`).

The clock is the README's: each command runs at 2026-11-23 07:20 Europe/Berlin (a Monday), STEP
later than the one before, through time-machine, so dates, weekdays, overdue tasks and the demo's
agenda are those the README shows. The clock ticks while a command runs; STEP is longer than any
command takes, so every command starts later than the one before ended, as a person typing them
would (the sync conflict depends on which edit came last), and short enough that the timeline of
the tour's first commands still reads 07:20.

Two shell lines are understood: `CMD &` starts a background process (the sync server; the port is a
free one in place of the README's) and `kill %1` stops it.

To see what the tour prints today (to update the README after a change of output):

    .venv/bin/python -m tests.test_readme_tour
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "tour"
START = datetime(2026, 11, 23, 7, 20, tzinfo=ZoneInfo("Europe/Berlin"))
STEP = timedelta(seconds=5)
README_HOME = "/home/anna"
README_PORT = "8765"

# What differs between runs, as (pattern, bind): a bound token in the README stands for one value
# of this run, substituted into later commands; an unbound one matches anything of its shape.
TOKENS: list[tuple[str, bool]] = [
    (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", True),  # a record id
    (r"Q-\d{4}-[0-9A-Z]{4}-\d{4}", True),  # a quote number: year, laptop code, counter
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", False),  # a sync timestamp
    (r"(?<![\w-])[A-Za-z0-9_-]{43}(?![\w-])", True),  # a server user's token (32 bytes, base64url)
    (r"(?<![\w.,:+/-])[0-9a-f]{6,16}(?![\w.,:/-])", True),  # a ref (6 hex digits), an 8-digit one, an epoch
]
TOKEN = re.compile("|".join(f"({pattern})" for pattern, _ in TOKENS))

SFA_WRAPPER = """#!{python}
# `sfa` at the README's clock: SFA_TOUR_NOW (ISO), ticking from there.
import os
import sys
from datetime import datetime

# time_machine imports pytest, if it can, for its fixture: 150 ms of each of the tour's commands.
sys.modules["pytest"] = None
import time_machine

del sys.modules["pytest"]

with time_machine.travel(datetime.fromisoformat(os.environ["SFA_TOUR_NOW"]), tick=True):
    from sfa.cli.launch import run

    run()
"""


@dataclass
class Step:
    line: int  # in README.md
    command: str
    expected: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int | None:
        """The exit code the README promises: its comment's `exit N`, else 0 unless it shows an error
        (None: any non-zero)."""
        named = re.search(r"#[^\n]*\bexit (\d+)", self.command)
        if named:
            return int(named.group(1))
        return None if any(line.startswith("sfa: error:") for line in self.expected) else 0


def tour_steps(readme: str) -> list[Step]:
    """The `$ ` lines of the code blocks between '## A five-minute tour' and the next '## '."""
    section = re.search(r"^## A five-minute tour\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section is not None, "README.md has no '## A five-minute tour' section"
    first_line = readme[: section.start(1)].count("\n") + 1
    steps: list[Step] = []
    current: Step | None = None  # the command whose output the block shows now
    in_block = False
    continued = False
    for number, text in enumerate(section.group(1).split("\n"), start=first_line):
        if text.startswith("```"):
            in_block = not in_block
            current = None  # a block without commands (the dashboard's screen) is not run
            continue
        if not in_block:
            continue
        if continued and current is not None:
            current.command += "\n" + text
            continued = text.endswith("\\")
        elif text.startswith("$ "):
            current = Step(number, text[2:])
            steps.append(current)
            continued = text.endswith("\\")
        elif current is not None:
            current.expected.append(text)
    for step in steps:
        while step.expected and not step.expected[-1].strip():
            step.expected.pop()
    return steps


class Tour:
    """One run of the tour: the temporary /home/anna, the work folder, the refs seen so far."""

    def __init__(self, tmp: Path) -> None:
        self.home = tmp / "anna"
        self.work = self.home  # the tour runs in ~, where its files are
        self.work.mkdir(parents=True)
        for path in FIXTURES.iterdir():
            shutil.copy(path, self.work / path.name)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "sfa"
        wrapper.write_text(SFA_WRAPPER.format(python=sys.executable))
        wrapper.chmod(0o755)
        self.port = str(_free_port())
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SFA_", "XDG_"))},
            "HOME": str(self.home),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",  # stdout and stderr interleave as in a terminal
            "TZ": "Europe/Berlin",
            "NO_COLOR": "1",
            "LC_ALL": "C.UTF-8",
            "USER": "anna",  # a record's owner
            "LOGNAME": "anna",
        }
        self.bound: dict[str, str] = {README_HOME: str(self.home), README_PORT: self.port}
        self.background: subprocess.Popen[bytes] | None = None
        self.count = 0

    def substitute(self, text: str) -> str:
        for readme_value, ours in sorted(self.bound.items(), key=lambda item: -len(item[0])):
            text = re.sub(rf"(?<![\w-]){re.escape(readme_value)}(?![\w-])", ours, text)
        return text

    def run(self, step: Step) -> tuple[int, str]:
        command = self.substitute(step.command)
        env = {**self.env, "SFA_TOUR_NOW": (START + STEP * self.count).isoformat()}
        self.count += 1
        if re.match(r"^kill %1\s*(#.*)?$", command):
            self.stop_background()
            return 0, ""
        background = re.match(r"^(.*?)&\s*(#.*)?$", command, re.S)
        if background and not background.group(1).rstrip().endswith("&"):
            assert self.background is None, f"README line {step.line}: a second background process"
            self.background = subprocess.Popen(
                ["bash", "-c", f"exec {background.group(1)}"],
                cwd=self.work,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            _wait_for_port(int(self.port), self.background)
            return 0, ""
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=self.work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        return proc.returncode, proc.stdout.decode("utf-8", "replace")

    def stop_background(self) -> None:
        if self.background is not None:
            self.background.terminate()
            self.background.wait(timeout=30)
            self.background = None

    def matches(self, expected: list[str], actual: list[str]) -> str | None:
        """None when the output has the README's shape (binding refs as it goes), else what differs."""
        position = 0
        skipping = False
        for wanted in expected:
            if wanted.strip() == "…":
                skipping = True
                continue
            while True:
                if position >= len(actual):
                    return f"missing line {wanted!r}"
                found = self._match_line(self.substitute_home(wanted).rstrip(), actual[position])
                position += 1
                if found:
                    skipping = False
                    break
                if not skipping:
                    return f"expected {wanted!r}\n     got {actual[position - 1]!r}"
        if position < len(actual) and not skipping:
            return f"unexpected line {actual[position]!r}"
        return None

    def substitute_home(self, line: str) -> str:
        return line.replace(README_HOME, str(self.home)).replace(f":{README_PORT}", f":{self.port}")

    def _match_line(self, wanted: str, got: str) -> bool:
        parts: list[str] = []
        binds: list[tuple[int, str]] = []
        last = 0
        group = 0
        for token in TOKEN.finditer(wanted):
            parts.append(re.escape(wanted[last : token.start()]))
            kind = next(i for i, value in enumerate(token.groups()) if value is not None)
            pattern, bind = TOKENS[kind]
            value = token.group(0)
            if bind and value in self.bound:
                parts.append(re.escape(self.bound[value]))
            else:
                group += 1
                parts.append(f"({pattern})")
                if bind:
                    binds.append((group, value))
            last = token.end()
        parts.append(re.escape(wanted[last:]))
        found = re.fullmatch("".join(parts), got.rstrip())  # trailing tabs: empty last columns
        if found is None:
            return False
        for index, readme_value in binds:
            ours = found.group(index)
            taken = [key for key, value in self.bound.items() if value == ours and key != readme_value]
            if taken:  # two README refs for one record: the README contradicts itself
                return False
            self.bound[readme_value] = ours
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the background process ended with {proc.returncode}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def run_tour(tmp: Path) -> Iterator[tuple[Step, int, str, Tour]]:
    tour = Tour(tmp)
    try:
        for step in tour_steps((ROOT / "README.md").read_text(encoding="utf-8")):
            code, out = tour.run(step)
            yield step, code, out, tour
    finally:
        tour.stop_background()


def test_the_readme_tour_runs_as_shown(tmp_path: Path) -> None:
    steps = 0
    for step, code, out, tour in run_tour(tmp_path):
        steps += 1
        where = f"README.md line {step.line}: $ {step.command}"
        actual = out.rstrip("\n").split("\n") if out.strip() else []
        wanted = step.exit_code
        if wanted is None:
            assert code != 0, f"{where}\nexited 0, the README shows an error; printed:\n{out}"
        else:
            assert code == wanted, f"{where}\nexited {code}, not {wanted}; printed:\n{out}"
        differs = tour.matches(step.expected, actual)
        assert differs is None, f"{where}\n{differs}\nprinted:\n{out}"
    assert steps >= 40, f"only {steps} tour commands found in README.md"


def test_a_changed_output_fails_the_tour(tmp_path: Path) -> None:
    """The matcher is not blind: a different name, a missing line, an extra line each fail."""
    tour = Tour(tmp_path)
    assert tour.matches(["lead 36a338 added: Hans Müller"], ["lead 0a1b2c added: Hans Müller"]) is None
    assert tour.bound["36a338"] == "0a1b2c"
    assert tour.matches(["lead 36a338 qualified"], ["lead 0a1b2d qualified"]) is not None  # bound
    assert tour.matches(["lead 5316b9 added: Eva"], ["lead 0a1b2d added: Hans"]) is not None
    assert tour.matches(["lead 5316b9 added"], ["lead 0a1b2c added"]) is not None  # 36a338's record
    assert tour.matches(["a", "b"], ["a"]) is not None
    assert tour.matches(["a"], ["a", "b"]) is not None
    assert tour.matches(["a", "  …", "z"], ["a", "b", "c", "z"]) is None
    assert tour.substitute("sfa lead qualify 36a338 # 36a3389") == "sfa lead qualify 0a1b2c # 36a3389"


if __name__ == "__main__":  # print what the tour prints now, in the README's form
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for step, code, out, tour in run_tour(Path(tmp)):
            status = "" if code == 0 else f"   [exit {code}]"
            print(f"$ {step.command}{status}")
            text = out.replace(str(tour.home), README_HOME).replace(f":{tour.port}", f":{README_PORT}")
            for readme_value, ours in tour.bound.items():
                if readme_value not in (README_HOME, README_PORT):
                    text = text.replace(ours, readme_value)
            print(text, end="" if text.endswith("\n") or not text else "\n")
            actual = out.rstrip("\n").split("\n") if out.strip() else []
            differs = tour.matches(step.expected, actual)
            if differs:
                print(f"!!! README.md line {step.line}: {differs}")
