"""Bulk writes on the second core: a writer process commits one batch while this one prepares the next.

A large import spends about as long in Python (reading, checking and encoding rows) as in SQLite
(the row, its indexes, the outbox and the search index). Python threads cannot overlap the two:
sqlite3 gives up the interpreter lock for every row it steps, and waits for it again behind the
busy thread. So the SQLite half runs in a child process, started with `python -c` (see _WRITER), that reads
prepared batches on stdin (marshal: plain tuples of str, int, float and None) and answers each
with one line on stdout.

Each batch is one transaction in the writer: all of it is committed or none of it. This process
waits for batch N's answer before it sends batch N+2, so at most one batch is in flight, and an
error in batch N stops the import before anything after it is written. If this process dies, the
writer reads end-of-file and exits; if the writer dies, its open transaction rolls back.

The writer's work is everything about a row that needs no Python logic: assigning rids, encoding the
outbox JSON, and SQLite itself.
"""

from __future__ import annotations

import contextlib
import marshal
import signal
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, NamedTuple

from sfa.store.codec import dumps

FTS_SLOTS = 16  # search_fts rowid = rid * 16 + entity code
_LENGTH = struct.Struct("<Q")
_WRITER = "import sys; from sfa.store.bulk import serve; serve(sys.argv[1], sys.stdin.buffer, sys.stdout)"
_OUTBOX_SQL = "INSERT INTO outbox(entity, record_id, fields, created_at) VALUES (?, ?, ?, ?)"
_FTS_SQL = "INSERT INTO search_fts(rowid, title, body) VALUES (?, ?, ?)"


class PreparedInsert(NamedTuple):
    """New rows of one table, ready for SQL; `rid` (column 0) is given when the batch is written."""

    table: str
    sql: str  # INSERT INTO table (rid, ...) VALUES (?, ...)
    rows: list[tuple[Any, ...]]  # every column but rid
    outbox: list[tuple[str, str, list[Any], str]]  # (entity, id, [clock, wire fields], time); JSON here
    fts: list[tuple[int, str, str]]  # (index of the row in `rows`, title, body)
    fts_code: int


def write_insert(conn: sqlite3.Connection, prepared: PreparedInsert) -> int:
    """Write prepared rows inside the caller's transaction; returns the rid before the first row."""
    table, sql, rows, outbox, fts, code = prepared
    base = int(conn.execute(f"SELECT coalesce(max(rid), 0) FROM {table}").fetchone()[0])
    conn.executemany(sql, [(base + number, *row) for number, row in enumerate(rows, 1)])
    # Encoded here, so that in a bulk write the writer process does it (marshal carries dicts 20x
    # faster than JSON encodes them).
    conn.executemany(
        _OUTBOX_SQL, [(entity, record_id, dumps(wire), at) for entity, record_id, wire, at in outbox]
    )
    if fts:
        conn.executemany(_FTS_SQL, [((base + 1 + i) * FTS_SLOTS + code, t, b) for i, t, b in fts])
    return base


def configure(conn: sqlite3.Connection) -> None:
    """The connection settings every writer of the store uses."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB page cache: bulk writes into several random-key indexes stay in memory.
    conn.execute("PRAGMA cache_size=-65536")


# -- the writer process ------------------------------------------------------------------------


def _read_message(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # the parent is gone (or done): nothing half-read is ever applied
    (length,) = _LENGTH.unpack(head)
    body = stream.read(length)
    if len(body) < length:
        return None
    return marshal.loads(body)


def serve(path: str, incoming: IO[bytes], answers: IO[str]) -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and finishes the batch in flight.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    configure(conn)
    while True:
        message = _read_message(incoming)
        if message is None:
            break
        inserts, meta = message
        try:
            conn.execute("BEGIN IMMEDIATE")
            for prepared in inserts:
                write_insert(conn, PreparedInsert(*prepared))
            conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            kind = "integrity" if isinstance(exc, sqlite3.IntegrityError) else "error"
            answers.write(f"{kind} {' '.join(str(exc).split())}\n")
        else:
            answers.write("ok\n")
        answers.flush()
    conn.close()


# -- the parent's side ---------------------------------------------------------------------------


class BulkWriteError(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class BulkWriter:
    """Sends batches to the writer process; `send` returns as soon as the batch is on its way."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False,
        )  # fmt: skip
        self.in_flight = 0

    def send(self, inserts: list[PreparedInsert], meta: list[tuple[str, str]]) -> None:
        if self.in_flight:
            self.wait()
        body = marshal.dumps(([tuple(p) for p in inserts], meta))
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(_LENGTH.pack(len(body)))
            stdin.write(body)
            stdin.flush()
        except BrokenPipeError:
            raise BulkWriteError("error", "the writer process stopped") from None
        self.in_flight = 1

    def wait(self) -> None:
        """Until the batch in flight is committed; raises what it failed with."""
        if not self.in_flight:
            return
        self.in_flight = 0
        stdout = self.process.stdout
        assert stdout is not None
        answer = stdout.readline().decode("utf-8", "replace").strip()
        if answer == "ok":
            return
        kind, _, reason = answer.partition(" ")
        if not answer:
            kind, reason = "error", f"the writer process stopped (exit {self.process.wait()})"
        raise BulkWriteError(kind, reason)

    def close(self) -> None:
        """Stop the writer once the batch in flight is committed; raises what that batch failed with."""
        try:
            self.wait()
        finally:
            if self.process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    self.process.stdin.close()
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
