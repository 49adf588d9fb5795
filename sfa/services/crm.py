"""Accounts, contacts and opportunities: the use cases behind `sfa account|contact|opp`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, TIMELINE
from sfa.domain.errors import StateError, ValidationError
from sfa.domain.money import round_money
from sfa.domain.stages import LOST, WON, find_stage
from sfa.domain.text import check_text
from sfa.services import records, stage_history
from sfa.services.records import Raw
from sfa.store.db import Record
from sfa.store.workspace import Workspace

if TYPE_CHECKING:  # imported where a stage moves: the dashboard's first paint reads deals only
    from sfa.services import playbooks

# -- accounts ---------------------------------------------------------------------------------


def add_account(ws: Workspace, raw: Raw, *, allow_duplicate: bool = False) -> Record:
    """Add an account; refused when one of the same folded name exists, unless allow_duplicate."""
    values = {**records.scope_defaults(ws), **records.clean(ws, ACCOUNT, raw, creating=True)}
    if not allow_duplicate:
        from sfa.services.leads import check_duplicates  # leads uses crm: imported when called

        check_duplicates(ws, ACCOUNT, values)
    return ws.store.insert(ACCOUNT, values)


def list_accounts(ws: Workspace, *, limit: int | None = None, city: str | None = None) -> list[Record]:
    where, params = ("city = ? COLLATE NOCASE", (city,)) if city else ("", ())
    return ws.store.select(ACCOUNT, where, params, order="name COLLATE NOCASE", limit=limit)


def account_overview(ws: Workspace, ref: str, timeline_limit: int = 10) -> dict[str, Any]:
    """The 360° view: the account, its contacts, open opportunities and recent timeline."""
    account = ws.store.resolve(ACCOUNT, ref)
    contacts = ws.store.select(CONTACT, "account_id = ?", (account["id"],), order="name COLLATE NOCASE")
    opportunities = ws.store.select(
        OPPORTUNITY,
        "account_id = ? AND stage NOT IN (?, ?)",
        (account["id"], WON, LOST),
        order="close_date IS NULL, close_date",
    )
    timeline = ws.store.select(
        TIMELINE,
        "account_id = ? OR record_id = ?",
        (account["id"], account["id"]),
        order="at DESC, rid DESC",
        limit=timeline_limit,
    )
    return {
        "account": account,
        "contacts": contacts,
        "open_opportunities": opportunities,
        "timeline": timeline,
    }


def delete_account(ws: Workspace, ref: str) -> Record:
    account = ws.store.resolve(ACCOUNT, ref)
    open_opps = ws.store.count(
        OPPORTUNITY, "account_id = ? AND stage NOT IN (?, ?)", (account["id"], WON, LOST)
    )
    if open_opps:
        raise StateError(
            f"account {account['name']!r} has {open_opps} open opportunities; close or move them first"
        )
    return ws.store.delete(ACCOUNT, account["id"])


# -- contacts ---------------------------------------------------------------------------------


def add_contact(ws: Workspace, raw: Raw, *, allow_duplicate: bool = False) -> Record:
    """Add a contact; refused when it looks like a lead or contact (the lead check: same email,
    same phone or mobile, same folded name at the same account), unless allow_duplicate."""
    values = {**records.scope_defaults(ws), **records.clean(ws, CONTACT, raw, creating=True)}
    if not allow_duplicate:
        from sfa.services.leads import check_duplicates  # leads uses crm: imported when called

        check_duplicates(ws, CONTACT, values)
    return ws.store.insert(CONTACT, values)


def list_contacts(ws: Workspace, *, account_ref: str | None = None, limit: int | None = None) -> list[Record]:
    if account_ref:
        account = ws.store.resolve(ACCOUNT, account_ref)
        return ws.store.select(
            CONTACT, "account_id = ?", (account["id"],), order="name COLLATE NOCASE", limit=limit
        )
    return ws.store.select(CONTACT, order="name COLLATE NOCASE", limit=limit)


# -- opportunities ----------------------------------------------------------------------------


def _check_contact_account(ws: Workspace, values: Record, account_id: str | None) -> None:
    contact_id = values.get("contact_id")
    if not contact_id or not account_id:
        return
    contact = ws.store.get(CONTACT, contact_id)
    if contact["account_id"] and contact["account_id"] != account_id:
        raise ValidationError("contact", f"{contact['name']!r} belongs to another account")


def _money(ws: Workspace, values: Record, currency: str) -> None:
    if values.get("amount") is not None:
        values["amount"] = round_money(Decimal(values["amount"]), currency)


def add_opportunity(ws: Workspace, raw: Raw, *, record_id: str | None = None) -> Record:
    """Add an opportunity (with the id `record_id` when given: a lead's conversion derives it)."""
    return add_opportunity_guided(ws, raw, record_id=record_id)[0]


def add_opportunity_guided(
    ws: Workspace, raw: Raw, *, record_id: str | None = None
) -> tuple[Record, playbooks.Guidance]:
    """Add an opportunity; the playbook of the stage it starts at makes its tasks, as a move to
    that stage does (docs/policy.md). Returns the deal and what its stage asks for."""
    from sfa.services import playbooks

    raw = dict(raw)
    stage_name = raw.pop("stage", None)
    stage = find_stage(ws.stages, stage_name) if stage_name else ws.stages[0]
    values = records.clean(ws, OPPORTUNITY, {**raw, "stage": stage.name}, creating=True)
    values.setdefault("currency", ws.setting("currency"))
    if values.get("probability") is None:
        values["probability"] = stage.probability
    _check_probability(values)
    _check_contact_account(ws, values, values["account_id"])
    _money(ws, values, values["currency"])
    if stage.name == LOST and not values.get("lost_reason"):
        raise ValidationError("lost_reason", "a lost opportunity needs a reason")
    values = {**records.scope_defaults(ws), **values}
    with ws.store.transaction():
        opp = ws.store.insert(OPPORTUNITY, values, record_id=record_id)
        records.add_timeline(
            ws, OPPORTUNITY, opp, "stage", f"opened at stage {stage.name}", opp["account_id"]
        )
        stage_history.record_change(ws, opp, None)
        found = playbooks.after_move(ws, opp)
    return opp, found


def _check_probability(values: Record) -> None:
    probability = values.get("probability")
    if probability is not None and not 0 <= probability <= 100:
        raise ValidationError("probability", f"{probability} is outside 0..100")


def edit_opportunity(ws: Workspace, ref: str, raw: Raw) -> Record:
    opp = ws.store.resolve(OPPORTUNITY, ref)
    raw = dict(raw)
    stage_name = raw.pop("stage", None)
    values = records.clean(ws, OPPORTUNITY, raw, creating=False)
    _check_probability(values)
    _check_contact_account(ws, values, values.get("account_id") or opp["account_id"])
    _money(ws, values, values.get("currency") or opp["currency"] or ws.setting("currency"))
    with ws.store.transaction():
        if values:
            before = opp
            opp = ws.store.update(OPPORTUNITY, opp["id"], values)
            moved = any(opp[k] != before[k] for k in ("close_date", "amount", "currency"))
            if moved and not stage_name:  # a stage move records the new close date and amount itself
                stage_history.record_change(ws, opp, opp["stage"])
        if stage_name:
            opp = move_stage(ws, opp["id"], stage_name, keep_probability="probability" in values)
        elif not values:
            raise ValidationError("opportunity", "nothing to change; give at least one option")
    return opp


def move_stage(
    ws: Workspace,
    ref: str,
    stage_name: str,
    *,
    reason: str | None = None,
    keep_probability: bool = False,
    force: bool = False,
) -> Record:
    return move_stage_guided(
        ws, ref, stage_name, reason=reason, keep_probability=keep_probability, force=force
    )[0]


def move_stage_guided(
    ws: Workspace,
    ref: str,
    stage_name: str,
    *,
    reason: str | None = None,
    keep_probability: bool = False,
    force: bool = False,
) -> tuple[Record, playbooks.Guidance, list[str]]:
    """Move a deal; its new stage's playbook tasks are created (docs/policy.md). Returns the deal,
    what the new stage asks for, and the warnings of a forward move (a strict policy refuses)."""
    from sfa.services import playbooks

    reason = check_text("reason", reason.strip()) or None if reason else None
    opp = ws.store.resolve(OPPORTUNITY, ref)
    stage = find_stage(ws.stages, stage_name)
    if stage.name == LOST and not (reason or opp["lost_reason"]):
        raise ValidationError("reason", "a lost deal needs a reason", asks_for=("reason",))
    if stage.name == opp["stage"]:
        raise StateError(f"opportunity {opp['name']!r} is already at stage {stage.name}")
    changes: Record = {"stage": stage.name}
    if not keep_probability:
        changes["probability"] = stage.probability
    if reason:
        changes["lost_reason"] = reason
    if stage.name != LOST and opp["lost_reason"]:
        changes["lost_reason"] = None
    text = f"stage: {opp['stage']} → {stage.name}"
    if reason:
        text += f" ({reason})"
    warnings = playbooks.check_forward(ws, opp, stage.name, force=force)
    with ws.store.transaction():
        updated = ws.store.update(OPPORTUNITY, opp["id"], changes)
        records.add_timeline(ws, OPPORTUNITY, updated, "stage", text, updated["account_id"])
        stage_history.record_change(ws, updated, opp["stage"])
        found = playbooks.after_move(ws, updated)
    return updated, found, warnings


def list_opportunities(
    ws: Workspace,
    *,
    stage: str | None = None,
    open_only: bool = False,
    limit: int | None = None,
    account_ref: str | None = None,
    fields: Sequence[str] | None = None,
) -> list[Record]:
    clauses: list[str] = []
    params: list[Any] = []
    if stage:
        clauses.append("stage = ?")
        params.append(find_stage(ws.stages, stage).name)
    if open_only:
        clauses.append("stage NOT IN (?, ?)")
        params += [WON, LOST]
    if account_ref:
        clauses.append("account_id = ?")
        params.append(ws.store.resolve(ACCOUNT, account_ref)["id"])
    return ws.store.select(
        OPPORTUNITY,
        " AND ".join(clauses),
        params,
        order="close_date IS NULL, close_date, name",
        limit=limit,
        fields=fields,
    )


def names_of(ws: Workspace, entity_name: str, record_ids: set[str]) -> dict[str, str]:
    """Display names of referenced records, fetched in one query (records.titles_of by type name)."""
    from sfa.domain.entities import ENTITIES

    return records.titles_of(ws, ENTITIES[entity_name], record_ids)
