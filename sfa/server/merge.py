"""Pure rules of the server: validating a mutation, merging it field by field, scope.

No I/O here; sfa/server/app.py loads and stores. The rules are described in docs/sync-protocol.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import ValidationError
from sfa.domain.hlc import Hlc
from sfa.protocol import (
    CLOCK_SKEW_MS,
    CONFLICT,
    CONFLICT_FIELDS,
    CONFLICT_WRITABLE,
    SERVER_REPLICA,
    Fields,
    Mutation,
    clock_problem,
)

ROLES = ("rep", "manager", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    team: str | None


class Invalid(Exception):
    """A mutation that can never be applied; the reason is shown to the rep."""


def now_ms() -> int:
    return int(time.time() * 1000)


def check_clock(text: object, where: str) -> str:
    problem = clock_problem(text)
    if problem is not None:
        raise Invalid(f"{where}: {problem}")
    assert isinstance(text, str)
    return text


def check_value(entity: Entity, name: str, value: Any) -> Any:
    """The value if it has the field's kind (sfa/domain/fields.py); Invalid otherwise."""
    try:
        return entity.by_name[name].type.check_wire(entity.by_name[name], value)
    except ValidationError as exc:
        raise Invalid(str(exc)) from None


def validate(mutation: Mutation, exists: bool) -> None:
    """Raise Invalid with the reason if the mutation can never be applied. Its wire form was checked
    by `Mutation.parse` (sfa/protocol.py); here: the entity, its fields and their values."""
    if mutation.problem is not None:
        raise Invalid(mutation.problem)
    if mutation.entity not in ENTITIES and mutation.entity != CONFLICT:
        raise Invalid(f"unknown record type {mutation.entity[:40]!r}")
    if mutation.entity == CONFLICT:
        if not exists:
            raise Invalid("no such conflict")
        for name, pair in mutation.fields.items():
            if name not in CONFLICT_WRITABLE:
                raise Invalid(f"{name}: a conflict's {name} cannot be changed")
            _pair(name, pair)
        return
    entity = ENTITIES[mutation.entity]
    clean: Fields = {}
    for name, pair in mutation.fields.items():
        if name not in entity.by_name:
            raise Invalid(f"{name}: {entity.name} has no such field")
        value, clock = _pair(name, pair)
        clean[name] = [check_value(entity, name, value), clock]
        if value is None and entity.by_name[name].required:
            raise Invalid(f"{name}: is required and cannot be empty")
    if not exists:
        missing = [f.name for f in entity.fields if f.required and clean.get(f.name, [None])[0] is None]
        if missing:
            raise Invalid(f"{missing[0]}: is required")
    elif entity.insert_only:
        raise Invalid(f"{entity.name} entries are insert-only and cannot be changed")
    mutation.fields = clean


def _pair(name: str, pair: list[Any]) -> tuple[Any, str]:
    return pair[0], check_clock(pair[1], name)  # the shape was checked by Mutation.parse


# -- clocks --------------------------------------------------------------------------------------


def skew_of(client_now: int | None, now: int) -> int:
    """How far the pushing laptop's clock is ahead of the server's, when that is beyond the allowance."""
    if client_now is None or client_now - now <= CLOCK_SKEW_MS:
        return 0
    return client_now - now


def clamp(clock: str, now: int, skew: int = 0) -> str:
    """Correct a clock by the laptop's measured skew; never let one lie ahead of the server's now."""
    parsed = Hlc.decode(clock)
    ms = parsed.ms - skew
    if ms > now + CLOCK_SKEW_MS:
        ms = now
    if ms == parsed.ms:
        return clock
    return Hlc(max(ms, 0), parsed.counter, parsed.replica).encode()


def server_tick(now: int, *clocks: str) -> str:
    """A server clock greater than every given clock."""
    parsed = [Hlc.decode(c) for c in clocks if c]
    top = max([now, *(p.ms for p in parsed)])
    counters = [p.counter for p in parsed if p.ms == top]
    return Hlc(top, (max(counters) + 1) if counters else 0, SERVER_REPLICA).encode()


# -- merging -------------------------------------------------------------------------------------


@dataclass
class Merge:
    state: Fields  # the record's fields after the mutation
    changed: Fields  # what to log and send to replicas
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    flagged: bool = False


