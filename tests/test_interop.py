"""Interop services in process: CSV import rules, vCard and iCalendar, exports and the backup."""

from __future__ import annotations

import json
import os
import signal
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfa.domain import names
from sfa.domain.dates import iso_utc, utc_now
from sfa.domain.entities import ACCOUNT, CONTACT, ENTITIES, LEAD, OPPORTUNITY, PRODUCT, TIMELINE
from sfa.domain.errors import UsageError, ValidationError
from sfa.services.interop import backup, ics, vcard
from sfa.services.interop.csv_import import import_csv
from sfa.services.interop.textfile import FileRefused, read_csv
from sfa.store import codec
from sfa.store.clocks import read as read_clocks
from sfa.store.workspace import Workspace
from tests.interop_data import populate

FIXTURES = Path(__file__).parent / "fixtures"


def wire_all(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    return {name: backup.export_records(ws, e, include_deleted=True) for name, e in ENTITIES.items()}


def contacts_by_name(ws: Workspace) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in ws.store.select(CONTACT)}


def account_name(ws: Workspace, account_id: str | None) -> str | None:
    return ws.store.get(ACCOUNT, account_id)["name"] if account_id else None


# -- names ----------------------------------------------------------------------------------------


def test_names_join_split_and_unflip() -> None:
    assert names.join_name("Anna", " Maria ", "van der Berg") == "Anna Maria van der Berg"
    assert names.split_name("Anna Maria van der Berg") == ("Anna Maria", "van der Berg")
    assert names.split_name("Müller, Hans") == ("Hans", "Müller")
    assert names.split_name("Cher") == ("", "Cher")
    assert names.unflip("Acme, Inc, Ltd") == "Acme, Inc, Ltd"


def test_a_comma_before_a_suffix_is_not_a_flip_and_vcard_n_gets_prefix_and_suffix(ws: Workspace) -> None:
    assert names.unflip("Hans Müller, PhD") == "Hans Müller, PhD"
    assert names.unflip("Peter King, M.D.") == "Peter King, M.D."
    assert names.unflip("Müller, Hans Jr.") == "Hans Müller Jr."
    assert names.name_parts("Dr. Anna van der Berg, PhD") == ("Dr.", "Anna", "van der Berg", "PhD")
    assert names.name_parts("Prof. Dr. Hans Peter Müller") == ("Prof. Dr.", "Hans Peter", "Müller", "")
    assert names.name_parts("Dr. Who") == ("Dr.", "", "Who", "")
    import vobject

    ws.store.insert(CONTACT, {"name": "Dr. Anna van der Berg, PhD"})
    text, _count = vcard.export_vcards(ws)
    card = next(vobject.readComponents(text))
    n = card.n.value
    assert (n.prefix, n.given, n.family, n.suffix) == ("Dr.", "Anna", "van der Berg", "PhD")
    assert card.fn.value == "Dr. Anna van der Berg, PhD"


# -- reading CSV ----------------------------------------------------------------------------------


def test_read_csv_bom_semicolons_quotes_and_embedded_newlines() -> None:
    table = read_csv(FIXTURES / "crm_contacts.csv")
    assert table.delimiter == ";"
    assert table.header[1] == "First Name"  # the BOM is not part of the first column name
    line, cells = table.rows[0]
    assert line == 2
    assert cells[9] == 'Met at Hannover Messe; prefers calls\nbefore 10:00, "never" on Fridays'
    # The row after a two-line row starts on line 4; line numbers count physical lines.
    assert [r[0] for r in table.rows] == [2, 4, 5, 7, 8, 9]


def test_read_csv_tab_and_excel_sep_line(tmp_path: Path) -> None:
    assert read_csv(FIXTURES / "products.tsv").delimiter == "\t"
    path = tmp_path / "sep.csv"
    path.write_text("sep=,\nName;Phone,City\nA;B,Berlin\n", encoding="utf-8")
    table = read_csv(path)
    assert table.header == ["Name;Phone", "City"]
    assert table.rows == [(3, ["A;B", "Berlin"])]


