"""Field clocks by group number (sfa/store/clocks.py, docs/store.md "Size"): any clocks read back as
written, whatever the form; a number made by a transaction that rolled back is never remembered;
two connections to one file agree; an older store's rows are converted by the first open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import ids
from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.domain.hlc import Hlc
from sfa.store import clocks, codec
from sfa.store.db import Store
from sfa.store.migrations import V_CLOCK_GROUPS
from sfa.store.replica import Replica
from tests.conftest import insert_old_accounts, store_before

REPLICAS = ("5eed5eed5eed5eed", "00112233aabbccdd", "server")
names = st.sampled_from(("name", "email", "phone", "city", "tags", "deleted", "owner"))
clock = st.builds(
    lambda ms, counter, replica: Hlc(ms, counter, replica).encode(),
    st.integers(0, 10**15),
    st.integers(0, 99_999),
    st.sampled_from(REPLICAS),
)
odd_clock = st.sampled_from(("1:2:abc", "x:y", "0001:00000:zz"))  # not Hlc widths: kept as they are


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("clocks") / "sfa.db")


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(names, st.one_of(clock, odd_clock), max_size=7))
def test_clocks_read_back_as_written(store: Store, given_clocks: dict[str, str]) -> None:
    with store.transaction():
        stored = clocks.compact(store.conn, codec.pack_clocks(given_clocks), {})
        assert clocks.read(store.conn, stored) == given_clocks  # inside the transaction that made it
    assert clocks.read(store.conn, stored) == given_clocks  # and after, from the cache
    other = sqlite3.connect(store.path)
    try:
        assert clocks.read(other, stored) == given_clocks  # another connection, from the table
    finally:
        other.close()
    assert clocks.read(store.conn, codec.pack_clocks(given_clocks)) == given_clocks  # the older form


def test_a_group_made_by_a_rolled_back_transaction_is_not_remembered(tmp_path: Path) -> None:
    store = Store(tmp_path / "sfa.db")
    first = Hlc(1_700_000_000_000, 0, REPLICAS[0]).encode()
    with store.transaction():
        clocks.read(store.conn, clocks.compact(store.conn, codec.pack_clocks({"name": first}), {}))
    with pytest.raises(RuntimeError), store.transaction():
        made = clocks.compact(store.conn, codec.pack_clocks({"email": first}), {})
        assert clocks.read(store.conn, made) == {"email": first}
        raise RuntimeError("rolled back")
    # The number the rolled-back group had now names another group: it is read as that one.
    with store.transaction():
        again = clocks.compact(store.conn, codec.pack_clocks({"city": first}), {})
    assert again == made
    assert clocks.read(store.conn, again) == {"city": first}
    store.close()


def test_local_and_pulled_writes_store_groups(tmp_path: Path) -> None:
    store = Store(tmp_path / "sfa.db")
    account = store.insert(ACCOUNT, {"name": "Quokka", "city": "Bonn"})
    store.update(ACCOUNT, account["id"], {"city": "Köln"})
    record_id = ids.uuid7()
    pulled = Hlc(1_700_000_000_000, 3, "server").encode()
    change = {"seq": 1, "entity": "contact", "id": record_id, "fields": {"name": ["Ada", pulled]}}
    Replica(store).apply_page([change], 1, "epoch-1")
    for table in ("account", "contact"):
        (text,) = store.conn.execute(f"SELECT clocks FROM {table}").fetchone()
        assert ":" not in text, text
    assert store.clocks_where(CONTACT, "id = ?", (record_id,))[record_id] == {"name": pulled}
    account_clocks = store.clocks_where(ACCOUNT, "id = ?", (account["id"],))[account["id"]]
    assert account_clocks["city"] > account_clocks["name"]
    store.close()


def test_a_store_built_before_is_converted_on_first_open(tmp_path: Path) -> None:
    conn = store_before(tmp_path / "sfa.db", V_CLOCK_GROUPS)
    a, b = Hlc(1_700_000_000_000, 0, REPLICAS[0]).encode(), Hlc(1_700_000_500_000, 1, REPLICAS[1]).encode()
    written = {
        "one": f'["{a}","name","city"]',
        "two": f'["{a}","name","{b}","city"]',
        "object": f'{{"name": "{a}"}}',
        "none": "{}",
    }
    insert_old_accounts(conn, written)
    conn.execute("COMMIT")
    conn.close()
    store = Store(tmp_path / "sfa.db")
    rows = dict(store.conn.execute("SELECT name, clocks FROM account").fetchall())
    for name, text in written.items():
        assert clocks.read(store.conn, rows[name]) == codec.read_clocks(text), name
        assert ":" not in rows[name], name
    assert store.meta("clocks.compact") is None
    store.close()
