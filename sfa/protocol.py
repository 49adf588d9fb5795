"""The sync wire protocol, version 1 (docs/sync-protocol.md): constants, the push and pull messages and
their results as typed classes with their own validation, and the one retry policy.

Used by the client (sfa/sync/engine.py, sfa/store/replica.py), the server (sfa/server/app.py, which
publishes these classes as its OpenAPI schemas) and the tests. Plain dataclasses and hand validation:
this module is on the laptop's sync path and imports nothing beyond the standard library and
sfa.domain.hlc (no pydantic).

Two kinds of bad input, as the protocol document says:
- `ProtocolError`: the request itself is malformed (envelope, a mutation's seq, a pull parameter);
  the server answers 400 naming the field, nothing is applied.
- a mutation that is well framed (it has its seq) but whose content is malformed: `Mutation.problem`
  says why; the server rejects that mutation alone (`status: rejected`) and the batch goes on.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, TypeGuard

PROTOCOL = 1
MAX_BATCH = 500  # mutations per push
DEFAULT_PAGE = 1000  # changes per pull page
MAX_PAGE = 5000
MAX_BODY = 32 * 1024 * 1024  # uncompressed request body limit
GZIP_MIN = 1024  # bodies at least this large are gzip-compressed
CLOCK_SKEW_MS = 60_000  # clocks further ahead of the server than this are clamped
CONFLICT = "_conflict"  # pseudo-entity holding conflicts; synced like records
CONFLICT_FIELDS = (
    "entity",
    "record_id",
    "field",
    "kind",
    "kept",
    "kept_clock",
    "lost",
    "lost_clock",
    "lost_by",
    "status",
    "resolution",
    "at",
)
CONFLICT_WRITABLE = ("status", "resolution")
SERVER_REPLICA = "server"
MAX_CLIENT_ID = 64
MAX_EPOCH = 64
# Seqs (a laptop's outbox seq, the server's change-log seq, cursors) fit a signed 32-bit column: the
# server's PostgreSQL tables keep them in `integer` columns.
MAX_SEQ = 2**31 - 1
# A laptop's clock in milliseconds fits the 16 digits of the clock's fixed-width form.
MAX_MS = 10**16 - 1

Status = Literal["applied", "conflict", "rejected"]
STATUSES: tuple[Status, ...] = ("applied", "conflict", "rejected")
Fields = dict[str, list[Any]]  # field -> [wire value, clock]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The fixed-width clock form (sfa/domain/hlc.py): string order is clock order only in this form.
_CLOCK = re.compile(r"^[0-9]{16}:[0-9]{5}:[0-9A-Za-z_-]{1,64}$")
# A client id is a replica id (16 hex digits today); ASCII letters, digits, `_`, `-`, `.` and `:`.
CLIENT_ID_PATTERN = r"^[0-9A-Za-z_.:-]{1,64}$"
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)


class ProtocolError(ValueError):
    """A malformed request or reply; the message names the field (`where: what is wrong`)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


