"""The one write primitive of the store.

Every statement that writes what a record write records — the row, its field clocks, its outbox
entry, its history and its search entry — is in this module and nowhere else: a local insert or
edit (`Store.insert_many`, `Store.update`), the bulk writer's batches, applying a pulled change
(`Replica`), a conflict resolution and a restore all end here. The callers decide *what* to write
(the values, which fields changed, which clock); this module decides *how*, inside the caller's
transaction, so the rules of change capture (docs/store.md) cannot drift apart between paths.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from sfa.domain.entities import ENTITIES, SEARCHABLE_TIMELINE_KINDS, Entity
from sfa.domain.ids import HANDLE_LENGTH
from sfa.store import codec
from sfa.store.clocks import compact as compact_clocks

FTS_SLOTS = 64  # search_fts rowid = rid * 64 + entity code (16 before migration V_FTS_SLOTS)

# Migration V_FTS_SLOTS: every entry of the 16-slot layout moved to its 64-slot rowid, none rebuilt,
# so it is fast and keeps what was indexed. Kept here with the other index writes.
RESLOT_FTS_16_TO_64 = """
CREATE TEMP TABLE fts_move AS SELECT rowid AS old, title, body FROM search_fts;
DELETE FROM search_fts;
INSERT INTO search_fts(rowid, title, body) SELECT (old / 16) * 64 + old % 16, title, body FROM fts_move;
DROP TABLE fts_move;
"""

# Migration V_LEAN_STORE: the index rebuilt without positions (detail=column, docs/store.md "Full-text
# search"), its entries copied, so what was indexed stays indexed.
SEARCH_FTS_DETAIL_COLUMN = """
CREATE VIRTUAL TABLE search_fts_lean USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2',
    detail = column);
INSERT INTO search_fts_lean(rowid, title, body) SELECT rowid, title, body FROM search_fts;
DROP TABLE search_fts;
ALTER TABLE search_fts_lean RENAME TO search_fts;
"""

# Migration V_CONTENTLESS_SEARCH: the index keeps no copy of the text (content=''); its entries are
# written again from the rows when the store is next opened (`search_is_current`, `rebuild_search`).
# It keeps the words' positions again (detail=full): without them FTS5 works out where a hit's words
# are by tokenising the document's text, which a contentless index does not have, and every bm25
# rank would be 0 (docs/store.md, "Full-text search").
SEARCH_FTS_CONTENTLESS = """
DROP TABLE search_fts;
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2',
    content = '');
DELETE FROM meta WHERE key = 'search.rule';
"""

_OUTBOX_SQL = "INSERT INTO outbox(entity, record_id, fields, created_at) VALUES (?, ?, ?, ?)"
_HISTORY_SQL = (
    "INSERT INTO history(entity, record_id, field, old_value, old_clock, new_value, new_clock, origin,"
    " changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class PreparedInsert(NamedTuple):
    """New rows of one table, ready for SQL; `rid` (column 0) is given when the batch is written.
    Their search entries are written from the rows themselves (`add_search`)."""

    entity: str
    sql: str  # INSERT INTO table (rid, ...) VALUES (?, ...)
    rows: list[tuple[Any, ...]]  # every column but rid
    outbox: list[tuple[str, str, str, str]]  # (entity, id, fields JSON, time)


class HistoryEntry(NamedTuple):
    """One overwritten value: kept so that nothing a person typed is lost."""

    entity: str
    record_id: str
    field: str
    old_value: str  # JSON of the wire value
    old_clock: str | None
    new_value: str
    new_clock: str
    origin: str  # 'local' (written here) or 'remote' (pulled)
    changed_at: str


def fts_rowid(entity: Entity, rid: int) -> int:
    return rid * FTS_SLOTS + entity.code


# -- the search index ---------------------------------------------------------------------------
# The index is contentless (docs/store.md, "Full-text search"): it keeps the words, not the text, so
# an entry can only be taken out by handing back the text it was made from. Every entry is
# therefore made by one SQL rule from the row's own columns (`_search_select`), and taken out by
# the same rule from the same row just before the row changes: the text handed back is the text
# that was indexed, by construction, whichever path wrote the row. The rule's fingerprint is kept
# in meta; a store whose index was made by another rule (or by none: after the migration, or a
# first sync that left the index to the end) is rebuilt from its rows when it is opened.


@cache
def search_columns(entity: Entity) -> frozenset[str]:
    """The columns a record's search entry depends on (its text, and whether it has one)."""
    if not has_search_entries(entity):
        return frozenset()
    extra = {"deleted"} if "deleted" in entity.by_name else set()
    if entity.name == "timeline":
        extra.add("kind")
    return frozenset({entity.title, *entity.search_fields, *extra})


