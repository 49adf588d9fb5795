"""Who may write the manager's records (issue 14, docs/policy.md): pure rules, no I/O.

`merge.may_write` decides by scope (owner/team) for every record; these rules come on top of it for
the record kinds whose authority is a role: the sales policy, price lists, product prices, approval
decisions. A mutation they refuse is rejected with the reason and nothing of it is applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfa.protocol import Fields

Scope = tuple[str | None, str | None]

# Records only managers (of the record's team) and admins (any) write; company-wide ones (no team):
# admins only.
MANAGED = frozenset(
    {
        "policy",
        "price_list",
        "price_list_item",
        "target",
        "playbook",
        "competitor",  # issue 16 §3: the rivals deals meet are policy
        # Incentives (issue 16 §4, docs/incentives.md): what a rep is paid is set by their manager.
        "commission_plan",
        "plan_assignment",
        "opportunity_split",
        "commission_line",
        "commission_statement",
    }
)
# Records only admins write, whatever their team: the territory tree.
ADMINS_ONLY = frozenset({"territory"})
# Product fields that are policy: the price, its currency, the tax rate and whether it is sold.
PRODUCT_POLICY_FIELDS = frozenset({"unit_price", "currency", "tax_rate", "active", "deleted"})
DECISIONS = frozenset({"approve", "reject", "release"})
# Product data that is policy as a whole (issue 17): specs, configurator options and rules. Products
# are everyone's (unscoped), so any manager writes them, as they write product prices.
PRODUCT_DATA = frozenset({"product_spec", "product_option", "option_rule"})


def problem(
    user_name: str,
    role: str,
    team: str | None,
    entity: str,
    fields: Fields,
    current: Fields | None,
    state: Fields,
    before: Scope | None,
    after: Scope,
    scope_of: Callable[[str], Scope | None],
    teams: frozenset[str] = frozenset(),
) -> str | None:
    """None if the user's role allows the mutation, else the reason shown to them.

    `fields` are the mutation's fields, `current` the record's fields before it (None: a new
    record), `state` after it, `before`/`after` its scope; `scope_of(id)` is the scope of another record the server holds (None: unknown).
    `teams`: a manager's other teams, their territory's subtree (sfa/server/scope.py): "their own
    team" below means `team` or one of these."""
    locked = _locked(entity, current, state)
    if locked is not None:
        return locked  # not even an admin changes what was approved
    mine = frozenset({team}) | teams if team is not None else teams
    if role == "admin":
        return None
    if entity in ADMINS_ONLY:
        return f"only an admin may change the {entity}"
    if entity in MANAGED:
        return _managed(role, mine, entity, before, after)
    if entity in PRODUCT_DATA:
        if role == "manager":
            return None
        return "product specs, options and rules are changed by managers and admins only"
    if entity == "document" and "product" in (
        _value(state, "record_entity"),
        _value(current or {}, "record_entity"),
    ):
        if role == "manager":
            return None
        return "product documents (datasheets, pictures) are changed by managers and admins only"
    if entity == "product":
        if role == "manager":
            return None
        if before is None or PRODUCT_POLICY_FIELDS & set(fields):
            return "product prices, tax rates and activity are changed by managers and admins only"
        return None
    if entity == "approval":
        if current is None and _value(state, "by") != user_name:
            return "by: an approval entry names the user who makes it"
        return _approval(role, mine, state, scope_of)
    if entity == "review":
        return _review(user_name, role, mine, fields, current, state, after)
    if entity == "forecast_adjustment":
        return _adjustment(user_name, role, mine, state, after)
    return None


