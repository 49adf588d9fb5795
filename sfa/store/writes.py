"""The one write primitive of the store.

Every statement that writes what a record write records — the row, its field clocks, its outbox
entry, its history and its search entry — is in this module and nowhere else: a local insert or
edit (`Store.insert_many`, `Store.update`), the bulk writer's batches, applying a pulled change
(`Replica`), a conflict resolution and a restore all end here. The callers decide *what* to write
(the values, which fields changed, which clock); this module decides *how*, inside the caller's
transaction, so the rules of change capture (docs/store.md) cannot drift apart between paths.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sfa.domain.entities import Entity
from sfa.store import codec

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

_OUTBOX_SQL = "INSERT INTO outbox(entity, record_id, fields, created_at) VALUES (?, ?, ?, ?)"
_FTS_SQL = "INSERT INTO search_fts(rowid, title, body) VALUES (?, ?, ?)"
_HISTORY_SQL = (
    "INSERT INTO history(entity, record_id, field, old_value, old_clock, new_value, new_clock, origin,"
    " changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class PreparedInsert(NamedTuple):
    """New rows of one table, ready for SQL; `rid` (column 0) is given when the batch is written."""

    table: str
    sql: str  # INSERT INTO table (rid, ...) VALUES (?, ...)
    rows: list[tuple[Any, ...]]  # every column but rid
    outbox: list[tuple[str, str, str, str]]  # (entity, id, fields JSON, time)
    fts: list[tuple[int, str, str]]  # (index of the row in `rows`, title, body)
    fts_code: int


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


def write_insert(conn: sqlite3.Connection, prepared: PreparedInsert) -> int:
    """Write prepared new rows, their outbox entries and search entries; returns the rid before the
    first row."""
    table, sql, rows, outbox, fts, code = prepared
    base = int(conn.execute(f"SELECT coalesce(max(rid), 0) FROM {table}").fetchone()[0])
    conn.executemany(sql, [(base + number, *row) for number, row in enumerate(rows, 1)])
    conn.executemany(_OUTBOX_SQL, outbox)
    if fts:
        conn.executemany(_FTS_SQL, [((base + 1 + i) * FTS_SLOTS + code, t, b) for i, t, b in fts])
    return base


def write_pulled_inserts(
    conn: sqlite3.Connection,
    entity: Entity,
    sql: str,
    rows: Sequence[tuple[Any, ...]],
    search: Sequence[tuple[int, str, str]],
) -> None:
    """Records new to this replica, pulled with their clocks: rows (rid included) and search
    entries (rowid, title, body); no outbox entry, since the server already has them."""
    conn.executemany(sql, rows)
    if search:
        conn.executemany(_FTS_SQL, search)


def write_update(
    conn: sqlite3.Connection,
    entity: Entity,
    record_id: str,
    assignments: Mapping[str, Any],
    history: Iterable[HistoryEntry],
    outbox: tuple[str, str] | None,
) -> None:
    """Change columns of one row (values, derived keys, clocks, times), keep the overwritten values
    in history, and queue `outbox` = (fields JSON, time) when the write is a local one."""
    conn.execute(
        f"UPDATE {entity.table} SET {', '.join(f'{c} = ?' for c in assignments)} WHERE id = ?",
        (*assignments.values(), record_id),
    )
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


def reindex(conn: sqlite3.Connection, entity: Entity, rid: int, entry: tuple[str, str] | None) -> None:
    """Replace a record's search entry (title, body), or drop it when `entry` is None."""
    if not has_search_entries(entity):
        return
    rowid = fts_rowid(entity, rid)
    conn.execute("DELETE FROM search_fts WHERE rowid = ?", (rowid,))
    if entry is not None:
        conn.execute(_FTS_SQL, (rowid, *entry))


def remove(conn: sqlite3.Connection, entity: Entity, record_id: str, rid: int) -> None:
    """A record that left this replica's scope: its row and search entry go (the server keeps it)."""
    conn.execute(f"DELETE FROM {entity.table} WHERE id = ?", (record_id,))
    if has_search_entries(entity):
        conn.execute("DELETE FROM search_fts WHERE rowid = ?", (fts_rowid(entity, rid),))


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
        [(codec.pack_clocks(own), record_id) for record_id, own in restored.items()],
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
