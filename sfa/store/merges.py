"""The merge log: what each `sfa merge` changed, so `sfa unmerge` can put it back.

Local to the laptop, like history (the values themselves are in history as well).
"""

from __future__ import annotations

import json
from typing import Any

from sfa.domain.dates import iso_utc, utc_now
from sfa.store.db import Store


def record(store: Store, entity: str, keep_id: str, other_id: str, undo: dict[str, Any]) -> None:
    store.conn.execute(
        "INSERT INTO merge_log(entity, keep_id, other_id, undo, at) VALUES (?, ?, ?, ?, ?)",
        (entity, keep_id, other_id, json.dumps(undo), iso_utc(utc_now())),
    )


def latest(store: Store, other_id: str) -> tuple[int, str, str, dict[str, Any]] | None:
    """(log id, entity, survivor id, undo) of the last merge of `other_id` not yet undone."""
    row = store.conn.execute(
        "SELECT id, entity, keep_id, undo FROM merge_log WHERE other_id = ? AND undone_at IS NULL"
        " ORDER BY id DESC LIMIT 1",
        (other_id,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]), json.loads(row[3]))


def mark_undone(store: Store, log_id: int) -> None:
    store.conn.execute("UPDATE merge_log SET undone_at = ? WHERE id = ?", (iso_utc(utc_now()), log_id))
