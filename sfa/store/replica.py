"""The replica side of sync in the local store: reading the outbox as mutations, acknowledging them,
applying pulled changes with their clocks (no outbox entry, history origin 'remote'), conflicts,
rejections and the pull cursor. See docs/sync-protocol.md.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sfa.domain import ids, scope
from sfa.domain.dates import iso_utc, utc_now
from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import NotFoundError, StateError
from sfa.domain.hlc import Clock
from sfa.protocol import CONFLICT, CONFLICT_FIELDS, Change, Mutation, PushResult
from sfa.store import codec, deferred, quarantine, writes
from sfa.store.clocks import read as read_clocks
from sfa.store.db import Store

_CONFLICT_COLUMNS = CONFLICT_FIELDS
_JSON_COLUMNS = ("kept", "lost")
_CHUNK = 500
# History of pulled changes is kept this long (docs/store.md, "Size"); history of writes made here is
# kept for good.
HISTORY_RETENTION = timedelta(days=90)


_MISSING = object()


def _repeatable(name: str, value: Any) -> tuple[str, type, Any] | None:
    """A cache key for a wire value that repeats from record to record (a flag, a number, a tag
    list), or None. Its type is part of it: 1, 1.0 and True are equal keys in Python."""
    kind = type(value)
    if kind is list:
        return (name, kind, tuple(value)) if all(type(item) is str for item in value) else None
    return (name, kind, value) if kind is str or kind is int or kind is float or kind is bool else None


class Replica:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn
        self._at = ""
        self._aside: set[tuple[str, str | None]] = set()  # (record id, field) in sync_quarantine
        self._not_null: dict[str, dict[str, Any]] = {}
        self._reconcile = False
        self._seen: dict[tuple[str, str], dict[str, str]] = {}
        self.refused_resends = 0  # re-sends the server refused (dropped; see `acknowledge`)
        self._search = True  # False while a first sync leaves the indexes to the end

    # -- a first sync: the indexes at the end (sfa/store/deferred.py) -------------------------
    def defer_indexes(self) -> bool:
        """Before a first sync's pages: drop the secondary indexes and leave the search index, to
        be built once at the end (`finish_indexes`). Only from cursor 0, not while reconciling
        (a re-pull onto a full store); returns whether it did."""
        if not self._search or self.cursor != 0 or self.reconciling:
            return False
        with self.store.transaction():
            deferred.defer(self.conn)
        self._search = False
        return True

    def finish_indexes(self) -> None:
        """Create the indexes `defer_indexes` dropped and rebuild the search index."""
        with self.store.transaction():
            deferred.finish(self.conn)
        self._search = True

    # -- bookkeeping -------------------------------------------------------------------------
    @property
    def cursor(self) -> int:
        return int(self.store.meta("sync.cursor") or 0)

    @property
    def epoch(self) -> str | None:
        return self.store.meta("sync.epoch")

    def reset_cursor(self) -> None:
        """The server was reset or restored: pull everything again, keeping what is newer here, then
        re-send what the server lost (`finish_reconcile`); the outbox is kept."""
        with self.store.transaction():
            self.store.set_meta("sync.cursor", "0")
            self.store.set_meta("sync.reconcile", "1")
            self.conn.execute("DELETE FROM meta WHERE key IN ('sync.epoch', 'sync.acked')")
            self.conn.execute("DELETE FROM sync_reconcile")

    @property
    def reconciling(self) -> bool:
        """True from a reset until the re-sends of what the server lost are queued."""
        return self.store.meta("sync.reconcile") == "1"

    def finish_reconcile(self) -> int:
        """After the full pull that follows a reset: queue every record, or field, this laptop holds
        with a clock the server does not have — the server lacks the record, or its clock of the
        field is older — with the server's clocks as base (a sequential edit to the server). Fields
        with a write already in the outbox are left to it. Conflict records go the same way, after
        the records. Records the logged-in user cannot see (`_in_scope`) are not re-sent. Returns
        the records queued."""
        if not self.reconciling:
            return 0
        now = iso_utc(utc_now())
        queued = 0
        with self.store.transaction():
            pending = self._pending_fields()
            seen: dict[tuple[str, str], dict[str, str]] = {
                (e, i): json.loads(c)
                for e, i, c in self.conn.execute("SELECT entity, record_id, clocks FROM sync_reconcile")
            }
            in_scope = self._in_scope()
            for entity in ENTITIES.values():
                for row in self.conn.execute(
                    f"SELECT {self.store.row_columns(entity)} FROM {entity.table}"
                ).fetchall():
                    server = seen.get((entity.name, row["id"]))
                    if server is None and not in_scope(entity.name, row):
                        continue  # another team's record this laptop once held: not the user's to send
                    mine = pending.get(row["id"], set())
                    record = self.store.row_to_record(entity, row)
                    fields: dict[str, list[Any]] = {}
                    base: dict[str, str] = {}
                    for name, clock in read_clocks(self.conn, row["clocks"]).items():
                        if name not in entity.by_name or name in mine:
                            continue
                        theirs = server.get(name) if server is not None else None
                        if theirs is None or clock > theirs:
                            fields[name] = [codec.to_wire(entity.by_name[name], record[name]), clock]
                            if theirs is not None:
                                base[name] = theirs
                    if fields:
                        writes.append_resend(
                            self.conn,
                            entity.name,
                            row["id"],
                            codec.dumps(fields),
                            codec.dumps(base),  # "{}" for a create: still marked as a re-send
                            now,
                        )
                        queued += 1
                        if server is None and mine:
                            self._after_resend(row["id"])
            queued += self._resend_conflicts(seen, pending, in_scope, now)
            self.conn.execute("DELETE FROM sync_reconcile")
            self.conn.execute("DELETE FROM meta WHERE key = 'sync.reconcile'")
        return queued

    def _resend_conflicts(
        self,
        seen: dict[tuple[str, str], dict[str, str]],
        pending: dict[str, set[str]],
        in_scope: Callable[[str, Any], bool],
        now: str,
    ) -> int:
        """Queue the conflict records (or their status and resolution) the restored server lacks:
        a lost one whole, with the clocks the server once gave it, so the server holds it again as
        every laptop does; one whose status or resolution is newer here, as a sequential edit."""
        queued = 0
        columns = ", ".join(_CONFLICT_COLUMNS)
        for row in self.conn.execute(f"SELECT id, clocks, {columns} FROM sync_conflict").fetchall():
            record_id, clocks = row[0], json.loads(row[1])
            server = seen.get((CONFLICT, record_id))
            values = {c: row[i + 2] for i, c in enumerate(_CONFLICT_COLUMNS)}
            if server is None:
                entity = ENTITIES.get(str(values["entity"]))
                target = (
                    self.conn.execute(
                        f"SELECT {self.store.row_columns(entity)} FROM {entity.table} WHERE id = ?",
                        (values["record_id"],),
                    ).fetchone()
                    if entity is not None
                    else None
                )
                if target is None or not in_scope(entity.name if entity else "", target):
                    continue
                if any(name not in clocks for name in _CONFLICT_COLUMNS):
                    continue  # not whole here either (a value was set aside): nothing to re-create
            fields: dict[str, list[Any]] = {}
            base: dict[str, str] = {}
            for name in _CONFLICT_COLUMNS:
                clock, theirs = clocks.get(name), (server or {}).get(name)
                if clock is None or (server is not None and (theirs is None or clock <= theirs)):
                    continue
                if server is not None and name in pending.get(record_id, set()):
                    continue
                value = values[name]
                if name in _JSON_COLUMNS and value is not None:
                    value = json.loads(value)
                fields[name] = [value, clock]
                if theirs is not None:
                    base[name] = theirs
            if fields:
                writes.append_resend(
                    self.conn, CONFLICT, record_id, codec.dumps(fields), codec.dumps(base), now
                )
                queued += 1
                if server is None and record_id in pending:
                    self._after_resend(record_id)
        return queued

    def _after_resend(self, record_id: str) -> None:
        """Move the unsent writes of a record the server lost behind its re-send: the server gets
        the record back first, then the edits made to it (an edit of a record the server lacks
        would be refused as an incomplete create)."""
        writes.requeue_before_last(self.conn, record_id)

    def _in_scope(self) -> Callable[[str, Any], bool]:
        """Whether the logged-in server user can see a record this laptop holds (entity name, row),
        by the server's rule (sfa/domain/scope.py) and the role and team the server last gave
        (`sync.role`, `sync.team`, refreshed on a reset). A child takes its parent's scope; a child
        whose parent is not here, and every record before a login, count as in scope (the server
        decides)."""
        user, role = self.store.meta("sync.user") or "", self.store.meta("sync.role") or ""
        team = self.store.meta("sync.team") or None
        teams = frozenset(filter(None, (self.store.meta("sync.teams") or "").split(",")))
        if not user or not role or role == "admin":
            return lambda _entity, _row: True
        owned: dict[str, tuple[str | None, str | None]] = {}
        for entity in ENTITIES.values():
            if (
                "owner" in entity.by_name
                and "team" in entity.by_name
                and entity.name not in scope.CHILD_PARENTS
            ):
                for record_id, owner, record_team in self.conn.execute(
                    f"SELECT id, owner, team FROM {entity.table}"
                ):
                    owned[record_id] = (owner, record_team)

        def check(entity_name: str, row: Any) -> bool:
            key = scope.CHILD_PARENTS.get(entity_name)
            found = owned.get(row[key]) if key is not None else owned.get(row["id"], (None, None))
            return found is None or scope.visible(role, user, team, *found, teams=teams, entity=entity_name)

        return check

    @property
    def acked(self) -> int:
        """The highest outbox seq the server acknowledged (a server behind it lost data)."""
        return int(self.store.meta("sync.acked") or 0)

    def mark_synced(self) -> None:
        """The end of a sync round; once a day it also prunes history (`prune`)."""
        now = utc_now()
        with self.store.transaction():
            self.store.set_meta("sync.last_sync", iso_utc(now))
            if self.store.meta("store.pruned_on") != now.date().isoformat():
                self.prune(now)

    def prune(self, now: datetime | None = None) -> int:
        """Drop what the store no longer needs: history rows of pulled changes older than
        HISTORY_RETENTION (no feature reads them, and the server holds those values; history of
        writes made here is kept). Acknowledged outbox rows are dropped as they are acknowledged
        (`acknowledge`); an unacknowledged one is never dropped. Returns the history rows dropped."""
        now = now or utc_now()
        with self.store.transaction():
            dropped = writes.prune_history(self.conn, iso_utc(now - HISTORY_RETENTION))
            self.store.set_meta("store.pruned_on", now.date().isoformat())
        return dropped

    def pending_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def status(self) -> dict[str, Any]:
        conflicts = self.conn.execute("SELECT count(*) FROM sync_conflict WHERE status = 'open'").fetchone()[
            0
        ]
        rejected = self.conn.execute("SELECT count(*) FROM sync_rejected").fetchone()[0]
        quarantined = quarantine.count(self.conn)
        return {
            "pending": self.pending_count(),
            "last_sync": self.store.meta("sync.last_sync"),
            "cursor": self.cursor,
            "conflicts": int(conflicts),
            "rejected": int(rejected),
            "quarantined": quarantined,
            "user": self.store.meta("sync.user"),
        }

    # -- push side ---------------------------------------------------------------------------
    def pending(self, limit: int) -> list[Mutation]:
        """The oldest outbox rows as wire mutations, with base clocks (and known clocks for deletes)."""
        rows = self.conn.execute(
            "SELECT seq, entity, record_id, fields, base FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        # The clock each written field had before the write, from local history, in one query a chunk.
        olds: dict[tuple[str, str], dict[str, str]] = {}
        record_ids = sorted({row[2] for row in rows})
        for start in range(0, len(record_ids), _CHUNK):
            chunk = record_ids[start : start + _CHUNK]
            for record_id, new_clock, name, old in self.conn.execute(
                "SELECT record_id, new_clock, field, old_clock FROM history WHERE origin = 'local'"
                f" AND record_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            ):
                if old:
                    olds.setdefault((record_id, new_clock), {})[name] = old
        mutations = []
        for seq, entity_name, record_id, text, resend_base in rows:
            fields = codec.read_outbox_fields(text)
            mutation = Mutation(seq, entity_name, record_id, fields)
            clocks = {pair[1] for pair in fields.values() if isinstance(pair, list) and len(pair) == 2}
            if entity_name not in ENTITIES:
                mutations.append(mutation)
                continue
            if resend_base is not None:  # a re-send after a restore: based on the server's clocks
                mutation.base = json.loads(resend_base)
            elif len(clocks) == 1:
                base = {k: v for k, v in olds.get((record_id, next(iter(clocks))), {}).items() if k in fields}
                if base:
                    mutation.base = base
            deleted = fields.get("deleted")
            if (
                isinstance(deleted, list)
                and deleted
                and deleted[0] is True
                and (resend_base or len(clocks) == 1)
            ):
                entity = ENTITIES[entity_name]
                row = self.conn.execute(
                    f"SELECT clocks FROM {entity.table} WHERE id = ?", (record_id,)
                ).fetchone()
                known = read_clocks(self.conn, row[0]) if row else {}
                known.pop("deleted", None)
                mutation.known = known
            mutations.append(mutation)
        return mutations

    def acknowledge(self, mutations: Sequence[Mutation], results: Sequence[PushResult]) -> None:
        """The server answered: drop acknowledged rows; rejected ones move to sync_rejected."""
        by_seq = {m.seq: m for m in mutations}
        now = iso_utc(utc_now())
        done = [r.seq for r in results if r.seq in by_seq]
        with self.store.transaction():
            resends = self._resends(done)
            self.conn.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq in done])
            if done and max(done) > self.acked:
                self.store.set_meta("sync.acked", str(max(done)))
            for result in results:
                seq = result.seq
                if seq not in by_seq:
                    continue
                if result.status == "rejected" and seq in resends:
                    self.refused_resends += 1  # not the user's write: the writer's laptop re-sends it
                elif result.status == "rejected":
                    m = by_seq[seq]
                    self.conn.execute(
                        "INSERT OR REPLACE INTO sync_rejected(seq, entity, record_id, fields, reason,"
                        " rejected_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            seq,
                            m.entity,
                            m.id,
                            codec.dumps(m.fields),
                            result.reason or "",
                            now,
                        ),
                    )

    def _resends(self, seqs: Sequence[int]) -> set[int]:
        """Which of these outbox rows are re-sends after a restore (`finish_reconcile`)."""
        found: set[int] = set()
        for start in range(0, len(seqs), _CHUNK):
            chunk = seqs[start : start + _CHUNK]
            found.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT seq FROM outbox WHERE base IS NOT NULL AND seq IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return found

    def rejected(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT seq, entity, record_id, fields, reason, rejected_at FROM sync_rejected ORDER BY seq"
        )
        return [
            {
                "seq": r[0],
                "entity": r[1],
                "record_id": r[2],
                "fields": {k: v[0] for k, v in json.loads(r[3]).items()},
                "reason": r[4],
                "rejected_at": r[5],
            }
            for r in rows
        ]

    # -- pull side ---------------------------------------------------------------------------
    @contextmanager
    def _unchecked(self) -> Iterator[None]:
        # A pulled contact may arrive before (or without) its account: no FK checks while applying.
        self.conn.execute("PRAGMA foreign_keys=OFF")
        try:
            with self.store.transaction():
                yield
        finally:
            self.conn.execute("PRAGMA foreign_keys=ON")

    def apply_page(self, changes: Sequence[Change], cursor: int, epoch: str) -> int:
        """Apply one pulled page and store its cursor in the same transaction. Returns records touched.

        What this laptop cannot store is set aside (sfa/store/quarantine.py) and the rest applies:
        nothing pulled can stop the sync."""
        with self._unchecked():
            self._at = iso_utc(utc_now())
            self._aside = {
                (r, f) for r, f in self.conn.execute("SELECT record_id, field FROM sync_quarantine")
            }
            self._reconcile = self.reconciling
            self._seen = {}
            pending = self._pending_fields()
            newest = ""
            by_entity: dict[str, list[Change]] = {}
            conflicts = []
            for change in changes:
                name = change.get("entity")
                if name != CONFLICT and not (isinstance(name, str) and name in ENTITIES):
                    continue  # a record type of a newer sfa: ignored
                problem = quarantine.bad_id(change.get("id"))
                if problem is not None:
                    self._set_aside([quarantine.whole(change, problem)])
                elif name == CONFLICT:
                    conflicts.append(change)
                else:
                    by_entity.setdefault(str(name), []).append(change)
            for name, group in by_entity.items():
                apply = functools.partial(self._apply_entity, ENTITIES[name], pending=pending)
                newest = max(newest, self._guarded(apply, group))
            for change in conflicts:
                newest = max(newest, self._guarded(lambda g: self._apply_conflict(g[0], pending), [change]))
            if self._seen:
                self._note_seen()
            if newest:
                self.store.observe(newest)
            self.store.set_meta("sync.cursor", str(cursor))
            self.store.set_meta("sync.epoch", epoch)
        return len(changes)

    def _guarded(self, apply: Callable[[list[Change]], str], group: list[Change]) -> str:
        """Apply changes inside a savepoint; when that fails, each alone, setting aside what fails
        (a value the screening let through that the store still refuses)."""
        self.conn.execute("SAVEPOINT pulled")
        try:
            newest = apply(group)
        except (sqlite3.Error, ArithmeticError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self.conn.execute("ROLLBACK TO pulled")
            self.conn.execute("RELEASE pulled")
            if len(group) == 1:
                reason = f"cannot be stored here: {type(exc).__name__}: {str(exc)[:200]}"
                self._set_aside([quarantine.whole(group[0], reason)])
                return ""
            return max((self._guarded(apply, [change]) for change in group), default="")
        self.conn.execute("RELEASE pulled")
        return newest

    def _note_seen(self) -> None:
        """Keep the server's clocks of the records this page held (the re-pull after a reset)."""
        keys = list(self._seen)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = " OR ".join("(entity = ? AND record_id = ?)" for _ in chunk)
            for entity, record_id, text in self.conn.execute(
                f"SELECT entity, record_id, clocks FROM sync_reconcile WHERE {marks}",
                [part for key in chunk for part in key],
            ).fetchall():
                self._seen[(entity, record_id)] = {**json.loads(text), **self._seen[(entity, record_id)]}
        self.conn.executemany(
            "INSERT OR REPLACE INTO sync_reconcile(entity, record_id, clocks) VALUES (?, ?, ?)",
            [(e, i, json.dumps(c)) for (e, i), c in self._seen.items()],
        )
        self._seen = {}

    def _set_aside(self, items: list[quarantine.SetAside]) -> None:
        if items:
            quarantine.record(self.conn, items, self._at)
            self._aside.update((i.record_id, i.field) for i in items)

    def _settle(self, record_id: str, names: Iterable[str]) -> None:
        """Valid values arrived for these fields: their set-aside values are moot."""
        if self._aside:
            moot = [n for n in names if (record_id, n) in self._aside]
            if moot:
                quarantine.settle(self.conn, record_id, moot)
                self._aside.difference_update((record_id, n) for n in moot)

    def quarantined(self) -> list[dict[str, Any]]:
        """Pulled values set aside because this laptop could not store them."""
        return quarantine.listing(self.conn)

    def _pending_fields(self) -> dict[str, set[str]]:
        pending: dict[str, set[str]] = {}
        for record_id, text in self.conn.execute("SELECT record_id, fields FROM outbox"):
            pending.setdefault(record_id, set()).update(codec.read_outbox_fields(text))
        return pending

    def _apply_entity(self, entity: Entity, changes: list[Change], *, pending: dict[str, set[str]]) -> str:
        table = entity.table
        wanted = list(dict.fromkeys(str(c["id"]) for c in changes))
        existing: dict[str, Any] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT {self.store.row_columns(entity)} FROM {table} WHERE id IN ({marks})", chunk
            ):
                existing[row["id"]] = row
        newest = ""
        not_null = frozenset(self._defaults(entity))
        created: dict[str, dict[str, list[Any]]] = {}  # id -> wire fields of records new to this replica
        now = iso_utc(utc_now())
        for change in changes:
            record_id = str(change["id"])
            if change.get("remove"):
                if self._reconcile:
                    self._seen.pop((entity.name, record_id), None)
                    self.conn.execute(
                        "DELETE FROM sync_reconcile WHERE entity = ? AND record_id = ?",
                        (entity.name, record_id),
                    )
                created.pop(record_id, None)
                row = existing.pop(record_id, None)
                if row is not None:
                    writes.remove(self.conn, entity, record_id, search=self._search)
                continue
            fields, aside = quarantine.screen(
                entity, int(change.get("seq") or 0), record_id, change.get("fields") or {}, not_null
            )
            self._set_aside(aside)
            self._settle(record_id, fields)
            if self._reconcile:
                self._seen.setdefault((entity.name, record_id), {}).update(
                    {name: pair[1] for name, pair in fields.items()}
                )
            for _, clock in fields.values():
                newest = max(newest, clock)
            if record_id in created:
                created[record_id].update(fields)
            elif record_id in existing:
                self._update(entity, existing[record_id], fields, pending.get(record_id, set()), now)
                existing[record_id] = self.conn.execute(
                    f"SELECT {self.store.row_columns(entity)} FROM {table} WHERE id = ?", (record_id,)
                ).fetchone()
            else:
                created[record_id] = dict(fields)
        if created:
            self._insert(entity, created, now)
        return newest

    def _defaults(self, entity: Entity) -> dict[str, Any]:
        """The fields whose local column is NOT NULL, with the column default (None: none)."""
        if entity.name not in self._not_null:
            self._not_null[entity.name] = quarantine.column_defaults(self.conn, entity)
        return self._not_null[entity.name]

    def _insert(self, entity: Entity, created: dict[str, dict[str, list[Any]]], now: str) -> None:
        names = entity.field_names
        columns = [
            "rid",
            "id",
            "clocks",
            "created_at",
            "updated_at",
            *names,
        ]
        sql = f"INSERT INTO {entity.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        rid = int(self.conn.execute(f"SELECT coalesce(max(rid), 0) FROM {entity.table}").fetchone()[0])
        rows = []
        missing: list[quarantine.SetAside] = []
        defaults = self._defaults(entity)
        # Wire values are already in column form for most kinds (the fast path of an initial sync);
        # the others (tags, flags, numbers) mostly repeat, so each distinct value is converted once.
        specs = [
            (
                spec.name,
                spec.type,
                spec.required or spec.name in defaults,
                None if spec.type.wire_is_column else spec.type.wire_to_column,
            )
            for spec in entity.fields
        ]
        converted: dict[tuple[str, type, Any], Any] = {}
        for record_id, fields in created.items():
            rid += 1
            columns_out: list[Any] = []
            for name, kind, required, convert in specs:
                pair = fields.get(name)
                value = pair[0] if pair is not None else None
                if value is None and required:
                    if defaults.get(name) is not None:
                        value = defaults[name]  # what the column holds when a create leaves it out
                    else:  # never seen a create: keep the row valid
                        value = kind.to_wire(kind.placeholder())
                        if (record_id, name) not in self._aside:
                            missing.append(
                                quarantine.SetAside(
                                    0,
                                    entity.name,
                                    record_id,
                                    name,
                                    None,
                                    None,
                                    f"{name}: is required; a placeholder is stored",
                                )
                            )
                if convert is None:
                    columns_out.append(value)
                    continue
                key = _repeatable(name, value)
                if key is None:
                    columns_out.append(convert(value))
                    continue
                column = converted.get(key, _MISSING)
                if column is _MISSING:
                    column = converted[key] = convert(value)
                columns_out.append(column)
            rows.append(
                (
                    rid,
                    record_id,
                    codec.pack_clocks_of(fields),
                    now,
                    now,
                    *columns_out,
                )
            )
        writes.write_pulled_inserts(self.conn, entity, sql, rows, search=self._search)
        self._set_aside(missing)

    def _update(
        self, entity: Entity, row: Any, fields: dict[str, list[Any]], pending: set[str], now: str
    ) -> None:
        current = self.store.row_to_record(entity, row)
        clocks = read_clocks(self.conn, row["clocks"])
        changed: dict[str, Any] = {}
        history = []
        for name, (value, clock) in fields.items():
            if name in pending:  # our own unsent write stays; the server decides when it arrives
                continue
            if self._reconcile and clocks.get(name, "") > clock:
                continue  # newer here than on a restored server: kept, and re-sent after the pull
            spec = entity.by_name[name]
            new = codec.from_wire(spec, value)
            old_wire = codec.to_wire(spec, current[name])
            if codec.to_wire(spec, new) != old_wire:
                changed[name] = new
                history.append(
                    writes.HistoryEntry(
                        entity.name,
                        row["id"],
                        name,
                        codec.dumps(old_wire),
                        clocks.get(name),
                        codec.dumps(codec.to_wire(spec, new)),
                        clock,
                        "remote",
                        now,
                    )
                )
            clocks[name] = clock
        if not changed and clocks == read_clocks(self.conn, row["clocks"]):
            return
        assignments = {
            **{n: codec.to_column(entity.by_name[n], v) for n, v in changed.items()},
            "clocks": codec.pack_clocks(clocks),
        }
        if changed:
            assignments["updated_at"] = now
        writes.write_update(self.conn, entity, row["id"], assignments, history, None, search=self._search)

    def _apply_conflict(self, change: Change, pending: dict[str, set[str]]) -> str:
        record_id = str(change["id"])
        fields, aside = quarantine.screen_conflict(
            int(change.get("seq") or 0), record_id, change.get("fields") or {}
        )
        self._set_aside(aside)
        self._settle(record_id, fields)
        mine = pending.get(record_id, set())
        fields = {k: v for k, v in fields.items() if k not in mine}
        newest = max((pair[1] for pair in fields.values()), default="")
        row = self.conn.execute("SELECT clocks FROM sync_conflict WHERE id = ?", (record_id,)).fetchone()
        clocks = json.loads(row[0]) if row else {}
        if self._reconcile:  # as for records: learn the server's clocks, keep what is newer here
            self._seen.setdefault((CONFLICT, record_id), {}).update({k: v[1] for k, v in fields.items()})
            fields = {k: v for k, v in fields.items() if clocks.get(k, "") <= v[1]}
        values = {k: (json.dumps(v[0]) if k in _JSON_COLUMNS else v[0]) for k, v in fields.items()}
        clocks.update({k: v[1] for k, v in fields.items()})
        if row is None:
            if "entity" not in values:
                return newest
            values = {**{c: None for c in _CONFLICT_COLUMNS}, **values}
            values["status"] = values["status"] or "open"
            self.conn.execute(
                f"INSERT INTO sync_conflict(id, clocks, {', '.join(_CONFLICT_COLUMNS)})"
                f" VALUES (?, ?, {', '.join('?' * len(_CONFLICT_COLUMNS))})",
                (record_id, json.dumps(clocks), *(values[c] for c in _CONFLICT_COLUMNS)),
            )
        elif values:
            self.conn.execute(
                f"UPDATE sync_conflict SET {', '.join(f'{c} = ?' for c in values)}, clocks = ? WHERE id = ?",
                (*values.values(), json.dumps(clocks), record_id),
            )
        return newest

    # -- who works in this data home --------------------------------------------------------
    def adopt(
        self,
        owners: set[str],
        team: str | None,
        to_owner: str,
        to_team: str | None,
        *,
        never_synced: bool = False,
    ) -> int:
        """Give the records of `owners` (or of nobody) in `team` (or in none) to `to_owner` and
        `to_team`, in one transaction. A record whose create is still in the outbox has that create
        (and any unsent owner/team edit) rewritten to the new scope, so it reaches the server inside
        the user's scope with no extra change; one already on a server gets an ordinary edit.
        Timeline entries (insert-only) are adopted only while unsent. `never_synced`: nothing of
        this home ever reached a server, so each record's first outbox entry is its create (one a
        bulk write made may leave an empty owner or team out). Returns the records adopted."""
        adopted = 0
        now = iso_utc(utc_now())
        with self.store.transaction():
            for entity in ENTITIES.values():
                if "owner" not in entity.by_name:
                    continue
                has_team = "team" in entity.by_name
                marks = ", ".join("?" * len(owners))
                where = f"(owner IS NULL OR owner = '' OR owner IN ({marks}))"
                params: list[Any] = sorted(owners)
                if has_team:
                    where += " AND (team IS NULL OR team = ''" + (" OR team = ?)" if team else ")")
                    params += [team] if team else []
                wanted = {"owner": to_owner, **({"team": to_team} if has_team else {})}
                rows = self.conn.execute(
                    f"SELECT id, owner{', team' if has_team else ''} FROM {entity.table} WHERE {where}",
                    params,
                ).fetchall()
                for row in rows:
                    changes = {k: v for k, v in wanted.items() if (row[k] or None) != v}
                    if not changes:
                        continue
                    clocks = self._rescope_outbox(row["id"], changes, never_synced)
                    if clocks:  # never sent: it reaches the server created in the new scope
                        self._rescope_row(entity, row["id"], changes, clocks, now)
                    elif entity.insert_only:
                        continue  # already on the server: an entry is never changed
                    else:
                        self.store.update(entity, row["id"], changes)  # an ordinary edit
                    adopted += 1
        return adopted

    def _rescope_outbox(
        self, record_id: str, changes: dict[str, Any], first_is_create: bool
    ) -> dict[str, str]:
        """Rewrite the record's unsent changes that set its owner or team (its create, an owner edit)
        to the new values, each at its own clock; a create that left team empty gets it at the
        create's clock. Returns the clock each changed field now has in the outbox ({}: the record
        has no unsent create or scope edit)."""
        rows = self.conn.execute(
            "SELECT seq, fields FROM outbox WHERE record_id = ? ORDER BY seq", (record_id,)
        ).fetchall()
        clocks: dict[str, str] = {}
        for number, (seq, text) in enumerate(rows):
            fields = codec.read_outbox_fields(text)
            if not fields or not (any(k in fields for k in changes) or (first_is_create and number == 0)):
                continue
            row_clock = next(iter(fields.values()))[1]
            touched = {k: [v, fields[k][1] if k in fields else row_clock] for k, v in changes.items()}
            writes.rewrite_outbox(self.conn, seq, codec.dumps({**fields, **touched}))
            clocks.update({k: pair[1] for k, pair in touched.items()})
        return clocks

    def _rescope_row(
        self, entity: Entity, record_id: str, changes: dict[str, Any], clocks: dict[str, str], now: str
    ) -> None:
        """The local row takes the new scope at the clocks its unsent changes now carry (no new
        outbox entry); the old values go to history (origin 'adopt')."""
        row = self.conn.execute(
            f"SELECT {self.store.row_columns(entity)} FROM {entity.table} WHERE id = ?", (record_id,)
        ).fetchone()
        current = read_clocks(self.conn, row["clocks"])
        history = [
            writes.HistoryEntry(
                entity.name,
                record_id,
                name,
                codec.dumps(row[name]),
                current.get(name),
                codec.dumps(value),
                clocks[name],
                "adopt",
                now,
            )
            for name, value in changes.items()
        ]
        assignments = {**changes, "clocks": codec.pack_clocks({**current, **clocks}), "updated_at": now}
        writes.write_update(self.conn, entity, record_id, assignments, history, None)

    def new_identity(self) -> str:
        """A new replica id (client id) for this data home, for another server user: a client id is
        bound to the user that first pushed with it. The server's acknowledgements and cursor belong
        to the old id, so everything is pulled again (a reset, which re-sends what the server lacks)."""
        replica = os.urandom(8).hex()
        with self.store.transaction():
            self.store.set_meta("replica_id", replica)
        self.store.replica_id = replica
        self.store.clock = Clock(replica, self.store.clock.last)
        self.reset_cursor()
        return replica

    # -- conflicts ---------------------------------------------------------------------------
    def conflicts(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        where = "" if include_resolved else " WHERE status = 'open'"
        rows = self.conn.execute(
            f"SELECT id, {', '.join(_CONFLICT_COLUMNS)} FROM sync_conflict{where} ORDER BY at, id"
        ).fetchall()
        result = []
        for row in rows:
            item = {"id": row[0], **{c: row[i + 1] for i, c in enumerate(_CONFLICT_COLUMNS)}}
            for column in _JSON_COLUMNS:
                item[column] = json.loads(item[column]) if item[column] is not None else None
            result.append(item)
        return result

    def find_conflict(self, ref: str) -> dict[str, Any]:
        text = ref.strip().lower()
        matches = [
            c
            for c in self.conflicts(include_resolved=True)
            if c["id"] == text or ids.handle_of(c["id"]).startswith(text)
        ]
        if not text or not matches:
            raise NotFoundError(f"no conflict matches {ref!r}; see 'sfa sync conflicts'")
        if len(matches) > 1:
            raise StateError(f"conflict ref {ref!r} is ambiguous; give more characters")
        return matches[0]

    def resolve(self, conflict: dict[str, Any], choice: str, value: Any = None) -> dict[str, Any]:
        """Settle a conflict: write the chosen value as a local edit and queue the resolution."""
        if conflict["status"] != "open":
            raise StateError(f"conflict {ids.handle_of(conflict['id'])} is already resolved")
        entity = ENTITIES.get(conflict["entity"])
        if entity is None or conflict["field"] not in entity.by_name:
            raise StateError(f"conflict on unknown field {conflict['entity']}.{conflict['field']}")
        spec = entity.by_name[conflict["field"]]
        if choice == "ours":
            problem = quarantine.value_problem(entity, spec.name, conflict["lost"])
            if problem is not None:
                raise StateError(
                    f"the set-aside value cannot be stored here ({spec.name}: {problem});"
                    " settle it with --theirs or --value"
                )
        now = iso_utc(utc_now())
        with self.store.transaction():
            record = self.store.find(entity, conflict["record_id"])
            if record is not None and choice != "theirs":
                chosen = codec.from_wire(spec, conflict["lost"]) if choice == "ours" else value
                self.store.update(entity, record["id"], {spec.name: chosen})
            clock = self.store.tick()
            fields = {"status": ["resolved", clock], "resolution": [choice, clock]}
            row = self.conn.execute(
                "SELECT clocks FROM sync_conflict WHERE id = ?", (conflict["id"],)
            ).fetchone()
            clocks = {**json.loads(row[0]), "status": clock, "resolution": clock}
            self.conn.execute(
                "UPDATE sync_conflict SET status = 'resolved', resolution = ?, clocks = ? WHERE id = ?",
                (choice, json.dumps(clocks), conflict["id"]),
            )
            writes.append_outbox(self.conn, CONFLICT, conflict["id"], codec.dumps(fields), now)
        return {**conflict, "status": "resolved", "resolution": choice}
