"""Smoke test of sfa as a user installs it: a wheel, installed with the `server` extra into a fresh
venv, run from a folder where the source tree is not importable.

    .venv/bin/python .ci/smoke_wheel.py            # what .ci/run does (after the README's tests)

The driver runs under a Python that has pexpect, pyte and pypdf (the dev extra); sfa itself runs only
from the fresh venv's `bin/sfa`, and the script checks that `import sfa` there resolves inside that
venv. Checks: every non-Python file under sfa/ is in the wheel and the installed copy; `sfa demo`;
`sfa dashboard` in a pseudo-terminal paints Today and quits on ctrl+q with exit 0; `sfa quote export`
writes a PDF that pypdf reads, and with `--attach-datasheets` appends a product's datasheet (pypdf
is a runtime dependency for that); `sfa server init` creates a server database. Exits 1 on the first
failure, naming it. KEEP=1 keeps the temporary folder for a look afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pexpect
import pyte
from pypdf import PdfReader, PdfWriter

REPO = Path(__file__).resolve().parent.parent


class SmokeFailure(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


def step(title: str) -> None:
    print(f"smoke: {title}", flush=True)


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], ok: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if ok and proc.returncode != 0:
        raise SmokeFailure(
            f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n"
            f"--- stderr\n{proc.stderr[-3000:]}"
        )
    return proc


def data_files() -> list[str]:
    """Files under sfa/ that are not Python source: each must ship (the code reads them at run time)."""
    found = []
    for path in sorted((REPO / "sfa").rglob("*")):
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts:
            found.append(path.relative_to(REPO).as_posix())
    return found


def clean_copy(tmp: Path, env: dict[str, str]) -> Path:
    """The files of a fresh clone (tracked or new, not ignored): a build in the work tree would also
    pack what a stale sfa.egg-info/SOURCES.txt lists, hiding a file missing from the package data."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, env=env)
    source = tmp / "src"
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    return source


def build_wheel(tmp: Path, env: dict[str, str]) -> Path:
    step("building the wheel (pip wheel --no-deps) from a clean copy of the tree")
    dist = tmp / "dist"
    source = clean_copy(tmp, env)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        cwd=tmp,
        env=env,
    )
    wheels = list(dist.glob("sfa-*.whl"))
    check(len(wheels) == 1, f"expected one sfa wheel in {dist}, found {wheels}")
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for name in data_files():
        check(name in names, f"{name} is not in the wheel: declare it as package data in pyproject.toml")
    return wheels[0]


def install(tmp: Path, wheel: Path, env: dict[str, str]) -> Path:
    step("installing it with the server extra into a fresh venv")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp, env=env)
    run([str(venv / "bin" / "pip"), "install", "-q", f"{wheel}[server]"], cwd=tmp, env=env)
    where = run([str(venv / "bin" / "python"), "-c", "import sfa; print(sfa.__file__)"], cwd=tmp, env=env)
    package = Path(where.stdout.strip()).resolve().parent
    check(package.is_relative_to(venv.resolve()), f"import sfa found {package}, not the fresh venv's copy")
    for name in data_files():
        check((package.parent / name).is_file(), f"{name} is not in the installed copy at {package}")
    return venv


def demo(sfa: str, work: Path, env: dict[str, str]) -> None:
    step("sfa demo")
    out = run([sfa, "demo"], cwd=work, env=env).stdout
    check(out.startswith("demo company created:"), f"sfa demo printed {out!r}")


