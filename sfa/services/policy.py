"""The sales policy: the use cases behind `sfa policy ...` (docs/policy.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sfa.domain import policy as rules
from sfa.domain.entities import OPPORTUNITY, POLICY
from sfa.domain.errors import ValidationError
from sfa.services import authority
from sfa.store.db import Record
from sfa.store.workspace import Workspace


@dataclass(frozen=True)
class PolicyView:
    policy: rules.SalesPolicy
    # Open deals whose stage the policy does not have: stage -> count (kept, never renamed).
    unknown_stages: dict[str, int]


def current(ws: Workspace) -> rules.SalesPolicy:
    return ws.policy


def unknown_stages(ws: Workspace, policy: rules.SalesPolicy | None = None) -> dict[str, int]:
    names = [s.name for s in (policy or ws.policy).stages]
    marks = ", ".join("?" * len(names))
    counts: dict[str, int] = {}
    for row in ws.store.select(OPPORTUNITY, f"stage NOT IN ({marks})", names, fields=["stage"]):
        counts[row["stage"]] = counts.get(row["stage"], 0) + 1
    return dict(sorted(counts.items()))


def view(ws: Workspace) -> PolicyView:
    policy = ws.policy
    return PolicyView(policy, unknown_stages(ws, policy))


def team_for(ws: Workspace, team: str | None, company: bool) -> str | None:
    """Which policy a command writes: `--team`, `--company`, else the manager's team (a manager
    writes their team's), else the company-wide one."""
    if company:
        return None
    if team is not None:
        return team.strip() or None
    if authority.role(ws) == "manager":
        return authority.my_team(ws)
    return None


def as_toml(ws: Workspace, team: str | None) -> str:
    """The TOML a person edits: the policy of `team` if there is one, else the policy in force."""
    found = ws.store.find(POLICY, rules.policy_id(team))
    if found is not None and not found["deleted"]:
        try:
            return rules.to_toml(rules.from_record(found, ""))
        except ValidationError:
            pass
    return rules.to_toml(ws.policy)


def save_toml(ws: Workspace, text: str, team: str | None) -> Record:
    """Write the policy of `team` (None: company-wide) from its TOML form."""
    what = f"the sales policy of team {team}" if team else "the company-wide sales policy"
    authority.require_manager(ws, what, team=team)
    values = rules.from_toml(text)
    record_id = rules.policy_id(team)
    with ws.store.transaction():
        existing = ws.store.find(POLICY, record_id)
        if existing is None:
            return ws.store.insert(
                POLICY, {"name": "sales", **values, "team": team, "owner": None}, record_id=record_id
            )
        changes = {k: v for k, v in values.items() if existing.get(k) != v}
        if existing["deleted"]:
            changes["deleted"] = False
        if not changes:
            return existing
        return ws.store.update(POLICY, record_id, changes)


def import_file(ws: Workspace, path: Path, team: str | None) -> Record:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError("file", f"cannot read {path}: {exc}") from None
    return save_toml(ws, text, team)
