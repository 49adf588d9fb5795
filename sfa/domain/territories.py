"""Territories: rules that place accounts, a tree of territories (pure; docs/policy.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sfa.domain.errors import ValidationError

RULE_KINDS = ("postcode", "country", "industry", "city")
MEMBER_ROLES = ("owner", "overlay")
_RANGE = re.compile(r"^([0-9A-Za-z]+)\s*-\s*([0-9A-Za-z]+)$")


@dataclass(frozen=True)
class Rule:
    kind: str
    low: str
    high: str  # equal to low for a single value
    # Compared per account (20,000 in a preview): the folded bounds and their kind, once.
    folded_low: str = field(init=False, repr=False, compare=False)
    folded_high: str = field(init=False, repr=False, compare=False)
    numeric: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded_low", self.low.casefold())
        object.__setattr__(self, "folded_high", self.high.casefold())
        digits = self.low.isdigit() and self.high.isdigit() and len(self.low) == len(self.high)
        object.__setattr__(self, "numeric", digits)

    def matches(self, account: Mapping[str, Any]) -> bool:
        raw = account.get(self.kind)
        if not raw:
            return False
        value = str(raw).strip().casefold()
        if self.kind != "postcode":
            return value == self.folded_low
        if self.numeric and len(value) == len(self.low) and value.isdigit():
            return self.low <= value <= self.high  # digits of one length: text order is number order
        return self.folded_low <= value <= self.folded_high

    def text(self) -> str:
        return f"{self.kind} {self.low}" + (f"-{self.high}" if self.high != self.low else "")


def parse_rules(text: str | None) -> tuple[Rule, ...]:
    rules = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, value = line.partition(" ")
        kind, value = kind.lower(), value.strip()
        if kind not in RULE_KINDS or not value:
            raise ValidationError(
                "rules", f"line {number}: {line[:40]!r}; use {', '.join(RULE_KINDS)} followed by a value"
            )
        found = _RANGE.match(value) if kind == "postcode" else None
        low, high = (found[1], found[2]) if found else (value, value)
        rules.append(Rule(kind, low, high))
    return tuple(rules)


def parse_members(text: str | None) -> tuple[tuple[str, str], ...]:
    members = []
    for number, line in enumerate((text or "").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        role = parts[1].lower() if len(parts) > 1 else "owner"
        if len(parts) > 2 or role not in MEMBER_ROLES:
            raise ValidationError("members", f"line {number}: {line[:40]!r}; use USER owner or USER overlay")
        members.append((parts[0], role))
    return tuple(members)


def owner_of(members_text: str | None) -> str | None:
    """The territory's owner member (the first), who new accounts of it go to."""
    return next((user for user, role in parse_members(members_text) if role == "owner"), None)


def depth_of(name: str, parents: Mapping[str, str | None]) -> int:
    depth, seen = 0, {name}
    current = parents.get(name)
    while current is not None and current not in seen:
        seen.add(current)
        depth += 1
        current = parents.get(current)
    return depth


def subtree(name: str, parents: Mapping[str, str | None]) -> set[str]:
    """`name` and every territory under it."""
    found = {name}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in found and child not in found:
                found.add(child)
                changed = True
    return found


def check_parent(name: str, parent: str | None, parents: Mapping[str, str | None]) -> None:
    if parent is None:
        return
    if parent not in parents:
        raise ValidationError("parent", f"no territory named {parent!r}")
    if parent == name or name in _ancestors(parent, parents):
        raise ValidationError("parent", f"{parent!r} is {name!r} or under it: the tree would have a loop")


def _ancestors(name: str, parents: Mapping[str, str | None]) -> set[str]:
    found: set[str] = set()
    current = parents.get(name)
    while current is not None and current not in found:
        found.add(current)
        current = parents.get(current)
    return found


@dataclass(frozen=True)
class Candidate:
    name: str
    rules: tuple[Rule, ...]
    priority: int
    depth: int


def best_match(account: Mapping[str, Any], candidates: Iterable[Candidate]) -> Candidate | None:
    """The matching territory with the highest priority, then the deepest, then by name."""
    best: Candidate | None = None
    for candidate in candidates:
        if not any(rule.matches(account) for rule in candidate.rules):
            continue
        if best is None or (candidate.priority, candidate.depth, best.name) > (
            best.priority,
            best.depth,
            candidate.name,
        ):
            best = candidate
    return best


def scope_teams(
    user: str, team: str | None, territories: Iterable[tuple[str, str | None, str | None]]
) -> frozenset[str]:
    """The teams a manager's scope covers (docs/policy.md, "A manager's scope"): their team and,
    when territories are defined, the subtree of their team's territory and of every territory
    naming them as its manager. `territories`: (name, parent, manager) of every live territory.
    Without territories (or for a team that is none) this is today's exact team match."""
    parents: dict[str, str | None] = {}
    roots: set[str] = {team} if team else set()
    for name, parent, manager in territories:
        parents[name] = parent or None
        if manager and manager == user:
            roots.add(name)
    found: set[str] = set(roots)
    for root in roots:
        if root in parents:
            found |= subtree(root, parents)
    return frozenset(found)
