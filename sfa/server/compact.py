"""Log compaction (docs/sync-protocol.md, "Snapshot and compaction").

The change log keeps only changes above the **floor** (`server_meta.floor`); what is older is
folded into the records, which hold every field's current value anyway. Below the floor a pull is
served from the records (the snapshot phase, sfa/server/app.py). Invariant: the first change of a
record logged above the floor carries the record's full state; compaction keeps it by rewriting
that change for every record with changes on both sides of the new floor.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from sfa.domain.errors import ValidationError

DELETE_CHUNK = 10_000


def floor(conn: Connection) -> int:
    """The compaction point: changes at or below it are no longer in the log (0: none compacted)."""
    row = conn.execute(text("SELECT value FROM server_meta WHERE key = 'floor'")).first()
    return int(row[0]) if row else 0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compact(engine: Engine, keep_days: float, now: datetime | None = None) -> dict[str, Any]:
    """Move the floor up to the newest change older than `keep_days` days that every client active
    within those days has pulled; rewrite the first change above it of every record that has changes
    on both sides; delete the changes at or below it. Returns what was done."""
    if not 0 <= keep_days <= 36_500:
        raise ValidationError("keep_days", f"{keep_days} is outside 0..36500")
    cutoff = _iso((now or datetime.now(UTC)) - timedelta(days=keep_days))
    lock = " FOR UPDATE" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as conn:
        head = int(conn.execute(text(f"SELECT value FROM counter WHERE name = 'seq'{lock}")).scalar_one())
        old = floor(conn)
        old_enough = conn.execute(text("SELECT max(seq) FROM change WHERE at < :c"), {"c": cutoff}).scalar()
        # Clients seen within the window keep their log position (a snapshot in progress, or a client
        # that never pulled, starts from the records anyway).
        active = conn.execute(
            text("SELECT min(pulled) FROM client WHERE updated_at >= :c AND pulled > 0 AND snapshot = :f"),
            {"c": cutoff, "f": False},
        ).scalar()
        new = min(int(old_enough or 0), head)
        if active is not None:
            new = min(new, int(active))
        if new <= old:
            return {"floor": old, "previous": old, "rewritten": 0, "deleted": 0, "head": head}
        rewritten = _rewrite_first_changes(conn, old, new)
        conn.execute(text("DELETE FROM server_meta WHERE key = 'floor'"))
        conn.execute(text("INSERT INTO server_meta(key, value) VALUES ('floor', :v)"), {"v": str(new)})
    deleted = 0
    for low in range(old, new, DELETE_CHUNK):  # no pull reads below the floor: no lock needed
        with engine.begin() as conn:
            result = conn.execute(
                text("DELETE FROM change WHERE seq > :lo AND seq <= :hi"),
                {"lo": low, "hi": min(low + DELETE_CHUNK, new)},
            )
            deleted += int(result.rowcount or 0)
    return {"floor": new, "previous": old, "rewritten": rewritten, "deleted": deleted, "head": head}


def _rewrite_first_changes(conn: Connection, old: int, new: int) -> int:
    """For each record with changes in (old, new] and above new: its first change above `new` gets
    the record's full state as of that change (the fold of its changes from the first above `old`,
    which is full by the invariant)."""
    first_above: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for seq, entity, record_id, fields in conn.execute(
        text("SELECT seq, entity, id, fields FROM change WHERE seq > :n ORDER BY seq"), {"n": new}
    ):
        key = (str(entity), str(record_id))
        if key not in first_above:
            first_above[key] = (int(seq), json.loads(fields))
    if not first_above:
        return 0
    folded: dict[tuple[str, str], dict[str, Any]] = {}
    rows = conn.execute(
        text("SELECT entity, id, fields FROM change WHERE seq > :o AND seq <= :n ORDER BY seq"),
        {"o": old, "n": new},
    )
    for entity, record_id, fields in rows:
        key = (str(entity), str(record_id))
        if key in first_above:
            folded.setdefault(key, {}).update(json.loads(fields))
    updates = []
    for key, state in folded.items():
        seq, fields = first_above[key]
        state.update(fields)
        updates.append({"s": seq, "f": json.dumps(state, ensure_ascii=False, separators=(",", ":"))})
    if updates:
        conn.execute(text("UPDATE change SET fields = :f WHERE seq = :s"), updates)
    return len(updates)
