"""The local store: stdlib sqlite3 in WAL mode, with change capture in every write.

Every write goes through :class:`Store`. In the same SQLite transaction it updates the row, stamps
each written field with a hybrid logical clock, appends the change to the outbox, keeps overwritten
values in history, and keeps the full-text index in step. A crash at any point leaves either all of
that or none of it.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

from sfa.domain import ids, private
from sfa.domain.dates import iso_utc, utc_now
from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import AmbiguousRefError, NotFoundError, SfaError, StoreError, ValidationError
from sfa.domain.hlc import Clock, Hlc
from sfa.store import codec, deferred, writes
from sfa.store.bulk import (
    BulkWriteError,
    BulkWriter,
    InsertJob,
    Work,
    configure,
    prepared,
)
from sfa.store.clocks import StoreConnection
from sfa.store.clocks import read as read_clocks
from sfa.store.migrations import LATEST, MIGRATIONS, VACUUM_AFTER, execute_script
from sfa.store.prepare import (
    check_fields,
    new_records,
    prepare_insert,
)

Record = dict[str, Any]

FTS_SLOTS = writes.FTS_SLOTS


_HEX = set("0123456789abcdef")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Bulk work allocates millions of short-lived containers and nothing cyclic; the collector's
    full passes over them would make a 100k-row batch superlinear."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class QueryInterrupted(Exception):
    """A query ran past the time limit it was given (Store.time_limit)."""


class Store:
    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._depth = 0
        self._dirty_clock = False
        self._row_columns: dict[str, str] = {}
        self.conn = self._connect(readonly)
        self._migrate()
        if not readonly:
            self._repair()
        self.replica_id = self.meta("replica_id") or ""
        last = self.meta("hlc")
        self.clock = Clock(self.replica_id, Hlc.decode(last) if last else None)

    # -- opening -----------------------------------------------------------------------------
    def _connect(self, readonly: bool) -> sqlite3.Connection:
        if not readonly and str(self.path) != ":memory:":
            private.private_file(self.path)  # 0600 in a 0700 directory (sfa/domain/private.py)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, factory=StoreConnection)
            conn.execute("PRAGMA journal_mode=WAL")  # here: a file that is not a database fails first
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open data file {self.path}: {exc}") from None
        configure(conn)
        conn.row_factory = sqlite3.Row
        return conn

    def _migrate(self) -> None:
        try:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not an sfa data file: {exc}") from None
        if version > LATEST:
            raise StoreError(
                f"{self.path} was written by a newer sfa (schema {version}, this sfa knows "
                f"up to {LATEST}); upgrade sfa to open it"
            )
        if version == LATEST:
            return
        self.conn.execute("BEGIN IMMEDIATE")
        vacuum = False
        try:
            # Read again under the write lock: another process may have migrated meanwhile.
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            new_file = version == 0
            if new_file and self._create_fresh():
                version = LATEST  # made in one step (sfa/store/fresh.py)
            for number in range(version + 1, LATEST + 1):
                vacuum = vacuum or (version > 0 and MIGRATIONS[number - 1] in VACUUM_AFTER)
                execute_script(self.conn, MIGRATIONS[number - 1])
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_migrated_at', ?)",
                    (iso_utc(utc_now()),),
                )
                self.conn.execute(f"PRAGMA user_version = {number}")
            if self.meta("clocks.compact") is not None:  # V_CLOCK_GROUPS: the rows' clocks, in Python
                writes.compact_all_clocks(self.conn)
            if new_file:
                replica = os.urandom(8).hex()
                self.conn.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [("replica_id", replica), ("created_at", iso_utc(utc_now()))],
                )
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self.conn.execute("ROLLBACK")
            raise StoreError(f"cannot upgrade {self.path} to schema {LATEST}: {exc}") from None
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        if vacuum:
            # The upgrade rewrote most rows smaller: give the freed pages back to the disk (once).
            # Another process reading the file makes VACUUM fail; the pages are then reused by
            # later writes instead, which is merely less tidy.
            with suppress(sqlite3.OperationalError):
                self.conn.execute("VACUUM")

    def _create_fresh(self) -> bool:
        """Make an empty file's schema from the migration chain's stored end, if it is the latest;
        inside `_migrate`'s transaction."""
        from sfa.store import fresh_schema

        if fresh_schema.SCHEMA_VERSION != LATEST:
            return False  # a migration was added without regenerating: the chain makes it
        if self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
            return False  # version 0 but not empty: not a file this sfa made
        for statement in fresh_schema.STATEMENTS:
            self.conn.execute(statement)
        self.conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", fresh_schema.META)
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_migrated_at', ?)", (iso_utc(utc_now()),)
        )
        self.conn.execute(f"PRAGMA user_version = {LATEST}")
        return True

    def _repair(self) -> None:
        """Finish what an upgrade or an interrupted first sync left: the secondary indexes and the
        search entries (sfa/store/deferred.py). A store that needs nothing costs two meta reads."""
        if not deferred.needed(self.conn):
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if deferred.needed(self.conn):  # again, under the lock: another process may have done it
                deferred.finish(self.conn)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and meta ---------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; nested uses join the outermost one."""
        if self._depth == 0:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self.path} is busy (another sfa is writing?): {exc}") from None
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.conn.execute("ROLLBACK")
                self._reload_clock()
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                if self._dirty_clock:
                    self.set_meta("hlc", self.clock.last.encode())
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                self._reload_clock()
                raise
            self._dirty_clock = False

    def _reload_clock(self) -> None:
        self._dirty_clock = False
        last = self.meta("hlc")
        self.clock = Clock(self.replica_id, Hlc.decode(last) if last else None)

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def tick(self) -> str:
        self._dirty_clock = True
        return self.clock.tick().encode()

    def observe(self, clock: str) -> None:
        """A clock seen in a pulled change: later local writes are stamped after it."""
        self.clock.observe(Hlc.decode(clock))
        self._dirty_clock = True

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- reads -------------------------------------------------------------------------------
    def row_columns(self, entity: Entity) -> str:
        """The stored columns of a record table, for the reads that take whole rows: never `*`,
        which would compute the generated key columns (sfa/store/keys.py) of every row read."""
        columns = self._row_columns.get(entity.table)
        if columns is None:
            found = self.conn.execute(f"PRAGMA table_xinfo({entity.table})").fetchall()
            # No such table (a damaged file): `*`, so the read fails as it always did, naming it.
            columns = ", ".join(str(r[1]) for r in found if r[6] == 0) or "*"
            self._row_columns[entity.table] = columns
        return columns

    def row_to_record(self, entity: Entity, row: sqlite3.Row, fields: frozenset[str] | None = None) -> Record:
        record: Record = {"id": row["id"]}
        for name, reader in codec.readers(entity):
            if fields is not None and name not in fields:
                continue
            value = row[name]
            record[name] = value if reader is None else reader(value)
        record["created_at"] = row["created_at"]
        record["updated_at"] = row["updated_at"]
        return record

    def get(self, entity: Entity, record_id: str, *, include_deleted: bool = False) -> Record:
        row = self.conn.execute(
            f"SELECT {self.row_columns(entity)} FROM {entity.table} WHERE id = ?", (record_id,)
        ).fetchone()
        if row is None or (not include_deleted and _is_deleted(entity, row)):
            raise NotFoundError(f"no {entity.name} with id {record_id}")
        return self.row_to_record(entity, row)

    def find(self, entity: Entity, record_id: str) -> Record | None:
        row = self.conn.execute(
            f"SELECT {self.row_columns(entity)} FROM {entity.table} WHERE id = ?", (record_id,)
        ).fetchone()
        return None if row is None else self.row_to_record(entity, row)

    def resolve(self, entity: Entity, ref: str, *, include_deleted: bool = False) -> Record:
        """Find a record by full id or by a unique prefix of its handle."""
        text = ref.strip().lower()
        if ids.is_full_id(text):
            return self.get(entity, text, include_deleted=include_deleted)
        if not 4 <= len(text) <= ids.HANDLE_LENGTH or not set(text) <= _HEX:
            raise ValidationError(
                entity.name, f"{ref!r} is not a ref; give the id or the handle shown in listings"
            )
        deleted_clause = "" if include_deleted or "deleted" not in entity.by_name else " AND deleted = 0"
        rows = self.conn.execute(
            f"SELECT handle, {self.row_columns(entity)} FROM {entity.table}"
            f" WHERE handle >= ? AND handle < ?{deleted_clause}"
            " ORDER BY handle LIMIT 11",
            (text, text + "g"),
        ).fetchall()
        if not rows:
            raise NotFoundError(f"no {entity.name} matches {ref!r}")
        if len(rows) > 1:
            handles = [r["handle"] for r in rows]
            shown = [ids.shortest_unique(h, [o for o in handles if o != h]) for h in handles]
            names = [f"{s} ({r[entity.title]})" for s, r in zip(shown, rows, strict=True)]
            raise AmbiguousRefError(entity.name, ref, names)
        return self.row_to_record(entity, rows[0])

    def short_ref(self, entity: Entity, record_id: str) -> str:
        """The shortest unique handle prefix of one record."""
        return self.short_refs(entity, [record_id])[record_id]

    def short_refs(self, entity: Entity, record_ids: Sequence[str]) -> dict[str, str]:
        """The shortest unique handle prefix of each record, for listings."""
        result: dict[str, str] = {}
        if len(record_ids) > 200:
            return self._short_refs_bulk(entity, record_ids)
        for record_id in record_ids:
            handle = ids.handle_of(record_id)
            neighbours = []
            for sql in (
                f"SELECT handle FROM {entity.table} WHERE handle < ? ORDER BY handle DESC LIMIT 1",
                f"SELECT handle FROM {entity.table} WHERE handle > ? ORDER BY handle LIMIT 1",
            ):
                row = self.conn.execute(sql, (handle,)).fetchone()
                if row is not None:
                    neighbours.append(row[0])
            result[record_id] = ids.shortest_unique(handle, neighbours)
        return result

    def _short_refs_bulk(self, entity: Entity, record_ids: Sequence[str]) -> dict[str, str]:
        """For long listings: one statement finds every handle's two neighbours through the index.

        (Reading the whole handle index instead costs ~90 ms on a 100,000-row table whatever the
        listing's length; this costs ~5 ms for 1,000 rows and ~35 ms for 5,000.)
        """
        handles = [ids.handle_of(record_id) for record_id in record_ids]
        size = self.conn.execute(f"SELECT max(rid) FROM {entity.table}").fetchone()[0] or 0
        if len(handles) * 8 >= size:
            # The listing is a good part of the table: one ordered read of the handle index is cheaper.
            ordered = [
                row[0] for row in self.conn.execute(f"SELECT handle FROM {entity.table} ORDER BY handle")
            ]
            position = {handle: index for index, handle in enumerate(ordered)}
            result = {}
            for record_id, handle in zip(record_ids, handles, strict=True):
                index = position[handle]
                neighbours = ordered[max(index - 1, 0) : index] + ordered[index + 1 : index + 2]
                result[record_id] = ids.shortest_unique(handle, neighbours)
            return result
        rows = self.conn.execute(
            f"SELECT (SELECT max(handle) FROM {entity.table} WHERE handle < w.value),"
            f" (SELECT min(handle) FROM {entity.table} WHERE handle > w.value)"
            " FROM json_each(?) AS w ORDER BY w.key",
            (json.dumps(handles),),
        ).fetchall()
        return {
            record_id: ids.shortest_unique(handle, [n for n in row if n is not None])
            for record_id, handle, row in zip(record_ids, handles, rows, strict=True)
        }

    def select(
        self,
        entity: Entity,
        where: str = "",
        params: Sequence[Any] = (),
        *,
        order: str = "rid",
        limit: int | None = None,
        include_deleted: bool = False,
        fields: Sequence[str] | None = None,
    ) -> list[Record]:
        """Matching records in `order`. `fields` limits the record to those fields (plus id and
        timestamps): long listings that show a few columns need not decode twenty."""
        clauses = [where] if where else []
        if not include_deleted and "deleted" in entity.by_name:
            clauses.append("deleted = 0")
        if fields is None:
            wanted = None
            sql = f"SELECT {self.row_columns(entity)} FROM {entity.table}"
        else:
            wanted = frozenset(fields)
            unknown = wanted - set(entity.field_names)
            if unknown:
                raise ValidationError(sorted(unknown)[0], f"{entity.name} has no such field")
            names = [n for n in entity.field_names if n in wanted]
            sql = f"SELECT {', '.join(['id', 'created_at', 'updated_at', *names])} FROM {entity.table}"
        if clauses:
            sql += " WHERE " + " AND ".join(f"({c})" for c in clauses)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self.row_to_record(entity, row, wanted) for row in self.conn.execute(sql, params)]

    def grouped_sums(
        self,
        entity: Entity,
        keys: Sequence[str],
        field: str,
        where: str = "",
        params: Sequence[Any] = (),
    ) -> list[tuple[tuple[Any, ...], int, Decimal]]:
        """Matching records grouped by the SQL expressions ``keys``: (key values, count, exact sum of
        the decimal ``field``). SQLite would sum in floating point, so it hands over the group's
        values as text and Python adds them as Decimal, without building a record per row."""
        if entity.by_name[field].kind != "decimal":
            raise ValueError(f"{entity.name}.{field} is not a decimal field")
        clauses = [where] if where else []
        if "deleted" in entity.by_name:
            clauses.append("deleted = 0")
        group = ", ".join(keys)
        sql = f"SELECT {group}, count(*), group_concat({field}, ',') FROM {entity.table}"
        if clauses:
            sql += " WHERE " + " AND ".join(f"({c})" for c in clauses)
        sql += f" GROUP BY {group}"
        width = len(keys)
        zero = Decimal(0)
        return [
            (
                tuple(row[:width]),
                int(row[width]),
                sum(map(Decimal, row[width + 1].split(",")), zero) if row[width + 1] else zero,
            )
            for row in self.conn.execute(sql, params)
        ]

    def key_rows(
        self,
        entity: Entity,
        columns: Sequence[str],
        *,
        include_deleted: bool = False,
        where: str = "",
        params: Sequence[Any] = (),
    ) -> list[tuple[Any, ...]]:
        """(id, title, *columns) of every live record (matching ``where``): duplicate checks read
        their key columns (entity.derived_columns, or plain fields) without building a record per row."""
        known = {*entity.derived_columns, *entity.field_names}
        for column in columns:
            if column not in known:
                raise ValidationError(column, f"{entity.name} has no such column")
        clauses = [where] if where else []
        if "deleted" in entity.by_name and not include_deleted:
            clauses.append("deleted = 0")
        condition = " WHERE " + " AND ".join(f"({c})" for c in clauses) if clauses else ""
        sql = (
            f"SELECT {', '.join(['id', entity.title, *columns])} FROM {entity.table}{condition} ORDER BY rid"
        )
        return [tuple(row) for row in self.conn.execute(sql, params)]

    def plain_rows(
        self,
        entity: Entity,
        columns: Sequence[str],
        *,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "rid",
    ) -> list[tuple[Any, ...]]:
        """The raw column values (``columns`` only, as stored, in ``order``) of every live record
        matching ``where``: plain tuples straight from SQLite, for reads of a whole table's history."""
        known = {"id", *entity.field_names}
        for column in columns:
            if column not in known:
                raise ValidationError(column, f"{entity.name} has no such column")
        clauses = [where] if where else []
        if "deleted" in entity.by_name:
            clauses.append("deleted = 0")
        condition = " WHERE " + " AND ".join(f"({c})" for c in clauses) if clauses else ""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        sql = f"SELECT {', '.join(columns)} FROM {entity.table}{condition} ORDER BY {order}"
        return cursor.execute(sql, params).fetchall()

    def field_clocks(self, entity: Entity) -> dict[str, dict[str, str]]:
        """Every record's field clocks (deleted records included), by id."""
        return {
            record_id: read_clocks(self.conn, text)
            for record_id, text in self.conn.execute(f"SELECT id, clocks FROM {entity.table}")
        }

    def clocks_where(
        self, entity: Entity, where: str, params: Sequence[Any] = ()
    ) -> dict[str, dict[str, str]]:
        """The field clocks of the records matching `where` (deleted ones included), by id."""
        sql = f"SELECT id, clocks FROM {entity.table} WHERE {where}"
        return {record_id: read_clocks(self.conn, text) for record_id, text in self.conn.execute(sql, params)}

    def total_records(self) -> int:
        """Records of every type, deleted ones included (an empty store has none)."""
        return sum(
            int(self.conn.execute(f"SELECT count(*) FROM {e.table}").fetchone()[0]) for e in ENTITIES.values()
        )

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: every read inside sees the same state of the file."""
        if self._depth:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    @contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Queries inside give up after `seconds` with QueryInterrupted (search as you type)."""
        deadline = time.perf_counter() + seconds
        self.conn.set_progress_handler(lambda: int(time.perf_counter() > deadline), 1000)
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "interrupt" not in str(exc):
                raise
            raise QueryInterrupted(f"query took longer than {seconds} s") from None
        finally:
            self.conn.set_progress_handler(None, 0)

    def first_matches(self, text: str, limit: int) -> list[tuple[Entity, Record]]:
        """Full-text matches in index order, unranked: stops after `limit` rows however many match."""
        by_code = {e.code: e for e in ENTITIES.values()}
        found: list[tuple[Entity, Record]] = []
        for (rowid,) in self.conn.execute(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT ?", (fts_query(text), limit)
        ).fetchall():
            entity = by_code[rowid % FTS_SLOTS]
            found += [(entity, row) for row in self.select(entity, "rid = ?", (rowid // FTS_SLOTS,), limit=1)]
        return found

    def titles(self, entity: Entity, record_ids: Iterable[str]) -> dict[str, str]:
        """Display titles of the given records, in one query."""
        wanted = sorted({i for i in record_ids if i})
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = self.conn.execute(
            f"SELECT id, {entity.title} FROM {entity.table} WHERE id IN ({marks})", wanted
        )
        return {row[0]: row[1] for row in rows}

    def latest_change(self, entity: Entity) -> str:
        """The newest ``updated_at`` of the table (deleted records included; "" when empty): with the
        record count, a cheap fingerprint of "has anything changed" for caches of derived figures."""
        newest = "max(rid)" if entity.insert_only else "max(updated_at)"  # rows never change: the last one
        row = self.conn.execute(f"SELECT {newest}, count(*) FROM {entity.table}").fetchone()
        return f"{row[0] or ''}#{row[1]}"

    def count(self, entity: Entity, where: str = "", params: Sequence[Any] = ()) -> int:
        clauses = [where] if where else []
        if "deleted" in entity.by_name:
            clauses.append("deleted = 0")
        sql = f"SELECT count(*) FROM {entity.table}"
        if clauses:
            sql += " WHERE " + " AND ".join(f"({c})" for c in clauses)
        return int(self.conn.execute(sql, params).fetchone()[0])

    # -- writes ------------------------------------------------------------------------------
    def insert(self, entity: Entity, values: Record, *, record_id: str | None = None) -> Record:
        return self.insert_many(entity, [values], record_ids=[record_id] if record_id else None)[0]

    def insert_many(
        self,
        entity: Entity,
        rows: Sequence[Record],
        *,
        record_ids: Sequence[str] | None = None,
    ) -> list[Record]:
        """Create records: row, field clocks, outbox and search index, in one transaction (the
        duplicate-check keys are computed by SQLite: sfa/store/keys.py)."""
        if not rows:
            return []
        with paused_gc():
            return self._insert_many(entity, rows, record_ids)

    def _insert_many(
        self,
        entity: Entity,
        rows: Sequence[Record],
        record_ids: Sequence[str] | None,
    ) -> list[Record]:
        with self.transaction():
            prepared, records = self._prepare_insert(entity, rows, record_ids)
            try:
                writes.write_insert(self.conn, prepared)
            except sqlite3.IntegrityError as exc:
                raise ValidationError(entity.name, f"cannot save: {exc}") from None
        return records

    def _prepare_insert(
        self,
        entity: Entity,
        rows: Sequence[Record],
        record_ids: Sequence[str] | None,
    ) -> tuple[writes.PreparedInsert, list[Record]]:
        """The SQL rows of new records (row, field clocks, outbox entry) and the records."""
        # Sorted, so the unique index on id is appended to rather than split at random.
        new_ids = record_ids or sorted(ids.uuid7_many(len(rows)))
        return prepare_insert(entity, rows, new_ids, self.tick(), iso_utc(utc_now()))

    @contextmanager
    def bulk(self) -> Iterator[BulkSession]:
        """Batches of inserts, each committed whole by a writer process on the other core while
        the caller prepares the next (sfa/store/bulk.py). Leaving the block waits for the last one.

        The writer is forked while this store's connection is closed: it must not inherit an open
        SQLite file, whose lock bookkeeping would be the parent's, not its own (SQLite's "how to
        corrupt": carrying a connection across fork()). The connection is open again at once, for
        reads; writes go to the session. Start the session before building large data: the fork
        shares this process's memory, and every page either side then writes is copied.
        """
        if self._depth:
            raise StoreError("bulk writes cannot join an open transaction")
        self.conn.close()
        try:
            session = BulkSession(self)
        finally:
            self.conn = self._connect(readonly=False)
        try:
            yield session
        except BaseException:
            # Interrupted (Ctrl-C, a failed row): the batch already handed over is finished, so
            # what is in the store is exactly the batches sent; its own failure is secondary.
            with suppress(SfaError):
                session.close()
            raise
        session.close()

    def update(self, entity: Entity, record_id: str, changes: Record) -> Record:
        """Change fields of a record; unchanged values write nothing."""
        if entity.insert_only:
            raise ValidationError(entity.name, "entries are insert-only and cannot be edited")
        unknown = set(changes) - set(entity.field_names)
        if unknown:
            raise ValidationError(sorted(unknown)[0], f"{entity.name} has no such field")
        with self.transaction():
            row = self.conn.execute(
                f"SELECT {self.row_columns(entity)} FROM {entity.table} WHERE id = ?", (record_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no {entity.name} with id {record_id}")
            current = self.row_to_record(entity, row)
            changed = {k: v for k, v in changes.items() if _differs(entity, k, current[k], v)}
            if not changed:
                return current
            clock = self.tick()
            now = iso_utc(utc_now())
            clocks = read_clocks(self.conn, row["clocks"])
            history = []
            for name, value in changed.items():
                field = entity.by_name[name]
                history.append(
                    writes.HistoryEntry(
                        entity.name,
                        record_id,
                        name,
                        codec.dumps(codec.to_wire(field, current[name])),
                        clocks.get(name),
                        codec.dumps(codec.to_wire(field, value)),
                        clock,
                        "local",
                        now,
                    )
                )
                clocks[name] = clock
            updated = {**current, **changed, "updated_at": now}
            assignments = {
                **{n: codec.to_column(entity.by_name[n], v) for n, v in changed.items()},
                "clocks": codec.pack_clocks(clocks),
                "updated_at": now,
            }
            wire = {n: codec.to_wire(entity.by_name[n], v) for n, v in changed.items()}
            writes.write_update(
                self.conn, entity, record_id, assignments, history, (codec.dumps([clock, wire]), now)
            )
        return updated

    def delete(self, entity: Entity, record_id: str) -> Record:
        """Soft delete: the tombstone is an ordinary field write, so it replicates."""
        return self.update(entity, record_id, {"deleted": True})

    # -- full-text search --------------------------------------------------------------------
    def restore_bookkeeping(
        self,
        entity: Entity,
        record_ids: Sequence[str],
        stamps: Sequence[tuple[str, str]],
        clocks: Sequence[dict[str, str]],
    ) -> None:
        """Restored records get their own created/updated times and field clocks back (writes.put_back)."""
        writes.put_back(self.conn, entity, record_ids, stamps, clocks)

    def search(
        self, text: str, entities: Iterable[Entity] | None = None, limit: int = 20
    ) -> list[tuple[Entity, Record]]:
        query = fts_query(text)
        if not query:
            raise ValidationError("text", "give at least one word to search for")
        by_code = {e.code: e for e in ENTITIES.values()}
        wanted = {e.code for e in entities} if entities is not None else set(by_code)
        results: list[tuple[Entity, Record]] = []
        # Page through ranked hits so that a --type filter still fills the limit.
        offset, page = 0, max(limit * 4, 50)
        while len(results) < limit:
            hits = self.conn.execute(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY rank LIMIT ? OFFSET ?",
                (query, page, offset),
            ).fetchall()
            for (rowid,) in hits:
                code = rowid % FTS_SLOTS
                if code not in wanted:
                    continue
                entity = by_code[code]
                row = self.conn.execute(
                    f"SELECT {self.row_columns(entity)} FROM {entity.table} WHERE rid = ?",
                    (rowid // FTS_SLOTS,),
                ).fetchone()
                if row is not None:
                    results.append((entity, self.row_to_record(entity, row)))
                if len(results) >= limit:
                    break
            if len(hits) < page:
                break
            offset += page
        return results

    # -- change capture, read side -----------------------------------------------------------
    def outbox(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT seq, entity, record_id, fields, created_at FROM outbox ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [
            {
                "seq": r[0],
                "entity": r[1],
                "record_id": r[2],
                "fields": codec.read_outbox_fields(r[3]),
                "created_at": r[4],
            }
            for r in self.conn.execute(sql)
        ]

    def history(self, record_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT entity, field, old_value, old_clock, new_value, new_clock, origin, changed_at"
            " FROM history WHERE record_id = ? ORDER BY id",
            (record_id,),
        )
        return [
            {
                "entity": r[0],
                "field": r[1],
                "old": json.loads(r[2]) if r[2] else None,
                "old_clock": r[3],
                "new": json.loads(r[4]) if r[4] else None,
                "new_clock": r[5],
                "origin": r[6],
                "changed_at": r[7],
            }
            for r in rows
        ]


def _is_deleted(entity: Entity, row: sqlite3.Row) -> bool:
    return "deleted" in entity.by_name and bool(row["deleted"])


def _differs(entity: Entity, name: str, old: Any, new: Any) -> bool:
    field = entity.by_name[name]
    return bool(codec.to_wire(field, old) != codec.to_wire(field, new))


def fts_query(text: str) -> str:
    """Turn what a person typed into a safe FTS5 query: every word must match, as a prefix.

    Each word is quoted alone and holds only letters and digits, so it is one token: sfa never
    makes a phrase query (docs/store.md, "Full-text search")."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    return " ".join(f'"{w}"*' for w in words)


PREPARE_STEP = 1000  # rows this process prepares before it looks whether the writer is free


class BulkSession:
    """Inserts gathered per batch; `commit` hands the batch to the writer process (Store.bulk), which
    prepares the rows for SQL and writes them (sfa/store/prepare.py, sfa/store/bulk.py)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writer = BulkWriter(store.path)
        self.pending: list[InsertJob] = []

    def insert_many(
        self,
        entity: Entity,
        rows: Sequence[Record],
        *,
        record_ids: Sequence[str] | None = None,
        records: bool = True,
    ) -> list[Record]:
        """The records as `Store.insert_many` returns them (none if `records` is false); they are
        written by `commit`. Rows are checked for unknown fields here; the rest is the writer's."""
        if not rows:
            return []
        check_fields(entity, rows)
        new_ids = list(record_ids) if record_ids else sorted(ids.uuid7_many(len(rows)))
        now = iso_utc(utc_now())
        job = InsertJob(
            entity.name,
            list(rows),
            new_ids,
            self.store.tick(),
            now,
        )
        self.pending.append(job)
        return new_records(entity, rows, new_ids, now) if records else []

    def commit(self) -> None:
        """Send the batch; an error in the one before it is raised here."""
        if not self.pending:
            return
        store = self.store
        meta = [("hlc", store.clock.last.encode())]
        store._dirty_clock = False
        pending, self.pending = self.pending, []
        try:
            self.writer.send(self._balanced(pending), meta)
        except BulkWriteError as exc:
            raise _bulk_error(exc) from None

    def _balanced(self, jobs: list[InsertJob]) -> list[Work]:
        """The writer prepares the rows it is sent. While it is still busy with the batch before,
        this process would only wait, so it prepares rows itself, a slice at a time, until the
        writer is free: the two sides share the work whichever of them is faster."""
        batch: list[Work] = []
        for job in jobs:
            start, total = 0, len(job.rows)
            while start < total and self.writer.busy():
                batch.append(prepared(job.part(start, start + PREPARE_STEP)))
                start += PREPARE_STEP
            if start < total:
                batch.append(job.part(start, total) if start else job)
        return batch

    def close(self) -> None:
        try:
            self.writer.close()
        except BulkWriteError as exc:
            raise _bulk_error(exc) from None


def _bulk_error(exc: BulkWriteError) -> SfaError:
    if exc.kind == "integrity":
        return ValidationError("record", f"cannot save: {exc.reason}")
    return StoreError(f"bulk write failed: {exc.reason}")
