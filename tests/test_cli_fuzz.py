"""A fuzz test of the whole command set.

The command tree is walked from the real parser (sfa.cli.main, its lazily loaded groups included),
so a new command or option is fuzzed without touching this file. For every leaf command Hypothesis
draws values for its options and arguments: empty, blank, huge, negative, unicode, NUL and other
control characters, option-like (`-5`, `--json`), SQL and FTS5 syntax, impossible dates, amounts of
30 digits, refs of records that exist, paths that exist and paths that do not. Each run is in
process (tests/conftest.py, run_sfa), on a copy of a small demo store, with empty standard input, and
must end

- with SystemExit and exit code 0, 1 or 2 (never another exception: that is a traceback);
- when not 0: with exactly one line on stderr, `sfa: error: ...`;
- when not 0: with nothing written: the store's tables (outbox and history included) and the
  settings file have the same digest as before, and no file appeared in the working directory.

Not run: `dashboard` (full-screen, waits for keys), `server run` (serves until interrupted),
`sync` itself and `sync login` (they go to the network), and the `--install-completion` /
`--show-completion` options (they write to the user's shell set-up). `--home` is not fuzzed.

In CI it runs a few hundred examples; set SFA_FUZZ_EXAMPLES for a longer run (docs/cli.md):
    SFA_FUZZ_EXAMPLES=5000 pytest tests/test_cli_fuzz.py
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Result, command_tree, run_sfa, store_digest

FIXTURES = Path(__file__).parent / "fixtures"

# Commands that block or go to the network; they are left out on purpose (see the docstring).
SKIPPED_COMMANDS = {("dashboard",), ("server", "run"), ("sync", "login")}
SKIPPED_OPTIONS = {"install_completion", "show_completion"}


COMMANDS = command_tree()
FUZZED = sorted(path for path in COMMANDS if path not in SKIPPED_COMMANDS)
TOTAL_EXAMPLES = int(os.environ.get("SFA_FUZZ_EXAMPLES", "300"))
PER_COMMAND = max(2, math.ceil(TOTAL_EXAMPLES / len(FUZZED)))

# -- values ---------------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\t",
    "-5",
    "-1",
    "0",
    "1",
    "-0",
    "+3",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "NaN",
    "9" * 27,
    "9" * 26,
    "-" + "9" * 30,
    "0." + "0" * 40 + "1",
    "1" * 400,
    "x" * 5000,
    "\x00",
    "a\x00b",
    "\x1b[31mred",
    "line\nbreak",
    "\r",
    "\x7f",
    "\u202e",
    "\ufeff",
    "Müller",
    "ß",
    "東京",
    "😀",
    "İ",
    "e\u0301",
    "' OR 1=1 --",
    "'; DROP TABLE account; --",
    '"a" NEAR b',
    "NEAR(a b)",
    "*",
    "a*",
    "-a",
    "^a",
    "a OR b",
    "(",
    ")",
    '"',
    "'",
    "%",
    "_",
    "\\",
    "{}",
    "[]",
    "null",
    "None",
    "true",
    "--json",
    "-q",
    "--",
    "-",
    "--help",
    "today",
    "tomorrow",
    "yesterday",
    "fri",
    "friday",
    "+3d",
    "-1d",
    "+2w",
    "+1m",
    "+99999d",
    "2026-13-45",
    "2026-02-30",
    "2026-12-01",
    "0000-01-01",
    "9999-12-31",
    "2026-12-01T25:00",
    "09:30",
    "tomorrow 10:00",
    "24:00",
    "12k",
    "1.5m",
    "12,5",
    "12,000.50",
    "-12k",
    "1e3",
    "0x10",
    "10%",
    "150%",
    "-10%",
    "25.00",
    "EUR",
    "eur",
    "JPY",
    "KWD",
    "XXX",
    "E",
    "EURO",
    "won",
    "lost",
    "proposal",
    "qualification",
    "negotiation",
    "hot",
    "warm",
    "cold",
    "high",
    "low",
    "normal",
    "new",
    "qualified",
    "draft",
    "sent",
    "planned",
    "account",
    "contact",
    "lead",
    "opp",
    "note",
    "task",
    "visit",
    "product",
    "quote",
    "timeline",
    "quote_line",
    "owner",
    "currency",
    "stages",
    "team",
    "company.name",
    "quote.font",
    "won:100, lost:0",
    "today,week",
    "Name=name",
    "x=y=z",
    "=",
    "email=-",
    "30s",
    "0s",
]


def _values(refs: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(refs),
        st.text(max_size=20),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    )


# What a parameter names, by its name (and for REF, by its group), so that runs get past the ref
# lookup often enough to reach the rules behind it.
GROUP_KIND = {
    "account": "account",
    "contact": "contact",
    "lead": "lead",
    "opp": "opp",
    "task": "task",
    "visit": "visit",
    "product": "product",
    "quote": "quote",
}
CHOICES = {
    "stage": ["won", "lost", "qualification", "Final Stage", "rfp-received", "initiation"],
    "type_": [
        "account",
        "contact",
        "lead",
        "opp",
        "product",
        "visit",
        "task",
        "quote",
        "timeline",
        "quote_line",
        "note",
        "opportunity",
    ],
    "types": ["account", "contact", "lead", "opp", "note", "task", "visit", "product", "quote"],
    "key": [
        "owner",
        "team",
        "currency",
        "stages",
        "company.name",
        "quote.valid_days",
        "quote.font",
        "quote.tax_rate",
        "home.latitude",
        "sync.url",
        "nope",
    ],
    "on_duplicate": ["skip", "update", "create"],
    "role": ["rep", "manager", "admin"],
    "by": ["owner", "month", "stage", "team"],
    "due": ["today", "week", "tomorrow", "+3d", "fri"],
    "priority": ["high", "normal", "low", ""],
    "status": ["new", "contacted", "qualified", "draft", "sent", "accepted", "open"],
    "rating": ["hot", "warm", "cold"],
    "currency": ["EUR", "USD", "JPY", "KWD", "chf", "", " ", "E", "EURO"],
    "maps": ["Company=account", "E-mail Address=email", "Title=-", "Name=name", "Notes=notes"],
}
# Money and numbers: the edges of what is parsed, stored, summed and rounded.
AMOUNTS = [
    "0",
    "-1",
    "5",
    "0.001",
    "12k",
    "1.5m",
    "-12k",
    "12,5",
    "12,000.50",
    "1e3",
    "1e309",
    "nan",
    "inf",
    "-0",
    "10%",
    "100%",
    "150%",
    "-10%",
    "",
    " ",
    "abc",
    "9" * 26,
    "9" * 27,
    "9" * 40,
    "1" + "0" * 30,
    "99999999999999999999999999.99",
    "0." + "0" * 30 + "1",
]
for _name in ("amount", "price", "qty", "discount", "tax", "probability", "lat", "lon", "duration"):
    CHOICES[_name] = AMOUNTS


def _strategy(
    path: tuple[str, ...], param: Any, refs: dict[str, list[str]], work: str
) -> st.SearchStrategy[str]:
    """Any value: the nasty ones above, and now and then one that means something here."""
    name = param.name
    if name in PATH_PARAMS:
        return _paths(work)
    if name == "db":
        return _db_values(work)
    generic = _values([r for kind in refs.values() for r in kind])
    kind = GROUP_KIND.get(path[0]) if name == "ref" else "quote" if name == "qref" else name
    if kind in refs:
        return st.one_of(st.sampled_from(refs[kind]), generic)
    if name in CHOICES:
        return st.one_of(st.sampled_from(CHOICES[name]), st.sampled_from(CHOICES[name]), generic)
    if _is_int(param):
        return st.one_of(st.integers(-3, 60).map(str), generic)
    return generic


def _is_int(param: Any) -> bool:
    return getattr(getattr(param, "type_descriptor", None), "annotation", None) is int


# Values a careful user would give, by parameter name: all the other parameters of a run get these,
# so that the one fuzzed value gets past them to the rule it meets.
SANE = {
    "amount": ["5", "12k", "1200.50"],
    "price": ["19.90", "1200"],
    "qty": ["1", "3"],
    "discount": ["10%", "5"],
    "tax": ["19", "7"],
    "probability": ["50"],
    "currency": ["EUR", "USD"],
    "lat": ["48.1"],
    "lon": ["11.5"],
    "duration": ["45m", "1h"],
    "email": ["fuzz@example.com"],
    "phone": ["+49 89 123456"],
    "mobile": ["+49 170 1234567"],
    "website": ["example.com"],
    "stage": ["qualification", "won"],
    "at": ["tomorrow 10:00", "fri 14:30"],
    "interval": ["30s"],
    "close_date": ["+2w", "2026-12-31"],
    "valid_until": ["+30d"],
    "until": ["tomorrow"],
    "remind": ["tomorrow 09:00"],
    "since": ["-1m", "2026-01-01"],
    "start": ["today"],
    "end": ["+1w"],
    "date": ["today", "tomorrow"],
    "due": ["tomorrow", "today"],
    "priority": ["high"],
    "rating": ["hot"],
    "status": ["new", "sent"],
    "role": ["rep"],
    "by": ["owner", "month"],
    "type_": ["account", "lead", "contact"],
    "types": ["account", "lead"],
    "on_duplicate": ["skip"],
    "key": ["team", "currency"],
    "maps": ["Company=account"],
    "outcome": ["Ordered 3 units"],
}


def _sane(path: tuple[str, ...], param: Any, refs: dict[str, list[str]], work: str) -> st.SearchStrategy[str]:
    name = param.name
    if name in PATH_PARAMS:
        return _paths(work)
    if name == "db":
        return st.just(f"sqlite:///{work}/server.db")
    kind = GROUP_KIND.get(path[0]) if name == "ref" else "quote" if name == "qref" else name
    if kind in refs:
        return st.sampled_from(refs[kind])
    if name in SANE:
        return st.sampled_from(SANE[name])
    if _is_int(param):
        return st.sampled_from(["3", "20"])
    return st.sampled_from(["Fuzz", "Müller GmbH", "Call back about the offer"])


# Input files: copies in the per-run working directory (an --output may name them too: it must
# never name a file of the repository).
FIXTURE_COPIES = ("crm_contacts.csv", "products.tsv", "hubspot_deals.csv", "phone_export.vcf", "broken.vcf")


def _paths(work: str) -> st.SearchStrategy[str]:
    """File and folder values: under the per-run working directory only (sfa runs as whatever user
    runs the tests: a fuzzed value must not name a real file elsewhere)."""
    return st.sampled_from(
        [
            "-",
            "",
            " ",
            "\x00",
            "out.csv",
            "x.pdf",
            "q.md",
            "q.html",
            "q.docx",
            "book",
            "backup",
            f"{work}/out.csv",
            f"{work}/out",
            f"{work}/out/q.pdf",
            f"{work}/missing/x.csv",
            f"{work}/missing/dir",
            f"{work}/file.txt",
            f"{work}/file.txt/x.csv",
            f"{work}/empty",
            *(f"{work}/{name}" for name in FIXTURE_COPIES),
            f"{work}/fixtures",
            f"{work}/empty.csv",
            f"{work}/leads.csv",
            f"{work}/missing.csv",
        ]
    )


def _db_values(work: str) -> st.SearchStrategy[str]:
    """--db: sqlite files under the working directory, or values that are not URLs (never a
    postgresql:// one: that would go to the network)."""
    return st.sampled_from(
        [
            "",
            "x",
            "sqlite:///",
            f"sqlite:///{work}/server.db",
            f"sqlite:///{work}/missing/s.db",
            "mysql://nowhere/x",
            "sqlite://",
        ]
    )


PATH_PARAMS = {"output", "file", "directory", "from_file"}


@st.composite
def command_line(draw: st.DrawFn, path: tuple[str, ...], refs: dict[str, list[str]], work: str) -> list[str]:
    command = COMMANDS[path]
    params = [p for p in command.params if p.name not in SKIPPED_OPTIONS and not getattr(p, "hidden", False)]
    # One parameter (sometimes a few) gets any value; the others get sane ones, or are left out.
    focus = draw(st.sampled_from([p.name for p in params] or [None]))
    options: list[str] = []
    positionals: list[str] = []
    for param in params:
        nasty = param.name == focus or draw(st.sampled_from([False] * 5 + [True]))
        strategy = (_strategy if nasty else _sane)(path, param, refs, work)
        if param.param_type_name == "argument":
            count = draw(st.integers(1, 3)) if param.nargs == -1 else 1
            if not param.required and draw(st.booleans()):
                count = 0
            positionals += [draw(strategy) for _ in range(count)]
            continue
        flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])
        if getattr(param, "is_flag", False):
            if draw(st.sampled_from([False, False, False, True])):  # now and then: combinations occur
                options.append(flag)
            continue
        if getattr(param, "multiple", False):
            count = draw(st.integers(0, 2))
        elif param.required:
            count = draw(st.sampled_from([1] * 9 + [0]))  # now and then a required option is missing
        else:
            count = 1 if param.name == focus else draw(st.sampled_from([0, 0, 1]))
        for _ in range(count):
            value = draw(strategy)
            if value.startswith("-") and draw(st.booleans()):
                options.append(f"{flag}={value}")  # how a script passes a value that looks like an option
            else:
                options += [flag, value]
    if any(p.startswith("-") for p in positionals) and draw(st.booleans()):
        return [*path, *options, "--", *positionals]
    return [*path, *positionals, *options]


