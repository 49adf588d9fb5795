"""The contentless search index (docs/store.md, "Full-text search"): every entry is made from the row
by one SQL rule and taken out by the same rule before the row changes, so whatever path writes a
record (a local insert, edit or delete, a pulled create or edit, a record leaving scope) the index
holds exactly the words the rows hold; and a store built before V_CONTENTLESS_SEARCH is upgraded
with its search, duplicate checks and refs working."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import ids
from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.domain.hlc import Hlc
from sfa.services import dedupe
from sfa.store import writes
from sfa.store.db import FTS_SLOTS, Store
from sfa.store.migrations import V_CONTENTLESS_SEARCH
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace
from tests.conftest import store_before

WORDS = ("alpha", "bravo", "carla", "delta", "echo")
PEER = "feedfeedfeedfeed"
text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
op = st.one_of(
    st.tuples(st.just("insert"), text, text),
    st.tuples(st.just("edit"), st.integers(0, 20), st.sampled_from(("name", "title", "notes")), text),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("pull_new"), text, text),
    st.tuples(st.just("pull_edit"), st.integers(0, 20), st.sampled_from(("name", "title", "notes")), text),
    st.tuples(st.just("leave_scope"), st.integers(0, 20)),
)


def _expected(store: Store) -> dict[str, set[int]]:
    """For each word, the index rowids of the live contacts whose searched columns hold it."""
    found: dict[str, set[int]] = {word: set() for word in WORDS}
    for rid, *values in store.conn.execute(
        "SELECT rid, name, title, email, notes FROM contact WHERE deleted = 0"
    ).fetchall():
        for word in " ".join(v for v in values if v).split():
            found[word].add(rid * FTS_SLOTS + CONTACT.code)
    return found


def _indexed(store: Store) -> dict[str, set[int]]:
    return {
        word: {
            r[0] for r in store.conn.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH ?", (word,))
        }
        for word in WORDS
    }


@settings(max_examples=30, deadline=None)
@given(st.lists(op, min_size=1, max_size=25))
def test_the_index_holds_exactly_what_the_rows_hold(ops: list[tuple[Any, ...]]) -> None:
    home = Path(tempfile.mkdtemp(prefix="sfa-search-"))
    try:
        store = Store(home / "sfa.db")
        replica = Replica(store)
        tick = itertools.count(1)
        cursor = itertools.count(1)

        def pull(record_id: str, fields: dict[str, Any]) -> None:
            clock = Hlc(4_000_000_000_000, next(tick), PEER).encode()  # newer than any local write
            change = {
                "seq": 1,
                "entity": "contact",
                "id": record_id,
                "fields": {k: [v, clock] for k, v in fields.items()},
            }
            replica.apply_page([change], next(cursor), "epoch")

        for step in ops:
            kind = step[0]
            live = [r[0] for r in store.conn.execute("SELECT id FROM contact WHERE deleted = 0 ORDER BY rid")]
            rows = [r[0] for r in store.conn.execute("SELECT id FROM contact ORDER BY rid")]
            if kind == "insert":
                store.insert(CONTACT, {"name": step[1], "title": step[2]})
            elif kind == "pull_new":
                pull(ids.uuid7(), {"name": step[1], "notes": step[2]})
            elif kind == "pull_edit" and rows:  # deleted records too: their entry stays out
                pull(rows[step[1] % len(rows)], {step[2]: step[3]})
            elif kind == "leave_scope" and rows:
                with store.transaction():
                    writes.remove(store.conn, CONTACT, rows[step[1] % len(rows)])
            elif kind == "edit" and live:
                store.update(CONTACT, live[step[1] % len(live)], {step[2]: step[3]})
            elif kind == "delete" and live:
                store.delete(CONTACT, live[step[1] % len(live)])
            assert _indexed(store) == _expected(store), step
        store.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_an_older_store_is_upgraded_with_search_duplicates_and_refs_working(tmp_path: Path) -> None:
    conn = store_before(tmp_path / "sfa.db", V_CONTENTLESS_SEARCH)
    clock = Hlc(1_700_000_000_000, 0, "00112233aabbccdd").encode()
    people = [("Jürgen Weiß", "juergen@example.de", "Einkauf"), ("Ada Lovelace", "ada@example.com", "CEO")]
    people += [(f"Filler {n:04d}", f"filler{n}@example.com", "Buyer") for n in range(2000)]
    for rid, (name, email, title) in enumerate(people, 1):
        record_id = f"01a20000-0000-7000-8000-{rid:012d}"
        conn.execute(
            "INSERT INTO contact(rid, id, handle, name, title, email, email_key, clocks, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'x', 'x')",
            (rid, record_id, record_id[-12:], name, title, email, email.lower(), f'["{clock}","name"]'),
        )
        # The older code's entry, written with its own text (here a word the row does not hold).
        conn.execute(
            "INSERT INTO search_fts(rowid, title, body) VALUES (?, ?, ?)",
            (rid * FTS_SLOTS + CONTACT.code, name, f"{title} {email} stalewort"),
        )
    conn.execute("COMMIT")
    pages_before = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()

    ws = Workspace(tmp_path)
    store = ws.store
    schema = store.conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'search_fts'").fetchone()[0]
    assert "content = ''" in schema
    assert (
        store.conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'search_fts_content'").fetchone()[
            0
        ]
        == 0
    )
    assert store.conn.execute("PRAGMA page_count").fetchone()[0] < pages_before  # vacuumed
    # Search, prefixes and diacritics included, finds what the rows hold and nothing else.
    assert [r["name"] for _, r in store.search("jurg einka")] == ["Jürgen Weiß"]
    assert [r["name"] for _, r in store.search("ada@example")] == ["Ada Lovelace"]
    assert len(store.search("filler", limit=3000)) == 2000
    assert store.search("stalewort") == []
    # An edit after the upgrade replaces the entry: the old words go, the new ones are found.
    ada = store.search("lovelace")[0][1]
    store.update(CONTACT, ada["id"], {"name": "Ada King"})
    assert store.search("lovelace") == [] and [r["id"] for _, r in store.search("king")] == [ada["id"]]
    # Duplicate checks read the key columns, as before.
    assert [r["id"] for r in store.select(CONTACT, "email_key = ?", ("ada@example.com",))] == [ada["id"]]
    # Refs by the handle's prefix.
    assert (
        store.conn.execute("SELECT id FROM contact WHERE handle LIKE '000000000002%'").fetchone()[0]
        == ada["id"]
    )
    # A duplicate scan sees the same records it saw before.
    store.insert(CONTACT, {"name": "Jürgen Weiss", "email": "juergen@example.de"})
    groups = dedupe.scan(ws, ("contact",))
    assert [{title for _, title in group.records} for group in groups] == [{"Jürgen Weiß", "Jürgen Weiss"}]
    ws.close()


def test_a_store_whose_index_is_stale_is_rebuilt_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "sfa.db"
    store = Store(path)
    store.insert(ACCOUNT, {"name": "Quokka Logistik"})
    with store.transaction():
        writes.leave_search_to_the_end(store.conn)  # as an interrupted first sync leaves it
        store.conn.execute("INSERT INTO search_fts(search_fts) VALUES ('delete-all')")
    assert store.search("quokka") == []
    store.close()
    store = Store(path)
    assert [r["name"] for _, r in store.search("quok")] == ["Quokka Logistik"]
    assert store.meta("search.rule") == writes.search_rule()
    store.close()


def test_hits_are_ranked(tmp_path: Path) -> None:
    """bm25 needs where a hit's words are: a contentless index must keep positions (detail=full),
    or every rank is 0 and the order of hits is the index's, not the best match first."""
    store = Store(tmp_path / "sfa.db")
    store.insert(
        CONTACT, {"name": "Otto Normal", "notes": "met at the Alpen fair, a long talk about many things"}
    )
    store.insert(ACCOUNT, {"name": "Alpen Alpenbau"})
    ranks = [
        r[0]
        for r in store.conn.execute(
            "SELECT rank FROM search_fts WHERE search_fts MATCH 'alpen*' ORDER BY rank"
        )
    ]
    assert len(ranks) == 2 and all(rank < 0 for rank in ranks) and ranks[0] < ranks[1]
    assert [r["name"] for _, r in store.search("alpen")] == ["Alpen Alpenbau", "Otto Normal"]
    store.close()
