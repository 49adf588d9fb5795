"""Bulk writes on the second core: a writer process commits one batch while this one prepares the next.

A large import spends about as long in Python (reading, checking and encoding rows) as in SQLite
(the row, its indexes, the outbox and the search index). Python threads cannot overlap the two:
sqlite3 gives up the interpreter lock for every row it steps, and waits for it again behind the
busy thread. So each batch is written by a forked child process: it sees the prepared rows in
memory it shares with this one (nothing is serialised), opens its own connection, writes the batch
in one transaction, and exits with a status, while this process prepares the next batch. The
parent holds no SQLite connection meanwhile (Store.bulk closes it), so no writer inherits one.

At most one batch is in flight: batch N+1 is handed over only after batch N's writer has exited
(so batches commit in order), and an error in batch N stops the import before anything after it
is written. A writer that dies rolls back its own transaction; this process dying does not stop a
writer that already has a whole batch. Where there is no fork (Windows), batches are written here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

from sfa.store.codec import dumps

# Holds one idle connection to the store for as long as its stdin is open (see BulkWriter).
_KEEPER = (
    "import sqlite3, sys; conn = sqlite3.connect(sys.argv[1], timeout=30); "
    "conn.execute('SELECT count(*) FROM meta').fetchone(); sys.stdin.buffer.read()"
)
FTS_SLOTS = 16  # search_fts rowid = rid * 16 + entity code
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
    # Encoded here, so that in a bulk write the writer process does it, on the other core.
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


# -- the writer ---------------------------------------------------------------------------------


def write_batch(path: Path, inserts: list[PreparedInsert], meta: list[tuple[str, str]]) -> None:
    """One batch in one transaction on a connection of its own."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    try:
        configure(conn)
        conn.execute("BEGIN IMMEDIATE")
        for prepared in inserts:
            write_insert(conn, prepared)
        conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta)
        conn.execute("COMMIT")
    finally:
        conn.close()  # a transaction still open (an error) is rolled back


class BulkWriteError(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


_EXIT_INTEGRITY, _EXIT_ERROR = 3, 4


class BulkWriter:
    """Hands batches to writer processes, one at a time; `send` returns once the writer is started."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keeper: subprocess.Popen[bytes] | None = None
        if hasattr(os, "fork"):
            # The parent holds no connection (Store.bulk), so each writer would be the file's last
            # one: closing, it would checkpoint and delete the write-ahead log, and the next writer
            # would make it again. A connection in a process of its own keeps the file open.
            self.keeper = subprocess.Popen(
                [sys.executable, "-c", _KEEPER, str(path)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        self.pid = 0  # the writer in flight
        self.reasons = -1  # the pipe it explains a failure on
        # What the writer in flight reads, kept alive until it exits: freeing objects writes to
        # memory pages the writer shares, and every such page is then copied (copy-on-write).
        self.shared: tuple[object, ...] = ()

    def send(self, inserts: list[PreparedInsert], meta: list[tuple[str, str]], keep: object = None) -> None:
        """Start writing a batch; `keep` is anything else to keep alive as long as the writer runs."""
        self.wait()
        self.shared = (inserts, keep)
        if not hasattr(os, "fork"):
            self._write_here(inserts, meta)
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: never returns into the caller's code
            os.close(read_end)
            status = 0
            try:
                gc.disable()  # a collection would walk (and copy) the whole heap shared with the parent
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent decides
                write_batch(self.path, inserts, meta)
            except sqlite3.IntegrityError as exc:
                status = _EXIT_INTEGRITY
                os.write(write_end, str(exc).encode("utf-8", "replace"))
            except BaseException as exc:
                status = _EXIT_ERROR
                os.write(write_end, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace"))
            finally:
                os._exit(status)
        os.close(write_end)
        self.pid, self.reasons = pid, read_end

    def _write_here(self, inserts: list[PreparedInsert], meta: list[tuple[str, str]]) -> None:
        try:
            write_batch(self.path, inserts, meta)
        except sqlite3.IntegrityError as exc:
            raise BulkWriteError("integrity", str(exc)) from None
        except sqlite3.Error as exc:
            raise BulkWriteError("error", str(exc)) from None

    def wait(self) -> None:
        """Until the batch in flight is committed; raises what it failed with."""
        if not self.pid:
            return
        pid, self.pid = self.pid, 0
        _, status = os.waitpid(pid, 0)
        self.shared = ()
        with os.fdopen(self.reasons, "rb") as pipe:
            reason = " ".join(pipe.read().decode("utf-8", "replace").split())
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            return
        if code < 0:
            raise BulkWriteError("error", f"the writer process stopped (signal {-code})")
        raise BulkWriteError("integrity" if code == _EXIT_INTEGRITY else "error", reason or f"exit {code}")

    def close(self) -> None:
        """Once the batch in flight is committed; raises what that batch failed with."""
        try:
            self.wait()
        finally:
            if self.keeper is not None:
                keeper, self.keeper = self.keeper, None
                with contextlib.suppress(OSError):
                    keeper.communicate(timeout=30)  # closes its stdin: it reads to the end and exits
