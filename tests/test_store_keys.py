"""The duplicate-check keys are computed by SQLite (sfa/store/keys.py, docs/store.md "Size"): the
generated columns hold what `Entity.derived` computes, for any text, after every kind of write; a
store built before V_GENERATED_KEYS is upgraded with its duplicate checks working; and a connection
without the functions (the sqlite3 shell) still reads the other columns and the key indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import ids, normalize
from sfa.domain.entities import ACCOUNT, COMPETITOR, CONTACT, LEAD, Entity
from sfa.domain.errors import AmbiguousRefError
from sfa.domain.hlc import Hlc
from sfa.services import dedupe, leads
from sfa.store import keys
from sfa.store.db import Store
from sfa.store.migrations import V_GENERATED_HANDLE, V_GENERATED_KEYS
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from tests.conftest import store_before

# Text that exercises the normalising: case, accents, legal forms, brackets, extensions, whitespace.
_pieces = st.sampled_from(
    [
        "Müller",
        "MUELLER",
        " ",
        "GmbH",
        "+49",
        "(0)",
        "89",
        "0049",
        "x12",
        "ext. 7",
        "@",
        "Ab.c",
        "ß",
        "\t",
        "-",
    ]
)
# Phone-like text: the SQL fast path's alphabet and its neighbours (the Python function's cases).
_phone = st.text(alphabet="+0123456789 -/().x\t", max_size=16)
text = st.one_of(
    st.none(), st.text(max_size=12), st.lists(_pieces, max_size=6).map("".join), _phone, _phone.map(str.upper)
)


def _stored_keys(store: Store, entity: Entity, record_id: str) -> dict[str, object]:
    columns = ", ".join(entity.derived_columns)
    row = store.conn.execute(f"SELECT {columns} FROM {entity.table} WHERE id = ?", (record_id,)).fetchone()
    return dict(zip(entity.derived_columns, row, strict=True))


def _expected(entity: Entity, record: dict[str, object]) -> dict[str, object]:
    assert entity.derived is not None
    derived = entity.derived(record)
    return {column: derived.get(column) for column in entity.derived_columns}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("keys") / "sfa.db")


@settings(max_examples=300, deadline=None)
@given(name=text, email=text, phone=text, mobile=text, company=text)
def test_the_generated_keys_are_what_the_entity_derives(
    shared: Store,
    name: str | None,
    email: str | None,
    phone: str | None,
    mobile: str | None,
    company: str | None,
) -> None:
    """Inserted and then edited rows (values stored as given: the columns hold any text a pull
    might bring): each key column equals Entity.derived of the record, for all three types."""
    cases: list[tuple[Entity, dict[str, object]]] = [
        (CONTACT, {"name": name or "n", "email": email, "phone": phone, "mobile": mobile}),
        (LEAD, {"name": name or "n", "email": email, "phone": phone, "company": company, "status": "new"}),
        (ACCOUNT, {"name": name or "n"}),
    ]
    for entity, values in cases:
        record = shared.insert(entity, values)
        assert _stored_keys(shared, entity, record["id"]) == _expected(entity, record)
        edited = shared.update(entity, record["id"], {"name": (company or "") + "x"})
        assert _stored_keys(shared, entity, record["id"]) == _expected(entity, edited)


def test_no_key_is_stored_in_the_row(tmp_path: Path) -> None:
    store = Store(tmp_path / "sfa.db")
    for table, columns in keys.EXPRESSIONS.items():
        hidden = {r[1]: r[6] for r in store.conn.execute(f"PRAGMA table_xinfo({table})") if r[1] in columns}
        assert hidden == dict.fromkeys(columns, 2)  # 2: a virtual generated column
    store.close()


def test_a_store_built_before_is_upgraded_with_its_duplicate_checks(tmp_path: Path) -> None:
    conn = store_before(tmp_path / "sfa.db", V_GENERATED_KEYS)
    clock = Hlc(1_700_000_000_000, 0, "00112233aabbccdd").encode()
    rows = [
        (
            "contact",
            "Jürgen Weiß",
            "Juergen@Example.de",
            "+49 (0)89 123456",
            "juergen@example.de",
            "+4989123456",
        ),
        ("lead", "Ada Lovelace", "ada@example.com", "030 1234567", "ada@example.com", "0301234567"),
    ]
    for rid, (table, name, email, phone, email_key, phone_key) in enumerate(rows, 1):
        record_id = f"01a20000-0000-7000-8000-{rid:012d}"
        conn.execute(
            f"INSERT INTO {table}(rid, id, handle, name, email, phone, email_key, phone_key, name_key, clocks,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'stale|', ?, 'x', 'x')",
            (
                rid,
                record_id,
                record_id[-12:],
                name,
                email,
                phone,
                email_key,
                phone_key,
                f'["{clock}","name"]',
            ),
        )
    conn.execute(
        "INSERT INTO account(rid, id, handle, name, name_key, clocks, created_at, updated_at)"
        " VALUES (1, '01a20000-0000-7000-8000-0000000000aa', '0000000000aa', 'Quokka GmbH', 'quokka', '[]',"
        " 'x', 'x')"
    )
    conn.execute("COMMIT")
    conn.close()

    ws = Workspace(tmp_path)
    store = ws.store
    jurgen = "01a20000-0000-7000-8000-000000000001"
    assert _stored_keys(store, CONTACT, jurgen) == {
        "email_key": "juergen@example.de",
        "phone_key": "+4989123456",
        "mobile_key": None,
        "name_key": "jurgen weiss|",
    }
    # Every index on a key column is there and answers (a query plan through it).
    for (table, column), index in keys.INDEXES.items():
        plan = store.conn.execute(
            f"EXPLAIN QUERY PLAN SELECT rid FROM {table} WHERE {column} = 'x'"
        ).fetchall()
        assert index in str([tuple(r) for r in plan])
    # The lead duplicate check finds the upgraded contact and lead; an account's by its name.
    found = leads.find_duplicates(ws, {"name": "Someone", "email": "JUERGEN@example.de"})
    assert [d.name for d in found] == ["Jürgen Weiß"]
    found = leads.find_duplicates(ws, {"name": "Ada Lovelace", "phone": "030 / 123 45 67"})
    assert {d.name for d in found} == {"Ada Lovelace"}
    assert [d.name for d in leads.find_account_duplicates(ws, "quokka")] == ["Quokka GmbH"]
    # A new contact like the old one: the duplicate scan groups them.
    store.insert(CONTACT, {"name": "Jürgen Weiss", "email": "juergen@example.de"})
    groups = dedupe.scan(ws, ("contact",))
    assert [{title for _, title in group.records} for group in groups] == [{"Jürgen Weiß", "Jürgen Weiss"}]
    ws.close()


def test_a_connection_without_the_functions_reads_the_other_columns(tmp_path: Path) -> None:
    """What the sqlite3 shell can do with the file (docs/store.md, "Size")."""
    store = Store(tmp_path / "sfa.db")
    record = store.insert(CONTACT, {"name": "Ada Lovelace", "email": "Ada@Example.com"})
    store.close()
    conn = sqlite3.connect(tmp_path / "sfa.db")
    try:
        assert conn.execute("SELECT name, email FROM contact").fetchall() == [
            ("Ada Lovelace", "Ada@Example.com")
        ]
        # The index holds the computed key, so a lookup by it needs no function.
        assert conn.execute("SELECT id FROM contact WHERE email_key = 'ada@example.com'").fetchall() == [
            (record["id"],)
        ]
        with pytest.raises(sqlite3.OperationalError, match="unknown function"):
            conn.execute("SELECT * FROM contact").fetchall()
        keys.register(conn)
        assert conn.execute(
            "SELECT count(*) FROM contact WHERE email_key = 'ada@example.com'"
        ).fetchone() == (1,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()


def test_a_store_built_before_the_generated_handle_is_upgraded_with_its_refs(tmp_path: Path) -> None:
    """V_GENERATED_HANDLE: the stored handles go, `substr(id, -12)` takes their place, refs by a
    prefix of the handle and listings' short refs work as before."""
    conn = store_before(tmp_path / "sfa.db", V_GENERATED_HANDLE)
    for rid in range(1, 4):
        record_id = f"01a20000-0000-7000-8000-abcdef{rid:06d}"
        conn.execute(
            "INSERT INTO account(rid, id, handle, name, clocks, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '[]', 'x', 'x')",
            (rid, record_id, record_id[-12:], f"Account {rid}"),
        )
    conn.execute("COMMIT")
    conn.close()
    store = Store(tmp_path / "sfa.db")
    for table in keys.EXPRESSIONS:
        hidden = {r[1]: r[6] for r in store.conn.execute(f"PRAGMA table_xinfo({table})")}
        assert hidden["handle"] == 2
    assert store.resolve(ACCOUNT, "abcdef000002")["name"] == "Account 2"
    with pytest.raises(AmbiguousRefError):
        store.resolve(ACCOUNT, "abcdef")
    ids_ = [r["id"] for r in store.select(ACCOUNT)]
    assert store.short_refs(ACCOUNT, ids_) == {i: i[-12:] for i in ids_}
    made = store.insert(ACCOUNT, {"name": "New"})
    assert store.resolve(ACCOUNT, made["id"][-12:-4])["id"] == made["id"]
    store.close()


