"""A leaner laptop store (issue 19 item 4, docs/store.md "Size"): packed field clocks, the migration
that packs an older store's clocks, and what pruning drops and keeps."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain import ids
from sfa.domain.dates import utc_now
from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.domain.hlc import Hlc
from sfa.protocol import PushResult
from sfa.store import codec
from sfa.store.clocks import read as read_clocks
from sfa.store.db import FTS_SLOTS, Store
from sfa.store.migrations import V_LEAN_STORE
from sfa.store.replica import HISTORY_RETENTION, Replica
from tests.conftest import insert_old_accounts, store_before

REPLICAS = ("5eed5eed5eed5eed", "00112233aabbccdd")
clocks_strategy = st.builds(
    lambda ms, counter, replica: Hlc(ms, counter, replica).encode(),
    st.integers(0, 2**52),
    st.integers(0, 99_999),
    st.sampled_from(REPLICAS),
)
names_strategy = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)


@given(st.dictionaries(names_strategy, clocks_strategy, max_size=25))
def test_packed_clocks_read_back_as_written(clocks: dict[str, str]) -> None:
    packed = codec.pack_clocks(clocks)
    assert codec.read_clocks(packed) == clocks
    # Each distinct clock is stored once.
    assert all(packed.count(clock) == 1 for clock in set(clocks.values()))


def test_one_clock_packs_as_a_create_writes_it() -> None:
    clock = Hlc(1_700_000_000_000, 0, REPLICAS[0]).encode()
    assert codec.pack_clocks({"name": clock, "city": clock}) == f'["{clock}","name","city"]'
    assert codec.pack_clocks({}) == "{}"
    # Whatever a name holds, it is encoded as JSON (a restore's clocks come from a file).
    odd = {'say "hi"\\': clock, "ü\n": clock}
    assert codec.read_clocks(codec.pack_clocks(odd)) == odd
    assert codec.read_clocks("{}") == {}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "sfa.db")
    yield s
    s.close()


def _clock(ms: int, replica: str = REPLICAS[0]) -> str:
    return Hlc(ms, 0, replica).encode()


def _pull(replica: Replica, record_id: str, fields: dict[str, list[object]], cursor: int) -> None:
    change = {"seq": cursor, "entity": "contact", "id": record_id, "fields": fields}
    replica.apply_page([change], cursor, "epoch-1")


def test_a_pulled_record_stores_its_clock_once_and_an_edit_adds_one(store: Store) -> None:
    replica = Replica(store)
    record_id = ids.uuid7()
    first, second = _clock(1_700_000_000_000), _clock(1_700_000_100_000, REPLICAS[1])
    _pull(replica, record_id, {"name": ["Ada Lovelace", first], "email": ["ada@example.org", first]}, 1)
    stored = store.conn.execute("SELECT clocks FROM contact").fetchone()[0]
    # One item: the clock's time and counter, and the number of its (replica, fields) group.
    assert stored == '["1700000000000.0.1"]'
    groups = store.conn.execute("SELECT n, replica, fields FROM clock_group ORDER BY n").fetchall()
    assert [tuple(g) for g in groups] == [(1, REPLICAS[0], '["name","email"]')]
    _pull(replica, record_id, {"email": ["ada@example.com", second]}, 2)
    stored = store.conn.execute("SELECT clocks FROM contact").fetchone()[0]
    assert json.loads(stored) == ["1700000000000.0.2", "1700000100000.0.3"]  # (0: name), (1: email)
    assert read_clocks(store.conn, stored) == {"name": first, "email": second}
    assert store.get(CONTACT, record_id)["email"] == "ada@example.com"
    # A local edit stamps its own clock; the others stay as they were.
    store.update(CONTACT, record_id, {"title": "Countess"})
    clocks = store.clocks_where(CONTACT, "id = ?", (record_id,))[record_id]
    assert clocks["name"] == first and clocks["email"] == second and clocks["title"] > second


def test_the_upgrade_packs_the_clocks_an_older_sfa_wrote(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = store_before(path, V_LEAN_STORE)
    a, b = _clock(1_700_000_000_000), _clock(1_700_000_500_000, REPLICAS[1])
    # The forms the older code wrote: a pulled record's object (no spaces), an edit's json.dumps
    # (spaces), a create's one-clock list, and a row with no clocks.
    written = {
        "pulled": "{" + f'"name":"{a}","city":"{a}","phone":"{b}"' + "}",
        "edited": json.dumps({"name": a, "city": b}),
        "created": f'["{a}","name","city"]',
        "bare": "{}",
    }
    insert_old_accounts(conn, written)
    # Many rows, so that the vacuum after the upgrade has pages to give back.
    conn.executemany(
        "INSERT INTO account(id, handle, name, clocks, created_at, updated_at) VALUES (?, ?, 'many', ?, 'x', 'x')",
        [
            (f"01a20000-0000-7000-9000-{n:012d}", f"{n:012d}", json.dumps(dict.fromkeys(("name", "city"), a)))
            for n in range(3000)
        ],
    )
    # A search entry as the older index held it (rowid = rid * 64 + code).
    rid = conn.execute("SELECT rid FROM account WHERE name = 'pulled'").fetchone()[0]
    conn.execute(
        "INSERT INTO search_fts(rowid, title, body) VALUES (?, 'pulled', 'Zwickau Zeppelin')",
        (rid * FTS_SLOTS + ACCOUNT.code,),
    )
    conflict_clocks = json.dumps({"status": a})
    conn.execute(
        "INSERT INTO sync_conflict(id, entity, record_id, field, kind, clocks) VALUES ('c1', 'account', 'r', 'f', 'k', ?)",
        (conflict_clocks,),
    )
    conn.execute("COMMIT")
    pages_before = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()

    store = Store(path)
    try:
        rows = dict(store.conn.execute("SELECT name, clocks FROM account WHERE name != 'many'").fetchall())
        # Packed by V_LEAN_STORE, then put in the group form by the first open (V_CLOCK_GROUPS):
        # the same clocks, each stored as one short item.
        for name, before in written.items():
            assert read_clocks(store.conn, rows[name]) == codec.read_clocks(before), name
            assert ":" not in rows[name] or rows[name] == "{}", name
        assert len(json.loads(rows["pulled"])) == 2
        many = {r[0] for r in store.conn.execute("SELECT clocks FROM account WHERE name = 'many'")}
        assert len(many) == 1 and read_clocks(store.conn, many.pop()) == {"name": a, "city": a}
        assert store.meta("clocks.compact") is None
        # The conflicts' own clocks are another JSON, read as such: left alone.
        assert store.conn.execute("SELECT clocks FROM sync_conflict").fetchone()[0] == conflict_clocks
        assert store.meta("clock_encoding") == "packed"
        # Vacuumed: the freed pages left the file.
        assert store.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert store.conn.execute("PRAGMA page_count").fetchone()[0] < pages_before
        # The search index is in its leaner form, made again from the rows by the one rule later
        # writes use (V_CONTENTLESS_SEARCH): the records are found by what they hold, and an entry
        # the rows do not say (the older index's "Zwickau Zeppelin") is gone.
        schema = store.conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'search_fts'").fetchone()[0]
        assert "content = ''" in schema
        assert [r["name"] for _, r in store.search("pulled")] == ["pulled"]
        assert store.search("zepp zwick") == []
        # And the upgraded rows work as ever: an edit keeps the other fields' clocks.
        record = store.select(ACCOUNT, "name = 'pulled'")[0]
        store.update(ACCOUNT, record["id"], {"city": "Köln"})
        clocks = store.clocks_where(ACCOUNT, "id = ?", (record["id"],))[record["id"]]
        assert clocks["name"] == a and clocks["phone"] == b and clocks["city"] > b
        assert [r["city"] for _, r in store.search("pulled köln")] == ["Köln"]
    finally:
        store.close()


def test_an_unacknowledged_outbox_row_is_never_pruned(store: Store) -> None:
    replica = Replica(store)
    records = store.insert_many(ACCOUNT, [{"name": f"Firm {n}"} for n in range(3)])
    store.update(ACCOUNT, records[0]["id"], {"name": "Firm 0 GmbH"})
    mutations = replica.pending(10)
    assert len(mutations) == 4
    # The server answered two of them (a reply cut short); the other two stay queued.
    replica.acknowledge(
        mutations, [PushResult(mutations[0].seq, "applied"), PushResult(mutations[2].seq, "applied")]
    )
    left = [row["seq"] for row in store.outbox()]
    assert left == [mutations[1].seq, mutations[3].seq]
    replica.prune(utc_now() + HISTORY_RETENTION * 10)
    replica.mark_synced()
    assert [row["seq"] for row in store.outbox()] == left
    # The queued edit still goes with its base clock (the create's), which local history holds.
    [edit] = [m for m in replica.pending(10) if m.seq == mutations[3].seq]
    assert edit.base == {"name": mutations[0].fields["name"][1]}


def test_pruning_drops_old_pulled_history_and_keeps_what_was_written_here(store: Store) -> None:
    replica = Replica(store)
    record_id = ids.uuid7()
    _pull(replica, record_id, {"name": ["Ada", _clock(1_700_000_000_000)]}, 1)
    _pull(replica, record_id, {"name": ["Ada L.", _clock(1_700_000_100_000)]}, 2)  # history: remote
    store.update(CONTACT, record_id, {"name": "Ada Lovelace"})  # history: local
    origins = [h["origin"] for h in store.history(record_id)]
    assert origins == ["remote", "local"]
    # Within the retention window nothing goes.
    assert replica.prune(utc_now() + HISTORY_RETENTION - timedelta(days=1)) == 0
    assert len(store.history(record_id)) == 2
    # Past it the pulled change's row goes; what was typed here stays, whatever its age.
    assert replica.prune(utc_now() + HISTORY_RETENTION + timedelta(days=1)) == 1
    [kept] = store.history(record_id)
    assert (kept["origin"], kept["old"], kept["new"]) == ("local", "Ada L.", "Ada Lovelace")
    assert replica.prune(utc_now() + HISTORY_RETENTION * 100) == 0


def test_a_sync_round_prunes_once_a_day(store: Store) -> None:
    replica = Replica(store)
    replica.mark_synced()
    today = utc_now().date().isoformat()
    assert store.meta("store.pruned_on") == today
    store.set_meta("store.pruned_on", "2000-01-01")
    replica.mark_synced()
    assert store.meta("store.pruned_on") == today
