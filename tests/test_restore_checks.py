"""`import all` checks the whole backup before it writes: values by the rules typed values meet,
references inside the backup, and it leaves a new home as it was when it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sfa.cli import main
from sfa.domain.entities import ACCOUNT
from sfa.services import crm, records
from sfa.services.interop import backup
from sfa.store.workspace import Workspace
from tests.conftest import Result


@pytest.fixture
def saved(ws: Workspace, tmp_path: Path) -> Path:
    """A small backup with a reference of every common kind: contact, opportunity, note, quote."""
    acme = crm.add_account(ws, {"name": "Acme GmbH", "email": "info@acme.example"})
    crm.add_contact(ws, {"name": "Hans Huber", "account_id": acme["id"], "phone": "+49 89 123456"})
    crm.add_opportunity(ws, {"name": "Retrofit", "account_id": acme["id"], "amount": "12000"})
    records.add_note(ws, ACCOUNT, acme["id"], "first line\nsecond line")
    target = tmp_path / "backup"
    backup.export_all(ws, target)
    return target


def restore(home: Path, directory: Path, capsys: pytest.CaptureFixture[str]) -> Result:
    with pytest.raises(SystemExit) as stop:
        main.run(["--home", str(home), "import", "all", str(directory)])
    out, err = capsys.readouterr()
    code = stop.value.code
    return Result(code if isinstance(code, int) else 1, out, err)


def rewrite(directory: Path, type_name: str, line: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Change record number `line` (1-based) of one type's file in the backup."""
    path = directory / f"{type_name}.jsonl"
    rows = path.read_text(encoding="utf-8").splitlines()
    data = json.loads(rows[line - 1])
    change(data)
    rows[line - 1] = json.dumps(data, ensure_ascii=False)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def assert_refused(result: Result, *words: str) -> None:
    assert result.code == 1, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sfa: error: "), result.err
    assert "Traceback" not in result.err and "<class" not in result.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_a_good_backup_restores(saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = restore(tmp_path / "new" / "home", saved, capsys)
    assert result.code == 0, result
    assert (
        "restored 6 records" in result.out
    )  # account, contact, opportunity, 2 timeline entries, the deal's stage change


CASES: list[tuple[str, str, int, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    (
        "opportunity names a missing account",
        "opportunity",
        1,
        lambda d: d.update(account_id="01missing"),
        ("opportunity.jsonl: line 1: account_id:", "names no account"),
    ),
    (
        "contact names a missing account",
        "contact",
        1,
        lambda d: d.update(account_id="01missing"),
        ("contact.jsonl: line 1: account_id:",),
    ),
    (
        "timeline entry of a missing record",
        "timeline",
        1,
        lambda d: d.update(record_id="01missing"),
        ("timeline.jsonl: line 1: record_id:",),
    ),
    (
        "a malformed amount",
        "opportunity",
        1,
        lambda d: d.update(amount="12,5"),
        ("opportunity.jsonl: line 1: amount: '12,5' is not a number",),
    ),
    (
        "an amount beyond the bound",
        "opportunity",
        1,
        lambda d: d.update(amount="9" * 27),
        ("line 1: amount:", "999,999,999,999.99"),
    ),
    ("a negative amount", "opportunity", 1, lambda d: d.update(amount="-5"), ("line 1: amount:", "negative")),
    (
        "a probability outside 0..100",
        "opportunity",
        1,
        lambda d: d.update(probability=1000),
        ("line 1: probability:", "0..100"),
    ),
    (
        "NUL in a name",
        "contact",
        1,
        lambda d: d.update(name="Hans\u0000"),
        ("contact.jsonl: line 1: name:", "NUL"),
    ),
    (
        "a line break in a name",
        "account",
        1,
        lambda d: d.update(name="Acme\nGmbH"),
        ("line 1: name:", "line break"),
    ),
    ("an empty currency", "opportunity", 1, lambda d: d.update(currency=""), ("line 1: currency:",)),
    (
        "a currency that is no code",
        "opportunity",
        1,
        lambda d: d.update(currency="euro"),
        ("line 1: currency:",),
    ),
    ("a bad email", "account", 1, lambda d: d.update(email="not-an-email"), ("line 1: email:",)),
    ("a bad date", "opportunity", 1, lambda d: d.update(close_date="soon"), ("line 1: close_date:",)),
    ("a required field missing", "opportunity", 1, lambda d: d.pop("name"), ("line 1: name:", "required")),
    (
        "a required field empty",
        "opportunity",
        1,
        lambda d: d.update(account_id=None),
        ("line 1: account_id:",),
    ),
    ("an unknown choice", "opportunity", 1, lambda d: d.update(deleted="maybe"), ("line 1: deleted:",)),
    ("a bad created_at", "account", 1, lambda d: d.update(created_at="yesterday"), ("line 1: created_at:",)),
    ("tags that are no list of text", "account", 1, lambda d: d.update(tags=[1, 2]), ("line 1: tags:",)),
    ("tags that are no list", "account", 1, lambda d: d.update(tags="vip"), ("line 1: tags:",)),
    ("a coordinate off the globe", "account", 1, lambda d: d.update(latitude=123.0), ("line 1: latitude:",)),
]


@pytest.mark.parametrize(("why", "type_name", "line", "change", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_backup_is_refused_naming_file_line_and_field_and_creates_nothing(
    saved: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    why: str,
    type_name: str,
    line: int,
    change: Callable[[dict[str, Any]], None],
    words: tuple[str, ...],
) -> None:
    rewrite(saved, type_name, line, change)
    new_home = tmp_path / "fresh" / "home"
    assert_refused(restore(new_home, saved, capsys), *words)
    assert not (tmp_path / "fresh").exists()  # not the data file, not the folders


def test_a_duplicate_id_is_refused(saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = saved / "account.jsonl"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    path.write_text(f"{first}\n{first}\n", encoding="utf-8")
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["types"]["account"]["count"] = 2
    (saved / "manifest.json").write_text(json.dumps(manifest))
    assert_refused(restore(tmp_path / "new", saved, capsys), "account.jsonl: line 2: id:", "earlier line")
    assert not (tmp_path / "new").exists()


def test_an_existing_home_keeps_only_what_it_had(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home2"
    home.mkdir()
    (home / "config.toml").write_text('owner = "me"\n')
    rewrite(saved, "opportunity", 1, lambda d: d.update(account_id="01missing"))
    assert_refused(restore(home, saved, capsys), "account_id:")
    assert sorted(p.name for p in home.iterdir()) == ["config.toml"]


def test_a_write_that_fails_after_the_checks_removes_what_it_made(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure no check can foresee (a full disk, say) during the write: stood in for by an error
    # raised where the restore puts the clocks back.
    def full_disk(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_put_back", full_disk)
    other = Workspace(tmp_path / "fresh" / "home")
    with pytest.raises(OSError):
        backup.import_all(other, saved)
    other.close()
    assert not (tmp_path / "fresh").exists()