def test_a_table_that_stores_its_handle_gets_it_written(tmp_path: Path) -> None:
    """A record table created with the older stored `handle` (as a migration numbered after
    V_GENERATED_HANDLE might, from another branch) is still written whole, locally and by a pull."""
    Store(tmp_path / "sfa.db").close()
    conn = sqlite3.connect(tmp_path / "sfa.db", isolation_level=None)
    conn.execute("DROP TABLE competitor")
    conn.execute(
        "CREATE TABLE competitor (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, handle TEXT NOT NULL,"
        " clocks TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " name TEXT NOT NULL, website TEXT, owner TEXT, team TEXT, tags TEXT NOT NULL DEFAULT '[]',"
        " notes TEXT, deleted INTEGER NOT NULL DEFAULT 0)"
    )
    conn.close()
    store = Store(tmp_path / "sfa.db")
    made = store.insert(COMPETITOR, {"name": "Rival"})
    pulled_id = ids.uuid7()
    clock = Hlc(1_700_000_000_000, 0, "5eed5eed5eed5eed").encode()
    change = {"seq": 1, "entity": "competitor", "id": pulled_id, "fields": {"name": ["Other", clock]}}
    Replica(store).apply_page([change], 1, "epoch-1")
    handles = dict(store.conn.execute("SELECT id, handle FROM competitor").fetchall())
    assert handles == {made["id"]: made["id"][-12:], pulled_id: pulled_id[-12:]}
    assert store.resolve(COMPETITOR, pulled_id[-12:-6])["name"] == "Other"
    store.close()


_memory = sqlite3.connect(":memory:")
keys.register(_memory)


@settings(max_examples=1500, deadline=None)
@given(
    value=st.one_of(
        text, _phone.map(lambda p: f" {p} "), st.text(alphabet="aB@. \t\u00e9\u2003", max_size=10)
    )
)
def test_the_sql_fast_paths_agree_with_the_python_keys(value: str | None) -> None:
    """email_sql and phone_sql (SQL for the common case, the Python function for the rest) give
    normalize's email_key and phone_key for any text."""
    email, phone = _memory.execute(
        f"SELECT {keys.email_sql('?1')}, {keys.phone_sql('?1')}", (value,)
    ).fetchone()
    assert email == normalize.email_key(value)
    assert phone == normalize.phone_key(value)
