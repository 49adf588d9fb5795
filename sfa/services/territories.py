"""Territories (issue 14 §5, docs/policy.md): the use cases behind `sfa territory ...`.

An account's territory is its `team` (the scope field every record already has, merged with
`flag`): moving an account to a territory moves it between the laptops that see it through the
existing scope enter/leave events. How it got there is a timeline entry on the account (`territory`
kind, "(manual)" or the rule that matched); a manual assignment is never moved by the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sfa.domain import territories as rules
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, TERRITORY, TIMELINE
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.domain.stages import LOST, WON
from sfa.domain.text import check_text
from sfa.services import authority, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

ZERO = Decimal(0)


def all_territories(ws: Workspace) -> list[Record]:
    return ws.store.select(TERRITORY, order="name COLLATE NOCASE")


def parents(ws: Workspace) -> dict[str, str | None]:
    return {t["name"]: t["parent"] for t in all_territories(ws)}


def find(ws: Workspace, name: str) -> Record:
    found = ws.store.select(TERRITORY, "name = ? COLLATE NOCASE", (name.strip(),), limit=1)
    if not found:
        raise NotFoundError(f"no territory named {name!r} (see `sfa territory list`)")
    return found[0]


def subtree_of(ws: Workspace, name: str) -> set[str]:
    return rules.subtree(find(ws, name)["name"], parents(ws))


def _name(text: str, field: str = "name") -> str:
    value = " ".join(check_text(field, text).split())
    if not value:
        raise ValidationError(field, "is required and cannot be empty")
    return value


def _values(
    ws: Workspace,
    name: str,
    *,
    parent: str | None,
    manager: str | None,
    rules_text: str | None,
    priority: int | None,
    members: str | None,
) -> Record:
    values: Record = {}
    if parent is not None:
        values["parent"] = find(ws, parent)["name"] if parent.strip() else None
        rules.check_parent(name, values["parent"], parents(ws) | {name: values["parent"]})
    if manager is not None:
        values["manager"] = " ".join(check_text("manager", manager).split()) or None
    if rules_text is not None:
        rules.parse_rules(rules_text)
        values["rules"] = check_text("rules", rules_text.strip()) or None
    if priority is not None:
        values["priority"] = priority
    if members is not None:
        rules.parse_members(members)
        values["members"] = check_text("members", members.strip()) or None
    return values


def add(
    ws: Workspace,
    name: str,
    *,
    parent: str | None = None,
    manager: str | None = None,
    rules_text: str | None = None,
    priority: int | None = None,
    members: str | None = None,
) -> Record:
    authority.require_manager(ws, "territories", team=None)
    name = _name(name)
    with ws.store.transaction():
        if ws.store.select(TERRITORY, "name = ? COLLATE NOCASE", (name,), limit=1):
            raise ValidationError("name", f"a territory named {name!r} exists")
        values = _values(
            ws,
            name,
            parent=parent,
            manager=manager,
            rules_text=rules_text,
            priority=priority,
            members=members,
        )
        return ws.store.insert(
            TERRITORY, {"name": name, "priority": 0, **values, "owner": None, "team": None}
        )


def edit(ws: Workspace, name: str, **given: Any) -> Record:
    authority.require_manager(ws, "territories", team=None)
    territory = find(ws, name)
    values = _values(ws, territory["name"], **given)
    if not values:
        raise ValidationError("territory", "nothing to change; give at least one option")
    return ws.store.update(TERRITORY, territory["id"], values)


def tree_lines(ws: Workspace) -> list[str]:
    found = all_territories(ws)
    children: dict[str | None, list[Record]] = {}
    names = {t["name"] for t in found}
    for t in found:
        children.setdefault(t["parent"] if t["parent"] in names else None, []).append(t)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for t in children.get(parent, []):
            extra = f"  (manager {t['manager']})" if t["manager"] else ""
            lines.append(f"{'  ' * depth}{t['name']}{extra}")
            walk(t["name"], depth + 1)

    walk(None, 0)
    return lines


# -- assignment ----------------------------------------------------------------------------------


def _manual_accounts(ws: Workspace) -> set[str]:
    """Accounts whose latest territory entry is a manual assignment."""
    latest: dict[str, str] = {}
    for entry in ws.store.select(
        TIMELINE,
        "record_entity = 'account' AND kind = 'territory'",
        order="at, rid",
        fields=["record_id", "text"],
    ):
        latest[entry["record_id"]] = entry["text"]
    return {rid for rid, text in latest.items() if text.endswith("(manual)")}


def _move(ws: Workspace, account: Record, territory: Record, how: str) -> Record:
    """The account, its contacts and open deals to the territory (team) and its owner member."""
    owner = rules.owner_of(territory["members"])
    changes: Record = {"team": territory["name"]}
    if owner:
        changes["owner"] = owner
    with ws.store.transaction():
        moved = ws.store.update(
            ACCOUNT, account["id"], {k: v for k, v in changes.items() if account.get(k) != v}
        )
        for entity, where in (
            (CONTACT, "account_id = ?"),
            (OPPORTUNITY, f"account_id = ? AND stage NOT IN ('{WON}', '{LOST}')"),
        ):
            for record in ws.store.select(entity, where, (account["id"],)):
                wanted = {k: v for k, v in changes.items() if record.get(k) != v}
                if wanted:
                    ws.store.update(entity, record["id"], wanted)
        records.add_timeline(
            ws, ACCOUNT, moved, "territory", f"territory: {territory['name']} ({how})", moved["id"]
        )
    return moved


def assign(ws: Workspace, account_ref: str, territory_name: str) -> Record:
    territory = find(ws, territory_name)
    authority.require_manager(ws, f"accounts of territory {territory['name']}", team=territory["name"])
    account = ws.store.resolve(ACCOUNT, account_ref)
    return _move(ws, account, territory, "manual")


@dataclass
class Move:
    account: Record
    territory: str
    rule: str
    from_team: str | None
    from_owner: str | None
    to_owner: str | None
    pipeline: dict[str, Decimal] = field(default_factory=dict)  # open pipeline by currency


def preview(ws: Workspace) -> list[Move]:
    """Which accounts the rules would move, to which territory and owner, with their open pipeline;
    nothing is written. Accounts assigned by hand, and those no rule matches, stay."""
    found = all_territories(ws)
    tree = {t["name"]: t["parent"] for t in found}
    candidates = [
        rules.Candidate(
            t["name"], rules.parse_rules(t["rules"]), t["priority"] or 0, rules.depth_of(t["name"], tree)
        )
        for t in found
        if t["rules"]
    ]
    owners = {t["name"]: rules.owner_of(t["members"]) for t in found}
    manual = _manual_accounts(ws)
    moves: list[Move] = []
    columns = ("postcode", "country", "industry", "city", "owner", "team")
    for row in ws.store.key_rows(ACCOUNT, columns):  # tuples: no record built per account
        if row[0] in manual:
            continue
        account = dict(zip(("id", "name", *columns), row, strict=True))
        best = rules.best_match(account, candidates)
        if best is None:
            continue
        owner = owners[best.name] or account["owner"]
        if account["team"] == best.name and account["owner"] == owner:
            continue
        rule = next(r for r in best.rules if r.matches(account))
        moves.append(Move(account, best.name, rule.text(), account["team"], account["owner"], owner))
    moves.sort(key=lambda m: (str(m.account["name"]).casefold(), m.account["id"]))
    if moves:
        wanted = {m.account["id"]: m for m in moves}
        default = ws.setting("currency")
        for opp in ws.store.select(
            OPPORTUNITY, "stage NOT IN (?, ?)", (WON, LOST), fields=["account_id", "amount", "currency"]
        ):
            move = wanted.get(opp["account_id"])
            if move is not None:
                currency = opp["currency"] or default
                move.pipeline[currency] = move.pipeline.get(currency, ZERO) + (opp["amount"] or ZERO)
    return moves


def activate(ws: Workspace) -> list[Move]:
    """Apply the preview (admins)."""
    authority.require_manager(ws, "activating territories", team=None)
    moves = preview(ws)
    by_name = {t["name"]: t for t in all_territories(ws)}
    with ws.store.transaction():
        for move in moves:
            _move(
                ws, ws.store.get(ACCOUNT, move.account["id"]), by_name[move.territory], f"rule: {move.rule}"
            )
    return moves
