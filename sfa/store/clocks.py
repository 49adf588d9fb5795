"""A row's field clocks, stored by group number (since V_CLOCK_GROUPS; docs/store.md, "Size").

A pulled contact's clocks in the packed form (codec.pack_clocks) are one clock and the fields it
stamps, `["0001795969055309:00000:5eed5eed5eed5eed","name","title","email",...]`: 106 bytes, a
quarter of the row. Both halves repeat from row to row: the replica that made the clock (one of a
team's few laptops or the server) and the set of fields one write stamped (a create's fields, or
the fields of an edit, one of a few shapes per record type). So each distinct (replica, fields)
pair is given a number once, in the store's own table

    clock_group(n INTEGER PRIMARY KEY, replica TEXT, fields TEXT)   -- fields: a JSON list of names

and a clock with its fields is written as one item `"<ms>.<counter>.<n>"`: the contact's clocks
become `["1795969055309.0.1"]` (21 bytes). The table is append-only: a number, once committed,
names the same pair for good, so rows never depend on the order of fields in entities.py or on
anything outside the file. Items of the packed form stay valid beside group items (a clock whose
text is not `ms:counter:replica` with the usual widths is written as before), and the reader
accepts every form the store has held: an item with a `.` is a group, one with a `:` a clock,
any other a field name (field names are identifiers).

Writers compact in sfa/store/writes.py (the packed text `codec.pack_clocks` makes is turned into
group items as the row is written, `compact`); readers call `read`. A connection remembers the
pairs it has read outside a transaction (`StoreConnection`): those are committed and never change.
Inside a transaction a number is looked up in the table (once per write call), since a number the
transaction made is not final until it commits.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from sfa.store import codec

_GROUP = re.compile(r"\d+\.\d+\.\d+\Z")  # "<ms>.<counter>.<group number>"
_CLOCK = re.compile(r"(\d{16}):(\d{5}):([^:.\"\\]+)\Z")  # Hlc.encode: 16-digit ms, 5-digit counter

TABLE_SQL = """
CREATE TABLE IF NOT EXISTS clock_group (n INTEGER PRIMARY KEY, replica TEXT NOT NULL, fields TEXT NOT NULL,
    UNIQUE (replica, fields));
"""


class Groups:
    """The (replica, fields) of each committed group number this connection has seen, both ways."""

    def __init__(self) -> None:
        self.pairs: dict[int, tuple[str, tuple[str, ...]]] = {}
        self.numbers: dict[tuple[str, str], int] = {}
        self.loaded = False

    def learn(self, number: int, replica: str, fields: str) -> None:
        self.pairs[number] = (replica, tuple(json.loads(fields)))
        self.numbers[(replica, fields)] = number


class StoreConnection(sqlite3.Connection):
    """The store's connections (Store, the bulk writer): each keeps what it learnt of clock_group
    (and which tables store their handle: the schema does not change while a connection is open)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock_groups = Groups()
        self.stored_handles: dict[str, bool] = {}  # writes.stores_handle, once a table


def _committed(conn: sqlite3.Connection) -> Groups | None:
    """The connection's cache of committed groups, loaded whole on first use outside a transaction;
    None inside a transaction (or on a plain connection): look in the table."""
    groups: Groups | None = getattr(conn, "clock_groups", None)
    if groups is None or conn.in_transaction:
        return groups if groups is not None and groups.loaded else None
    if not groups.loaded:
        for number, replica, fields in conn.execute("SELECT n, replica, fields FROM clock_group"):
            groups.learn(number, replica, fields)
        groups.loaded = True
    return groups


def _pair(conn: sqlite3.Connection, number: int) -> tuple[str, tuple[str, ...]]:
    groups = _committed(conn)
    if groups is not None and number in groups.pairs:
        return groups.pairs[number]
    row = conn.execute("SELECT replica, fields FROM clock_group WHERE n = ?", (number,)).fetchone()
    if row is None:
        raise sqlite3.DatabaseError(f"field clocks name clock group {number}, which this file does not hold")
    if groups is not None and not conn.in_transaction:
        groups.learn(number, row[0], row[1])
        return groups.pairs[number]
    return str(row[0]), tuple(json.loads(row[1]))


def read(conn: sqlite3.Connection, text: str) -> dict[str, str]:
    """A row's field clocks, {field: clock}, from any form its `clocks` column has held."""
    if "." not in text:
        return codec.read_clocks(text)
    value = json.loads(text)
    if not isinstance(value, list):
        return value  # type: ignore[no-any-return]
    clocks: dict[str, str] = {}
    clock = ""
    for item in value:
        if _GROUP.match(item):
            ms, counter, number = item.split(".")
            replica, fields = _pair(conn, int(number))
            stamp = f"{int(ms):016d}:{int(counter):05d}:{replica}"
            for name in fields:
                clocks[name] = stamp
        elif ":" in item:
            clock = item
        else:
            clocks[item] = clock
    return clocks


def compact(conn: sqlite3.Connection, text: str, memo: dict[str, str]) -> str:
    """The group form of field clocks given in any form (`memo`: what one write call has compacted,
    since a page or a batch mostly repeats one text). Adds the groups it needs to clock_group, so it
    runs in the write transaction of the row."""
    known = memo.get(text)
    if known is not None:
        return known
    if text.startswith('["') and text.count(":") == 2:  # one clock, as a create writes it: fast path
        end = text.index('"', 2)
        match = _CLOCK.match(text, 2, end)
        rest = text[end + 1 :]  # ',"name","email"]'
        if match is not None and rest.startswith(",") and "." not in rest:
            ms, counter, replica = match.groups()
            key = f"\0{replica}\0{rest}"  # the group's number, for this write call
            group = memo.get(key)
            if group is None:
                group = memo[key] = str(_number(conn, replica, codec.dumps(json.loads("[" + rest[1:]))))
            memo[text] = result = f'["{int(ms)}.{int(counter)}.{group}"]'
            return result
    clocks = read(conn, text)
    if not clocks:
        memo[text] = text
        return text
    by_clock: dict[str, list[str]] = {}
    for name, clock in clocks.items():
        by_clock.setdefault(clock, []).append(name)
    items: list[str] = []
    for clock in sorted(by_clock):
        names = by_clock[clock]
        match = _CLOCK.match(clock)
        if match is None or any(_GROUP.match(name) or ":" in name for name in names):
            items += [clock, *names]
            continue
        ms, counter, replica = match.groups()
        items.append(f"{int(ms)}.{int(counter)}.{_number(conn, replica, codec.dumps(names))}")
    memo[text] = result = codec.dumps(items)
    return result


def _number(conn: sqlite3.Connection, replica: str, fields: str) -> int:
    groups = _committed(conn)
    if groups is not None and (replica, fields) in groups.numbers:
        return groups.numbers[(replica, fields)]
    row = conn.execute(
        "SELECT n FROM clock_group WHERE replica = ? AND fields = ?", (replica, fields)
    ).fetchone()
    if row is not None:
        return int(row[0])
    cursor = conn.execute("INSERT INTO clock_group(replica, fields) VALUES (?, ?)", (replica, fields))
    return int(cursor.lastrowid or 0)
