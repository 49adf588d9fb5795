"""Competitors (issue 16 §3, docs/prediction.md "Win/loss"): the manager's list of rivals, the
competitors met on each deal, and the one a lost deal went to.

A competitor is a policy record (name, website, notes): managers write their team's, admins the
company's (sfa/server/roles.py refuses anyone else whatever the client sends; this module refuses
early). A deal keeps the ids of its competitors in a set that merges by union, so two reps adding
different competitors offline both keep theirs; "lost to" is one competitor, set when the deal is lost.
"""

from __future__ import annotations

from typing import Any

from sfa.domain import ids
from sfa.domain.entities import COMPETITOR, OPPORTUNITY
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.domain.stages import LOST
from sfa.domain.text import check_text
from sfa.services import authority, crm, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

MAX_NAME = 200


def _name(text: str) -> str:
    name = " ".join(check_text("name", text).split())
    if not name:
        raise ValidationError("name", "is required and cannot be empty")
    if len(name) > MAX_NAME:
        raise ValidationError("name", f"is longer than {MAX_NAME} characters")
    return name


def add(
    ws: Workspace,
    name: str,
    *,
    website: str | None = None,
    notes: str | None = None,
    team: str | None = None,
) -> Record:
    """A new competitor; a manager's goes to their own team unless another team is named."""
    name = _name(name)
    if team is None and authority.role(ws) == "manager":
        team = authority.my_team(ws)
    team = team.strip() or None if team else None
    authority.require_manager(ws, "competitors", team=team)
    if _by_name(ws, name) is not None:
        raise ValidationError("name", f"a competitor named {name!r} exists already")
    values: dict[str, Any] = {"name": name, "team": team, "owner": None}
    if website:
        values["website"] = COMPETITOR.by_name["website"].type.parse(COMPETITOR.by_name["website"], website)
    if notes:
        values["notes"] = check_text("notes", notes.strip()) or None
    return ws.store.insert(COMPETITOR, values)


def edit(
    ws: Workspace,
    ref: str,
    *,
    name: str | None = None,
    website: str | None = None,
    notes: str | None = None,
) -> Record:
    found = find(ws, ref)
    authority.require_manager(ws, "competitors", team=found["team"])
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _name(name)
        other = _by_name(ws, changes["name"])
        if other is not None and other["id"] != found["id"]:
            raise ValidationError("name", f"a competitor named {changes['name']!r} exists already")
    if website is not None:
        field = COMPETITOR.by_name["website"]
        changes["website"] = field.type.parse(field, website) if website.strip() else None
    if notes is not None:
        changes["notes"] = check_text("notes", notes.strip()) or None
    if not changes:
        raise ValidationError("name", "nothing to change", asks_for=("name", "website", "notes"))
    return ws.store.update(COMPETITOR, found["id"], changes)


def remove(ws: Workspace, ref: str) -> Record:
    """Soft delete: deals that met it keep its id (reports still name it)."""
    found = find(ws, ref)
    authority.require_manager(ws, "competitors", team=found["team"])
    return ws.store.delete(COMPETITOR, found["id"])


def listing(ws: Workspace) -> list[Record]:
    return sorted(ws.store.select(COMPETITOR), key=lambda r: (r["name"].lower(), r["id"]))


def _by_name(ws: Workspace, name: str) -> Record | None:
    rows = ws.store.select(COMPETITOR, "name = ? COLLATE NOCASE", (name,))
    return rows[0] if rows else None


def find(ws: Workspace, ref: str, field: str = "competitor") -> Record:
    """A competitor by its name (any case) or its ref."""
    text = " ".join(ref.split())
    if not text:
        raise ValidationError(field, "is empty; give a competitor's name or ref")
    found = _by_name(ws, text)
    if found is not None:
        return found
    if ids.is_full_id(text.lower()) or (4 <= len(text) <= ids.HANDLE_LENGTH and text.isalnum()):
        try:
            return ws.store.resolve(COMPETITOR, text)
        except (NotFoundError, ValidationError):
            pass
    raise ValidationError(field, f"no competitor named {ref!r}; see the competitor list")


def names(ws: Workspace) -> dict[str, str]:
    """id → name of every competitor, deleted ones included (old deals still name them)."""
    return {r["id"]: r["name"] for r in ws.store.select(COMPETITOR, include_deleted=True, fields=["name"])}


def set_on_deal(ws: Workspace, ref: str, add: list[str], remove: list[str]) -> Record:
    """Add and remove competitors on a deal; every name is checked before anything is written."""
    opp = ws.store.resolve(OPPORTUNITY, ref)
    adding = [find(ws, name)["id"] for name in add]
    removing = {find(ws, name)["id"] for name in remove}
    current = set(opp["competitors"] or [])
    wanted = sorted((current | set(adding)) - removing)
    if wanted == sorted(current):
        return opp
    return ws.store.update(OPPORTUNITY, opp["id"], {"competitors": wanted})


def lose(ws: Workspace, ref: str, reason: str, lost_to: str | None = None) -> Record:
    """Mark the deal lost with its reason and, when given, the competitor it went to (also added to
    its competitors). The competitor is checked before the move, so a bad name writes nothing."""
    competitor = find(ws, lost_to, "to") if lost_to is not None else None
    with ws.store.transaction():
        record = crm.move_stage(ws, ref, LOST, reason=reason)
        if competitor is None:
            return record
        met = sorted(set(record["competitors"] or []) | {competitor["id"]})
        return ws.store.update(OPPORTUNITY, record["id"], {"lost_to": competitor["id"], "competitors": met})


def of_deal(ws: Workspace, opp: Record) -> tuple[list[str], str | None]:
    """The names of the deal's competitors and of the one it was lost to."""
    known = names(ws)
    met = [known.get(i, i) for i in opp.get("competitors") or []]
    lost_to = opp.get("lost_to")
    return sorted(met, key=str.lower), (known.get(lost_to, lost_to) if lost_to else None)


def short_ref(ws: Workspace, record: Record) -> str:
    return records.short_ref(ws, COMPETITOR, record["id"])