def merge(
    entity_name: str,
    record_id: str,
    current: Fields | None,
    incoming: Fields,
    base: dict[str, str],
    known: dict[str, str] | None,
    now: int,
    skew: int = 0,
) -> Merge:
    """Apply one validated mutation to a record's fields (see docs/sync-protocol.md)."""
    entity = ENTITIES.get(entity_name)
    state: Fields = {k: list(v) for k, v in (current or {}).items()}
    incoming = {k: [v, clamp(c, now, skew)] for k, (v, c) in incoming.items()}
    result = Merge(state, {})
    if entity_name == CONFLICT:  # settling a conflict never makes another one
        base = {name: pair[1] for name, pair in state.items()}
    has_deleted = entity is not None and "deleted" in entity.by_name

    def conflict(name: str, kind: str, kept: list[Any], lost: list[Any]) -> None:
        result.conflicts.append(
            {
                "entity": entity_name,
                "record_id": record_id,
                "field": name,
                "kind": kind,
                "kept": kept[0],
                "kept_clock": kept[1],
                "lost": lost[0],
                "lost_clock": lost[1],
                "lost_by": Hlc.decode(lost[1]).replica if lost[1] else "",
                "status": "open",
                "resolution": None,
            }
        )

    if has_deleted and current is not None:
        server_deleted = state.get("deleted", [False, ""])
        if server_deleted[0] is True and "deleted" not in incoming:
            # An edit of a record that was deleted meanwhile: the edit wins, the record lives.
            alive = [False, server_tick(now, server_deleted[1], *(c for _, c in incoming.values()))]
            state["deleted"] = result.changed["deleted"] = alive
            conflict("deleted", "delete", alive, server_deleted)
        elif incoming.get("deleted", [False])[0] is True and server_deleted[0] is not True:
            seen = known or {}
            raced = [n for n, (_, c) in state.items() if n != "deleted" and c > seen.get(n, "")]
            if raced:
                lost = incoming.pop("deleted")
                alive = [False, server_tick(now, lost[1], *(c for _, c in state.values()))]
                state["deleted"] = result.changed["deleted"] = alive
                conflict("deleted", "delete", alive, lost)

    for name, (value, clock) in incoming.items():
        if name not in state:
            state[name] = result.changed[name] = [value, clock]
            continue
        server_value, server_clock = state[name]
        if server_value == value:
            if clock > server_clock:
                state[name] = result.changed[name] = [value, clock]
            continue
        if base.get(name) == server_clock:  # the writer had seen the server's value
            if clock <= server_clock:
                clock = server_tick(now, server_clock)
            state[name] = result.changed[name] = [value, clock]
            continue
        policy = entity.by_name[name].merge if entity is not None else "lww"
        if policy == "union":
            merged = sorted(set(server_value or []) | set(value or []))
            state[name] = result.changed[name] = [merged, max(clock, server_clock)]
        elif policy == "flag":
            result.changed[name] = [server_value, server_clock]
            result.flagged = True
            conflict(name, "flag", [server_value, server_clock], [value, clock])
        elif clock > server_clock:
            state[name] = result.changed[name] = [value, clock]
            conflict(name, "lww", [value, clock], [server_value, server_clock])
        else:
            result.changed[name] = [server_value, server_clock]
            conflict(name, "lww", [server_value, server_clock], [value, clock])
    return result


def conflict_fields(data: dict[str, Any], now: int, at: str) -> Fields:
    clock = server_tick(now)
    values = {**data, "at": at}
    return {name: [values.get(name), clock] for name in CONFLICT_FIELDS}


# -- scope ---------------------------------------------------------------------------------------


def parent_of(entity_name: str, state: Fields) -> str | None:
    """The record whose scope a record without owner/team takes."""
    key = {
        "timeline": "record_id",
        "quote_line": "quote_id",
        "stage_change": "opportunity_id",
        CONFLICT: "record_id",
    }.get(entity_name)
    if key is None or key not in state:
        return None
    value = state[key][0]
    return value if isinstance(value, str) else None


def own_scope(entity_name: str, state: Fields) -> tuple[str | None, str | None] | None:
    """(owner, team) from the record itself, or None when it comes from its parent."""
    entity = ENTITIES.get(entity_name)
    if entity is None or entity_name in ("timeline", "quote_line", "stage_change"):
        return None
    if "owner" in entity.by_name and "team" in entity.by_name:
        owner = state.get("owner", [None])[0]
        team = state.get("team", [None])[0]
        return owner or None, team or None
    return None, None


def visible(user: User, owner: str | None, team: str | None) -> bool:
    if user.role == "admin":
        return True
    if owner is None and team is None:
        return True
    return owner == user.name or (team is not None and team == user.team)


def may_write(
    user: User, before: tuple[str | None, str | None] | None, after: tuple[str | None, str | None]
) -> str | None:
    """None if allowed, else the reason."""
    if user.role == "admin":
        return None
    if before is not None and not visible(user, *before):
        return "the record is outside your scope (owner/team)"
    if not visible(user, *after) and (before is None or user.role != "manager"):
        return "the change would move the record outside your scope (owner/team)"
    return None
