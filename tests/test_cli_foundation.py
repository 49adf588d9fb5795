"""`sfa` as a process: every foundation command and its error paths."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Runner


def outbox_count(home: Path) -> int:
    conn = sqlite3.connect(home / "sfa.db")
    try:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()


def add(sfa: Runner, *args: str) -> dict[str, object]:
    result = sfa(*args, "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert isinstance(data, dict)
    return data


def test_version_and_help(sfa: Runner) -> None:
    result = sfa("--version")
    assert result.code == 0 and result.out.startswith("sfa 0.")
    result = sfa("--help")
    assert result.code == 0
    for group in ("lead", "account", "contact", "opp", "search", "config"):
        assert group in result.out


def test_account_lifecycle(sfa: Runner, home: Path) -> None:
    acme = add(
        sfa,
        "account",
        "add",
        "Acme GmbH",
        "--industry",
        "Machinery",
        "--city",
        "Munich",
        "--phone",
        "+49 89 1234567",
        "--website",
        "acme.example",
        "--lat",
        "48.137",
        "--lon",
        "11.575",
        "--tags",
        "key, Bavaria",
    )
    assert acme["name"] == "Acme GmbH" and acme["latitude"] == 48.137
    assert acme["tags"] == ["bavaria", "key"]
    assert isinstance(acme["ref"], str) and len(acme["ref"]) >= 6
    quiet = sfa("account", "add", "Globex", "-q")
    assert quiet.code == 0 and len(quiet.out.strip()) == 36
    listing = sfa("account", "list")
    assert listing.code == 0
    lines = listing.out.splitlines()
    assert lines[0].split("\t")[:3] == ["ref", "name", "industry"]
    assert [line.split("\t")[1] for line in lines[1:]] == ["Acme GmbH", "Globex"]
    edited = add(sfa, "account", "edit", str(acme["ref"]), "--city", "Augsburg", "--website", "")
    assert edited["city"] == "Augsburg" and edited["website"] is None
    shown = sfa("account", "show", str(acme["ref"]), "--json").json()
    assert shown["city"] == "Augsburg" and shown["contacts"] == [] and shown["open_opportunities"] == []
    text = sfa("account", "show", str(acme["ref"]))
    assert "Acme GmbH" in text.out and "Augsburg" in text.out
    deleted = sfa("account", "delete", str(acme["ref"]))
    assert deleted.code == 0
    assert [a["name"] for a in sfa("account", "list", "--json").json()] == ["Globex"]
    assert outbox_count(home) == 4


def test_account_errors_write_nothing(sfa: Runner, home: Path) -> None:
    sfa("account", "add", "Seed")
    before = outbox_count(home)
    for args, fragment in [
        (("account", "add", "X", "--email", "nope"), "email"),
        (("account", "add", "X", "--lat", "123", "--lon", "11"), "latitude"),
        (("account", "add", "X", "--phone", "call me"), "phone"),
        (("account", "add", "X", "--website", "not a site"), "website"),
        (("account", "add", ""), "name"),
        (("account", "show", "ffffff"), "no account matches"),
        (("account", "show", "zz!"), "not a ref"),
        (("account", "edit", "ffffff", "--city", "X"), "no account"),
    ]:
        result = sfa(*args)
        assert result.code == 1, (args, result.err)
        assert result.out == ""
        assert result.err.startswith("sfa: error: ") and len(result.err.strip().splitlines()) == 1
        assert fragment in result.err, (fragment, result.err)
    usage = sfa("account", "add")
    assert usage.code == 2 and "name" in usage.err.lower() and len(usage.err.strip().splitlines()) == 1
    unknown = sfa("account", "add", "X", "--colour", "red")
    assert unknown.code == 2 and "--colour" in unknown.err
    assert outbox_count(home) == before


def test_contacts(sfa: Runner) -> None:
    acme = add(sfa, "account", "add", "Acme")
    ann = add(
        sfa,
        "contact",
        "add",
        "Ann Smith",
        "--account",
        str(acme["ref"]),
        "--email",
        "ann@acme.com",
        "--title",
        "CTO",
        "--mobile",
        "+49 170 1234567",
    )
    assert ann["account_id"] == acme["id"] and ann["title"] == "CTO"
    add(sfa, "contact", "add", "Bob Free")
    by_account = sfa("contact", "list", "--account", str(acme["ref"]), "--json").json()
    assert [c["name"] for c in by_account] == ["Ann Smith"]
    listing = sfa("contact", "list", "--limit", "1")
    assert listing.out.splitlines()[1].split("\t")[1:4] == ["Ann Smith", "CTO", "Acme"]
    assert add(sfa, "contact", "edit", str(ann["ref"]), "--phone", "089 555 123")["phone"] == "089 555 123"
    shown = sfa("contact", "show", str(ann["ref"]))
    assert "Acme" in shown.out and "ann@acme.com" in shown.out
    assert sfa("contact", "delete", str(ann["ref"])).code == 0
    assert sfa("contact", "show", str(ann["ref"])).code == 1
    bad = sfa("contact", "add", "X", "--account", "abcdef")
    assert bad.code == 1 and "no account matches 'abcdef'" in bad.err


def test_lead_duplicate_check(sfa: Runner, home: Path) -> None:
    first = add(
        sfa,
        "lead",
        "add",
        "Hans Müller",
        "--company",
        "Acme GmbH",
        "--email",
        "hans@acme.de",
        "--phone",
        "+49 89 111222",
        "--rating",
        "hot",
        "--source",
        "fair",
    )
    assert first["status"] == "new" and first["rating"] == "hot"
    before = outbox_count(home)
    cases = [
        ("Other Name", "--email", "HANS@ACME.DE"),
        ("Other Name", "--phone", "0049 89 111-222"),
        ("müller, hans", "--company", "ACME"),
    ]
    for name, option, value in cases:
        result = sfa("lead", "add", name, option, value)
        assert result.code == 1, result
        assert f"lead {str(first['ref'])[:6]}" in result.err and "Hans Müller" in result.err
        assert "--allow-duplicate" in result.err
    assert outbox_count(home) == before
    forced = sfa("lead", "add", "Other Name", "--email", "hans@acme.de", "--allow-duplicate")
    assert forced.code == 0
    # a contact counts too
    add(sfa, "contact", "add", "Jo Contact", "--email", "jo@x.com")
    dup = sfa("lead", "add", "Jo Lead", "--email", "jo@x.com")
    assert dup.code == 1 and "contact" in dup.err and "Jo Contact" in dup.err


def test_lead_errors(sfa: Runner, home: Path) -> None:
    for args, fragment in [
        (("lead", "add", "X", "--rating", "lukewarm"), "rating: 'lukewarm' is not accepted; use one of hot"),
        (("lead", "add", "X", "--email", "x@"), "email"),
        (("lead", "list", "--status", "sleeping"), "status"),
        (("lead", "qualify", "abcdef"), "no lead matches"),
        (("lead", "edit", "abcdef", "--name", "Y"), "no lead"),
    ]:
        result = sfa(*args)
        assert result.code == 1 and fragment in result.err, (args, result.err)
    usage = sfa("lead", "add")
    assert usage.code == 2 and "name" in usage.err.lower()
    assert not (home / "sfa.db").exists() or outbox_count(home) == 0


def test_lead_lifecycle_and_convert(sfa: Runner) -> None:
    lead = add(
        sfa, "lead", "add", "Grace Hopper", "--company", "Navy Systems", "--email", "grace@navy.example"
    )
    ref = str(lead["ref"])
    assert add(sfa, "lead", "qualify", ref)["status"] == "qualified"
    again = sfa("lead", "qualify", ref)
    assert again.code == 1 and "already qualified" in again.err
    converted = sfa(
        "lead",
        "convert",
        ref,
        "--opportunity",
        "Fleet",
        "--amount",
        "12,000.50",
        "--close-date",
        "2027-03-31",
        "--json",
    ).json()
    assert converted["lead"]["status"] == "converted"
    assert converted["account"]["name"] == "Navy Systems" and converted["account"]["created"] is True
    assert converted["contact"]["email"] == "grace@navy.example"
    opp = converted["opportunity"]
    assert opp["amount"] == "12000.50" and opp["stage"] == "initiation" and opp["probability"] == 10
    assert opp["close_date"] == "2027-03-31" and opp["contact_id"] == converted["contact"]["id"]
    assert converted["lead"]["opportunity_id"] == opp["id"]
    shown = sfa("lead", "show", ref, "--json").json()
    assert [t["text"] for t in shown["timeline"]][:2] == [
        "status: qualified → converted",
        "status: new → qualified",
    ]
    twice = sfa("lead", "convert", ref)
    assert twice.code == 1 and "already converted" in twice.err
    # a second lead from the same company links the existing account
    other = add(sfa, "lead", "add", "Ada L", "--company", "NAVY SYSTEMS")
    second = sfa("lead", "convert", str(other["ref"]), "--json").json()
    assert second["account"]["id"] == converted["account"]["id"] and second["account"]["created"] is False
    assert second["opportunity"] is None
    nocompany = add(sfa, "lead", "add", "Solo Person")
    refused = sfa("lead", "convert", str(nocompany["ref"]))
    assert refused.code == 1 and "--account" in refused.err
    dq = add(sfa, "lead", "add", "Nope Inc Guy", "--company", "Nope")
    assert (
        add(sfa, "lead", "disqualify", str(dq["ref"]), "--reason", "no budget")["disqualify_reason"]
        == "no budget"
    )
    blocked = sfa("lead", "convert", str(dq["ref"]))
    assert blocked.code == 1 and "disqualified" in blocked.err
    assert [x["name"] for x in sfa("lead", "list", "--status", "disqualified", "--json").json()] == [
        "Nope Inc Guy"
    ]
    assert sfa("lead", "delete", str(dq["ref"])).code == 0
    assert sfa("lead", "list", "--status", "disqualified", "--json").json() == []
    bad_amount = add(sfa, "lead", "add", "Amt Test", "--company", "AmtCo")
    result = sfa("lead", "convert", str(bad_amount["ref"]), "--amount", "lots")
    assert result.code == 1 and "amount" in result.err
    assert sfa("lead", "show", str(bad_amount["ref"]), "--json").json()["status"] == "new"


def test_lead_add_from_csv_and_jsonl(sfa: Runner, tmp_path: Path) -> None:
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text(
        "\ufeffName,Company,E-mail,Phone,Rating\n"
        'Ann,"Acme, Inc",ann@acme.com,+1 555 0100,hot\n'
        "Bob,Globex,bob@globex.com,,cold\n",
        encoding="utf-8",
    )
    result = sfa("lead", "add", "--from", str(csv_file), "--json")
    assert result.code == 0, result.err
    assert result.json()["created"] == 2
    lines = '{"name": "Cy", "email": "cy@z.com"}\n{"name": "Di", "rating": "warm"}\n'
    assert sfa("lead", "add", "--from", "-", input=lines).out.startswith("added 2 leads")
    names = sorted(x["name"] for x in sfa("lead", "list", "--json").json())
    assert names == ["Ann", "Bob", "Cy", "Di"]
    # a duplicate inside the input refuses the whole batch, naming the line
    dup = tmp_path / "dup.csv"
    dup.write_text("name,email\nEve,eve@x.com\nEve Again,EVE@x.com\n")
    refused = sfa("lead", "add", "--from", str(dup))
    assert refused.code == 1 and "line 3" in refused.err
    skipped = sfa("lead", "add", "--from", str(dup), "--skip-duplicates", "--json").json()
    assert skipped["created"] == 1 and skipped["skipped"][0]["line"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("name,rating\nOk,hot\nBad,lukewarm\n")
    result = sfa("lead", "add", "--from", str(bad))
    assert result.code == 1 and "line 3" in result.err and "rating" in result.err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("name,shoe size\nX,42\n")
    result = sfa("lead", "add", "--from", str(unknown))
    assert result.code == 1 and "shoe size" in result.err
    assert len(sfa("lead", "list", "--json").json()) == 5
    missing = sfa("lead", "add", "--from", str(tmp_path / "nope.csv"))
    assert missing.code == 1 and "cannot read" in missing.err
    both = sfa("lead", "add", "X", "--from", str(csv_file))
    assert both.code == 2


def test_lead_add_from_many_written_in_batches_by_the_bulk_writer(
    sfa: Runner, home: Path, tmp_path: Path
) -> None:
    many = tmp_path / "many.csv"  # more than one 10,000-lead batch
    many.write_text(
        "name,company,email\n" + "".join(f"P {i},Co {i % 50},p{i}@x.com\n" for i in range(10_050))
    )
    result = sfa("lead", "add", "--from", str(many), "-q")
    assert result.code == 0, result.err
    ids = result.out.split()
    assert len(ids) == len(set(ids)) == 10_050
    conn = sqlite3.connect(home / "sfa.db")
    try:
        stored = {row[0] for row in conn.execute("SELECT id FROM lead")}
        keys = conn.execute(
            "SELECT count(*) FROM lead WHERE email_key IS NULL OR name_key IS NULL"
        ).fetchone()[0]
        found = conn.execute("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'co'").fetchone()[0]
    finally:
        conn.close()
    assert stored == set(ids) and keys == 0 and found == 10_050
    assert outbox_count(home) == 10_050
    again = sfa("lead", "add", "--from", str(many), "--skip-duplicates", "--json").json()
    assert again["created"] == 0 and len(again["skipped"]) == 10_050


def test_opportunities_and_stages(sfa: Runner) -> None:
    acme = add(sfa, "account", "add", "Acme")
    other = add(sfa, "account", "add", "Other")
    ann = add(sfa, "contact", "add", "Ann", "--account", str(other["ref"]))
    opp = add(
        sfa,
        "opp",
        "add",
        "Big Deal",
        "--account",
        str(acme["ref"]),
        "--amount",
        "12k",
        "--close-date",
        "2027-01-31",
        "--stage",
        "qualification",
    )
    assert (opp["amount"], opp["currency"], opp["stage"], opp["probability"]) == (
        "12000.00",
        "EUR",
        "qualification",
        30,
    )
    wrong_contact = sfa("opp", "add", "X", "--account", str(acme["ref"]), "--contact", str(ann["ref"]))
    assert wrong_contact.code == 1 and "another account" in wrong_contact.err
    ref = str(opp["ref"])
    moved = add(sfa, "opp", "stage", ref, "rfp-received")
    assert (moved["stage"], moved["probability"]) == ("rfp received", 50)
    assert add(sfa, "opp", "edit", ref, "--probability", "55", "--next-step", "call CFO")["probability"] == 55
    bad_stage = sfa("opp", "stage", ref, "negotiation")
    assert bad_stage.code == 1 and "accepted: initiation" in bad_stage.err
    assert sfa("opp", "add", "Y", "--account", str(acme["ref"]), "--amount", "1,2").code == 1
    assert sfa("opp", "add", "Y", "--account", str(acme["ref"]), "--currency", "EURO").code == 1
    assert sfa("opp", "add", "Y").code == 2
    lost_no_reason = sfa("opp", "lost", ref)
    assert lost_no_reason.code == 2 and "--reason" in lost_no_reason.err
    second = add(
        sfa, "opp", "add", "Small", "--account", str(acme["ref"]), "--amount", "500", "--currency", "usd"
    )
    assert second["currency"] == "USD"
    assert [o["name"] for o in sfa("opp", "list", "--open", "--json").json()] == ["Big Deal", "Small"]
    won = add(sfa, "opp", "won", ref)
    assert (won["stage"], won["probability"]) == ("won", 100)
    lost = add(sfa, "opp", "lost", str(second["ref"]), "--reason", "price")
    assert lost["lost_reason"] == "price" and lost["probability"] == 0
    assert sfa("opp", "list", "--open", "--json").json() == []
    assert [o["name"] for o in sfa("opp", "list", "--stage", "won", "--json").json()] == ["Big Deal"]
    timeline = sfa("opp", "show", ref, "--json").json()["timeline"]
    assert [t["text"] for t in timeline] == [
        "stage: rfp received → won",
        "stage: qualification → rfp received",
        "opened at stage qualification",
    ]
    view = sfa("account", "show", str(acme["ref"]), "--json").json()
    assert view["open_opportunities"] == []
    assert "stage: rfp received → won" in [t["text"] for t in view["timeline"]]


def test_configurable_stages(sfa: Runner) -> None:
    result = sfa("config", "set", "stages", "prospect:5, demo:40, contract:80, won:100, lost:0")
    assert result.code == 0
    assert sfa("config", "get", "stages").out.strip() == "prospect:5, demo:40, contract:80, won:100, lost:0"
    acme = add(sfa, "account", "add", "Acme")
    opp = add(sfa, "opp", "add", "Deal", "--account", str(acme["ref"]))
    assert (opp["stage"], opp["probability"]) == ("prospect", 5)
    assert add(sfa, "opp", "stage", str(opp["ref"]), "demo")["probability"] == 40
    refused = sfa("config", "set", "stages", "a:10,b:20")
    assert refused.code == 1 and "won" in refused.err
    assert sfa("config", "set", "colour", "red").code == 1
    assert sfa("config", "set", "currency", "usd").out.strip() == "currency = USD"
    assert sfa("config", "get", "currency", "--json").json() == {"key": "currency", "value": "USD"}
    assert "stages" in sfa("config", "list", "--json").json()


def test_search_and_notes(sfa: Runner) -> None:
    acme = add(sfa, "account", "add", "Acme Robotics", "--city", "Munich")
    add(sfa, "contact", "add", "Rita Robot", "--account", str(acme["ref"]))
    add(sfa, "lead", "add", "Rob Lead", "--company", "Robo Ventures")
    add(sfa, "opp", "add", "Robot arms", "--account", str(acme["ref"]))
    note = sfa("note", "add", "Prefers espresso, hates robots", "--account", str(acme["ref"]))
    assert note.code == 0
    notes = sfa("note", "list", "--account", str(acme["ref"]), "--json").json()
    assert [n["text"] for n in notes] == ["Prefers espresso, hates robots"]
    found = sfa("search", "robo", "--json").json()
    assert {(x["type"], x.get("name") or x.get("text")) for x in found} >= {
        ("account", "Acme Robotics"),
        ("contact", "Rita Robot"),
        ("lead", "Rob Lead"),
        ("opp", "Robot arms"),
    }
    only = sfa("search", "robo", "--type", "contact", "--json").json()
    assert [x["name"] for x in only] == ["Rita Robot"]
    assert [x["type"] for x in sfa("search", "espresso", "--json").json()] == ["note"]
    assert sfa("search", "munich", "acme", "--json").json()[0]["name"] == "Acme Robotics"
    empty = sfa("search", "zzzzz")
    assert empty.code == 0 and empty.out == "" and "nothing matches" in empty.err
    assert sfa("search", "robo", "--type", "planet").code == 2  # a choice of the command line: usage
    assert sfa("note", "add", "x").code == 2  # which record the note is on is missing: usage


def test_json_is_valid_everywhere(sfa: Runner) -> None:
    acme = add(sfa, "account", "add", "Acme")
    for args in (
        ("account", "list"),
        ("contact", "list"),
        ("lead", "list"),
        ("opp", "list"),
        ("account", "show", str(acme["ref"])),
        ("config", "list"),
    ):
        result = sfa(*args, "--json")
        assert result.code == 0, args
        json.loads(result.out)


def test_home_from_environment(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "SFA_HOME": str(tmp_path / "envhome")}
    proc = subprocess.run(
        [sys.executable, "-m", "sfa", "account", "add", "EnvCo", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert len(proc.stdout.strip()) == 36
    assert (tmp_path / "envhome" / "sfa.db").exists()


def test_unusable_home_is_one_line(tmp_path: Path) -> None:
    from tests.conftest import run_sfa

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_sfa(blocker / "home", "account", "list")
    assert result.code == 1
    assert result.err.startswith("sfa: error: ") and len(result.err.strip().splitlines()) == 1
    garbage = tmp_path / "junk"
    garbage.mkdir()
    (garbage / "sfa.db").write_bytes(b"garbage" * 1000)
    result = run_sfa(garbage, "lead", "list")
    assert result.code == 1 and "not a database" in result.err


def test_the_in_process_runner_reports_a_traceback(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_sfa (tests/conftest.py) lets a crash escape, or keeps it for a test that reports it
    (the fuzz test); a clean ending is a SystemExit either way."""
    from sfa.services import records
    from tests.conftest import run_sfa

    clean = run_sfa(home, "account", "add", "Fine GmbH", "-q")
    assert clean.code == 0 and isinstance(clean.exception, SystemExit)

    def crash(*_args: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(records, "short_ref", crash)
    with pytest.raises(RuntimeError, match="a bug"):
        run_sfa(home, "account", "add", "Crash GmbH")
    kept = run_sfa(home, "account", "add", "Nordlicht Logistik", keep_exception=True)
    assert kept.code == 1 and isinstance(kept.exception, RuntimeError)
    assert kept.out == ""  # the line that would have named the account never came
