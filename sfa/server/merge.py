"""Pure rules of the server: validating a mutation, merging it field by field, scope.

No I/O here; sfa/server/app.py loads and stores. The rules are described in docs/sync-protocol.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sfa.domain import contracts as contract_rules
from sfa.domain import orders as order_rules
from sfa.domain.entities import ENTITIES
from sfa.domain.hlc import Hlc
from sfa.domain.scope import PRIVATE
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
from sfa.server import wire
from sfa.server.wire import Invalid

__all__ = ["Invalid"]

ROLES = ("rep", "manager", "admin", "erp")  # erp: the ERP hand-off only (sfa/server/erp.py)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    team: str | None
    # A manager's other teams: the rest of their territory's subtree (sfa/server/scope.py).
    teams: frozenset[str] = frozenset()

    def in_team(self, team: str | None) -> bool:
        """`team` is the user's team, or for a manager one under their territory."""
        return team is not None and (team == self.team or team in self.teams)


def now_ms() -> int:
    return int(time.time() * 1000)


def check_clock(text: object, where: str) -> str:
    problem = clock_problem(text)
    if problem is not None:
        raise Invalid(f"{where}: {problem}")
    assert isinstance(text, str)
    return text


def validate(mutation: Mutation, exists: bool, current: Fields | None = None) -> None:
    """Raise Invalid with the reason if the mutation can never be applied. Its wire form was checked
    by `Mutation.parse` (sfa/protocol.py); here: the entity, its fields and their values, held to what
    every laptop can store (sfa/server/wire.py). `current`: the stored fields of an existing record."""
    if mutation.problem is not None:
        raise Invalid(mutation.problem)
    if mutation.entity not in ENTITIES and mutation.entity != CONFLICT:
        raise Invalid(f"unknown record type {wire.shown(mutation.entity)}")
    if mutation.entity == CONFLICT:
        if not exists:
            wire.check_lost_conflict(mutation.fields)  # a laptop re-sends one a restore lost
            for name, pair in mutation.fields.items():
                check_clock(pair[1], name)
            return
        for name, pair in list(mutation.fields.items()):
            if name not in CONFLICT_WRITABLE:
                if current is not None and name in current and current[name][0] == pair[0]:
                    del mutation.fields[name]  # a re-send of what the server holds: nothing to change
                    continue
                raise Invalid(f"{wire.safe_text(name[:40])}: a conflict's {name[:40]} cannot be changed")
            wire.check_conflict_value(name, pair[0])
            check_clock(pair[1], name)
        return
    entity = ENTITIES[mutation.entity]
    clean: Fields = {}
    for name, pair in mutation.fields.items():
        if name not in entity.by_name:
            raise Invalid(f"{wire.safe_text(name[:40])}: {entity.name} has no such field")
        clean[name] = [wire.check_value(entity, name, pair[0]), check_clock(pair[1], name)]
    if not exists:
        missing = wire.missing_on_create(entity, {k: v[0] for k, v in clean.items()})
        if missing:
            raise Invalid(f"{missing}: is required")
    elif entity.insert_only:
        raise Invalid(f"{entity.name} entries are insert-only and cannot be changed")
    mutation.fields = clean


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


# Line records take the scope of the document they belong to: line entity -> its parent's id field.
LINE_PARENTS = {"quote_line": "quote_id", "order_line": "order_id", "contract_line": "contract_id"}


def parent_of(entity_name: str, state: Fields) -> str | None:
    """The record whose scope a record without owner/team takes."""
    key = {
        "timeline": "record_id",
        "stage_change": "opportunity_id",
        "document": "record_id",  # a document belongs to its record, whatever owner/team it says
        CONFLICT: "record_id",
        **LINE_PARENTS,
    }.get(entity_name)
    if key is None or key not in state:
        return None
    value = state[key][0]
    return value if isinstance(value, str) else None


def own_scope(entity_name: str, state: Fields) -> tuple[str | None, str | None] | None:
    """(owner, team) from the record itself, or None when it comes from its parent."""
    entity = ENTITIES.get(entity_name)
    if (
        entity is None
        or entity_name in ("timeline", "stage_change", "document")
        or entity_name in LINE_PARENTS
    ):
        return None
    if "owner" in entity.by_name and "team" in entity.by_name:
        owner = state.get("owner", [None])[0]
        team = state.get("team", [None])[0]
        return owner or None, team or None
    return None, None


def visible(user: User, owner: str | None, team: str | None, entity: str | None = None) -> bool:
    """The rule of sfa/domain/scope.py `visible`, for a server user (a test holds the two equal)."""
    if user.role == "admin":
        return True
    if entity in PRIVATE and user.role == "rep":
        return owner == user.name
    if owner is None and team is None:
        return True
    return owner == user.name or user.in_team(team)


