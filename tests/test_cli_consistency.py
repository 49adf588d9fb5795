"""What a scripter relies on, the same for every command (docs/cli.md, "Exit codes"): a missing file
or folder is an error (1), a malformed command line is usage (2); contradicting options are refused
naming both before anything is written; contact and account add run the lead duplicate check;
`search --type` accepts every type search shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain.entities import ENTITIES
from tests.conftest import Result, command_tree, copy_home, run_sfa, store_digest

COMMANDS = command_tree()

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-template")
    assert run_sfa(home, "demo", "--seed", "3").code == 0
    return home


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    return copy_home(demo_template, tmp_path / "home")


def sfa(home: Path, *args: str) -> Result:
    result = run_sfa(home, *args)  # a traceback escapes and fails the test
    assert isinstance(result.exception, SystemExit), result.exception
    return result


def one_error_line(result: Result) -> str:
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sfa: error: "), result.err
    return lines[0]


def first(home: Path, group: str, key: str = "ref") -> str:
    return str(json.loads(sfa(home, group, "list", "--json").out)[0][key])


# -- exit codes of paths ------------------------------------------------------------------------

MISSING = "/nonexistent-sfa-dir"
MISSING_INPUT = [
    ("lead", "add", "--from", f"{MISSING}/leads.csv"),
    ("import", "csv", f"{MISSING}/x.csv", "--type", "contact"),
    ("import", "vcard", f"{MISSING}/x.vcf"),
    ("import", "all", f"{MISSING}/backup"),
    ("config", "set", "quote.font", f"{MISSING}/font.ttf"),
]
MISSING_OUTPUT = [
    ("export", "csv", "--type", "account", "--output", f"{MISSING}/x.csv"),
    ("export", "json", "--type", "lead", "--output", f"{MISSING}/x.json"),
    ("export", "vcard", "--output", f"{MISSING}/x.vcf"),
    # (export vcard --vdir creates a missing folder: test_interop_cli tests a file in the way, exit 1)
    ("export", "ics", "--output", f"{MISSING}/x.ics"),
    ("export", "all", "--output", f"{MISSING}/backup"),
    ("quote", "export", "QUOTE", "--output", f"{MISSING}/q.pdf"),
]


@pytest.mark.parametrize("args", MISSING_INPUT + MISSING_OUTPUT, ids=" ".join)
def test_a_missing_file_or_folder_is_an_error_exit_1(demo: Path, args: tuple[str, ...]) -> None:
    args = tuple(first(demo, "quote", "number") if a == "QUOTE" else a for a in args)
    before = store_digest(demo)
    result = sfa(demo, *args)
    assert result.code == 1, result.err
    assert MISSING in one_error_line(result)
    assert store_digest(demo) == before
    assert not Path(MISSING).exists()


@pytest.mark.parametrize(
    "args",
    [
        ("lead", "add", "X", "--colour", "red"),  # unknown option
        ("contact", "add"),  # missing argument
        ("opp", "add", "Deal"),  # missing required option
        ("export", "csv"),
        ("import", "csv", str(FIXTURES / "crm_contacts.csv")),
        ("quote", "export", "Q-1"),
        ("account", "list", "--limit", "many"),  # a value of the wrong shape for the parser
        ("search", "robots", "--type", "planet"),  # not one of the choices
        ("export", "csv", "--type", "planet"),
        ("nosuchcommand",),
    ],
    ids=" ".join,
)
def test_a_malformed_command_line_is_usage_exit_2(demo: Path, args: tuple[str, ...]) -> None:
    before = store_digest(demo)
    result = sfa(demo, *args)
    assert result.code == 2, result.err
    one_error_line(result)
    assert store_digest(demo) == before


# -- contradicting options ----------------------------------------------------------------------

CONTRADICTIONS = [
    (
        ("lead", "add", "--from", "LEADS", "--allow-duplicate", "--skip-duplicates"),
        "--allow-duplicate",
        "--skip-duplicates",
    ),
    (("lead", "add", "X", "--skip-duplicates"), "--skip-duplicates", "--from"),
    (("lead", "add", "X", "--from", "LEADS"), "NAME", "--from"),
    (("lead", "add", "--from", "LEADS", "--company", "Acme"), "--company", "--from"),
    (("lead", "add", "X", "--json", "-q"), "--json", "--quiet"),
    (("account", "add", "X", "-q", "--json"), "--quiet", "--json"),
    (("opp", "list", "--open", "--stage", "won"), "--open", "--stage won"),
    (("opp", "list", "--open", "--stage", "Lost"), "--open", "--stage lost"),
    (("note", "add", "hi", "--account", "ACCOUNT", "--lead", "LEAD"), "--account", "--lead"),
    (("task", "list", "--overdue", "--done"), "--overdue", "--done"),
    (("task", "list", "--due", "today", "--all"), "--due", "--all"),
    (("report", "pipeline", "--json", "--csv"), "--json", "--csv"),
    (("sync", "resolve", "abc", "--ours", "--theirs"), "--ours", "--theirs"),
    (("export", "vcard", "--vdir"), "--vdir", "--output"),
    (("account", "add", "Somewhere", "--lat", "48.1"), "--lat", "--lon"),
    (("account", "edit", "ACCOUNT", "--lon", "11.5"), "--lon", "--lat"),
    (("visit", "plan", "--account", "ACCOUNT", "--at", "tomorrow 10:00", "--lat", "52.5"), "--lat", "--lon"),
    (("export", "vcard", "--vdir", "--output", "-"), "--vdir", "--output"),
]


@pytest.mark.parametrize(
    ("args", "one", "other"), CONTRADICTIONS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else None
)
def test_contradicting_options_are_refused_naming_both(
    demo: Path, tmp_path: Path, args: tuple[str, ...], one: str, other: str
) -> None:
    leads_file = tmp_path / "leads.csv"
    leads_file.write_text("name,company\nNew Person,New Company\n")
    swap = {"LEADS": str(leads_file), "ACCOUNT": first(demo, "account"), "LEAD": first(demo, "lead")}
    before = store_digest(demo)
    result = sfa(demo, *(swap.get(a, a) for a in args))
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert one in line and other in line
    assert store_digest(demo) == before


def test_open_with_an_open_stage_is_not_a_contradiction(demo: Path) -> None:
    result = sfa(demo, "opp", "list", "--open", "--stage", "qualification", "--json")
    assert result.code == 0, result.err


WRITES_WITH_JSON_AND_QUIET = sorted(
    path
    for path, command in COMMANDS.items()
    if {"--json", "--quiet"} <= {o for p in command.params for o in getattr(p, "opts", ())}
)


@pytest.mark.parametrize("path", WRITES_WITH_JSON_AND_QUIET, ids=" ".join)
def test_json_and_quiet_are_refused_on_every_command_before_it_runs(
    demo: Path, path: tuple[str, ...]
) -> None:
    """Refused by the parser, before the command reads its arguments: no other argument is needed."""
    before = store_digest(demo)
    result = sfa(demo, *path, "--json", "-q")
    assert result.code == 2, result.err
    assert "--json and --quiet cannot be used together" in one_error_line(result)
    assert store_digest(demo) == before


def test_there_are_many_such_commands() -> None:
    assert len(WRITES_WITH_JSON_AND_QUIET) > 40


# -- the duplicate check of contact and account add ----------------------------------------------


def _contact(home: Path) -> dict[str, Any]:
    contacts = json.loads(sfa(home, "contact", "list", "--json").out)
    return next(c for c in contacts if c["email"] and c["phone"] and c["account_id"])


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        (lambda c: ["Someone Else", "--email", c["email"].upper()], "same email"),
        (lambda c: ["Someone Else", "--phone", c["phone"]], "same phone"),
        (lambda c: ["Someone Else", "--mobile", c["phone"]], "same phone"),
        (
            lambda c: [" ".join(reversed(c["name"].upper().split())), "--account", c["account_id"]],
            "same name and company",
        ),
    ],
    ids=["email", "phone", "mobile", "name at the account"],
)
def test_contact_add_runs_the_lead_duplicate_check(demo: Path, options: Any, reason: str) -> None:
    existing = _contact(demo)
    before = store_digest(demo)
    refused = sfa(demo, "contact", "add", *options(existing))
    assert refused.code == 1
    line = one_error_line(refused)
    assert f"'{existing['name']}' ({reason})" in line and "--allow-duplicate" in line
    assert existing["ref"] in line  # the existing record's ref, to look at it
    assert store_digest(demo) == before
    added = sfa(demo, "contact", "add", *options(existing), "--allow-duplicate", "--json")
    assert added.code == 0, added.err


def test_contact_add_same_name_at_another_account_is_not_a_duplicate(demo: Path) -> None:
    existing = _contact(demo)
    other = next(
        a for a in json.loads(sfa(demo, "account", "list", "--json").out) if a["id"] != existing["account_id"]
    )
    result = sfa(demo, "contact", "add", existing["name"], "--account", other["ref"], "-q")
    assert result.code == 0, result.err


def test_contact_add_matches_a_lead_by_email(demo: Path) -> None:
    lead = json.loads(sfa(demo, "lead", "list", "--json").out)[0]
    refused = sfa(demo, "contact", "add", "Another Name", "--email", lead["email"])
    assert refused.code == 1 and f"lead {lead['ref']}" in one_error_line(refused)


def test_account_add_refuses_the_same_folded_name(demo: Path) -> None:
    account = json.loads(sfa(demo, "account", "list", "--json").out)[0]
    # Case, accents, punctuation and the legal form do not make another company.
    words = account["name"].split()
    bare = " ".join(w for w in words if w.rstrip(".") not in ("GmbH", "KG", "AG", "e.K", "SE", "OHG"))
    variant = bare.upper() + " gmbh"
    before = store_digest(demo)
    refused = sfa(demo, "account", "add", variant)
    assert refused.code == 1
    line = one_error_line(refused)
    assert f"account {account['ref']} '{account['name']}' (same name)" in line
    assert store_digest(demo) == before
    assert sfa(demo, "account", "add", variant, "--allow-duplicate", "-q").code == 0
    assert sfa(demo, "account", "add", bare + " Nord", "-q").code == 0  # another name is fine


# -- search --type --------------------------------------------------------------------------------


def test_search_type_accepts_every_type_search_returns(demo: Path) -> None:
    from sfa.services.search import HIDDEN, accepted_types

    searchable = [e for e in ENTITIES.values() if e.search_fields and e.name not in HIDDEN]
    assert len(accepted_types()) == len(searchable) >= 13
    seen: set[str] = set()
    for word in ("gmbh", "besuch", "angebot", "a", "e", "q", "m", "s", "wartung", "follow"):
        result = sfa(demo, "search", word, "--limit", "200", "--json")
        seen |= {hit["type"] for hit in json.loads(result.out)}
    assert seen <= set(accepted_types())
    for kind in sorted(seen):
        result = sfa(demo, "search", "a", "e", "--type", kind, "--json")
        assert result.code == 0, result.err
        assert {hit["type"] for hit in json.loads(result.out)} <= {kind}
    assert {"account", "contact", "lead", "opp", "task", "visit", "product", "quote"} <= seen


def test_an_import_that_rejects_every_row_has_one_error_line(demo: Path, tmp_path: Path) -> None:
    """The summary (with how the columns were read) says why on stdout; stderr has the one line."""
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nX,not-an-email\nY,worse\n")
    before = store_digest(demo)
    result = sfa(demo, "import", "csv", str(bad), "--type", "lead")
    assert result.code == 1
    assert "nothing was imported" in one_error_line(result)
    assert "columns: name -> name, email -> email" in result.out.splitlines()
    assert "rejected line 2: email" in result.out
    assert store_digest(demo) == before


LISTINGS_WITH_LIMIT = sorted(
    path
    for path, command in COMMANDS.items()
    if "--limit" in {o for p in command.params for o in getattr(p, "opts", ())}
    and not any(p.required for p in command.params)
)


@pytest.mark.parametrize("path", LISTINGS_WITH_LIMIT, ids=" ".join)
def test_a_huge_limit_means_every_row(demo: Path, path: tuple[str, ...]) -> None:
    """Found by the fuzz test: --limit 10**30 overflowed SQLite's integer (a traceback)."""
    huge = sfa(demo, *path, "--limit", "1" + "0" * 30, "--json")
    assert huge.code == 0, huge.err
    assert huge.out == sfa(demo, *path, "--json").out


def test_the_limit_listings_are_found() -> None:
    assert ("contact", "list") in LISTINGS_WITH_LIMIT and len(LISTINGS_WITH_LIMIT) >= 5


@given(st.text())
def test_an_error_line_is_one_line_whatever_the_value_holds(value: str) -> None:
    """A value with a newline, a NEL (\\x85) or a line separator in it (a path given to
    `--datasheet`, found by the command-line fuzz) is shown escaped: the error stays one line."""
    from sfa.cli.failure import one_line

    line = one_line(f"datasheet: {value}: no such file")
    assert len(f"sfa: error: {line}".splitlines()) == 1
    assert line.isprintable()
    if value.isprintable():
        assert line == f"datasheet: {value}: no such file"