def test_read_csv_windows_1252_and_utf16(tmp_path: Path) -> None:
    path = tmp_path / "cp1252.csv"
    path.write_bytes("Name;City\nJürgen;Köln\n".encode("cp1252"))
    assert read_csv(path).rows[0][1] == ["Jürgen", "Köln"]
    path16 = tmp_path / "utf16.csv"
    path16.write_bytes("Name\tCity\nJürgen\tKöln\n".encode("utf-16"))
    table = read_csv(path16)
    assert table.delimiter == "\t" and table.rows[0][1] == ["Jürgen", "Köln"]


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", b"", b"\n\n  \n"])
def test_not_csv_is_refused_and_nothing_written(ws: Workspace, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    with pytest.raises(FileRefused) as caught:
        import_csv(ws, path, "contact")
    assert "\n" not in str(caught.value)
    assert ws.store.count(CONTACT) == 0 and ws.store.count(ACCOUNT) == 0


def test_header_that_is_data_or_unknown_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("Hans Müller,hans@example.com,+49 30 1234567\nEva,eva@example.com,+49 30 7654321\n")
    with pytest.raises(FileRefused, match="looks like data, not a header"):
        import_csv(ws, path, "contact")
    path.write_text("Foo,Bar\n1,2\n")
    with pytest.raises(FileRefused, match="names no field"):
        import_csv(ws, path, "contact")
    path.write_text("Email,Phone\nhans@example.com,+49 30 1234567\n")
    with pytest.raises(FileRefused, match="no column gives the contact name"):
        import_csv(ws, path, "contact")
    assert ws.store.count(CONTACT) == 0


# -- importing CSV --------------------------------------------------------------------------------


def test_crm_contacts_import_guessed_mapping_names_accounts(ws: Workspace) -> None:
    summary = import_csv(ws, FIXTURES / "crm_contacts.csv", "contact")
    assert summary.created == 5
    assert summary.rejected == [
        {"line": 8, "reason": "email: 'not-an-email' is not an email address (name@example.com)"}
    ]
    assert summary.mapping["E-mail Address"] == "email" and summary.mapping["Company"] == "account"
    assert summary.mapping["Job Title"] == "title" and "Title" in summary.ignored_columns
    people = contacts_by_name(ws)
    hans = people["Hans Müller"]
    assert hans["title"] == "Einkaufsleiter"
    assert hans["phone"] == "+49 30 1234567" and hans["mobile"] == "+49 171 2345678"
    assert hans["notes"] == 'Met at Hannover Messe; prefers calls\nbefore 10:00, "never" on Fridays'
    assert hans["tags"] == ["customers", "key"]
    assert people["Anna Maria van der Berg"]["email"] == "anna@bergzonen.nl"
    # "Müller Maschinenbau" and "Müller Maschinenbau GmbH" are one account (legal form ignored).
    assert people["Jürgen Schmidt"]["account_id"] == hans["account_id"]
    assert account_name(ws, hans["account_id"]) == "Müller Maschinenbau GmbH"
    assert people["Tom Baker"]["account_id"] is None
    assert summary.accounts_created == 3 and ws.store.count(ACCOUNT) == 3
    # Change capture is on: every imported record is in the outbox.
    outbox = {(o["entity"], o["record_id"]) for o in ws.store.outbox()}
    assert ("contact", hans["id"]) in outbox and ("account", hans["account_id"]) in outbox


def test_rerun_skips_everything_and_update_changes_only_given_fields(ws: Workspace, tmp_path: Path) -> None:
    import_csv(ws, FIXTURES / "crm_contacts.csv", "contact")
    again = import_csv(ws, FIXTURES / "crm_contacts.csv", "contact")
    assert (again.created, len(again.skipped), len(again.rejected)) == (0, 5, 1)
    assert "duplicate of contact" in again.skipped[0]["reason"]
    assert ws.store.count(CONTACT) == 5 and ws.store.count(ACCOUNT) == 3
    path = tmp_path / "changes.csv"
    path.write_text(
        "Email,Mobile,Name\nhans.mueller@mueller-mb.de,+49 172 9999999,Hans Müller\n"
        "claire.dubois@dubois.fr,,Claire Dubois\n"
    )
    updated = import_csv(ws, path, "contact", on_duplicate="update")
    assert (updated.created, updated.updated, len(updated.skipped)) == (0, 1, 1)
    assert updated.skipped[0]["reason"].startswith("unchanged")
    hans = contacts_by_name(ws)["Hans Müller"]
    assert hans["mobile"] == "+49 172 9999999" and hans["title"] == "Einkaufsleiter"
    assert [h["field"] for h in ws.store.history(hans["id"])] == ["mobile"]
    created = import_csv(ws, path, "contact", on_duplicate="create")
    assert created.created == 2 and ws.store.count(CONTACT) == 7


def test_duplicates_within_one_file(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    path.write_text(
        "Name,Email,Company\nHans Müller,hans@x.de,Acme\nH. Mueller,HANS@x.de,Acme\n"
        "Hans Müller,,ACME GmbH\nEva,eva@x.de,Acme\n"
    )
    summary = import_csv(ws, path, "contact")
    assert summary.created == 2
    assert [s["line"] for s in summary.skipped] == [3, 4]
    assert {s["duplicate_of"]["reason"] for s in summary.skipped} == {"email", "name and account"}
    merged = import_csv(ws, path, "contact", on_duplicate="update")
    assert merged.created == 0


def test_map_overrides_and_ignores(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Kunde,Wer,Mail,Notes\nAcme,Hans Müller,hans@acme.de,secret\n")
    with pytest.raises(UsageError, match="no such column"):
        import_csv(ws, path, "contact", maps=["Nope=name"])
    with pytest.raises(UsageError, match="has no field 'colour'"):
        import_csv(ws, path, "contact", maps=["Wer=colour"])
    summary = import_csv(ws, path, "contact", maps=["Wer=name", "kunde=account", "Notes=-"])
    assert summary.created == 1 and summary.mapping == {"Kunde": "account", "Wer": "name", "Mail": "email"}
    hans = contacts_by_name(ws)["Hans Müller"]
    assert hans["notes"] is None and account_name(ws, hans["account_id"]) == "Acme"


def test_dry_run_writes_nothing(ws: Workspace) -> None:
    summary = import_csv(ws, FIXTURES / "crm_contacts.csv", "contact", dry_run=True)
    assert summary.created == 5 and summary.accounts_created == 3 and summary.dry_run
    assert ws.store.count(CONTACT) == 0 and ws.store.count(ACCOUNT) == 0 and ws.store.outbox() == []


def test_interrupted_import_keeps_whole_batches_and_rerun_finishes(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(10)))

    original = ws.store.insert_many
    calls = []

    def insert_then_interrupt(entity: Any, rows: Any, **kwargs: Any) -> Any:
        # The second batch's rows are written, then Ctrl-C arrives before the commit.
        result = original(entity, rows, **kwargs)
        calls.append(len(rows))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(ws.store, "insert_many", insert_then_interrupt)
    # Updating duplicates keeps the batches in this process (no writer process), as a dry run does.
    with pytest.raises(KeyboardInterrupt):
        import_csv(ws, path, "contact", batch_size=4, on_duplicate="update")
    monkeypatch.undo()
    assert ws.store.count(CONTACT) == 4  # the first batch; the second was rolled back whole
    summary = import_csv(ws, path, "contact", batch_size=4, on_duplicate="update")
    assert (summary.created, len(summary.skipped)) == (6, 4)
    assert ws.store.count(CONTACT) == 10


def _people_csv(path: Path, count: int) -> Path:
    path.write_text(
        "First Name;Last Name;Company;E-mail;Mobile\n"
        + "".join(
            f"Anna;Müller {i};Firma {i % 7} GmbH;anna.{i}@example.com;+49 171 {3000000 + i}\n"
            for i in range(count)
        )
    )
    return path


def _stored_contacts(ws: Workspace) -> list[tuple[Any, ...]]:
    """Everything an import stores about each contact, ids and times aside, in name order."""
    rows = ws.store.conn.execute(
        "SELECT c.name, c.email, c.mobile, a.name, c.email_key, c.phone_key, c.mobile_key, c.name_key,"
        " o.fields FROM contact c JOIN account a ON a.id = c.account_id"
        " JOIN outbox o ON o.record_id = c.id ORDER BY c.name"
    ).fetchall()
    return [
        (*row[:8], {k: v[0] for k, v in codec.read_outbox_fields(row[8]).items() if k != "account_id"})
        for row in rows
    ]


@pytest.fixture
def writer_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small test files written by the writer process, as files of a megabyte or more are."""
    monkeypatch.setattr("sfa.services.interop.csv_import.BULK_MIN_BYTES", 0)


def test_writer_process_import_stores_what_the_in_process_import_stores(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfa.services.interop import csv_import

    path = _people_csv(tmp_path / "people.csv", 40)
    results = []
    for threshold in (1 << 40, 0):  # written here; then by the writer process, in six batches
        monkeypatch.setattr(csv_import, "BULK_MIN_BYTES", threshold)
        batch_size = 7
        ws = Workspace(tmp_path / f"home-{threshold}")
        try:
            summary = import_csv(ws, path, "contact", batch_size=batch_size)
            assert (summary.created, summary.accounts_created) == (40, 7)
            stored = _stored_contacts(ws)
            # The key columns the importer hands in are the ones the store would derive.
            for contact in ws.store.select(CONTACT):
                keys = ws.store.conn.execute(
                    "SELECT email_key, phone_key, mobile_key, name_key FROM contact WHERE id = ?",
                    (contact["id"],),
                ).fetchone()
                assert tuple(keys) == tuple(CONTACT.derived(contact).values())  # type: ignore[misc]
            assert len(ws.store.search("müller", limit=100)) == 40
            assert ws.store.count(ACCOUNT) == 7
            rerun = import_csv(ws, path, "contact", batch_size=batch_size)
            assert (rerun.created, len(rerun.skipped)) == (0, 40)
            results.append(stored)
        finally:
            ws.close()
    assert len(results[0]) == 40 and results[0] == results[1]


def test_writer_process_stores_money_dates_and_timeline_as_the_in_process_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Products and opportunities carry Decimals and dates (sent to the writer by pickle, not
    marshal) and opportunities a timeline entry: the writer prepares them as Store.insert_many does."""
    from sfa.services.interop import csv_import

    def stored(ws: Workspace) -> list[Any]:
        names_by_id = {a["id"]: a["name"] for a in ws.store.select(ACCOUNT)}
        found = []
        for entity in (ACCOUNT, PRODUCT, OPPORTUNITY, TIMELINE):
            for record in ws.store.select(entity, order="rid"):
                kept = {k: v for k, v in record.items() if k not in ("id", "created_at", "updated_at", "at")}
                for ref in ("account_id", "record_id"):
                    kept[ref] = names_by_id.get(kept.get(ref), "opp" if kept.get(ref) else None)
                found.append((entity.name, kept))
        outbox = sorted(json.dumps(sorted(e["fields"]), default=str) for e in ws.store.outbox())
        return [found, outbox, len(ws.store.search("pumps")), len(ws.store.search("berg"))]

    results = []
    for threshold in (1 << 40, 0):
        monkeypatch.setattr(csv_import, "BULK_MIN_BYTES", threshold)
        ws = Workspace(tmp_path / f"home-{threshold}")
        try:
            for name, kind in (
                ("salesforce_accounts.csv", "account"),
                ("products.tsv", "product"),
                ("hubspot_deals.csv", "opp"),
            ):
                import_csv(ws, FIXTURES / name, kind, batch_size=2)
            results.append(stored(ws))
        finally:
            ws.close()
    assert results[0] == results[1]
    assert results[0][2] == 1 and results[0][3] == 1  # found by search: the entries were written
    prices = [r["unit_price"] for e, r in results[1][0] if e == "product"]
    assert len(prices) == 3 and all(isinstance(p, Decimal) for p in prices)


def test_a_batch_prepared_partly_here_and_partly_by_the_writer_stores_every_row_once(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the writer is busy this process prepares slices of the batch itself; the rest goes as
    rows. Rids, search entries and outbox entries must still line up one to one with the rows."""
    from sfa.store import db

    monkeypatch.setattr(db, "PREPARE_STEP", 3)
    answers = iter([True, True])  # busy for two slices (rows 0-5), then free: rows 6-9 go unprepared
    with ws.store.bulk() as session:
        monkeypatch.setattr(session.writer, "busy", lambda: next(answers, False))
        session.insert_many(
            CONTACT, [{"name": f"Person {i}", "email": f"p{i}@example.com"} for i in range(10)]
        )
        session.commit()
    stored = ws.store.select(CONTACT, order="rid")
    assert [c["name"] for c in stored] == [f"Person {i}" for i in range(10)]
    assert [c["email"] for c in stored] == [f"p{i}@example.com" for i in range(10)]
    for i, contact in enumerate(stored):
        found = ws.store.search(f"p{i}@example.com")
        assert [record["id"] for _, record in found] == [contact["id"]]
    assert sorted(e["record_id"] for e in ws.store.outbox()) == sorted(c["id"] for c in stored)


def test_a_field_the_entity_lacks_is_refused_before_the_writer_process_sees_it(ws: Workspace) -> None:
    refused = pytest.raises(ValidationError, match="shoe_size: contact has no such field")
    with refused, ws.store.bulk() as session:
        session.insert_many(CONTACT, [{"name": "Fine"}, {"name": "Odd", "shoe_size": "44"}])
    assert ws.store.count(CONTACT) == 0


def test_without_fork_the_batches_are_written_in_this_process(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_process: None
) -> None:
    monkeypatch.delattr(os, "fork")  # as on Windows
    summary = import_csv(ws, _people_csv(tmp_path / "people.csv", 25), "contact", batch_size=10)
    assert summary.created == 25 and ws.store.count(CONTACT) == 25 and len(ws.store.outbox()) == 25 + 7


def test_writer_process_killed_leaves_whole_batches_and_rerun_finishes(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_process: None
) -> None:
    from sfa.domain.errors import StoreError
    from sfa.store import bulk

    path = _people_csv(tmp_path / "people.csv", 50)
    original = bulk.BulkWriter.send
    sent = []

    def send_then_kill(self: bulk.BulkWriter, *args: Any) -> None:
        original(self, *args)
        sent.append(1)
        if len(sent) == 2:
            os.kill(self.pid, signal.SIGKILL)  # while the second batch is being written (or just after)

    monkeypatch.setattr(bulk.BulkWriter, "send", send_then_kill)
    with pytest.raises(StoreError, match="writer process stopped"):
        import_csv(ws, path, "contact", batch_size=10)
    monkeypatch.undo()
    kept = ws.store.count(CONTACT)
    assert kept in (10, 20)  # the first batch, and the second only if it committed before the kill
    summary = import_csv(ws, path, "contact", batch_size=10)
    assert (summary.created, len(summary.skipped)) == (50 - kept, kept)
    assert ws.store.count(CONTACT) == 50


def test_interrupted_writer_process_import_finishes_the_batch_in_flight_only(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_process: None
) -> None:
    from sfa.services.interop.csv_import import CsvImporter

    path = _people_csv(tmp_path / "people.csv", 50)
    original = CsvImporter.write
    calls = []

    def interrupt_on_third(self: CsvImporter, *args: Any) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third batch is read; the second is in flight
        original(self, *args)

    monkeypatch.setattr(CsvImporter, "write", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        import_csv(ws, path, "contact", batch_size=10)
    assert ws.store.count(CONTACT) == 20


def test_a_batch_the_writer_process_refuses_writes_nothing(ws: Workspace) -> None:
    orphan = {"name": "Orphan", "account_id": "0190d6e2-0000-7000-8000-000000000000"}
    refused = pytest.raises(ValidationError, match="cannot save: FOREIGN KEY constraint failed")
    with refused, ws.store.bulk() as session:
        assert ws.store.count(CONTACT) == 0  # this process reads as usual; the writer writes
        writer = session.writer.pid  # one writer process for the session
        assert writer and os.waitpid(writer, os.WNOHANG) == (0, 0)
        session.insert_many(CONTACT, [{"name": "Fine"}])
        session.commit()
        session.insert_many(CONTACT, [orphan])
        session.insert_many(CONTACT, [{"name": "Same batch"}])
        session.commit()
    with pytest.raises(ChildProcessError):
        os.waitpid(writer, os.WNOHANG)  # it ended, and was waited for, with the session
    assert [c["name"] for c in ws.store.select(CONTACT)] == ["Fine"]
    assert len(ws.store.outbox()) == 1 and len(ws.store.search("same batch")) == 0


def test_a_google_contacts_export_with_labelled_phones(ws: Workspace) -> None:
    """Google's current CSV: Organization Name/Title, "Phone N - Label" saying which number is the
    mobile, several numbers of one label joined with " ::: ", and the myContacts system group."""
    summary = import_csv(ws, FIXTURES / "google_contacts.csv", "contact")
    assert summary.created == 3 and summary.rejected == []
    assert summary.mapping["Phone 1 - Value"] == "mobile or phone, by Phone 1 - Label"
    assert summary.mapping["Organization Title"] == "title"
    people = {c["name"]: c for c in ws.store.select(CONTACT)}
    hans, eva, dan = people["Hans Müller"], people["Eva Roth"], people["Dan Lee"]
    assert (hans["mobile"], hans["phone"], hans["title"]) == ("+49 170 111111", "+49 30 222222", "Einkauf")
    assert (eva["mobile"], eva["phone"], eva["title"]) == (None, "+49 89 444444", "CEO")
    assert (dan["mobile"], dan["phone"]) == ("+44 7700 900123", "+44 (0)20 7946 0018")
    assert hans["tags"] == ["kunden"] and dan["tags"] == []
    accounts = {a["id"]: a["name"] for a in ws.store.select(ACCOUNT)}
    assert accounts[hans["account_id"]] == "Müller GmbH"


def test_title_lines_above_the_header_are_skipped(ws: Workspace, tmp_path: Path) -> None:
    """A report export: its name and date above the header, which has its own delimiter."""
    path = tmp_path / "report.csv"
    path.write_text(
        "Contacts report\r\nExported 2026-11-20;;\r\n\r\nFirst Name;Last Name;Company;Email\r\n"
        "Hans;Müller;Müller GmbH;hans@m.de\r\nEva;Roth;Roth AG;not-an-email\r\n"
    )
    summary = import_csv(ws, path, "contact")
    assert summary.header_line == 4 and summary.created == 1
    assert summary.rejected[0]["line"] == 6  # line numbers are still the file's
    assert [c["name"] for c in ws.store.select(CONTACT)] == ["Hans Müller"]
    data = tmp_path / "data.csv"
    data.write_text("Hans Müller,hans@example.com\nEva Roth,eva@example.com\n")  # no header anywhere
    with pytest.raises(FileRefused, match="looks like data, not a header line"):
        import_csv(ws, data, "contact")


def test_malformed_rows_rejected_with_line_numbers(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "Name,Email,Phone\nGood One,good@example.com,+49 30 111111\n"
        "Too,many,+49 30 222222,fields,here\n,nobody@example.com,\n"
        '"Multi\nLine",ml@example.com,abc\nLast Good,last@example.com,\n'
    )
    summary = import_csv(ws, path, "contact")
    assert summary.created == 2
    reasons = {r["line"]: r["reason"] for r in summary.rejected}
    assert set(reasons) == {3, 4, 5}
    assert "5 fields but the header has 3" in reasons[3]
    assert reasons[4] == "name: is required"
    assert reasons[5].startswith("phone: 'abc' is not a phone number")


def test_a_quote_never_closed_rejects_its_line_and_the_rows_after_it_import(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        'Name,Email,Notes\nAlice A,alice@a.de,"two\nlines"\n"Bob B,bob@b.de,x\n'
        'Carol C,carol@c.de,"y\n"Acme" Inc,acme@a.de,\nEve E,eve@e.de,"z"\n'
        'Dan D,dan@d.de,"open\nFrank F,frank@f.de,\n'
    )
    summary = import_csv(ws, path, "contact")
    stored = {c["name"]: c["notes"] for c in ws.store.select(CONTACT)}
    assert stored == {"Alice A": "two\nlines", "Eve E": "z", "Frank F": None}
    reasons = {r["line"]: r["reason"] for r in summary.rejected}
    assert [r["line"] for r in summary.rejected] == [4, 5, 6, 8]  # in file order
    assert "text follows a closing quote" in reasons[4]  # Bob's quote ends on Carol's line, before y
    assert "text follows a closing quote" in reasons[5]  # Carol's quote ends on the next line
    assert "text follows a closing quote" in reasons[6]
    assert reasons[8].startswith("a quote opened on this line is never closed")
    assert (summary.rows, summary.created) == (7, 3)


def test_a_german_pipedrive_export_with_decimal_commas_dotted_dates_and_currency_signs(ws: Workspace) -> None:
    summary = import_csv(ws, FIXTURES / "pipedrive_deals_de.csv", "opp")
    assert summary.created == 4 and summary.accounts_created == 2
    assert summary.rejected == [
        {
            "line": 7,
            "reason": "amount: 'zwölf' is not an amount; expected a number like 12000, 12,000.50 or 12k",
        }
    ]
    deals = {o["name"]: o for o in ws.store.select(OPPORTUNITY)}
    shown = {
        name: (str(o["amount"]), o["currency"], o["close_date"].isoformat(), o["probability"])
        for name, o in deals.items()
    }
    assert shown == {
        "Pumpen Linie 3": ("1234.56", "EUR", "2026-12-15", 45),  # "1.234,56 €", "15.12.2026", "45%"
        "Ventile": ("12000.00", "EUR", "2027-01-31", 30),  # "12.000": the column has decimal commas
        "Service USA": ("5000.00", "USD", "2027-02-03", 30),  # "5.000,00 USD" gives the currency
        "Wartung": ("2500.00", "EUR", "2027-03-01", 70),  # a timestamp's date; the stage's probability
    }
    assert deals["Pumpen Linie 3"]["notes"] == 'Angebot bis Freitag; "dringend"'
    assert deals["Wartung"]["notes"] == "zwei\nZeilen"  # the cell's CRLF is one line break


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["03/04/2026", "31/12/2026"], ["2026-04-03", "2026-12-31"]),  # the column is day first
        (["03/04/2026", "12/31/2026"], ["2026-03-04", "2026-12-31"]),  # month first
        (["4.3.2026", "2026-03-04", "2026-03-04 23:30"], ["2026-03-04", "2026-03-04", "2026-03-04"]),
    ],
)
def test_spreadsheet_dates_are_read_one_way_per_column(cells: list[str], expected: list[str]) -> None:
    from sfa.services.interop.spreadsheet import date_order, iso_date

    order = date_order(cells)
    assert [iso_date(c, order) for c in cells] == expected


def test_an_ambiguous_date_in_a_column_that_never_tells_is_rejected(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("Deal Name,Company,Close Date\nA,X,03/04/2026\nB,X,05/05/2026\n")
    summary = import_csv(ws, path, "opp")
    assert [r["line"] for r in summary.rejected] == [2]
    assert "could be day/month or month/day" in summary.rejected[0]["reason"]
    assert [o["close_date"].isoformat() for o in ws.store.select(OPPORTUNITY)] == ["2026-05-05"]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1,234", "1.234,56"], [("1.234", None), ("1234.56", None)]),  # a decimal-comma column
        (["1,234", "12.50"], [("1,234", None), ("12.50", None)]),  # a decimal-point column
        (["1,234"], [("1,234", None)]),  # undecided: sfa's own reading (thousands)
        (
            ["3.000,00 €", "$5", "EUR 1.200", "1 234,50", "70%"],
            [("3000.00", "EUR"), ("5", "USD"), ("1200", "EUR"), ("1234.50", None), ("70", None)],
        ),
    ],
)
def test_spreadsheet_numbers_are_read_one_way_per_column(
    cells: list[str], expected: list[tuple[str, str | None]]
) -> None:
    from sfa.services.interop.spreadsheet import decimal_mark, plain_number

    mark = decimal_mark(cells)
    assert [plain_number(c, mark) for c in cells] == expected


def test_a_currency_sign_that_contradicts_the_rows_currency_rejects_the_row(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "deals.csv"
    path.write_text('Deal Name,Company,Amount,Currency\nA,X,"$1,500.50",CHF\nB,X,"$1,500.50",usd\n')
    summary = import_csv(ws, path, "opp")
    assert summary.rejected == [
        {"line": 2, "reason": "amount: '$1,500.50' is in USD, but the row's currency is CHF"}
    ]
    assert [(str(o["amount"]), o["currency"]) for o in ws.store.select(OPPORTUNITY)] == [("1500.50", "USD")]


def test_accounts_products_opportunities_and_leads(ws: Workspace, tmp_path: Path) -> None:
    accounts = import_csv(ws, FIXTURES / "salesforce_accounts.csv", "account")
    assert accounts.created == 3 and [r["line"] for r in accounts.rejected] == [6]
    assert accounts.skipped[0]["line"] == 7 and accounts.skipped[0]["duplicate_of"]["reason"] == "name"
    berg = ws.store.select(ACCOUNT, "name = ?", ("Berg & Zonen B.V.",))[0]
    assert berg["street"] == "Keizersgracht 1\n3rd floor" and berg["postcode"] == "1015 CJ"
    muller = ws.store.select(ACCOUNT, "city = ?", ("Berlin",))[0]
    assert muller["owner"] == "jdoe" and muller["notes"] == 'Key account since 2019, "A" rating'

    products = import_csv(ws, FIXTURES / "products.tsv", "product")
    assert products.created == 3 and products.rejected[0]["line"] == 5
    pump = ws.store.select(PRODUCT, "sku = ?", ("PMP-100",))[0]
    assert str(pump["unit_price"]) == "1250.00"  # a price, rounded to the currency's minor unit
    assert pump["tax_rate"] == 19 and pump["active"] is True and pump["currency"] == "EUR"
    assert import_csv(ws, FIXTURES / "products.tsv", "product").skipped[0]["duplicate_of"]["reason"] == "sku"

    opps = import_csv(ws, FIXTURES / "hubspot_deals.csv", "opp")
    assert opps.created == 3 and opps.accounts_created == 1
    assert opps.rejected[0]["line"] == 4 and "not a stage" in opps.rejected[0]["reason"]
    deal = ws.store.select(OPPORTUNITY, "name = ?", ("Pumps for line 3",))[0]
    assert deal["account_id"] == muller["id"] and str(deal["amount"]) == "12000.50"
    assert deal["stage"] == "quotation sent" and deal["probability"] == 70
    assert ws.store.count(TIMELINE, "record_id = ?", (deal["id"],)) == 1
    assert import_csv(ws, FIXTURES / "hubspot_deals.csv", "opp").created == 0
    # An update changes what the row gives, never to defaults it does not give (stage, currency).
    path = tmp_path / "amounts.csv"
    path.write_text("Deal Name,Company,Amount\nPumps for line 3,Müller Maschinenbau,13000\n")
    assert import_csv(ws, path, "opp", on_duplicate="update").updated == 1
    deal = ws.store.get(OPPORTUNITY, deal["id"])
    assert (
        str(deal["amount"]) == "13000.00" and deal["stage"] == "quotation sent" and deal["probability"] == 70
    )

    path = tmp_path / "leads.csv"
    path.write_text(
        "First Name,Last Name,Company,Email,Lead Source\n"
        "Claire,Dubois,Dubois SARL,c@dubois.fr,fair\n"
        "Hans,Müller,Other,hans.x@example.com,web\n"
    )
    import_csv(ws, FIXTURES / "crm_contacts.csv", "contact")
    leads = import_csv(ws, path, "lead", on_duplicate="update")
    # Claire is already a contact at Dubois SARL (same name and company): skipped, even with update.
    assert leads.created == 1 and leads.skipped[0]["line"] == 2
    assert leads.skipped[0]["duplicate_of"]["entity"] == "contact"
    # Hans Müller at "Other" is not the contact at Müller Maschinenbau: a different company.
    lead = ws.store.select(LEAD)[0]
    assert lead["name"] == "Hans Müller" and lead["status"] == "new" and lead["source"] == "web"


def test_lead_matching_a_contact_is_skipped_even_with_update(ws: Workspace, tmp_path: Path) -> None:
    import_csv(ws, FIXTURES / "crm_contacts.csv", "contact")
    path = tmp_path / "leads.csv"
    path.write_text("Name,Email\nHans M.,hans.mueller@mueller-mb.de\n")
    summary = import_csv(ws, path, "lead", on_duplicate="update")
    assert summary.created == 0 and summary.skipped[0]["duplicate_of"]["entity"] == "contact"


def test_bad_type_and_on_duplicate(ws: Workspace) -> None:
    # Messages name fields, not flags; `asks_for` says which (the CLI adds their flags).
    with pytest.raises(UsageError, match=r"^type: 'visit' is not a record type") as bad_type:
        import_csv(ws, FIXTURES / "crm_contacts.csv", "visit")
    assert bad_type.value.asks_for == ("type",) and "--" not in str(bad_type.value)
    with pytest.raises(UsageError, match=r"^on_duplicate: 'merge'") as bad_choice:
        import_csv(ws, FIXTURES / "crm_contacts.csv", "contact", on_duplicate="merge")
    assert bad_choice.value.asks_for == ("on_duplicate",) and "--" not in str(bad_choice.value)


# -- vCard ----------------------------------------------------------------------------------------


def test_phone_vcard_export_imports(ws: Workspace) -> None:
    summary = vcard.import_vcards(ws, FIXTURES / "phone_export.vcf")
    assert (summary.created, summary.rejected, summary.accounts_created) == (3, [], 2)
    people = contacts_by_name(ws)
    hans = people["Hans Müller"]
    assert hans["email"] == "hans.mueller@mueller-mb.de"  # the preferred one
    assert hans["mobile"] == "+49 171 2345678" and hans["phone"] == "+49 30 1234567"  # fax left out
    assert hans["title"] == "Einkaufsleiter" and hans["tags"] == ["customers", "key"]
    assert hans["notes"] == "Met at Hannover Messe, hall 7.\nPrefers calls before 10:00."
    assert account_name(ws, hans["account_id"]) == "Müller Maschinenbau GmbH"
    assert people["Claire Dubois"]["mobile"] == "+33 6 12 34 56 78"
    assert people["Tom Baker"]["account_id"] is None
    again = vcard.import_vcards(ws, FIXTURES / "phone_export.vcf")
    assert again.created == 0 and len(again.skipped) == 3


def test_vcard_4(ws: Workspace) -> None:
    summary = vcard.import_vcards(ws, FIXTURES / "v4_contacts.vcf")
    assert summary.created == 2 and summary.accounts_created == 1
    jane = contacts_by_name(ws)["Jane Doe"]
    assert jane["phone"] == "+1-555-555-0101" and jane["mobile"] == "+1-555-555-0100"
    assert jane["email"] == "jane@example.com" and jane["tags"] == ["partner", "vip"]
    assert jane["account_id"] == contacts_by_name(ws)["Kenji Nakamura"]["account_id"]
    assert contacts_by_name(ws)["Kenji Nakamura"]["phone"] == "+81-3-1234-5678 ext. 102"  # RFC 6350 tel: URI


def test_android_vcard_21_quoted_printable(ws: Workspace) -> None:
    summary = vcard.import_vcards(ws, FIXTURES / "android_21.vcf")
    assert summary.created == 2 and summary.rejected == []
    people = contacts_by_name(ws)
    jurgen = people["Jürgen Müller"]
    assert jurgen["mobile"] == "+49 170 1234567" and jurgen["phone"] == "+49 30 555123"
    assert jurgen["notes"] == "First line\nSecond line with a very long text that goes on and on and on"
    assert account_name(ws, jurgen["account_id"]) == "Müller AG"
    assert people["John Smith"]["phone"] == "0301234567"


def test_malformed_cards_rejected_with_line_rest_imported(ws: Workspace) -> None:
    summary = vcard.import_vcards(ws, FIXTURES / "broken.vcf")
    assert summary.created == 2
    assert [r["line"] for r in summary.rejected] == [6, 11]
    assert "this line has no colon" in summary.rejected[0]["reason"]
    assert summary.rejected[1]["reason"] == "card cannot be read: it has no name (FN or N)"


def test_not_a_vcard_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "x.vcf"
    path.write_text("Name,Email\nA,a@example.com\n")
    with pytest.raises(FileRefused, match="not a vCard file"):
        vcard.import_vcards(ws, path)
    path.write_bytes(b"\x00\x01\x02BEGIN:VCARD\x00")
    with pytest.raises(FileRefused, match="binary"):
        vcard.import_vcards(ws, path)
    assert ws.store.count(CONTACT) == 0


def test_vcard_export_parses_and_round_trips(ws: Workspace, home: Path, tmp_path: Path) -> None:
    import vobject

    ids = populate(ws)
    text, count = vcard.export_vcards(ws)
    assert count == 2
    cards = {c.fn.value: c for c in vobject.readComponents(text)}
    hans = ws.store.get(CONTACT, ids["hans"])
    card = cards["Hans Müller"]
    assert card.version.value == "3.0"
    assert card.uid.value == f"urn:uuid:{hans['id']}"
    assert (card.n.value.given, card.n.value.family) == ("Hans", "Müller")
    assert card.org.value == ["Müller Maschinenbau GmbH"]
    assert card.title.value == "Head of purchasing" and card.email.value == hans["email"]
    tels = {tuple(t.params["TYPE"]): t.value for t in card.contents["tel"]}
    assert tels == {("WORK", "VOICE"): "+49 30 1234568", ("CELL",): "+49 171 2345678"}
    assert card.note.value == hans["notes"] and card.categories.value == ["decision maker"]
    assert card.adr.value.city == "Berlin"
    only = vcard.export_vcards(ws, account_ref=ids["account"][-12:][:8])
    assert only[1] == 2
    # Into an empty store: the same contacts, ids kept, the account found again by ORG.
    path = tmp_path / "out.vcf"
    path.write_text(text)
    other = Workspace(tmp_path / "other")
    try:
        summary = vcard.import_vcards(other, path)
        assert summary.created == 2 and summary.accounts_created == 1
        copy = other.store.get(CONTACT, hans["id"])
        for field in ("name", "title", "email", "phone", "mobile", "notes", "tags"):
            assert copy[field] == hans[field], field
        assert account_name(other, copy["account_id"]) == "Müller Maschinenbau GmbH"
        assert vcard.import_vcards(other, path).skipped[0]["duplicate_of"]["reason"] == "id"
    finally:
        other.close()


# -- iCalendar ------------------------------------------------------------------------------------


def test_ics_parses_with_icalendar_field_by_field(ws: Workspace) -> None:
    from datetime import UTC, date, datetime

    from icalendar import Calendar

    ids = populate(ws)
    text, visits, tasks = ics.export_ics(ws)
    assert (visits, tasks) == (2, 3)  # the done task is left out, the undated one kept
    cal = Calendar.from_ical(text)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    todos = {str(t["UID"]): t for t in cal.walk("VTODO")}
    event = events[f"{ids['visit']}@sfa"]
    assert event.decoded("DTSTART") == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Visit: Müller Maschinenbau GmbH (Demo of the new pump, line 3)"
    assert str(event["LOCATION"]) == "Hauptstraße 5, 10115 Berlin"
    description = str(event["DESCRIPTION"])
    assert "Purpose: Demo of the new pump, line 3" in description
    assert "Contacts: Hans Müller (Head of purchasing), Eva Schmidt" in description
    assert str(event["STATUS"]) == "CONFIRMED"
    assert [str(c) for c in event["CATEGORIES"].cats] == ["demo", "pumps"]
    cancelled = next(e for uid, e in events.items() if uid != f"{ids['visit']}@sfa")
    assert str(cancelled["STATUS"]) == "CANCELLED"
    # No fixed time (a flexible visit): an all-day event on its day, leaving the day free.
    assert (cancelled.decoded("DTSTART"), cancelled.decoded("DTEND")) == (
        date(2026, 12, 1),
        date(2026, 12, 2),
    )
    assert str(cancelled["TRANSP"]) == "TRANSPARENT"
    assert "Time: flexible, about 60 min" in str(cancelled["DESCRIPTION"])
    assert "TRANSP" not in event
    assert str(cancelled["LOCATION"]) == "Hauptstraße 5, 10115 Berlin, Germany"  # the account's address
    todo = todos[f"{ids['task']}@sfa"]
    assert todo.decoded("DUE") == date(2026, 11, 25) and int(todo["PRIORITY"]) == 1
    assert str(todo["SUMMARY"]) == "Send the offer for line 3"
    assert str(todo["RELATED-TO"]) == f"{ids['visit']}@sfa"
    assert str(todo["STATUS"]) == "NEEDS-ACTION"
    alarm = todo.walk("VALARM")[0]
    assert alarm.decoded("TRIGGER") == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    call = next(t for t in todos.values() if str(t["SUMMARY"]) == "Call Eva back")
    assert call.decoded("DUE") == datetime(2026, 11, 26, 14, 30, tzinfo=UTC) and int(call["PRIORITY"]) == 9
    # Lines are folded at 75 octets.
    assert max(len(line.encode()) for line in text.split("\r\n")) <= 75


def test_ics_flexible_visit_planned_for_a_day_is_all_day_in_the_local_zone(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from icalendar import Calendar

    from sfa.domain import dates
    from sfa.services import visits

    monkeypatch.setenv("TZ", "Pacific/Auckland")  # 13 hours ahead of UTC: the UTC date is the day before
    dates.local_zone.cache_clear()
    try:
        account = ws.store.insert(ACCOUNT, {"name": "Kiwi Ltd"})
        planned = visits.plan_visit(ws, account_ref=account["id"], at="2026-12-03", purpose="Intro")
        assert planned["fixed_time"] is False and planned["starts_at"].day == 2  # local midnight, in UTC
        text, _visits, _tasks = ics.export_ics(ws)
    finally:
        dates.local_zone.cache_clear()
    [event] = Calendar.from_ical(text).walk("VEVENT")
    assert event.decoded("DTSTART") == date(2026, 12, 3) and event.decoded("DTEND") == date(2026, 12, 4)


def test_ics_uids_stable_and_sequence_grows(ws: Workspace) -> None:
    from icalendar import Calendar

    from sfa.domain.entities import VISIT

    ids = populate(ws)
    an_hour_ago = iso_utc(utc_now() - timedelta(hours=1))  # made then, so that an edit now counts
    ws.store.conn.execute(
        "UPDATE visit SET created_at = ?, updated_at = ? WHERE id = ?",
        (an_hour_ago, an_hour_ago, ids["visit"]),
    )
    first = Calendar.from_ical(ics.export_ics(ws)[0])
    ws.store.update(VISIT, ids["visit"], {"purpose": "Demo, moved"})
    second = Calendar.from_ical(ics.export_ics(ws)[0])
    uids = [sorted(str(c["UID"]) for c in cal.walk() if "UID" in c) for cal in (first, second)]
    assert uids[0] == uids[1]

    def visit_of(cal: Any) -> Any:
        return next(e for e in cal.walk("VEVENT") if str(e["UID"]) == f"{ids['visit']}@sfa")

    assert int(visit_of(first)["SEQUENCE"]) == 0 and int(visit_of(second)["SEQUENCE"]) > 3000
    assert visit_of(second).decoded("LAST-MODIFIED") > visit_of(first).decoded("LAST-MODIFIED")
    assert "Demo, moved" in str(visit_of(second)["SUMMARY"])


def test_ics_ends_what_ended_lately_so_a_calendar_that_has_it_updates(ws: Workspace) -> None:
    """A task done, a visit or task deleted: written as COMPLETED or CANCELLED for RECENT days, so
    that a calendar holding them from an earlier export updates them; older ones are left out."""
    from icalendar import Calendar

    from sfa.domain.entities import TASK, VISIT

    ids = populate(ws)
    done_at = utc_now()
    ws.store.update(TASK, ids["task"], {"status": "done", "done_at": done_at})
    ws.store.delete(VISIT, ids["visit"])
    calendar = Calendar.from_ical(ics.export_ics(ws)[0])
    status = {str(c["UID"]).removesuffix("@sfa"): str(c["STATUS"]) for c in calendar.walk() if "UID" in c}
    assert status[ids["task"]] == "COMPLETED" and status[ids["visit"]] == "CANCELLED"
    todo = next(c for c in calendar.walk("VTODO") if str(c["UID"]) == f"{ids['task']}@sfa")
    assert todo.decoded("COMPLETED") == done_at.replace(microsecond=0)
    long_ago = iso_utc(utc_now() - ics.RECENT - timedelta(days=1))
    ws.store.conn.execute("UPDATE task SET done_at = ? WHERE id = ?", (long_ago, ids["task"]))
    ws.store.conn.execute("UPDATE visit SET updated_at = ? WHERE id = ?", (long_ago, ids["visit"]))
    text = ics.export_ics(ws)[0]
    assert ids["task"] not in text and ids["visit"] not in text


def test_ics_range(ws: Workspace) -> None:
    populate(ws)
    _, visits, tasks = ics.export_ics(ws, "2026-11-24", "2026-11-25")
    assert (visits, tasks) == (1, 1)
    _, visits, tasks = ics.export_ics(ws, "2026-11-26")
    assert (visits, tasks) == (1, 1)
    with pytest.raises(ValidationError, match=r"^to: 2026-11-01 is before the from date 2026-11-26") as bad:
        ics.export_ics(ws, "2026-11-26", "2026-11-01")
    assert bad.value.asks_for == ("from",)


@pytest.mark.parametrize(
    "value", ["Müller GmbH", "a, b; c", "back\\slash", "two\nlines", "cr\r\nlf", "\\N", "plain"]
)
def test_escaping_agrees_with_the_library(value: str) -> None:
    from icalendar import vText

    assert ics._Writer().escape(value) == vText(value).to_ical().decode("utf-8")


@pytest.mark.parametrize(
    "line",
    [
        "DESCRIPTION:" + "ü" * 100,
        "DESCRIPTION:" + "x" * 63,
        "DESCRIPTION:" + "ab" * 100,
        "LOCATION:Straße " * 12,
    ],
)
def test_fold_at_75_octets_keeping_utf8_sequences_whole(line: str) -> None:
    folded = ics.fold(line)
    assert folded.endswith("\r\n")
    parts = folded[:-2].split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


# -- exports and the backup -----------------------------------------------------------------------


def test_export_all_import_all_restores_exactly(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    before = wire_all(ws)
    assert all(before[name] for name in ENTITIES)  # every type is in the test
    result = backup.export_all(ws, tmp_path / "backup")
    assert result["types"]["account"] == 2  # the deleted one too
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["format"] == "sfa-backup" and manifest["types"]["contact"]["count"] == 2
    other = Workspace(tmp_path / "restored")
    try:
        restored = backup.import_all(other, tmp_path / "backup")
        assert restored["types"] == {name: len(rows) for name, rows in before.items()}
        assert wire_all(other) == before
        # Restored records are searchable and captured for sync like any write.
        assert other.store.search("Maschinenbau")
        outbox = other.store.outbox()
        assert len(outbox) == sum(len(rows) for rows in before.values())
        # Each outbox entry carries exactly the record's non-empty fields, in wire form.
        by_id = {row["id"]: row for rows in before.values() for row in rows}
        for entry in outbox:
            row = by_id[entry["record_id"]]
            sent = {name: value for name, (value, _clock) in entry["fields"].items()}
            assert sent == {k: v for k, v in row.items() if k in sent}
            kept = {k for k in ENTITIES[entry["entity"]].field_names if row[k] not in (None, [], False)}
            assert kept <= set(sent)
        with pytest.raises(ValidationError, match="empty store only"):
            backup.import_all(other, tmp_path / "backup")
        # Field clocks come back too, on the rows and in the outbox, and later edits order after them.
        for entity in ENTITIES.values():
            query = f"SELECT id, clocks FROM {entity.table} ORDER BY id"
            original = ws.store.conn.execute(query).fetchall()
            restored = [(r[0], read_clocks(other.store.conn, r[1])) for r in other.store.conn.execute(query)]
            assert restored == [(r[0], read_clocks(ws.store.conn, r[1])) for r in original]
        hans = contacts_by_name(ws)["Hans Müller"]
        clocks = read_clocks(
            ws.store.conn,
            ws.store.conn.execute("SELECT clocks FROM contact WHERE id = ?", (hans["id"],)).fetchone()[0],
        )
        entry = next(e for e in other.store.outbox() if e["record_id"] == hans["id"])
        assert {name: clock for name, (_v, clock) in entry["fields"].items()} == {
            name: clocks[name] for name in entry["fields"]
        }
        newest = max(c for e in other.store.outbox() for _v, c in e["fields"].values())
        other.store.update(CONTACT, hans["id"], {"title": "CEO"})
        assert other.store.history(hans["id"])[-1]["new_clock"] > newest
    finally:
        other.close()


def test_the_backup_carries_the_settings_and_a_restore_keeps_the_homes_own(
    ws: Workspace, tmp_path: Path
) -> None:
    from sfa.services import config

    populate(ws)
    config.set_value(ws, "company.name", "Müller Vertrieb GmbH")
    config.set_value(ws, "stages", "lead:10, offer:50, won:100, lost:0")
    config.set_value(ws, "owner", "anna")
    backup.export_all(ws, tmp_path / "backup")
    saved = json.loads((tmp_path / "backup" / "settings.json").read_text())
    assert saved["company.name"] == "Müller Vertrieb GmbH" and saved["owner"] == "anna"
    other = Workspace(tmp_path / "restored")
    try:
        config.set_value(other, "owner", "ben")  # this home's own: kept
        result = backup.import_all(other, tmp_path / "backup")
        assert result["settings_kept"] == ["owner"] and "company.name" in result["settings_restored"]
        fresh = Workspace(tmp_path / "restored")  # as the next command reads it
        assert fresh.setting("company.name") == "Müller Vertrieb GmbH" and fresh.setting("owner") == "ben"
        assert fresh.setting("stages") == ws.setting("stages")
    finally:
        other.close()
    # A settings file with a value `sfa config set` refuses: nothing is restored, records neither.
    (tmp_path / "backup" / "settings.json").write_text('{"quote.valid_days": "forever"}')
    third = Workspace(tmp_path / "third")
    try:
        with pytest.raises(FileRefused, match=r"quote\.valid_days"):
            backup.import_all(third, tmp_path / "backup")
        assert third.store.count(CONTACT) == 0 and not (tmp_path / "third" / "config.toml").exists()
    finally:
        third.close()


def test_backup_refusals(ws: Workspace, tmp_path: Path) -> None:
    populate(ws)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValidationError, match="not an empty directory") as refused:
        backup.export_all(ws, tmp_path / "full")
    assert refused.value.exit_code == 1  # an unusable folder is an error, not a malformed command line
    backup.export_all(ws, tmp_path / "bk")
    other = Workspace(tmp_path / "other")
    try:
        with pytest.raises(FileRefused, match=r"no manifest\.json"):
            backup.import_all(other, tmp_path / "full")
        manifest_path = tmp_path / "bk" / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["types"]["lead"] = {"file": "lead.jsonl"}
        manifest_path.write_text(json.dumps(manifest))
        with pytest.raises(FileRefused, match="the entry for lead needs a file and a count"):
            backup.import_all(other, tmp_path / "bk")
        manifest["types"]["lead"]["count"] = 1
        manifest_path.write_text(json.dumps(manifest))
        lines = (tmp_path / "bk" / "contact.jsonl").read_text().splitlines()
        (tmp_path / "bk" / "contact.jsonl").write_text(lines[0] + "\n{not json\n")
        with pytest.raises(FileRefused, match=r"contact\.jsonl: line 2"):
            backup.import_all(other, tmp_path / "bk")
        assert backup.record_count(other) == 0
    finally:
        other.close()


@pytest.mark.parametrize("name", list(ENTITIES))
def test_export_json_and_csv_every_type(ws: Workspace, name: str) -> None:
    import csv
    import io

    populate(ws)
    entity = backup.export_entity(name)
    rows = backup.export_records(ws, entity)
    assert rows and all(set(r) == set(backup.columns_of(entity)) for r in rows)
    assert json.loads(backup.render(entity, rows, "json")) == json.loads(json.dumps(rows))
    table = list(csv.reader(io.StringIO(backup.render(entity, rows, "csv"), newline="")))
    assert table[0] == backup.columns_of(entity) and len(table) == len(rows) + 1
    assert [r[0] for r in table[1:]] == [r["id"] for r in rows]


def test_csv_export_of_each_type_reimports_with_its_ids(ws: Workspace, tmp_path: Path) -> None:
    """`export csv` type by type, then `import csv` in reference order into an empty store: the
    records keep their ids, so a contact's account_id or a lead's opportunity_id still holds."""
    populate(ws)
    other = Workspace(tmp_path / "other")
    try:
        for entity in (ACCOUNT, PRODUCT, CONTACT, OPPORTUNITY, LEAD):
            path = tmp_path / f"{entity.name}.csv"
            path.write_text(backup.render(entity, backup.export_records(ws, entity), "csv"))
            summary = import_csv(other, path, entity.name)
            assert summary.rejected == [] and summary.created == ws.store.count(entity)
            fields = ["id", *(f.name for f in entity.fields)]
            original = [{k: r[k] for k in fields} for r in backup.export_records(ws, entity)]
            for record in original:  # an import gives an ownerless row to the one importing it
                if "owner" in record and record["owner"] is None:
                    record["owner"] = other.owner
            copied = [{k: r[k] for k in fields} for r in backup.export_records(other, entity)]
            assert copied == original
            again = import_csv(other, path, entity.name)  # the ids make every row a duplicate
            assert again.created == 0 and len(again.skipped) == summary.created
        assert any(contact["account_id"] for contact in other.store.select(CONTACT))  # references held
    finally:
        other.close()


def test_an_id_column_keeps_sfa_ids_only_and_a_repeated_id_is_a_duplicate(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    kept = "01a2085d-7410-7ff4-9ea5-c8b04f8c6007"
    path.write_text(
        f"Id,Name\n0015g00000XyZAB,Salesforce Row\n{kept.upper()},Kept Id\n{kept},Same Id Again\n"
    )
    summary = import_csv(ws, path, "account", batch_size=1)  # the repeat is in a later batch
    assert summary.created == 2 and summary.mapping["Id"] == "id (an sfa id is kept)"
    assert summary.skipped[0]["line"] == 4 and summary.skipped[0]["duplicate_of"]["reason"] == "id"
    by_name = {a["name"]: a["id"] for a in ws.store.select(ACCOUNT)}
    assert by_name["Kept Id"] == kept and by_name["Salesforce Row"] != "0015g00000XyZAB"
    ws.store.delete(ACCOUNT, kept)
    again = import_csv(ws, path, "account")
    assert [(r["line"], r["duplicate_of"]["reason"]) for r in again.skipped if r["line"] > 2] == [
        (3, "id, deleted in sfa"),
        (4, "id, deleted in sfa"),
    ]  # said, not silently skipped
    created = import_csv(ws, path, "account", on_duplicate="create")  # new ids for every row
    assert created.created == 3 and ws.store.count(ACCOUNT) == 4  # 2 + 3, one deleted


def test_faster_shared_helpers_give_the_same_results() -> None:
    from datetime import date
    from decimal import Decimal

    from sfa.domain import normalize
    from sfa.store import codec

    assert normalize.fold("  Hello,   World! ") == "hello world"
    assert normalize.fold("Müller-Lüdenscheidt Straße") == "muller ludenscheidt strasse"
    assert normalize.phone_key("0049 (30) 123-456") == "+4930123456"
    value = {"a": ["Zoë", "x"], "b": Decimal("1.50"), "c": date(2026, 1, 2), "d": None}
    assert codec.dumps(value) == json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=codec.json_default
    )