@cache
def _search_select(entity: Entity) -> str:
    """SELECT rowid, title, body FROM the entity's table WHERE it has an entry (append `AND ...`)."""
    body = [f for f in entity.search_fields if f != entity.title and f in entity.by_name]
    body_sql = " || ' ' || ".join(f"coalesce({f}, '')" for f in body) or "''"
    title_sql = f"coalesce({entity.title}, '')" if entity.title in entity.by_name else "''"
    where = ["1"]
    if "deleted" in entity.by_name:
        where.append("coalesce(deleted, 0) = 0")
    if entity.name == "timeline":
        where.append(f"kind IN ({', '.join(repr(k) for k in SEARCHABLE_TIMELINE_KINDS)})")
    return (
        f"SELECT rid * {FTS_SLOTS} + {entity.code}, {title_sql}, {body_sql}"
        f" FROM {entity.table} WHERE {' AND '.join(where)}"
    )


def searchable_entities() -> list[Entity]:
    return [entity for entity in ENTITIES.values() if has_search_entries(entity)]


@cache
def search_rule() -> str:
    """A fingerprint of the rule every entry is made by (it changes when a record type's search
    fields do, and the index is then rebuilt)."""
    rule = "\n".join(_search_select(entity) for entity in searchable_entities())
    return hashlib.sha256(rule.encode()).hexdigest()[:16]


def add_search(conn: sqlite3.Connection, entity: Entity, where: str, params: Sequence[Any]) -> None:
    """Index the rows of `entity` matching `where` (their entries must not be in the index)."""
    if has_search_entries(entity):
        conn.execute(
            f"INSERT INTO search_fts(rowid, title, body) {_search_select(entity)} AND {where}", params
        )


def drop_search(conn: sqlite3.Connection, entity: Entity, where: str, params: Sequence[Any]) -> None:
    """Take the entries of the rows matching `where` out of the index, before those rows change."""
    if has_search_entries(entity):
        select = _search_select(entity).replace("SELECT ", "SELECT 'delete', ", 1)
        conn.execute(f"INSERT INTO search_fts(search_fts, rowid, title, body) {select} AND {where}", params)


