"""Guided selling (issue 14 §2, docs/policy.md): the playbook of each stage, the tasks a move
creates, and the checks of a forward move.

A move's tasks have ids derived from the deal's id and the step's id, so the same move made on two
laptops offline yields one set of tasks after sync, and moving back and forth creates none twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sfa.domain import policy as policy_rules
from sfa.domain.dates import local_today
from sfa.domain.entities import OPPORTUNITY, PLAYBOOK, PLAYBOOK_KINDS, TASK
from sfa.domain.errors import StateError, ValidationError
from sfa.domain.stages import LOST, WON, find_stage
from sfa.domain.text import check_text
from sfa.services import authority
from sfa.store.db import Record
from sfa.store.workspace import Workspace

_DUE = re.compile(r"^\+?(\d{1,3})\s*([dw]?)$")


def parse_due_days(text: str) -> int:
    """ "+3d", "3", "+2w" -> days after the move."""
    found = _DUE.match(text.strip().lower())
    if not found:
        raise ValidationError("due", f"{text!r} is not a delay; use +3d or +2w")
    days = int(found[1]) * (7 if found[2] == "w" else 1)
    if days > 365:
        raise ValidationError("due", "at most a year (+365d)")
    return days


def add_step(
    ws: Workspace,
    stage: str,
    title: str,
    *,
    kind: str | None,
    due: str | None,
    required: bool,
    guidance: str | None,
    team: str | None,
) -> Record:
    found = find_stage(ws.stages, stage).name
    title = " ".join(check_text("title", title).split())
    if not title:
        raise ValidationError("title", "is required and cannot be empty")
    kind = (kind or "task").strip().lower()
    if kind not in PLAYBOOK_KINDS:
        raise ValidationError("kind", f"{kind!r}; use one of {', '.join(PLAYBOOK_KINDS)}")
    if team is None and authority.role(ws) == "manager":
        team = authority.my_team(ws)
    team = team.strip() or None if team else None
    authority.require_manager(ws, "playbooks", team=team)
    values: Record = {
        "stage": found,
        "title": title,
        "kind": kind,
        "due_days": parse_due_days(due) if due else None,
        "required": required,
        "team": team,
        "owner": None,
        "notes": check_text("notes", guidance.strip()) or None if guidance else None,
    }
    return ws.store.insert(PLAYBOOK, values)


def steps(ws: Workspace, stage: str | None = None, team: str | bool | None = False) -> list[Record]:
    """Steps, in stage order then as added; `team` (when given) keeps the company's and that team's."""
    rows = ws.store.select(PLAYBOOK, "stage = ?" if stage else "", (stage,) if stage else (), order="rid")
    if team is not False:
        rows = [r for r in rows if r["team"] is None or r["team"] == team]
    order = {s.name: i for i, s in enumerate(ws.stages)}
    return sorted(rows, key=lambda r: order.get(r["stage"], len(order)))


def remove_step(ws: Workspace, ref: str) -> Record:
    step = ws.store.resolve(PLAYBOOK, ref)
    authority.require_manager(ws, "playbooks", team=step["team"])
    return ws.store.delete(PLAYBOOK, step["id"])


def task_id(opp_id: str, step_id: str) -> str:
    return policy_rules.stable_id("playbook-task", opp_id, step_id)


@dataclass
class Guidance:
    """What a deal's stage asks for: its steps with their task, and key fields still empty."""

    opp: Record
    stage: str
    steps: list[tuple[Record, Record | None]] = field(default_factory=list)  # (step, task or None)
    missing: list[str] = field(default_factory=list)
    created: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def open_steps(self) -> list[tuple[Record, Record | None]]:
        return [(s, t) for s, t in self.steps if t is None or t["status"] != "done"]


def _missing(ws: Workspace, opp: Record, stage: str) -> list[str]:
    policy_stage = ws.policy.stage(stage)
    if policy_stage is None:
        return []
    return [name for name in policy_stage.key_fields if opp.get(name) in (None, "", [])]


def guidance(ws: Workspace, opp: Record, stage: str | None = None) -> Guidance:
    stage = stage or opp["stage"]
    found = Guidance(opp, stage, missing=_missing(ws, opp, stage))
    for step in steps(ws, stage, opp["team"]):
        found.steps.append((step, ws.store.find(TASK, task_id(opp["id"], step["id"]))))
    found.steps = [(s, t) for s, t in found.steps if t is None or not t["deleted"]]
    return found


def check_forward(ws: Workspace, opp: Record, target: str, *, force: bool) -> list[str]:
    """Warnings for leaving the current stage forward with open required steps or empty key fields;
    under a strict policy a StateError unless `force`."""
    names = [s.name for s in ws.stages]
    current = opp["stage"]
    forward = target == WON or (
        target != LOST and current in names and target in names and names.index(target) > names.index(current)
    )
    if not forward:
        return []
    now = guidance(ws, opp)
    problems = [f"required step open: {s['title']}" for s, _t in now.open_steps if s["required"]]
    problems += [f"key field empty: {name}" for name in now.missing]
    if problems and ws.policy.strict and not force:
        raise StateError(
            f"the policy is strict: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + "; finish it or force the move",
            asks_for=("force",),
        )
    return problems


def create_tasks(ws: Workspace, opp: Record) -> list[Record]:
    """The tasks of the deal's (new) stage that it has never had: derived ids, owner and team the
    deal's, due the step's delay after today."""
    made = []
    today = local_today()
    for step in steps(ws, opp["stage"], opp["team"]):
        record_id = task_id(opp["id"], step["id"])
        if ws.store.find(TASK, record_id) is not None:
            continue  # made before (here or on another laptop), done, or deleted: never twice
        values: dict[str, Any] = {
            "title": step["title"],
            "priority": "high" if step["required"] else "normal",
            "status": "open",
            "due_date": today + timedelta(days=step["due_days"]) if step["due_days"] is not None else None,
            "opportunity_id": opp["id"],
            "account_id": opp["account_id"],
            "owner": opp["owner"],
            "team": opp["team"],
        }
        made.append(ws.store.insert(TASK, values, record_id=record_id))
    return made


def after_move(ws: Workspace, opp: Record) -> Guidance:
    """Inside the move's transaction: create the stage's tasks and say what the stage asks for."""
    created = create_tasks(ws, opp)
    found = guidance(ws, opp)
    found.created = created
    return found


def next_for(ws: Workspace, ref: str) -> Guidance:
    return guidance(ws, ws.store.resolve(OPPORTUNITY, ref))


def lines(found: Guidance) -> list[str]:
    """The checklist people read after a move and in `opp next`."""
    out = []
    policy_steps = found.steps
    if policy_steps:
        out.append(f"checklist for {found.stage}:")
        for step, task in policy_steps:
            mark = "x" if task is not None and task["status"] == "done" else " "
            need = " (required)" if step["required"] else ""
            due = f", due {task['due_date']}" if task is not None and task["due_date"] else ""
            out.append(f"  [{mark}] {step['title']} [{step['kind']}]{need}{due}")
            if step["notes"]:
                out += [f"      {line}" for line in str(step["notes"]).splitlines()]
    if found.missing:
        out.append(f"key fields still empty: {', '.join(found.missing)}")
    return out