def _adjustment(user_name: str, role: str, mine: frozenset[str], state: Fields, after: Scope) -> str | None:
    """Who adjusts a forecast (issue 16, docs/prediction.md): a rep only their own; a team's only
    that team's manager; a manager a rep's from within their own team (the record's team). The
    adjustment names who made it (`owner`): the latest per person counts, so nobody writes one in
    another's name."""
    if _value(state, "owner") != user_name:
        return "owner: a forecast adjustment names the user who makes it"
    kind, subject = _value(state, "subject_kind"), _value(state, "subject")
    if role == "manager":
        if kind == "team" and subject not in mine:
            return f"subject: only the manager of team {subject!r} or an admin may adjust its forecast"
        if kind == "owner" and subject != user_name and after[1] not in mine:
            return "team: a manager adjusts a rep's forecast within their own team"
        if kind not in ("team", "owner"):
            return "subject_kind: a forecast adjustment is for a rep or a team"
        return None
    if kind == "owner" and subject == user_name:
        return None
    if kind == "team":
        return "subject: only the team's manager or an admin may adjust a team's forecast"
    return "subject: a rep adjusts only their own forecast"


def _changed(current: Fields, state: Fields) -> set[str]:
    names = set(current) | set(state)
    return {name for name in names if _value(current, name) != _value(state, name)}


def _locked(entity: str, current: Fields | None, state: Fields) -> str | None:
    """An approved commission plan is immutable; a statement past its draft only moves on from
    approved to exported, and an exported one is final (docs/incentives.md)."""
    if current is None:
        return None
    status = _value(current, "status")
    if entity == "commission_plan" and status == "approved" and _changed(current, state):
        return "an approved commission plan is immutable; make a new plan"
    if entity == "commission_statement" and status in ("approved", "exported"):
        changed = _changed(current, state)
        if not changed:
            return None
        exporting = status == "approved" and _value(state, "status") == "exported"
        if exporting and changed <= {"status", "exported_at"}:
            return None
        return f"an {status} commission statement is not changed; corrections go in a later period"
    return None


def _review(
    user_name: str,
    role: str,
    mine: frozenset[str],
    fields: Fields,
    current: Fields | None,
    state: Fields,
    after: Scope,
) -> str | None:
    """Only the reviewer writes a review; the rep may only acknowledge a shared one."""
    if current is None:
        if role != "manager":
            return "only a manager or an admin writes reviews"
        if _value(state, "reviewer") != user_name:
            return "a manager writes a review as its reviewer"
        if after[1] is None or after[1] not in mine:
            return "a manager reviews only their own team's reps"
        return None
    reviewer = _value(current, "reviewer")
    if user_name == reviewer and _value(state, "reviewer") == reviewer:
        return None
    if user_name == _value(current, "rep"):
        acknowledging = set(fields) <= {"status"} and _value(state, "status") == "acknowledged"
        if acknowledging and _value(current, "status") == "shared":
            return None
        return "the rep may only acknowledge a shared review"
    return "only the reviewer writes the review"


def _managed(role: str, mine: frozenset[str], entity: str, before: Scope | None, after: Scope) -> str | None:
    noun = entity.replace("_", " ")
    if role != "manager":
        return f"only a manager or an admin may change the {noun}"
    for scope in (before, after):
        if scope is None:
            continue
        if scope[1] is None:
            return f"a company-wide {noun} is changed by admins only"
        if scope[1] not in mine:
            return f"a manager may change only their own team's {noun}"
    return None


def _value(state: Fields, name: str) -> Any:
    pair = state.get(name)
    return pair[0] if pair else None


def _approval(
    role: str, mine: frozenset[str], state: Fields, scope_of: Callable[[str], Scope | None]
) -> str | None:
    action = _value(state, "action")
    if action not in DECISIONS:
        return None  # a submit: whoever may write the approval (its scope) may submit
    record_id = _value(state, "record_id")
    target = scope_of(record_id) if isinstance(record_id, str) else None
    if role != "manager":
        return f"only a manager of the record's team or an admin may {action}"
    if target is None:
        return f"the record to {action} is not on the server"
    if target[1] is None or target[1] not in mine:
        return f"only a manager of the record's team ({target[1] or 'none'}) or an admin may {action}"
    return None