def dashboard(sfa: str, work: Path, env: dict[str, str]) -> None:
    step("sfa dashboard in a pseudo-terminal: Today, then ctrl+q")
    term_env = {**env, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    term_env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sfa,
        ["dashboard"],
        cwd=str(work),
        env=term_env,
        dimensions=(24, 80),
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
    )
    screen = pyte.Screen(80, 24)
    stream = pyte.Stream(screen)
    raw = ""

    def shown() -> str:
        return "\n".join(screen.display)

    try:
        deadline = time.monotonic() + 90
        # The Today screen: its nav bar, its task list, its footer (the dashboard's key table).
        while not all(text in shown() for text in ("1 Today", "Tasks: today, overdue", "? Keys")):
            check(time.monotonic() < deadline, f"the Today screen never appeared; the screen:\n{shown()}")
            try:
                data = child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                raise SmokeFailure(f"sfa dashboard ended before painting Today:\n{raw[-3000:]}") from None
            raw += data
            stream.feed(data)
        child.send("\x11")  # ctrl+q
        while True:
            try:
                raw += child.read_nonblocking(65536, timeout=30)
            except pexpect.EOF:
                break
            except pexpect.TIMEOUT:
                raise SmokeFailure("sfa dashboard did not quit on ctrl+q") from None
    finally:
        child.close()
    check(child.exitstatus == 0, f"sfa dashboard exited {child.exitstatus}, signal {child.signalstatus}")
    error = re.search(r"Traceback|\w+Error\b", raw)  # KeyError, StylesheetError ...
    check(error is None, f"sfa dashboard printed an error:\n{raw[-3000:]}")


def quote_pdf(sfa: str, work: Path, env: dict[str, str]) -> None:
    step("sfa quote export ... --output q.pdf")
    quotes = json.loads(run([sfa, "quote", "list", "--json"], cwd=work, env=env).stdout)
    check(bool(quotes), "the demo made no quotes")
    number = quotes[0]["number"]
    run([sfa, "quote", "export", number, "--output", "q.pdf"], cwd=work, env=env)
    reader = PdfReader(work / "q.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    check(number in text, f"q.pdf does not name {number}: {text[:300]!r}")


def datasheets(sfa: str, work: Path, env: dict[str, str]) -> None:
    """pypdf is a runtime dependency for this: the installed wheel appends a product's datasheet."""
    step("sfa doc add ... --kind datasheet; sfa quote export ... --attach-datasheets")
    quotes = json.loads(run([sfa, "quote", "list", "--json"], cwd=work, env=env).stdout)
    number = quotes[0]["number"]
    shown = json.loads(run([sfa, "quote", "show", number, "--json"], cwd=work, env=env).stdout)
    sku = next((line["sku"] for line in shown["lines"] if line.get("sku")), None)
    check(sku is not None, f"the demo quote {number} has no product line")
    sheet = PdfWriter()
    for _ in range(2):
        sheet.add_blank_page(width=595, height=842)
    with (work / "sheet.pdf").open("wb") as out:
        sheet.write(out)
    run([sfa, "doc", "add", "sheet.pdf", "--product", str(sku), "--kind", "datasheet"], cwd=work, env=env)
    run([sfa, "quote", "export", number, "--output", "plain.pdf"], cwd=work, env=env)
    run([sfa, "quote", "export", number, "--output", "qd.pdf", "--attach-datasheets"], cwd=work, env=env)
    plain, attached = len(PdfReader(work / "plain.pdf").pages), len(PdfReader(work / "qd.pdf").pages)
    check(
        attached == plain + 2, f"qd.pdf has {attached} pages; expected the quote's {plain} and the sheet's 2"
    )


def server_init(sfa: str, work: Path, env: dict[str, str]) -> None:
    step("sfa server init")
    db = work / "server" / "server.db"
    out = run([sfa, "server", "init", "--db", f"sqlite:///{db}"], cwd=work, env=env).stdout
    check(out.startswith("server database ") and "at schema" in out, f"sfa server init printed {out!r}")
    check(db.is_file(), f"sfa server init created no {db}")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="sfa-smoke-"))
    env = {**os.environ, "TZ": "Europe/Berlin", "NO_COLOR": "1", "SFA_HOME": str(tmp / "home")}
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    try:
        wheel = build_wheel(tmp, env)
        venv = install(tmp, wheel, env)
        work = tmp / "work"  # the cwd of every sfa run: the source tree's sfa/ is not importable here
        work.mkdir()
        sfa = str(venv / "bin" / "sfa")
        demo(sfa, work, env)
        dashboard(sfa, work, env)
        quote_pdf(sfa, work, env)
        datasheets(sfa, work, env)
        server_init(sfa, work, env)
    except SmokeFailure as failure:
        print(f"smoke: FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"smoke: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    step("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
