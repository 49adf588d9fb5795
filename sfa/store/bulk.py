"""Bulk writes on the second core: a writer process prepares and commits one batch while this one
reads and checks the next.

A large import spends about as long in Python (reading, checking and encoding rows) as in SQLite
(the row, its indexes, the outbox and the search index). Python threads cannot overlap the two:
sqlite3 gives up the interpreter lock for every row it steps, and waits for it again behind the
busy thread. So a writer process, forked once when the session starts, writes the batches: each
arrives through a pipe as the checked rows of each table (marshal, or pickle where a value is not
a plain str, int, float, bool or None), is made ready for SQL there (sfa/store/prepare.py: field
clocks, outbox entries; the search entries are made from the rows by SQL), written in one transaction on the writer's own
connection, and answered with one line. The split follows the cost: encoding rows for SQL is the
part of the work that needs nothing but the rows, so it moves to the side that waited.

At most one batch is in flight: batch N+1 is sent only after batch N is answered, so batches
commit in order, and an error in batch N stops the import before anything after it is written.
A writer that dies rolls back its open transaction; if this process dies, the writer reads the
end of the pipe and exits. When the writer is forked this process holds no SQLite connection
(Store.bulk closes it), so the writer inherits no SQLite state. One long-lived writer keeps its
page cache warm from batch to batch, and the memory the fork shares is copied at most once.
Where there is no fork (Windows), batches are prepared and written in this process.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import select
import signal
import sqlite3
import struct
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from sfa.domain.entities import ENTITIES
from sfa.store import clocks, keys
from sfa.store.prepare import prepare_insert
from sfa.store.writes import PreparedInsert, write_insert


class InsertJob(NamedTuple):
    """Checked new records of one entity, to be prepared (prepare_insert) and written by the writer."""

    entity: str
    rows: list[dict[str, Any]]
    record_ids: list[str]
    clock: str
    now: str

    def part(self, start: int, end: int) -> InsertJob:
        """Rows start..end of the job (a batch may be prepared partly here, partly by the writer)."""
        return self._replace(rows=self.rows[start:end], record_ids=self.record_ids[start:end])


def prepared(job: InsertJob) -> PreparedInsert:
    entity, rows, record_ids, clock, now = job
    return prepare_insert(ENTITIES[entity], rows, record_ids, clock, now, keep_records=False)[0]


Work = InsertJob | PreparedInsert  # rows still to prepare, or prepared by the sender


def write_batch(conn: sqlite3.Connection, batch: list[Work], meta: list[tuple[str, str]]) -> None:
    """One batch in one transaction: every part prepared (if it is not yet) and written, then meta."""
    conn.execute("BEGIN IMMEDIATE")
    for work in batch:
        write_insert(conn, prepared(work) if isinstance(work, InsertJob) else work)
    conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta)
    conn.execute("COMMIT")


def _to_wire(batch: list[Work]) -> list[tuple[Any, ...]]:
    return [("j" if isinstance(work, InsertJob) else "p", *work) for work in batch]


def _from_wire(batch: list[tuple[Any, ...]]) -> list[Work]:
    return [InsertJob(*work[1:]) if work[0] == "j" else PreparedInsert(*work[1:]) for work in batch]


def configure(conn: sqlite3.Connection) -> None:
    """The connection settings every writer of the store uses."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB page cache: bulk writes into several random-key indexes stay in memory.
    conn.execute("PRAGMA cache_size=-65536")
    keys.register(conn)  # the functions of the generated key columns (sfa/store/keys.py)


# -- the writer ---------------------------------------------------------------------------------