# -- value checks ----------------------------------------------------------------------------------


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer (bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_uuid(text: object) -> bool:
    return isinstance(text, str) and bool(_UUID.match(text))


def clock_problem(text: object) -> str | None:
    """None if `text` is a clock of the wire form, else why not."""
    if not isinstance(text, str) or len(text) > 100:
        return "not a clock"
    if not _CLOCK.fullmatch(text):  # `re.$` would let a trailing newline through
        return f"not a clock of the form 0001763875469123:00000:replica: {text[:40]!r}"
    return None


def _int(
    raw: Mapping[str, Any], name: str, *, default: int | None = None, low: int = 0, high: int = MAX_SEQ
) -> int:
    value = raw.get(name, default)
    if not is_int(value) or not low <= value <= high:
        raise ProtocolError(name, f"must be an integer from {low} to {high}")
    return int(value)


def _list(raw: Mapping[str, Any], name: str) -> list[Any]:
    value = raw.get(name)
    if not isinstance(value, list):
        raise ProtocolError(name, "must be a list")
    return value


def _object(raw: object, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ProtocolError(where, "must be a JSON object")
    return raw


def client_id_problem(value: object) -> str | None:
    """None if `value` is a client id of the wire form, else why not."""
    if not isinstance(value, str) or not _CLIENT_ID.fullmatch(value):
        return f"must be 1 to {MAX_CLIENT_ID} ASCII letters, digits, '_', '-', '.' or ':'"
    return None


def _client_id(value: object, where: str = "client_id") -> str:
    problem = client_id_problem(value)
    if problem is not None:
        raise ProtocolError(where, problem)
    assert isinstance(value, str)
    return value


# -- push ------------------------------------------------------------------------------------------


@dataclass
class Mutation:
    """One outbox row as sent: `fields` is `{field: [wire value, clock]}`, one clock per row.

    `base`: the clock each field had on the replica before this write (a sequential edit when it
    equals the server's clock). `known` (deletes only): every field clock the deleter knew.
    """

    seq: int
    entity: str
    id: str
    fields: Fields
    base: dict[str, str] = field(default_factory=dict)
    known: dict[str, str] | None = None
    # Set by `parse` when the content is malformed: the server rejects the mutation with this reason.
    problem: str | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "entity": self.entity, "id": self.id, "fields": self.fields}
        if self.base:
            out["base"] = self.base
        if self.known is not None:
            out["known"] = self.known
        return out

    @classmethod
    def parse(cls, raw: object, previous_seq: int = 0, where: str = "mutation") -> Mutation:
        """A mutation from JSON. No object or a seq not above `previous_seq` makes the whole request
        malformed (ProtocolError); any other defect is kept in `problem`."""
        item = _object(raw, where)
        seq = item.get("seq")
        if not is_int(seq) or seq <= previous_seq or seq > MAX_SEQ:
            raise ProtocolError(
                f"{where}.seq", f"must be an integer up to {MAX_SEQ}, increasing within the batch"
            )
        entity, record_id, fields = item.get("entity"), item.get("id"), item.get("fields")
        base, known = item.get("base", {}), item.get("known")
        base = {} if base is None else base
        mutation = cls(
            int(seq),
            entity if isinstance(entity, str) else "",
            record_id if isinstance(record_id, str) else "",
            fields if isinstance(fields, dict) else {},
            base if isinstance(base, dict) else {},
            known if isinstance(known, dict) else None,
        )
        if not isinstance(entity, str) or not entity:
            mutation.problem = f"unknown record type {str(entity)[:40]!r}"
        elif not is_uuid(record_id):
            mutation.problem = f"id {str(record_id)[:40]!r} is not a UUID"
        elif not isinstance(fields, dict) or not fields:
            mutation.problem = "fields must be a non-empty object"
        elif not isinstance(base, dict) or (known is not None and not isinstance(known, dict)):
            mutation.problem = "base and known must be objects"
        else:
            mutation.problem = _fields_problem(fields) or _clocks_problem({**base, **(known or {})})
        return mutation


def _fields_problem(fields: Mapping[str, Any]) -> str | None:
    for name, pair in fields.items():
        if not isinstance(pair, list) or len(pair) != 2:
            return f"{name}: expected [value, clock]"
        problem = clock_problem(pair[1])
        if problem is not None:
            return f"{name}: {problem}"
    return None


def _clocks_problem(clocks: Mapping[str, Any]) -> str | None:
    for name, clock in clocks.items():
        problem = clock_problem(clock)
        if problem is not None:
            return f"base of {name}: {problem}"
    return None


@dataclass
class PushRequest:
    """`POST /v1/push`. `acked`: the highest seq this laptop has had acknowledged; `now`: the laptop's
    clock in ms (max of wall clock and last clock issued), used to measure its skew."""

    client_id: str
    mutations: list[Mutation]
    acked: int = 0
    now: int | None = None
    cursor: int | None = None  # the laptop's committed pull cursor (see "Own changes" in the doc)
    protocol: int = PROTOCOL

    def to_json(self) -> dict[str, Any]:
        out = {
            "protocol": self.protocol,
            "client_id": self.client_id,
            "acked": self.acked,
            "now": self.now,
            "mutations": [m.to_json() for m in self.mutations],
        }
        if self.cursor is not None:
            out["cursor"] = self.cursor
        return out

    @classmethod
    def parse(cls, raw: object) -> PushRequest:
        body = _object(raw, "body")
        if body.get("protocol") != PROTOCOL or not is_int(body.get("protocol")):
            raise ProtocolError("protocol", f"must be {PROTOCOL}")
        client_id = _client_id(body.get("client_id"))
        items = _list(body, "mutations")
        if len(items) > MAX_BATCH:
            raise ProtocolError("mutations", f"at most {MAX_BATCH} mutations per push")
        mutations: list[Mutation] = []
        previous = 0
        for n, item in enumerate(items):
            mutation = Mutation.parse(item, previous, f"mutations[{n}]")
            mutations.append(mutation)
            previous = mutation.seq
        acked = _int(body, "acked", default=0)
        now = body.get("now")
        if now is not None and (not is_int(now) or not 0 <= now <= MAX_MS):
            raise ProtocolError("now", "must be the laptop's clock in milliseconds")
        cursor = _int(body, "cursor") if body.get("cursor") is not None else None
        return cls(client_id, mutations, acked, now, cursor)


@dataclass
class PushResult:
    """The server's answer to one mutation. `conflicts`: ids of the `_conflict` records it made;
    `duplicate`: a retried mutation of an older batch; `reason`: why it was rejected."""

    seq: int
    status: Status
    conflicts: list[str] = field(default_factory=list)
    reason: str | None = None
    duplicate: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "status": self.status}
        if self.conflicts:
            out["conflicts"] = self.conflicts
        if self.reason is not None:
            out["reason"] = self.reason
        if self.duplicate:
            out["duplicate"] = True
        return out

    @classmethod
    def parse(cls, raw: object, where: str = "result") -> PushResult:
        item = _object(raw, where)
        seq, status = item.get("seq"), item.get("status")
        if not is_int(seq):
            raise ProtocolError(f"{where}.seq", "must be an integer")
        if status not in STATUSES:
            raise ProtocolError(f"{where}.status", f"must be one of {', '.join(STATUSES)}")
        conflicts = item.get("conflicts") or []
        if not isinstance(conflicts, list) or not all(isinstance(c, str) for c in conflicts):
            raise ProtocolError(f"{where}.conflicts", "must be a list of ids")
        reason = item.get("reason")
        return cls(
            int(seq),
            status,
            list(conflicts),
            None if reason is None else str(reason),
            item.get("duplicate") is True,
        )


