"""The merge log: what each `sfa merge` changed, so `sfa unmerge` can put it back.

Local to the laptop, like history (the values themselves are in history as well).
"""

from __future__ import annotations

import itertools
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


# The keys `sfa dedupe scan` compares, per record type: reason -> the key columns (several columns
# are compared with each other too: a contact's phone with another's mobile). A contact's name key
# is compared together with its account's company key, as `contact add` compares it.
SCAN_KEYS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "account": [("name", ("name_key",))],
    "contact": [
        ("email", ("email_key",)),
        ("phone", ("phone_key", "mobile_key")),
        ("name and company", ("name_key",)),
    ],
    "lead": [("email", ("email_key",)), ("phone", ("phone_key",)), ("name and company", ("name_key",))],
}


def _repeated(store: Store, table: str, columns: tuple[str, ...]) -> set[str]:
    """Key values held by two or more rows (deleted ones too: filtered later), read from the key
    columns' indexes alone: 100,000 contacts in about 0.1 s a column."""
    found: set[str] = set()
    for column in columns:
        found.update(
            row[0]
            for row in store.conn.execute(
                f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} != ''"
                f" GROUP BY {column} HAVING count(*) > 1"
            )
        )
    for first, second in itertools.pairwise(columns):
        found.update(
            row[0]
            for row in store.conn.execute(
                f"SELECT DISTINCT {first} FROM {table} WHERE {first} IN"
                f" (SELECT {second} FROM {table} WHERE {second} IS NOT NULL AND {second} != '')"
            )
        )
    return found


def shared_keys(store: Store, entity: str) -> list[tuple[str, list[str]]]:
    """(reason, ids) for every key value two or more live records share. The repeated values are
    found in the indexes; only their rows are read."""
    found: list[tuple[str, list[str]]] = []
    for reason, columns in SCAN_KEYS[entity]:
        keys = _repeated(store, entity, columns)
        if not keys:
            continue
        wanted = json.dumps(sorted(keys))
        extra = ", account_id" if entity == "contact" and reason == "name and company" else ""
        match = " OR ".join(f"{c} IN (SELECT value FROM json_each(?1))" for c in columns)
        rows = store.conn.execute(
            f"SELECT id, {', '.join(columns)}{extra} FROM {entity} WHERE deleted = 0 AND ({match})", (wanted,)
        ).fetchall()
        companies: dict[str, str] = {}
        if extra:
            accounts = sorted({r[2] for r in rows if r[2]})
            companies = {
                r[0]: r[1] or ""
                for r in store.conn.execute(
                    "SELECT id, name_key FROM account WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(accounts),),
                )
            }
        groups: dict[str, list[str]] = {}
        for row in rows:
            values = {row[1 + n] for n in range(len(columns)) if row[1 + n] in keys}
            for value in values:
                if extra:
                    value = value + companies.get(row[2] or "", "")
                groups.setdefault(value, []).append(row[0])
        found += [(reason, ids) for ids in groups.values() if len(set(ids)) > 1]
    return found