# -- the demo store every run starts from -------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("fuzz-template")
    created = run_sfa(home, "demo", "--seed", "11")
    assert created.code == 0, created.err
    refs: dict[str, list[str]] = {}
    for kind in ("account", "contact", "lead", "opp", "task", "visit", "product", "quote"):
        exported = run_sfa(home, "export", "json", "--type", kind)
        assert exported.code == 0, exported.err
        rows = json.loads(exported.out)
        assert rows, kind
        refs[kind] = [str(r["id"]) for r in rows[:2]]
        listed = run_sfa(home, kind, "list", "--json")
        if listed.code == 0:
            refs[kind] += [str(r["ref"]) for r in json.loads(listed.out)[:4] if r.get("ref")]
        refs[kind] += [str(r[k]) for r in rows[:3] for k in ("sku", "number") if r.get(k)]
    return {"home": home, "digest": store_digest(home), "refs": refs}


def _prepare_work(work: Path) -> None:
    (work / "fixtures").mkdir()
    for name in FIXTURE_COPIES:
        shutil.copyfile(FIXTURES / name, work / name)
        shutil.copyfile(FIXTURES / name, work / "fixtures" / name)
    (work / "out").mkdir()
    (work / "empty").mkdir()
    (work / "file.txt").write_text("not a folder\n")
    (work / "empty.csv").write_text("")
    (work / "leads.csv").write_text("name,company,email\nFuzz Person,Fuzz GmbH,fuzz@example.com\n")