@dataclass
class PushResponse:
    epoch: str
    last_seq: int
    results: list[PushResult]

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "last_seq": self.last_seq,
            "results": [r.to_json() for r in self.results],
        }

    @classmethod
    def parse(cls, raw: object) -> PushResponse:
        body = _object(raw, "push reply")
        items = _list(body, "results")
        return cls(
            str(body.get("epoch", "")),
            _int(body, "last_seq", default=0),
            [PushResult.parse(r, f"results[{n}]") for n, r in enumerate(items)],
        )


# -- pull ------------------------------------------------------------------------------------------


@dataclass
class PullRequest:
    """`GET /v1/pull` query parameters."""

    cursor: int = 0
    limit: int = DEFAULT_PAGE
    epoch: str | None = None
    client_id: str | None = None
    # True while a laptop re-pulls everything after a reset: its own changes are sent too, so it
    # learns every clock the (restored) server holds (docs/sync-protocol.md, "Restore").
    own: bool = False

    def to_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"cursor": self.cursor, "limit": self.limit}
        if self.client_id:
            params["client_id"] = self.client_id
        if self.epoch:
            params["epoch"] = self.epoch
        if self.own:
            params["own"] = 1
        return params

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PullRequest:
        """From query parameters (strings) or JSON values."""
        values: dict[str, Any] = {}
        for name in ("cursor", "limit"):
            text = raw.get(name)
            if text is None:
                continue
            if isinstance(text, str):
                if not text.isascii() or not text.isdigit() or len(text) > 19:
                    raise ProtocolError(name, "must be a non-negative integer")
                text = int(text)
            values[name] = text
        cursor = _int(values, "cursor", default=0)
        limit = _int(values, "limit", default=DEFAULT_PAGE, low=1)
        if limit > MAX_PAGE:
            raise ProtocolError("limit", f"must be 1 to {MAX_PAGE}")
        epoch = raw.get("epoch")
        if epoch is not None and (not isinstance(epoch, str) or len(epoch) > MAX_EPOCH):
            raise ProtocolError("epoch", f"must be a string of at most {MAX_EPOCH} characters")
        client_id = raw.get("client_id")
        own = raw.get("own", False)
        if own not in (False, True, 0, 1, "0", "1"):
            raise ProtocolError("own", "must be 0 or 1")
        return cls(
            cursor, limit, epoch or None, _client_id(client_id) if client_id else None, own in (True, 1, "1")
        )


