"""What changed in the store since a mark: the questions the kept forecast results ask
(sfa/services/forecast_keep.py; docs/prediction.md, "The report's kept estimates and the kept
backtest").

A mark of a table is its row count (deleted rows included), its largest ``rid`` and the id of the row
holding it; a mark of the history table (every overwritten value, local or pulled: writes.py) is its
largest id and that row's text. Rows are inserted with growing rids (writes.write_insert, the
replica's inserts), so the rows added since a mark are those past its rid; a row that left (a record
that left this replica's scope) shows in the count, and a removed last row whose rid was reused in the
id at that rid. Every edit of a record writes history rows, so the edits since a mark are the history
rows past its id. A replaced database file (a restore) shows in the history's or a table's last row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sfa.store.db import Store

TableMark = tuple[int, int, str]  # (rows, largest rid, id of the row at that rid)
HistoryMark = tuple[int, str]  # (largest id, that row's entity|record|field|time)


def table_mark(store: Store, table: str) -> TableMark:
    count, top = store.conn.execute(f"SELECT count(*), coalesce(max(rid), 0) FROM {table}").fetchone()
    row = store.conn.execute(f"SELECT id FROM {table} WHERE rid = ?", (top,)).fetchone()
    return int(count), int(top), str(row[0]) if row else ""


def id_at(store: Store, table: str, rid: int) -> str:
    row = store.conn.execute(f"SELECT id FROM {table} WHERE rid = ?", (rid,)).fetchone()
    return str(row[0]) if row else ""


def history_mark(store: Store) -> HistoryMark:
    row = store.conn.execute(
        "SELECT id, entity || '|' || record_id || '|' || field || '|' || changed_at FROM history"
        " ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, "")


def history_text(store: Store, history_id: int) -> str:
    row = store.conn.execute(
        "SELECT entity || '|' || record_id || '|' || field || '|' || changed_at FROM history WHERE id = ?",
        (history_id,),
    ).fetchone()
    return str(row[0]) if row else ""


def rows_since(
    store: Store, table: str, rid: int, columns: Sequence[str], limit: int
) -> list[tuple[Any, ...]]:
    """``columns`` of the rows inserted after ``rid`` (deleted ones included), at most ``limit``+1."""
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE rid > ? ORDER BY rid LIMIT ?"
    return [tuple(r) for r in store.conn.execute(sql, (rid, limit + 1))]


def history_since(
    store: Store, history_id: int, entities: Sequence[str], limit: int
) -> list[tuple[str, str, str, str | None, str | None]]:
    """(entity, record id, field, old value, new value) of the edits after ``history_id`` of records
    of ``entities``, at most ``limit``+1 (values are JSON of the wire values)."""
    marks = ", ".join("?" * len(entities))
    sql = (
        "SELECT entity, record_id, field, old_value, new_value FROM history"
        f" WHERE id > ? AND entity IN ({marks}) ORDER BY id LIMIT ?"
    )
    return [tuple(r) for r in store.conn.execute(sql, (history_id, *entities, limit + 1))]


def rows_by_id(
    store: Store, table: str, ids: Sequence[str], columns: Sequence[str]
) -> dict[str, tuple[Any, ...]]:
    """id → ``columns`` of those rows (deleted ones included)."""
    found: dict[str, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = f"SELECT id, {', '.join(columns)} FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})"
        for row in store.conn.execute(sql, chunk):
            found[str(row[0])] = tuple(row[1:])
    return found


def stage_rows_before(
    store: Store, opportunity_id: str, before: str, old_rid: int
) -> tuple[int, int, int, int, str | None]:
    """Of the deal's stage changes: how many are dated before ``before``, how many of those carry an
    expected close date, how many there are in all, how many of them were there at ``old_rid`` (rid
    at most that), and the stage the last one before ``before`` moved to (None: none before)."""
    row = store.conn.execute(
        "SELECT coalesce(sum(at < ?), 0),"
        " coalesce(sum(at < ? AND close_date IS NOT NULL AND close_date != ''), 0),"
        " count(*), coalesce(sum(rid <= ?), 0)"
        " FROM stage_change WHERE opportunity_id = ?",
        (before, before, old_rid, opportunity_id),
    ).fetchone()
    last = store.conn.execute(
        "SELECT to_stage FROM stage_change WHERE opportunity_id = ? AND at < ?"
        " ORDER BY at DESC, to_stage DESC LIMIT 1",
        (opportunity_id, before),
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3]), str(last[0]) if last else None


def referenced(store: Store, table: str, column: str, ids: Sequence[str], max_rid: int) -> set[str]:
    """Which of ``ids`` some row of ``table`` up to rid ``max_rid`` (deleted ones included) names in
    ``column``."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = (
            f"SELECT DISTINCT {column} FROM {table}"
            f" WHERE rid <= ? AND {column} IN ({', '.join('?' * len(chunk))})"
        )
        found.update(str(r[0]) for r in store.conn.execute(sql, (max_rid, *chunk)))
    return found