def _listing(work: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(work)), p.stat().st_size) for p in work.rglob("*") if p.is_file())


def _note_run(args: list[str], result: Result) -> None:
    """With SFA_FUZZ_RUNS=FILE, every run is written there: exit code, arguments, error line."""
    target = os.environ.get("SFA_FUZZ_RUNS")
    if target:
        code = result.code if isinstance(result.exception, SystemExit) else type(result.exception).__name__
        with open(target, "a", encoding="utf-8") as log:
            error = result.err.splitlines()[-1][:300] if result.err and result.code else ""
            log.write(f"{code}\t{json.dumps(args, ensure_ascii=True)[:400]}\t{error!r}\n")


def check(
    args: list[str],
    result: Result,
    before: str,
    home: Path,
    work: Path,
    listing: list[tuple[str, int]],
) -> None:
    shown = " ".join(repr(a) if not a or not a.isprintable() or " " in a else a for a in args)
    if not isinstance(result.exception, SystemExit):
        assert result.exception is not None
        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"sfa {shown}\nended in a traceback:\n{trace}")
    assert result.code in (0, 1, 2), f"sfa {shown}: exit {result.code}\n{result.err}"
    if result.code == 0:
        return
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sfa: error: "), (
        f"sfa {shown}: exit {result.code}, stderr is not one error line:\n{result.err}"
    )
    assert store_digest(home) == before, f"sfa {shown}: failed (exit {result.code}) but wrote to the store"
    assert _listing(work) == listing, f"sfa {shown}: failed (exit {result.code}) but wrote a file"