class Change(TypedDict, total=False):
    """One pulled change: `fields` as applied on the server (value and clock of every touched field,
    the full record when it enters the user's scope), or `remove: true` when it leaves the scope.
    A TypedDict, so that a page of thousands is checked but not copied."""

    seq: int
    entity: str
    id: str
    fields: Fields
    remove: bool


@dataclass
class PullResponse:
    epoch: str
    cursor: int
    head: int
    more: bool
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "cursor": self.cursor,
            "head": self.head,
            "more": self.more,
            "changes": self.changes,
        }

    @classmethod
    def parse(cls, raw: object) -> PullResponse:
        body = _object(raw, "pull reply")
        changes = _list(body, "changes")
        for n, change in enumerate(changes):
            problem = _change_problem(change)
            if problem is not None:
                raise ProtocolError(f"changes[{n}]", problem)
        cursor = _int(body, "cursor")
        more = body.get("more", False)
        if not isinstance(more, bool):
            raise ProtocolError("more", "must be true or false")
        return cls(str(body.get("epoch", "")), cursor, _int(body, "head", default=cursor), more, changes)


def _change_problem(change: object) -> str | None:
    if not isinstance(change, dict):
        return "must be a JSON object"
    if not is_int(change.get("seq")):
        return "seq must be an integer"
    if not isinstance(change.get("entity"), str) or not isinstance(change.get("id"), str):
        return "entity and id must be strings"
    if change.get("remove") is True:
        return None
    fields = change.get("fields")
    if not isinstance(fields, dict):
        return "fields must be an object"
    # Shape only (a page holds thousands of values): the server checked every clock when it took them.
    for name, pair in fields.items():
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):
            return f"fields.{name}: expected [value, clock]"
    return None


# -- small replies ---------------------------------------------------------------------------------


@dataclass
class Health:
    ok: bool
    protocol: int
    epoch: str


@dataclass
class Me:
    user: str
    role: str
    team: str | None
    # A manager's other teams: the rest of their territory's subtree, which they see too.
    teams: list[str] = field(default_factory=list)


@dataclass
class ErrorReply:
    """Every 4xx: one line naming what is wrong. `reset` (409 only): "epoch", "ahead", "behind" or "compacted"."""

    error: str
    reset: Literal["epoch", "ahead", "behind", "compacted"] | None = None


# -- retries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How a request that failed in transport (or with a 5xx) is tried again: `retries` more times,
    waiting first, first·factor, first·factor² … seconds (at most `cap`), each ±`jitter`."""

    retries: int = 3
    first: float = 0.5
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.25

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """The wait before retry number `retry` (0 for the first retry)."""
        base = min(self.cap, self.first * self.factor**retry)
        return base * (rng or random).uniform(1 - self.jitter, 1 + self.jitter)


RETRY = RetryPolicy()  # one `sfa sync`: 0.5 s, 1 s, 2 s (±25 %), then exit code 3
# `sfa sync --watch` while the server is away: a round after 1, 2, 4 … s (±25 %), capped at the interval.
WATCH_BACKOFF = RetryPolicy(retries=0, first=1.0)
