"""The local store: migrations, change capture (clocks, outbox, history), search, refs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, TIMELINE
from sfa.domain.errors import AmbiguousRefError, NotFoundError, StoreError, ValidationError
from sfa.store import codec
from sfa.store.clocks import read as read_clocks
from sfa.store.db import Store
from sfa.store.migrations import LATEST, MIGRATIONS, execute_script


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "sfa.db")
    yield s
    s.close()


def outbox_fields(store: Store) -> list[tuple[str, str, dict[str, object]]]:
    """(entity, record_id, {field: value}) of every outbox row, clocks checked separately."""
    return [(o["entity"], o["record_id"], {k: v[0] for k, v in o["fields"].items()}) for o in store.outbox()]


def test_new_file_is_wal_with_foreign_keys_at_latest_version(store: Store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.schema_version == LATEST
    assert len(store.replica_id) == 16


def test_upgrade_from_first_schema_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    execute_script(conn, MIGRATIONS[0])
    conn.execute("INSERT INTO meta VALUES ('replica_id', '00112233aabbccdd')")
    conn.execute(
        "INSERT INTO account(id, handle, name, created_at, updated_at) VALUES "
        "('01a20000-0000-7000-8000-000000000001', '000000000001', 'Old GmbH', 'x', 'x')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    conn.close()
    store = Store(path)
    assert store.schema_version == LATEST
    assert store.replica_id == "00112233aabbccdd"
    assert store.get(ACCOUNT, "01a20000-0000-7000-8000-000000000001")["name"] == "Old GmbH"
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"visit", "task", "product", "quote", "quote_line"} <= tables
    store.close()


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("+49 (0)89 123456", "+4989123456"),
        ("0049 (0)89 123456", "+4989123456"),
        ("+44 (0)20 7946 0018", "+442079460018"),
        ("+49 89 123456", "+4989123456"),
        ("(0)89 123456", "089123456"),
        ("+(0)89 1234", "+0891234"),
        ("030 1234567", "0301234567"),
    ],
)
def test_a_trunk_zero_in_brackets_after_a_country_code_is_dropped_from_keys_old_and_new(
    tmp_path: Path, phone: str, key: str
) -> None:
    """normalize.phone_key drops it from new keys; migration V6 gives keys stored before it the
    same form, so old and new records find each other as duplicates."""
    from sfa.domain import normalize

    assert normalize.phone_key(phone) == key
    digits = "".join(c for c in phone if c.isdigit())
    old_key = (
        "+" + digits if phone.startswith("+") else ("+" + digits[2:] if digits.startswith("00") else digits)
    )
    path = tmp_path / "v5.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for script in MIGRATIONS[:5]:
        execute_script(conn, script)
    conn.execute("INSERT INTO meta VALUES ('replica_id', '00112233aabbccdd')")
    conn.execute(
        "INSERT INTO contact(id, handle, name, phone, mobile, phone_key, mobile_key, created_at, updated_at)"
        " VALUES ('01a20000-0000-7000-8000-000000000001', '000000000001', 'Old', ?, ?, ?, ?, 'x', 'x')",
        (phone, phone, old_key, old_key),
    )
    conn.execute(
        "INSERT INTO lead(id, handle, name, phone, phone_key, status, created_at, updated_at)"
        " VALUES ('01a20000-0000-7000-8000-000000000002', '000000000002', 'Old', ?, ?, 'new', 'x', 'x')",
        (phone, old_key),
    )
    conn.execute("PRAGMA user_version = 5")
    conn.execute("COMMIT")
    conn.close()
    store = Store(path)
    try:
        assert store.schema_version == LATEST
        keys = store.conn.execute("SELECT phone_key, mobile_key FROM contact").fetchone()
        assert tuple(keys) == (key, key)
        assert store.conn.execute("SELECT phone_key FROM lead").fetchone()[0] == key
    finally:
        store.close()


def test_file_from_newer_sfa_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer sfa"):
        Store(path)


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"not an sfa data file|cannot open"):
        Store(path)


def test_insert_captures_every_set_field_with_one_clock(store: Store) -> None:
    record = store.insert(ACCOUNT, {"name": "Acme", "city": "Munich", "tags": ["b", "a"]})
    [row] = store.outbox()
    assert row["entity"] == "account" and row["record_id"] == record["id"]
    assert {k: v[0] for k, v in row["fields"].items()} == {
        "name": "Acme",
        "city": "Munich",
        "tags": ["a", "b"],
    }
    clocks = {v[1] for v in row["fields"].values()}
    assert len(clocks) == 1
    clock = clocks.pop()
    # Stored compactly: the one clock once, as its time, counter and the number of the group of
    # (replica, fields) it stamps (sfa/store/clocks.py).
    stored = store.conn.execute("SELECT clocks FROM account").fetchone()[0]
    ms, counter, _replica = clock.split(":")
    [item] = json.loads(stored)
    assert item.startswith(f"{int(ms)}.{int(counter)}.")
    group = store.conn.execute(
        "SELECT replica, fields FROM clock_group WHERE n = ?", (int(item.split(".")[2]),)
    )
    assert tuple(group.fetchone()) == (store.replica_id, '["name","city","tags"]')
    assert read_clocks(store.conn, stored) == {"name": clock, "city": clock, "tags": clock}
    entry = store.conn.execute("SELECT fields FROM outbox").fetchone()[0]
    assert json.loads(entry) == [clock, {"name": "Acme", "city": "Munich", "tags": ["a", "b"]}]
    assert store.history(record["id"]) == []


def test_both_clock_forms_read_alike() -> None:
    assert codec.read_clocks('{"name": "c1", "city": "c2"}') == {"name": "c1", "city": "c2"}
    assert codec.read_clocks('["c1", "name", "city"]') == {"name": "c1", "city": "c1"}
    assert codec.read_outbox_fields('{"name": ["Acme", "c1"]}') == {"name": ["Acme", "c1"]}
    assert codec.read_outbox_fields('["c1", {"name": "Acme", "tags": []}]') == {
        "name": ["Acme", "c1"],
        "tags": [[], "c1"],
    }


def test_update_records_history_and_only_changed_fields(store: Store) -> None:
    record = store.insert(CONTACT, {"name": "Ann", "email": "ann@a.com", "title": "CEO"})
    created_clock = store.outbox()[0]["fields"]["email"][1]
    store.update(CONTACT, record["id"], {"email": "ann@b.com", "title": "CEO"})  # title unchanged
    rows = outbox_fields(store)
    assert rows[1] == ("contact", record["id"], {"email": "ann@b.com"})
    [change] = store.history(record["id"])
    assert change["field"] == "email"
    assert change["old"] == "ann@a.com" and change["new"] == "ann@b.com"
    assert change["old_clock"] == created_clock
    assert change["new_clock"] > created_clock
    assert change["origin"] == "local"
    # the derived duplicate-check key follows the new value
    assert store.conn.execute("SELECT email_key FROM contact").fetchone()[0] == "ann@b.com"


def test_update_with_no_change_writes_nothing(store: Store) -> None:
    record = store.insert(ACCOUNT, {"name": "Acme"})
    store.update(ACCOUNT, record["id"], {"name": "Acme"})
    assert len(store.outbox()) == 1
    assert store.history(record["id"]) == []


def test_delete_is_a_replicated_tombstone(store: Store) -> None:
    record = store.insert(LEAD, {"name": "Bob", "status": "new"})
    store.delete(LEAD, record["id"])
    assert outbox_fields(store)[-1] == ("lead", record["id"], {"deleted": True})
    assert store.history(record["id"])[0]["field"] == "deleted"
    with pytest.raises(NotFoundError):
        store.get(LEAD, record["id"])
    assert store.get(LEAD, record["id"], include_deleted=True)["deleted"] is True
    assert store.search("bob") == []


def test_timeline_is_insert_only(store: Store) -> None:
    entry = store.insert(
        TIMELINE,
        {
            "record_entity": "account",
            "record_id": "x",
            "kind": "note",
            "text": "hi",
            "at": "2026-11-23T10:00:00.000Z",
        },
    )
    with pytest.raises(ValidationError, match="insert-only"):
        store.update(TIMELINE, entry["id"], {"text": "changed"})


def test_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert(ACCOUNT, {"name": "Ghost Corp"})
        raise RuntimeError("crash in the middle")
    assert store.count(ACCOUNT) == 0
    assert store.outbox() == []
    assert store.search("ghost") == []


def test_unknown_field_is_refused_before_writing(store: Store) -> None:
    with pytest.raises(ValidationError, match="colour"):
        store.insert(ACCOUNT, {"name": "Acme", "colour": "red"})
    assert store.outbox() == []


def test_search_index_follows_writes(store: Store) -> None:
    acme = store.insert(ACCOUNT, {"name": "Acme Tools", "notes": "loves espresso"})
    store.insert(CONTACT, {"name": "Zoë Quist", "email": "zoe@acme.com"})
    assert [r["name"] for _, r in store.search("acme")] == ["Acme Tools", "Zoë Quist"] or {
        r["name"] for _, r in store.search("acme")
    } == {"Acme Tools", "Zoë Quist"}
    assert [r["name"] for _, r in store.search("espres")] == ["Acme Tools"]
    assert [r["name"] for _, r in store.search("zoe")] == ["Zoë Quist"]  # accents folded
    store.update(ACCOUNT, acme["id"], {"name": "Initech", "notes": None})
    assert [r["name"] for _, r in store.search("espresso")] == []
    assert [e.name for e, _ in store.search("initech")] == ["account"]
    assert [r["name"] for _, r in store.search("acme", [CONTACT])] == ["Zoë Quist"]
    with pytest.raises(ValidationError):
        store.search("  ***  ")


def test_resolve_by_prefix_full_id_ambiguous_and_missing(store: Store) -> None:
    a = store.insert(ACCOUNT, {"name": "A"}, record_id="01a20000-0000-7000-8000-abc111000000")
    store.insert(ACCOUNT, {"name": "B"}, record_id="01a20000-0000-7000-8000-abc122000000")
    assert store.resolve(ACCOUNT, "abc11")["name"] == "A"
    assert store.resolve(ACCOUNT, a["id"])["name"] == "A"
    assert store.resolve(ACCOUNT, "ABC111")["name"] == "A"
    with pytest.raises(AmbiguousRefError, match=r"abc111.*abc122"):
        store.resolve(ACCOUNT, "abc1")
    with pytest.raises(NotFoundError):
        store.resolve(ACCOUNT, "ffff")
    with pytest.raises(ValidationError, match="not a ref"):
        store.resolve(ACCOUNT, "acme")
    refs = store.short_refs(ACCOUNT, [a["id"]])
    assert refs[a["id"]] == "abc111"


def test_clock_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sfa.db"
    with Store(path) as first:
        first.insert(ACCOUNT, {"name": "A"})
        last = first.clock.last
    with Store(path) as second:
        assert second.clock.last == last
        second.insert(ACCOUNT, {"name": "B"})
        clocks = [o["fields"]["name"][1] for o in second.outbox()]
    assert clocks == sorted(clocks) and len(set(clocks)) == 2


def test_bulk_insert_is_one_transaction(store: Store) -> None:
    rows = [{"name": f"Lead {i}", "status": "new", "email": f"l{i}@x.com"} for i in range(500)]
    created = store.insert_many(LEAD, rows)
    assert len(created) == 500 == store.count(LEAD) == len(store.outbox())
    # one clock for the batch (each record is written once), later than anything before it
    batch_clocks = {o["fields"]["name"][1] for o in store.outbox()}
    assert len(batch_clocks) == 1
    later = store.insert(LEAD, {"name": "After", "status": "new"})
    assert store.outbox()[-1]["fields"]["name"][1] > batch_clocks.pop()
    assert later["name"] == "After"
    assert len(store.search("lead")) == 20


def test_failed_migration_rolls_back_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sfa.db"
    monkeypatch.setattr("sfa.store.db.MIGRATIONS", MIGRATIONS[:1])
    monkeypatch.setattr("sfa.store.db.LATEST", 1)
    Store(path).close()
    broken = "CREATE TABLE half_done (a TEXT);\nCREATE TABLE half_done (a TEXT);\n"
    monkeypatch.setattr("sfa.store.db.MIGRATIONS", (MIGRATIONS[0], broken))
    monkeypatch.setattr("sfa.store.db.LATEST", 2)
    with pytest.raises(StoreError, match=r"cannot upgrade.*already exists"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    conn.close()


def test_select_projection_decodes_only_the_asked_fields(store: Store) -> None:
    from decimal import Decimal

    acme = store.insert(ACCOUNT, {"name": "Acme", "city": "Ulm"})
    from sfa.domain.entities import OPPORTUNITY

    store.insert(
        OPPORTUNITY,
        {
            "name": "Deal",
            "account_id": acme["id"],
            "stage": "initiation",
            "amount": Decimal("10.50"),
            "notes": "long text",
        },
    )
    [row] = store.select(OPPORTUNITY, fields=("name", "amount"))
    assert set(row) == {"id", "created_at", "updated_at", "name", "amount"}
    assert row["amount"] == Decimal("10.50")
    with pytest.raises(ValidationError, match="colour"):
        store.select(OPPORTUNITY, fields=("colour",))


def test_short_refs_agree_on_every_path(store: Store) -> None:
    """Per-record lookups (small listings), one statement (mid-size) and a full index read (large)."""
    created = store.insert_many(ACCOUNT, [{"name": f"A{i}"} for i in range(2000)])
    ids = [r["id"] for r in created]
    one_by_one: dict[str, str] = {}
    for start in range(0, 2000, 100):
        one_by_one.update(store.short_refs(ACCOUNT, ids[start : start + 100]))
    mid = store.short_refs(ACCOUNT, ids[:240])  # 240 * 8 < 2000: the one-statement path
    everything = store.short_refs(ACCOUNT, ids)  # the whole table: the index-read path
    assert mid == {i: one_by_one[i] for i in ids[:240]}
    assert everything == one_by_one
    assert len(set(everything.values())) == 2000