class BulkWriteError(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


_LENGTH = struct.Struct("<Q")


def _read_message(stream: BinaryIO) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # the parent is gone (or done): nothing half-read is ever applied
    (length,) = _LENGTH.unpack(head)
    body = stream.read(length)
    if len(body) < length:
        return None
    if body[:1] == b"m":
        return marshal.loads(body[1:])
    import pickle  # here: only a bulk import pays for it

    return pickle.loads(body[1:])


def _encode(message: Any) -> bytes:
    """marshal, fast for the rows of str and None an import mostly is; pickle for other values."""
    try:
        return b"m" + marshal.dumps(message)
    except ValueError:  # a Decimal, a date: not marshallable
        import pickle

        return b"p" + pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def serve(path: Path, incoming: BinaryIO, answers: BinaryIO) -> None:
    """The writer's loop: a batch in, one transaction, one answer line out; until end of input."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0, factory=clocks.StoreConnection)
    configure(conn)
    try:
        while (message := _read_message(incoming)) is not None:
            batch, meta = message
            try:
                write_batch(conn, _from_wire(batch), meta)
            except Exception as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                kind = "integrity" if isinstance(exc, sqlite3.IntegrityError) else "error"
                answers.write(f"{kind} {' '.join(str(exc).split())}\n".encode())
            else:
                answers.write(b"ok\n")
            answers.flush()
    finally:
        conn.close()


class BulkWriter:
    """The writer process of one bulk session; `send` returns as soon as the batch is on its way."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pid = 0
        self.in_flight = False
        self.outgoing: BinaryIO | None = None
        self.answers: BinaryIO | None = None
        if not hasattr(os, "fork"):
            return
        to_writer, outgoing = os.pipe()
        answers, from_writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer: never returns into the caller's code
            os.close(outgoing)
            os.close(answers)
            status = 0
            try:
                gc.disable()  # a collection would walk (and copy) the whole heap shared with the parent
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent decides
                with os.fdopen(to_writer, "rb") as incoming, os.fdopen(from_writer, "wb") as replies:
                    serve(path, incoming, replies)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(to_writer)
        os.close(from_writer)
        self.pid = pid
        self.outgoing = os.fdopen(outgoing, "wb")
        self.answers = os.fdopen(answers, "rb")

    def busy(self) -> bool:
        """Whether the batch in flight is still being written (its answer has not come)."""
        if not self.in_flight or self.answers is None:
            return False
        readable, _, _ = select.select([self.answers], [], [], 0)
        return not readable

    def send(self, batch: list[Work], meta: list[tuple[str, str]]) -> None:
        self.wait()
        if self.outgoing is None:
            self._write_here(batch, meta)
            return
        body = _encode((_to_wire(batch), meta))
        try:
            self.outgoing.write(_LENGTH.pack(len(body)))
            self.outgoing.write(body)
            self.outgoing.flush()
        except BrokenPipeError:
            raise self._stopped() from None
        self.in_flight = True

    def _write_here(self, batch: list[Work], meta: list[tuple[str, str]]) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, factory=clocks.StoreConnection)
        try:
            configure(conn)
            write_batch(conn, batch, meta)
        except sqlite3.IntegrityError as exc:
            raise BulkWriteError("integrity", str(exc)) from None
        except sqlite3.Error as exc:
            raise BulkWriteError("error", str(exc)) from None
        finally:
            conn.close()  # a transaction still open (an error) is rolled back

    def wait(self) -> None:
        """Until the batch in flight is committed; raises what it failed with."""
        if not self.in_flight:
            return
        self.in_flight = False
        assert self.answers is not None
        answer = self.answers.readline().decode("utf-8", "replace").strip()
        if answer == "ok":
            return
        if not answer:
            raise self._stopped()
        kind, _, reason = answer.partition(" ")
        raise BulkWriteError(kind, reason)

    def _stopped(self) -> BulkWriteError:
        how = "gone"
        if self.pid:  # reaped once only (waitpid(0) would wait for any child)
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            code = os.waitstatus_to_exitcode(status)
            how = f"signal {-code}" if code < 0 else f"exit {code}"
        return BulkWriteError("error", f"the writer process stopped ({how})")

    def close(self) -> None:
        """Once the batch in flight is committed; raises what that batch failed with."""
        try:
            self.wait()
        finally:
            for stream in (self.outgoing, self.answers):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()  # end of input: the writer finishes and exits
            self.outgoing = self.answers = None
            if self.pid:
                os.waitpid(self.pid, 0)
                self.pid = 0