def search_is_current(conn: sqlite3.Connection) -> bool:
    """Whether the index holds every entry by the current rule (an index of a file older than
    V_CONTENTLESS_SEARCH, which keeps its text, is left as it is until that migration runs)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'search.rule'").fetchone()
    if row is not None and row[0] == search_rule():
        return True
    schema = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'search_fts'").fetchone()
    return schema is None or "content = ''" not in schema[0]


def rebuild_search(conn: sqlite3.Connection) -> None:
    """Every entry written again from the rows, by the current rule (inside the caller's transaction)."""
    conn.execute("INSERT INTO search_fts(search_fts) VALUES ('delete-all')")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    for entity in searchable_entities():
        if entity.table in tables:
            add_search(conn, entity, "1", ())
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('search.rule', ?)", (search_rule(),))


def leave_search_to_the_end(conn: sqlite3.Connection) -> None:
    """Writes from here on skip the index; `rebuild_search` (or the next open) makes it whole again."""
    conn.execute("DELETE FROM meta WHERE key = 'search.rule'")


def stores_handle(conn: sqlite3.Connection, table: str) -> bool:
    """Whether the table stores its `handle` (a table made before V_GENERATED_HANDLE and not
    converted by it, e.g. one a migration numbered after it creates with the older columns) rather
    than computing it from the id (a virtual generated column: docs/store.md, "Size")."""
    known: dict[str, bool] | None = getattr(conn, "stored_handles", None)
    if known is not None and table in known:
        return known[table]
    stored = any(row[1] == "handle" and row[6] == 0 for row in conn.execute(f"PRAGMA table_xinfo({table})"))
    if known is not None:
        known[table] = stored
    return stored


def with_handle(sql: str) -> str:
    """An insert of (rid, id, clocks, ...) as one of (rid, id, handle, clocks, ...)."""
    return sql.replace("(rid, id, clocks, ", "(rid, id, handle, clocks, ", 1).replace(
        "VALUES (", "VALUES (?, ", 1
    )


def _insert_rows(conn: sqlite3.Connection, table: str, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert rows of (rid, id, clocks, ...) with `sql`: their clocks in the group form, and the
    handle where the table stores it (`stores_handle`)."""
    memo: dict[str, str] = {}  # what this batch compacted: its rows mostly repeat one clocks text
    if stores_handle(conn, table):
        conn.executemany(
            with_handle(sql),
            [
                (*row[:2], row[1][-HANDLE_LENGTH:], compact_clocks(conn, row[2], memo), *row[3:])
                for row in rows
            ],
        )
    else:
        conn.executemany(sql, [(*row[:2], compact_clocks(conn, row[2], memo), *row[3:]) for row in rows])


def write_insert(conn: sqlite3.Connection, prepared: PreparedInsert) -> int:
    """Write prepared new rows, their outbox entries and search entries; returns the rid before the
    first row."""
    name, sql, rows, outbox = prepared
    entity = ENTITIES[name]
    base = int(conn.execute(f"SELECT coalesce(max(rid), 0) FROM {entity.table}").fetchone()[0])
    _insert_rows(conn, entity.table, sql, ((base + number, *row) for number, row in enumerate(rows, 1)))
    conn.executemany(_OUTBOX_SQL, outbox)
    add_search(conn, entity, "rid > ?", (base,))
    return base


def write_pulled_inserts(
    conn: sqlite3.Connection,
    entity: Entity,
    sql: str,
    rows: Sequence[tuple[Any, ...]],
    *,
    search: bool = True,
) -> None:
    """Records new to this replica, pulled with their clocks: rows (rid included, above every rid
    the table held) and their search entries unless `search` is false (a first sync indexes at the
    end); no outbox entry, since the server already has them."""
    if not rows:
        return
    _insert_rows(conn, entity.table, sql, rows)
    if search:
        add_search(conn, entity, "rid >= ?", (rows[0][0],))


def write_update(
    conn: sqlite3.Connection,
    entity: Entity,
    record_id: str,
    assignments: Mapping[str, Any],
    history: Iterable[HistoryEntry],
    outbox: tuple[str, str] | None,
    *,
    search: bool = True,
) -> None:
    """Change columns of one row (values, derived keys, clocks, times), keep the overwritten values
    in history, queue `outbox` = (fields JSON, time) when the write is a local one, and replace the
    row's search entry when a column it depends on is written (unless `search` is false: a first
    sync that indexes at the end)."""
    if "clocks" in assignments:
        assignments = {**assignments, "clocks": compact_clocks(conn, assignments["clocks"], {})}
    reindex = search and not search_columns(entity).isdisjoint(assignments)
    if reindex:
        drop_search(conn, entity, "id = ?", (record_id,))
    conn.execute(
        f"UPDATE {entity.table} SET {', '.join(f'{c} = ?' for c in assignments)} WHERE id = ?",
        (*assignments.values(), record_id),
    )
    if reindex:
        add_search(conn, entity, "id = ?", (record_id,))
    conn.executemany(_HISTORY_SQL, list(history))
    if outbox is not None:
        append_outbox(conn, entity.name, record_id, *outbox)


def append_outbox(conn: sqlite3.Connection, entity_name: str, record_id: str, fields: str, now: str) -> None:
    """Queue a change for the server (fields JSON in either outbox form, see codec)."""
    conn.execute(_OUTBOX_SQL, (entity_name, record_id, fields, now))


def rewrite_outbox(conn: sqlite3.Connection, seq: int, fields: str) -> None:
    """Replace the fields of an unsent outbox entry (a record adopted before it reached a server)."""
    conn.execute("UPDATE outbox SET fields = ? WHERE seq = ?", (fields, seq))


def append_resend(
    conn: sqlite3.Connection, entity_name: str, record_id: str, fields: str, base: str | None, now: str
) -> None:
    """Queue a re-send of values a restored server lost, with the server's clocks as its base."""
    conn.execute(
        "INSERT INTO outbox(entity, record_id, fields, created_at, base) VALUES (?, ?, ?, ?, ?)",
        (entity_name, record_id, fields, now, base),
    )


def requeue_before_last(conn: sqlite3.Connection, record_id: str) -> None:
    """Move a record's outbox entries, but its last, to the end of the outbox, in their order."""
    last = "(SELECT max(seq) FROM outbox WHERE record_id = ?)"
    rows = conn.execute(
        f"SELECT entity, record_id, fields, created_at, base FROM outbox WHERE record_id = ? AND seq < {last}"
        " ORDER BY seq",
        (record_id, record_id),
    ).fetchall()
    conn.execute(f"DELETE FROM outbox WHERE record_id = ? AND seq < {last}", (record_id, record_id))
    conn.executemany(
        "INSERT INTO outbox(entity, record_id, fields, created_at, base) VALUES (?, ?, ?, ?, ?)",
        [tuple(row) for row in rows],
    )


def prune_history(conn: sqlite3.Connection, before: str) -> int:
    """Drop history rows of pulled changes (origin 'remote') recorded before `before` (an ISO UTC
    time); rows of writes made here (origin 'local', 'adopt') are kept. Returns the rows dropped.
    What is kept and why: docs/store.md, "Size"."""
    return conn.execute("DELETE FROM history WHERE origin = 'remote' AND changed_at < ?", (before,)).rowcount


def has_search_entries(entity: Entity) -> bool:
    """Only searchable types have entries (every code is below FTS_SLOTS: tests/test_fts_slots.py;
    a type past them must never touch the index: its rowid would be another type's)."""
    return bool(entity.search_fields) and entity.code < FTS_SLOTS


def remove(conn: sqlite3.Connection, entity: Entity, record_id: str, *, search: bool = True) -> None:
    """A record that left this replica's scope: its search entry and row go (the server keeps it)."""
    if search:
        drop_search(conn, entity, "id = ?", (record_id,))
    conn.execute(f"DELETE FROM {entity.table} WHERE id = ?", (record_id,))


def compact_all_clocks(conn: sqlite3.Connection) -> int:
    """Rewrite every record row whose clocks are not yet in the group form (sfa/store/clocks.py);
    returns how many. Run once, by the upgrade to V_CLOCK_GROUPS (Store._migrate)."""
    converted = 0
    for table in sorted({entity.table for entity in ENTITIES.values()}):
        memo: dict[str, str] = {}
        rows = conn.execute(f"SELECT rid, clocks FROM {table} WHERE instr(clocks, ':') > 0").fetchall()
        conn.executemany(
            f"UPDATE {table} SET clocks = ? WHERE rid = ?",
            [(compact_clocks(conn, text, memo), rid) for rid, text in rows],
        )
        converted += len(rows)
    conn.execute("DELETE FROM meta WHERE key = 'clocks.compact'")
    return converted


def put_back(
    conn: sqlite3.Connection,
    entity: Entity,
    record_ids: Sequence[str],
    stamps: Sequence[tuple[str, str]],
    clocks: Sequence[dict[str, str]],
) -> None:
    """Give restored records their own bookkeeping back: created_at, updated_at, field clocks.

    The field clocks go on the rows and into the outbox entries of the restore, so that a sync
    after a restore merges by the clocks the values really had: a newer edit made elsewhere after
    the backup still wins, and nothing restored looks newer than it is.
    """
    restored = {i: c for i, c in zip(record_ids, clocks, strict=True) if c}
    conn.executemany(
        f"UPDATE {entity.table} SET created_at = ?, updated_at = ? WHERE id = ?",
        [(c, u, i) for (c, u), i in zip(stamps, record_ids, strict=True)],
    )
    if not restored:
        return
    conn.executemany(
        f"UPDATE {entity.table} SET clocks = ? WHERE id = ?",
        [
            (compact_clocks(conn, codec.pack_clocks(own), {}), record_id)
            for record_id, own in restored.items()
        ],
    )
    changes = []
    for seq, record_id, fields in conn.execute(
        "SELECT seq, record_id, fields FROM outbox WHERE entity = ?", (entity.name,)
    ).fetchall():
        if record_id in restored:
            # Only what was really written, with its clock: a default the restore filled in (no
            # tags, not deleted) must not travel as a fresh write that could undo an edit elsewhere.
            own = restored[record_id]
            sent = codec.read_outbox_fields(fields).items()
            wire = {name: [value, own[name]] for name, (value, _clock) in sent if name in own}
            changes.append((codec.dumps(wire), seq))
    conn.executemany("UPDATE outbox SET fields = ? WHERE seq = ?", changes)
