"""`sfa import ...` and `sfa export ...` as real processes: output, files, exit codes, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sfa.store.workspace import Workspace
from tests.conftest import Runner, run_sfa
from tests.interop_data import populate

FIXTURES = Path(__file__).parent / "fixtures"


def seeded(home: Path) -> dict[str, str]:
    ws = Workspace(home)
    try:
        return populate(ws)
    finally:
        ws.close()


def test_import_csv_text_summary_and_rerun(sfa: Runner) -> None:
    result = sfa("import", "csv", str(FIXTURES / "crm_contacts.csv"), "--type", "contact")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "6 rows read: 5 created, 0 updated, 0 skipped, 1 rejected; 3 new accounts created"
    assert "ignored columns: Title" in lines
    assert "  rejected line 8: email: 'not-an-email' is not an email address (name@example.com)" in lines
    assert "E-mail Address -> email" in result.err  # the mapping is shown on stderr
    listed = sfa("contact", "list", "--json").json()
    assert {c["name"] for c in listed} >= {"Hans Müller", "Claire Dubois", "Tom Baker"}
    again = sfa("import", "csv", str(FIXTURES / "crm_contacts.csv"), "--type", "contact", "--json")
    data = again.json()
    assert (data["created"], data["skipped"], data["rejected"]) == (0, 5, 1)
    assert data["rejected_rows"] == [
        {"line": 8, "reason": "email: 'not-an-email' is not an email address (name@example.com)"}
    ]
    assert data["skipped_rows"][0]["duplicate_of"]["entity"] == "contact"


def test_import_csv_dry_run_map_and_on_duplicate(sfa: Runner, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Kunde;Wer;Mail\nAcme;Hans Müller;hans@acme.de\n", encoding="utf-8")
    dry = sfa(
        "import",
        "csv",
        str(path),
        "-t",
        "contact",
        "--map",
        "Wer=name",
        "--map",
        "Kunde=account",
        "--dry-run",
        "--json",
    )
    assert dry.code == 0 and dry.json()["created"] == 1 and dry.json()["dry_run"] is True
    assert sfa("contact", "list", "--json").json() == []
    assert (
        sfa("import", "csv", str(path), "-t", "contact", "--map", "Wer=name", "--map", "Kunde=account").code
        == 0
    )
    path.write_text("Kunde;Wer;Mail;Titel\nAcme;Hans Müller;hans@acme.de;CEO\n", encoding="utf-8")
    updated = sfa(
        "import",
        "csv",
        str(path),
        "-t",
        "contact",
        "--map",
        "Wer=name",
        "--map",
        "Titel=title",
        "--on-duplicate",
        "update",
        "--json",
    )
    assert updated.json()["updated"] == 1
    assert sfa("contact", "list", "--json").json()[0]["title"] == "CEO"


def test_a_dry_run_or_a_refused_backup_in_a_new_home_leaves_no_data_file(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("Name,Email\nHans Müller,hans@example.com\n")
    new_home = tmp_path / "new"
    dry = run_sfa(new_home, "import", "csv", str(people), "--type", "contact", "--dry-run", "--json")
    assert dry.code == 0 and dry.json()["created"] == 1
    cards = run_sfa(new_home, "import", "vcard", str(FIXTURES / "phone_export.vcf"), "--dry-run")
    assert cards.code == 0 and "would be created" in cards.out
    assert not new_home.exists()
    backup_dir = tmp_path / "backup"
    source = tmp_path / "source"
    assert run_sfa(source, "import", "csv", str(people), "--type", "contact").code == 0
    assert run_sfa(source, "export", "all", "--output", str(backup_dir)).code == 0
    with (backup_dir / "contact.jsonl").open("a") as broken:
        broken.write('{"not json\n')
    refused = run_sfa(new_home, "import", "all", str(backup_dir))
    assert refused.code == 1 and "nothing was restored" in refused.err
    assert not new_home.exists()


def test_import_csv_errors(sfa: Runner, tmp_path: Path) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = sfa("import", "csv", str(binary), "--type", "contact")
    assert result.code == 1 and result.out == ""
    assert result.err == f"sfa: error: {binary} is not a CSV file: it holds binary data\n"
    headerless = tmp_path / "data.csv"
    headerless.write_text("Hans Müller,hans@example.com\n")
    result = sfa("import", "csv", str(headerless), "--type", "contact")
    assert result.code == 1 and "looks like data, not a header line" in result.err
    assert len(result.err.splitlines()) == 1
    assert sfa("import", "csv", str(tmp_path / "missing.csv"), "--type", "contact").code == 1
    bad_type = sfa("import", "csv", str(FIXTURES / "crm_contacts.csv"), "--type", "visit")
    assert bad_type.code == 2 and "error: type: 'visit' is not a record type" in bad_type.err
    assert bad_type.err.rstrip().endswith("(--type)")  # the CLI names the flag of the field
    bad_map = sfa("import", "csv", str(FIXTURES / "crm_contacts.csv"), "-t", "contact", "--map", "Nope=name")
    assert bad_map.code == 2 and "no such column" in bad_map.err
    assert sfa("import", "csv", str(FIXTURES / "crm_contacts.csv"), "-t", "contact", "--map", "x").code == 2
    assert sfa("import", "csv", str(FIXTURES / "crm_contacts.csv")).code == 2  # --type is required
    assert sfa("contact", "list", "--json").json() == []
    json_lines = tmp_path / "accounts.jsonl"
    json_lines.write_text('{"id": "x", "name": "' + "Acme " * 100 + '", "tags": []}\n')
    result = sfa("import", "csv", str(json_lines), "--type", "account")
    assert result.code == 1 and result.err.count("\n") == 1 and len(result.err) < 200
    assert "is JSON, not a CSV header" in result.err
    nameless = tmp_path / "nameless.csv"
    nameless.write_text("Name,Email\n,a@example.com\n,b@example.com\n")
    for extra in ([], ["--json"]):  # every row rejected: the summary, then a failure scripts see
        result = sfa("import", "csv", str(nameless), "--type", "contact", *extra)
        assert result.code == 1
        assert (
            result.err.splitlines()[-1]
            == "sfa: error: nothing was imported: all 2 rows were rejected (the summary says why)"
        )
        if extra:
            assert [r["line"] for r in result.json()["rejected_rows"]] == [2, 3]
        else:
            assert "rejected line 3: name: is required" in result.out
    assert sfa("contact", "list", "--json").json() == []


def test_import_other_types(sfa: Runner) -> None:
    accounts = sfa("import", "csv", str(FIXTURES / "salesforce_accounts.csv"), "-t", "account", "--json")
    assert accounts.json()["created"] == 3
    products = sfa("import", "csv", str(FIXTURES / "products.tsv"), "-t", "product", "--json")
    assert products.json()["created"] == 3 and products.json()["rejected_rows"][0]["line"] == 5
    opps = sfa("import", "csv", str(FIXTURES / "hubspot_deals.csv"), "-t", "opp", "--json")
    assert opps.json()["created"] == 3
    assert any(o["name"] == "Expansion" for o in sfa("opp", "list", "--json").json())


def test_import_from_standard_input(sfa: Runner) -> None:
    text = (FIXTURES / "v4_contacts.vcf").read_text(encoding="utf-8")
    assert sfa("import", "vcard", "-", "--json", input=text).json()["created"] == 2
    piped = sfa("import", "csv", "-", "-t", "account", "--json", input="Company;City\nAcme;Berlin\n")
    assert piped.json()["created"] == 1 and piped.json()["file"] == "-"


def test_import_vcard(sfa: Runner, tmp_path: Path) -> None:
    result = sfa("import", "vcard", str(FIXTURES / "phone_export.vcf"))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        "3 cards read: 3 created, 0 updated, 0 skipped, 0 rejected; 2 new accounts created"
    )
    broken = sfa("import", "vcard", str(FIXTURES / "broken.vcf"), "--json").json()
    assert broken["created"] == 2 and [r["line"] for r in broken["rejected_rows"]] == [6, 11]
    not_vcard = sfa("import", "vcard", str(FIXTURES / "crm_contacts.csv"))
    assert not_vcard.code == 1 and "is not a vCard file" in not_vcard.err
    assert len(not_vcard.err.splitlines()) == 1


def test_export_csv_json_stdout_and_file(sfa: Runner, home: Path, tmp_path: Path) -> None:
    seeded(home)
    out = sfa("export", "json", "--type", "contact")
    assert out.code == 0 and out.err == "exported 2 contact records\n"
    rows = out.json()
    assert {r["name"] for r in rows} == {"Hans Müller", "Eva Schmidt"}
    # The same field names and values as --json listings (without the display ref).
    listed = {r["id"]: r for r in sfa("contact", "list", "--json").json()}
    for row in rows:
        assert row == {k: v for k, v in listed[row["id"]].items() if k != "ref"}
    target = tmp_path / "visits.csv"
    written = sfa("export", "csv", "--type", "visit", "--output", str(target))
    assert written.out == f"exported 2 visit records to {target}\n"
    header = target.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("id,account_id,contact_ids,starts_at,duration_min")
    as_json = sfa("export", "csv", "-t", "opp", "-o", str(tmp_path / "o.csv"), "--json").json()
    assert as_json == {"file": str(tmp_path / "o.csv"), "type": "opportunity", "count": 1}
    assert sfa("export", "csv", "--type", "widgets").code == 2
    assert sfa("export", "csv", "-t", "account", "-o", str(tmp_path / "no" / "x.csv")).code == 1


def test_export_vcard_and_ics(sfa: Runner, home: Path, tmp_path: Path) -> None:
    import vobject
    from icalendar import Calendar

    ids = seeded(home)
    cards = tmp_path / "contacts.vcf"
    result = sfa("export", "vcard", "--account", ids["account"][-12:][:8], "--output", str(cards))
    assert result.code == 0 and result.out == f"exported 2 contacts to {cards}\n"
    parsed = list(vobject.readComponents(cards.read_text(encoding="utf-8")))
    assert sorted(c.fn.value for c in parsed) == ["Eva Schmidt", "Hans Müller"]
    calendar = tmp_path / "sfa.ics"
    result = sfa(
        "export", "ics", "--from", "2026-11-01", "--to", "2026-11-30", "--output", str(calendar), "--json"
    )
    assert result.json() == {"file": str(calendar), "visits": 1, "tasks": 2}
    cal = Calendar.from_ical(calendar.read_text(encoding="utf-8"))
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [f"{ids['visit']}@sfa"]
    stdout = sfa("export", "ics")
    assert calendar.read_bytes().startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")  # CRLF, as RFC 5545 says
    assert stdout.out.startswith("BEGIN:VCALENDAR\n") and stdout.err == "exported 2 visits and 3 tasks\n"
    bad = sfa("export", "ics", "--from", "someday")
    assert bad.code == 1 and bad.err.startswith("sfa: error: from: 'someday' is not a date")


def test_export_all_and_import_all(sfa: Runner, home: Path, tmp_path: Path) -> None:
    seeded(home)
    backup_dir = tmp_path / "backup"
    result = sfa("export", "all", "--output", str(backup_dir))
    assert result.code == 0 and result.out.startswith("exported ") and backup_dir.is_dir()
    second_home = tmp_path / "restored"
    restored = run_sfa(second_home, "import", "all", str(backup_dir), "--json")
    assert restored.code == 0, restored.err
    assert restored.json()["types"]["contact"] == 2 and restored.json()["types"]["timeline"] == 1
    for kind in (
        "account",
        "contact",
        "lead",
        "opportunity",
        "visit",
        "task",
        "product",
        "quote",
        "quote_line",
    ):
        before = sfa("export", "json", "--type", kind).json()
        after = run_sfa(second_home, "export", "json", "--type", kind).json()
        assert after == before, kind
    again = run_sfa(second_home, "import", "all", str(backup_dir))
    assert again.code == 1 and "empty store only" in again.err
    assert sfa("export", "all", "--output", str(backup_dir)).code == 1  # not empty: refused
    not_backup = run_sfa(tmp_path / "third", "import", "all", str(FIXTURES))
    assert not_backup.code == 1 and "is not an sfa backup" in not_backup.err
    assert run_sfa(tmp_path / "third", "import", "all", str(tmp_path / "nowhere")).code == 1


def test_interop_libraries_stay_off_the_plain_cli_path(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from sfa.cli.main import run\n"
        "import sfa.cli.imports, sfa.cli.exports\n"
        "try:\n"
        f"    run(['--home', {str(tmp_path)!r}, 'export', 'csv', '--type', 'account'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('icalendar', 'vobject') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stderr


def test_help_lists_the_commands(sfa: Runner) -> None:
    top = sfa("--help")
    assert "import" in top.out and "export" in top.out
    assert all(c in sfa("export", "--help").out for c in ("csv", "json", "vcard", "ics", "all"))
    assert all(c in sfa("import", "--help").out for c in ("csv", "vcard", "all"))
    assert json.loads(sfa("export", "json", "-t", "product").out) == []


def test_progress_bar_only_on_a_terminal(home: Path, tmp_path: Path) -> None:
    import pexpect

    path = tmp_path / "many.csv"
    # Over a megabyte, four batches: each is read while the writer process commits the one before.
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(36_000)))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sfa", "--home", str(home), "import", "csv", str(path), "-t", "contact"],
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 100),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "importing" in child.before  # the bar, drawn on the terminal
    assert "36000 rows read: 36000 created" in child.before
    piped = run_sfa(home, "import", "csv", str(path), "-t", "contact")
    assert "importing" not in piped.err and piped.out.startswith("36000 rows read: 0 created")


def test_export_vcard_vdir_for_khard(sfa: Runner, home: Path, tmp_path: Path) -> None:
    import vobject

    ids = seeded(home)
    book = tmp_path / "book"
    assert sfa("export", "vcard", "--vdir").code == 2
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    refused = sfa("export", "vcard", "--vdir", "--output", str(blocker))
    assert refused.code == 1 and "not a directory" in refused.err and blocker.read_text() == ""
    # A missing directory is created with its parents, as for a first export into ~/.contacts/sfa.
    book = tmp_path / "contacts" / "book"
    result = sfa("export", "vcard", "--vdir", "--output", str(book), "--json")
    assert result.json() == {"directory": str(book), "contacts": 2}
    hans_file = book / f"{ids['hans']}.vcf"
    card = vobject.readOne(hans_file.read_text(encoding="utf-8"))
    assert card.fn.value == "Hans Müller" and card.uid.value == f"urn:uuid:{ids['hans']}"
    # Unchanged cards are left alone (a sync tool sees only real changes); a changed one is rewritten.
    hans_file.write_text(hans_file.read_text(encoding="utf-8").replace("REV:", "REV:1999"), encoding="utf-8")
    eva_before = (book / f"{ids['eva']}.vcf").stat().st_mtime_ns
    assert sfa("contact", "edit", ids["eva"], "--title", "CFO").code == 0
    assert sfa("export", "vcard", "--vdir", "--output", str(book)).code == 0
    assert "REV:1999" in hans_file.read_text(encoding="utf-8")
    eva = vobject.readOne((book / f"{ids['eva']}.vcf").read_text(encoding="utf-8"))
    assert eva.title.value == "CFO" and (book / f"{ids['eva']}.vcf").stat().st_mtime_ns >= eva_before
    (book / "someone-else.vcf").write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n")
    assert sfa("contact", "delete", ids["eva"]).code == 0
    assert sfa("export", "vcard", "--vdir", "--output", str(book)).code == 0
    assert sorted(p.name for p in book.iterdir()) == sorted([hans_file.name, "someone-else.vcf"])