@pytest.mark.parametrize("path", FUZZED, ids=" ".join)
def test_every_command_ends_cleanly_on_any_input(path: tuple[str, ...], template: dict[str, Any]) -> None:
    root = Path(tempfile.mkdtemp(prefix="sfa-fuzz-"))
    work = root / "work"
    fixtures = _listing(FIXTURES)

    @settings(
        max_examples=PER_COMMAND,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        args = data.draw(command_line(path, template["refs"], str(work)), label="argv")
        home = root / "home"
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(template["home"], home)
        work.mkdir()
        _prepare_work(work)
        listing = _listing(work)
        cwd = os.getcwd()
        os.chdir(work)
        try:
            result = run_sfa(home, *args, keep_exception=True)
        finally:
            os.chdir(cwd)
        _note_run(args, result)
        check(args, result, template["digest"], home, work, listing)

    try:
        run()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert _listing(FIXTURES) == fixtures, "a fuzzed run wrote into the repository's test fixtures"


def test_the_tree_walk_sees_every_group() -> None:
    """New commands are fuzzed automatically: the walk reaches every lazily loaded group."""
    from sfa.cli.main import COMMANDS as GROUPS

    assert {path[0] for path in COMMANDS} == set(GROUPS)
    assert ("lead", "add") in COMMANDS and ("server", "user", "add") in COMMANDS
    assert len(FUZZED) > 80