def may_write(
    user: User,
    before: tuple[str | None, str | None] | None,
    after: tuple[str | None, str | None],
    team_of: Callable[[str], str | None] | None = None,
    change: RecordChange | None = None,
) -> str | None:
    """None if `user` may write a record whose scope goes from `before` (None: a create) to `after`,
    else the reason. Everyone writes only what they see. A manager may give a record any scope; a
    rep's records stay in the rep's team: a rep cannot move one to another team (nor out of its
    team to no team), give it to a server user of another team (`team_of` names a user's team, None
    for a name that is no server user: the record stays in the team, so that is allowed), or make
    it unscoped (visible to every team). Records unscoped by nature (products) are checked with
    `team_of` None: no move check applies. `change`: what the write does to the record's fields,
    for the rules of documents past their draft (orders, contracts, approvals)."""
    if change is not None:
        problem = document_problem(user, change)
        if problem is not None:
            return problem
    if user.role == "admin":
        return None
    if before is not None and not visible(user, *before):
        return "the record is outside your scope (owner/team)"
    if not visible(user, *after) and (before is None or user.role != "manager"):
        return "the change would move the record outside your scope (owner/team)"
    if user.role == "manager" or team_of is None or after == before:
        return None
    owner, team = after
    old_owner, old_team = before if before is not None else (None, None)
    if owner is None and team is None:
        return "owner/team: only a manager can make a record visible to every team"
    if team != old_team and team != user.team:  # a create keeps no team, or takes the rep's
        return f"team: only a manager can move a record to team {team!r}"
    if owner is not None and owner not in (user.name, old_owner):
        owner_team = team_of(owner)  # None: not a server user (yet); the record stays in the team
        if owner_team is not None and (user.team is None or (owner_team or None) != user.team):
            return f"owner: {owner!r} is not in your team; only a manager can hand a record to another team"
    return None


# -- documents past their draft (orders; docs/orders.md) ------------------------------------------


@dataclass(frozen=True)
class RecordChange:
    """What a pushed mutation does to a record: the record's stored fields (None: new), the pushed
    fields, and for a line the stored fields of its parent document."""

    entity: str
    current: Fields | None
    incoming: Fields
    parent: Fields | None = None


def _values(fields: Fields | None) -> dict[str, Any]:
    return {name: pair[0] for name, pair in (fields or {}).items()}


def parent_ref(entity_name: str, incoming: Fields, current: Fields | None) -> tuple[str, str] | None:
    """(entity, id) of the record whose stored fields the document rules need: a line's document,
    the record an approval is about."""

    def value(name: str) -> Any:
        pair = incoming.get(name) or (current or {}).get(name) or [None]
        return pair[0]

    if entity_name not in _DOCUMENTS:
        return None  # no rule needs it: no query
    key = LINE_PARENTS.get(entity_name)
    if key is not None:
        parent_id = value(key)
        return (key.removesuffix("_id"), parent_id) if isinstance(parent_id, str) else None
    if entity_name == "approval":
        entity, record_id = value("entity"), value("record_id")
        if isinstance(entity, str) and isinstance(record_id, str):
            return entity, record_id
    return None


def is_approver(user: User, team: object) -> bool:
    """A manager of the record's team, or an admin."""
    return user.role == "admin" or (user.role == "manager" and isinstance(team, str) and user.in_team(team))


_DOCUMENTS = ("order", "order_line", "contract", "contract_line", "approval")


def document_problem(user: User, change: RecordChange) -> str | None:
    """Why this push may not change an order, a contract, one of their lines, or write an approval
    (docs/orders.md, docs/contracts.md), or None. Orders: locked after submit, the ERP's fields and
    statuses are the ERP's (it writes through its own endpoints, never through push). Contracts: only
    drafts are edited; release and reject are a manager's of the team or an admin's; an activated
    contract changes only by termination and the renewal link."""
    if change.entity not in _DOCUMENTS:
        return None
    current = _values(change.current)
    incoming = {name: pair[0] for name, pair in change.incoming.items()}
    changed = {name: value for name, value in incoming.items() if current.get(name, None) != value}
    if change.current is None:
        changed = {name: value for name, value in incoming.items() if value is not None}
    if not changed:
        return None
    parent = _values(change.parent) if change.parent is not None else None
    if change.entity == "approval":
        team = (parent or {}).get("team", incoming.get("team"))
        return contract_rules.approval_problem(incoming.get("action"), is_approver(user, team))
    line = change.entity.endswith("_line")
    state = parent if line else (current if change.current is not None else None)
    if change.entity.startswith("order"):
        return order_rules.rep_change_problem(state, changed, line=line)
    team = (state or {}).get("team", incoming.get("team"))
    return contract_rules.change_problem(state, changed, approver=is_approver(user, team), line=line)
