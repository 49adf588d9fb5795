"""Contracts: the use cases behind `sfa contract ...` (docs/contracts.md).

draft -> submit -> in approval -> release (manager) -> activated -> terminate -> terminated;
reject (manager, with a reason) -> draft; revise while draft or in approval (the old revision is
cancelled and kept). Pending, active, renewal due, expired and renewed are computed on read.
Every decision writes an `approval` record (submit, reject, release). The server enforces who may
do what (sfa/server/merge.py); the checks here refuse the same earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sfa.domain import contracts as rules
from sfa.domain import quotes as quote_rules
from sfa.domain.dates import local_today, parse_date, utc_now
from sfa.domain.entities import (
    ACCOUNT,
    APPROVAL,
    CONTACT,
    CONTRACT,
    CONTRACT_LINE,
    OPPORTUNITY,
    TASK,
)
from sfa.domain.errors import NotFoundError, StateError, UsageError, ValidationError
from sfa.domain.money import parse_amount
from sfa.domain.text import check_text
from sfa.services import quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

_LATEST = (
    "NOT EXISTS (SELECT 1 FROM contract AS newer WHERE newer.number = contract.number"
    " AND newer.revision > contract.revision AND newer.deleted = 0)"
)
_LINE_FIELDS = (
    "product_id",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "discount_amount",
    "tax_rate",
    "configuration",
)


# What the computed state of a contract is made of.
STATE_FIELDS = ("status", "start_date", "end_date", "renewal_lead_days", "renewed_by")


# -- reading -------------------------------------------------------------------------------------


def resolve(ws: Workspace, ref: str) -> Record:
    """A contract by number (its latest revision) or by short ref."""
    text = ref.strip()
    if rules.looks_like_number(text):
        found = ws.store.select(
            CONTRACT, "number = ? COLLATE NOCASE", (text,), order="revision DESC, created_at DESC", limit=1
        )
        if not found:
            raise NotFoundError(f"no contract numbered {text}")
        return found[0]
    return ws.store.resolve(CONTRACT, text)


def lines_of(ws: Workspace, contract_id: str) -> list[Record]:
    return ws.store.select(CONTRACT_LINE, "contract_id = ?", (contract_id,), order="position")


def lead_days(ws: Workspace, contract: Record) -> int:
    value = contract["renewal_lead_days"]
    return int(value) if value is not None else int(ws.setting("contract.renewal_lead_days"))


def state_of(ws: Workspace, contract: Record, today: date | None = None) -> str:
    renewed = bool(contract["renewed_by"]) or (
        contract["status"] == rules.ACTIVATED
        and ws.store.count(CONTRACT, "renewal_of = ?", (contract["id"],)) > 0
    )
    return rules.state_of(
        contract["status"],
        contract["start_date"],
        contract["end_date"],
        lead_days(ws, contract),
        today or local_today(),
        renewed,
    )


def label(contract: Record) -> str:
    return f"{contract['number']} rev {contract['revision']}"


@dataclass
class ContractView:
    contract: Record
    state: str
    lines: list[Record]
    totals: quote_rules.Totals
    account: Record
    contact: Record | None
    approvals: list[Record]


def view(ws: Workspace, ref: str) -> ContractView:
    contract = resolve(ws, ref)
    lines = lines_of(ws, contract["id"])
    totals = quote_rules.totals((quotes.to_line(line) for line in lines), contract["currency"] or "EUR")
    account = ws.store.get(ACCOUNT, contract["account_id"], include_deleted=True)
    contact = ws.store.find(CONTACT, contract["contact_id"]) if contract["contact_id"] else None
    approvals = ws.store.select(APPROVAL, "record_id = ?", (contract["id"],), order="at")
    return ContractView(contract, state_of(ws, contract), lines, totals, account, contact, approvals)


def list_contracts(
    ws: Workspace,
    *,
    status: str | None = None,
    renewal_due_days: int | None = None,
    account_ref: str | None = None,
    limit: int | None = None,
    today: date | None = None,
    fields: tuple[str, ...] | None = None,
) -> list[tuple[Record, str]]:
    """(contract, state) pairs, latest revisions. `renewal_due_days`: activated contracts, not
    renewed, whose renewal falls due within that many days (or is due now) and that have not ended."""
    day = today or local_today()
    clauses: list[str] = [_LATEST]
    params: list[Any] = []
    wanted = rules.parse_status(status) if status else None
    if wanted in (rules.DRAFT, rules.IN_APPROVAL, rules.TERMINATED, rules.CANCELLED):
        clauses.append("status = ?")
        params.append(wanted)
    elif wanted is not None:
        clauses.append("status = 'activated'")
    if renewal_due_days is not None:
        horizon = day + timedelta(days=renewal_due_days)
        default_lead = int(ws.setting("contract.renewal_lead_days"))
        clauses.append(
            "status = 'activated' AND renewed_by IS NULL AND end_date >= ?"
            " AND date(end_date, '-' || coalesce(renewal_lead_days, ?) || ' days') <= ?"
            " AND NOT EXISTS (SELECT 1 FROM contract AS r WHERE r.renewal_of = contract.id AND r.deleted = 0)"
        )
        params.extend([day.isoformat(), default_lead, horizon.isoformat()])
    if account_ref:
        clauses.append("account_id = ?")
        params.append(ws.store.resolve(ACCOUNT, account_ref)["id"])
    order = "end_date, number" if renewal_due_days is not None else "created_at DESC, rid DESC"
    if fields is not None:  # a listing: decode only what it shows and what the state needs
        fields = tuple(dict.fromkeys((*fields, *STATE_FIELDS)))
    where = " AND ".join(f"({c})" for c in clauses)
    rows = ws.store.select(CONTRACT, where, params, order=order, fields=fields)
    renewed_ids = {
        r["renewal_of"]
        for r in ws.store.select(CONTRACT, "renewal_of IS NOT NULL", (), fields=("renewal_of",))
        if r["renewal_of"]
    }
    default_lead = int(ws.setting("contract.renewal_lead_days"))
    out = []
    for row in rows:
        lead = int(row["renewal_lead_days"]) if row["renewal_lead_days"] is not None else default_lead
        renewed = bool(row["renewed_by"]) or row["id"] in renewed_ids
        state = rules.state_of(row["status"], row["start_date"], row["end_date"], lead, day, renewed)
        if wanted is not None and state != wanted:
            continue
        out.append((row, state))
        if limit is not None and len(out) >= limit:
            break
    return out


def renewals_due(ws: Workspace, today: date | None = None) -> list[tuple[Record, str]]:
    """For `sfa today`: contracts whose renewal is due now."""
    return list_contracts(ws, status=rules.RENEWAL_DUE, today=today)


# -- creating and editing drafts -------------------------------------------------------------------


def _allocate_number(ws: Workspace, today: date) -> str:
    code = quote_rules.replica_code(ws.store.replica_id)
    key = f"contract_counter.{today.year}"
    counter = int(ws.store.meta(key) or 0)
    while True:
        counter += 1
        number = rules.format_number(today.year, code, counter)
        if not ws.store.select(CONTRACT, "number = ?", (number,), limit=1, include_deleted=True):
            break
    ws.store.set_meta(key, str(counter))
    return number


def _value_of(lines: list[Record], currency: str) -> Decimal | None:
    if not lines:
        return None
    return quote_rules.totals((quotes.to_line(line) for line in lines), currency).net


def new_contract(
    ws: Workspace,
    *,
    quote_ref: str | None = None,
    account_ref: str | None = None,
    start: str | None = None,
    term: str | None = None,
    auto_renew: bool = False,
    notice: str | None = None,
    title: str | None = None,
    value: str | None = None,
    billing: str | None = None,
) -> Record:
    if bool(quote_ref) == bool(account_ref):
        raise UsageError("give the quote or the account", asks_for=("from_quote", "account"))
    quote = quotes.resolve(ws, quote_ref) if quote_ref else None
    if quote is not None and quotes.status_of(quote) in (quote_rules.DRAFT, quote_rules.REJECTED):
        raise StateError(
            f"quote {quote['number']} is {quotes.status_of(quote)}; a contract follows a sent or accepted quote"
        )
    account = (
        ws.store.get(ACCOUNT, quote["account_id"]) if quote else ws.store.resolve(ACCOUNT, account_ref or "")
    )
    if account_ref and not start:
        raise UsageError("a contract for an account needs its start date", asks_for=("start",))
    start_day = parse_date(start, "start") if start else local_today()
    months = rules.parse_term(term) if term else rules.DEFAULT_TERM_MONTHS
    currency = (quote["currency"] if quote else None) or ws.setting("currency")
    values: Record = {
        **records.scope_defaults(ws),
        "revision": 1,
        "account_id": account["id"],
        "opportunity_id": quote["opportunity_id"] if quote else None,
        "quote_id": quote["id"] if quote else None,
        "contact_id": quote["contact_id"] if quote else None,
        "title": check_text("title", title.strip())
        if title and title.strip()
        else f"Contract with {account['name']}",
        "start_date": start_day,
        "term_months": months,
        "end_date": rules.end_of(start_day, months),
        "auto_renew": auto_renew,
        "notice_days": rules.parse_days(notice, "notice") if notice else rules.DEFAULT_NOTICE_DAYS,
        "currency": currency,
        "billing": _billing(billing) if billing else "yearly",
        "terms": quote["terms"] if quote else None,
        "status": rules.DRAFT,
    }
    lines = quotes.lines_of(ws, quote["id"]) if quote else []
    values["value"] = parse_amount(value, "value") if value else _value_of(lines, currency)
    with ws.store.transaction():
        values["number"] = _allocate_number(ws, local_today())
        contract = ws.store.insert(CONTRACT, values)
        ws.store.insert_many(
            CONTRACT_LINE,
            [
                {**{k: line[k] for k in _LINE_FIELDS}, "contract_id": contract["id"], "position": n}
                for n, line in enumerate(lines, start=1)
            ],
        )
        records.add_timeline(
            ws, CONTRACT, contract, "status", f"contract {contract['number']} drafted", account["id"]
        )
    return contract


def _billing(text: str) -> str:
    value = text.strip().lower()
    choices = CONTRACT.by_name["billing"].choices
    if value not in choices:
        raise ValidationError("billing", f"{text!r} is not accepted; use one of {', '.join(choices)}")
    return value


def _draft(ws: Workspace, ref: str) -> Record:
    contract = resolve(ws, ref)
    if contract["status"] != rules.DRAFT:
        raise StateError(f"contract {label(contract)} is {contract['status']}; only drafts can be changed")
    return contract


def edit_contract(
    ws: Workspace,
    ref: str,
    *,
    title: str | None = None,
    start: str | None = None,
    term: str | None = None,
    end: str | None = None,
    notice: str | None = None,
    renewal_lead: str | None = None,
    auto_renew: bool | None = None,
    value: str | None = None,
    billing: str | None = None,
    terms: str | None = None,
) -> Record:
    contract = _draft(ws, ref)
    changes: Record = {}
    if title is not None:
        if not title.strip():
            raise ValidationError("title", "is required and cannot be empty")
        changes["title"] = check_text("title", title.strip())
    start_day = parse_date(start, "start") if start else contract["start_date"]
    months = rules.parse_term(term) if term else contract["term_months"]
    if start:
        changes["start_date"] = start_day
    if term:
        changes["term_months"] = months
    if end is not None and end.strip():
        changes["end_date"] = parse_date(end, "end")
    elif end is not None or start or term:  # derived from start and term when not given
        changes["end_date"] = rules.end_of(start_day, months or rules.DEFAULT_TERM_MONTHS)
    if "end_date" in changes and changes["end_date"] < start_day:
        raise ValidationError("end", f"{changes['end_date']} is before the start {start_day}")
    if notice is not None:
        changes["notice_days"] = rules.parse_days(notice, "notice")
    if renewal_lead is not None:
        changes["renewal_lead_days"] = rules.parse_days(renewal_lead, "renewal-lead")
    if auto_renew is not None:
        changes["auto_renew"] = auto_renew
    if value is not None:
        changes["value"] = parse_amount(value, "value") if value.strip() else None
    if billing is not None:
        changes["billing"] = _billing(billing)
    if terms is not None:
        changes["terms"] = check_text("terms", terms.strip()) or None
    if not changes:
        raise ValidationError("contract", "nothing to change; give at least one option")
    return ws.store.update(CONTRACT, contract["id"], changes)


def add_line(
    ws: Workspace,
    ref: str,
    *,
    product_ref: str | None = None,
    description: str | None = None,
    price: str | None = None,
    qty: str | None = None,
    discount: str | None = None,
    tax: str | None = None,
) -> Record:
    """Append a line to a draft contract, by the same rules as a quote line; its value follows."""
    contract = _draft(ws, ref)
    values = quotes.line_values(
        ws,
        contract["currency"] or ws.setting("currency"),
        product_ref=product_ref,
        description=description,
        price=price,
        qty=qty,
        discount=discount,
        tax=tax,
        account_id=contract["account_id"],
    )
    values["contract_id"] = contract["id"]
    with ws.store.transaction():
        line = quotes.append_line(ws, CONTRACT_LINE, lines_of(ws, contract["id"]), values)
        _revalue(ws, contract)
    return line


def remove_line(ws: Workspace, ref: str, position: int) -> Record:
    contract = _draft(ws, ref)
    with ws.store.transaction():
        target = quotes.remove_numbered_line(
            ws, CONTRACT_LINE, lines_of(ws, contract["id"]), position, f"contract {label(contract)}"
        )
        _revalue(ws, contract)
    return target


def _revalue(ws: Workspace, contract: Record) -> None:
    """The value follows the lines (their net total) while there are lines."""
    value = _value_of(lines_of(ws, contract["id"]), contract["currency"] or "EUR")
    if value is not None and value != contract["value"]:
        ws.store.update(CONTRACT, contract["id"], {"value": value})


# -- lifecycle -----------------------------------------------------------------------------------


def _approval(ws: Workspace, contract: Record, action: str, comment: str | None) -> Record:
    return ws.store.insert(
        APPROVAL,
        {
            "entity": CONTRACT.name,
            "record_id": contract["id"],
            "action": action,
            "by": ws.owner or "",
            "at": utc_now(),
            "comment": comment,
            "owner": contract["owner"],
            "team": contract["team"],
        },
    )


def _comment(text: str | None, field: str = "comment") -> str | None:
    return check_text(field, text.strip()) if text and text.strip() else None


def _require_approver(ws: Workspace, verb: str) -> None:
    """A courtesy check: a laptop whose role is known as a rep's refuses early (the server decides)."""
    from sfa.services import authority

    role = authority.role(ws)  # None when unknown (no login, or a server that named no role)
    if role is not None and role not in rules.APPROVER_ROLES:
        raise StateError(f"only a manager of the contract's team or an admin may {verb} a contract")


def _transition(
    ws: Workspace, contract: Record, changes: Record, action: str | None, comment: str | None, text: str
) -> Record:
    with ws.store.transaction():
        updated = ws.store.update(CONTRACT, contract["id"], changes)
        if action:
            _approval(ws, updated, action, comment)
        records.add_timeline(ws, CONTRACT, updated, "status", text, updated["account_id"])
    return updated


def submit(ws: Workspace, ref: str, comment: str | None = None) -> Record:
    contract = _draft(ws, ref)
    _latest_only(ws, contract, "submit")
    note = _comment(comment)
    return _transition(
        ws,
        contract,
        {"status": rules.IN_APPROVAL},
        "submit",
        note,
        f"contract {label(contract)} submitted for approval",
    )


def release(ws: Workspace, ref: str, comment: str | None = None) -> Record:
    contract = resolve(ws, ref)
    _latest_only(ws, contract, "release")
    _require_approver(ws, "release")
    if contract["status"] != rules.IN_APPROVAL:
        raise StateError(
            f"contract {label(contract)} is {contract['status']}; only a contract in approval is released"
        )
    changes: Record = {"status": rules.ACTIVATED, "activated_by": ws.owner or "", "activated_at": utc_now()}
    return _transition(
        ws, contract, changes, "release", _comment(comment), f"contract {label(contract)} released"
    )


def reject(ws: Workspace, ref: str, reason: str) -> Record:
    contract = resolve(ws, ref)
    _latest_only(ws, contract, "reject")
    _require_approver(ws, "reject")
    if contract["status"] != rules.IN_APPROVAL:
        raise StateError(
            f"contract {label(contract)} is {contract['status']}; only a contract in approval is rejected"
        )
    text = _comment(reason, "reason")
    if text is None:
        raise ValidationError("reason", "give the reason for rejecting")
    return _transition(
        ws,
        contract,
        {"status": rules.DRAFT, "reject_reason": text},
        "reject",
        text,
        f"contract {label(contract)} rejected ({text})",
    )


def sign(ws: Workspace, ref: str, customer: str, on: str, company: str | None = None) -> Record:
    contract = resolve(ws, ref)
    if contract["status"] not in (rules.DRAFT, rules.IN_APPROVAL):
        raise StateError(f"contract {label(contract)} is {contract['status']}; sign it before it is released")
    name = _comment(customer, "customer")
    if name is None:
        raise ValidationError("customer", "give the name of who signed for the customer")
    changes: Record = {"customer_signed_by": name, "customer_signed_on": parse_date(on, "on")}
    if company:
        changes["company_signed_by"] = _comment(company, "company")
    return _transition(ws, contract, changes, None, None, f"contract {label(contract)} signed by {name}")


def terminate(ws: Workspace, ref: str, on: str, reason: str) -> Record:
    contract = resolve(ws, ref)
    if contract["status"] != rules.ACTIVATED:
        raise StateError(
            f"contract {label(contract)} is {contract['status']}; only an activated contract is terminated"
        )
    text = _comment(reason, "reason")
    if text is None:
        raise ValidationError("reason", "give the reason for terminating")
    day = parse_date(on, "on")
    changes: Record = {"status": rules.TERMINATED, "terminated_on": day, "termination_reason": text}
    return _transition(
        ws, contract, changes, None, None, f"contract {label(contract)} terminated on {day} ({text})"
    )


def _latest_only(ws: Workspace, contract: Record, verb: str) -> None:
    newer = ws.store.count(
        CONTRACT, "number = ? AND revision > ?", (contract["number"], contract["revision"])
    )
    if newer:
        raise StateError(
            f"contract {label(contract)} has a newer revision; {verb} the latest ({contract['number']})"
        )


def revise(ws: Workspace, ref: str) -> Record:
    """The next revision as a draft (same number, lines copied); the old one is cancelled and kept."""
    contract = resolve(ws, ref)
    _latest_only(ws, contract, "revise")
    if contract["status"] not in (rules.DRAFT, rules.IN_APPROVAL):
        raise StateError(
            f"contract {label(contract)} is {contract['status']}; only a draft or one in approval is revised"
        )
    skip = {"revision", "previous_id", "status", "reject_reason", "activated_by", "activated_at"}
    values: Record = {
        f.name: contract[f.name] for f in CONTRACT.fields if f.name not in skip and f.name != "deleted"
    }
    values.update(revision=contract["revision"] + 1, previous_id=contract["id"], status=rules.DRAFT)
    with ws.store.transaction():
        new = ws.store.insert(CONTRACT, values)
        ws.store.insert_many(
            CONTRACT_LINE,
            [
                {**{k: line[k] for k in _LINE_FIELDS}, "contract_id": new["id"], "position": line["position"]}
                for line in lines_of(ws, contract["id"])
            ],
        )
        ws.store.update(CONTRACT, contract["id"], {"status": rules.CANCELLED})
        records.add_timeline(
            ws,
            CONTRACT,
            new,
            "status",
            f"contract {label(new)} drafted, revising rev {contract['revision']}",
            new["account_id"],
        )
    return new


@dataclass
class Renewal:
    contract: Record
    opportunity: Record
    task: Record


def renew(ws: Workspace, ref: str) -> Renewal:
    """The next contract as a draft (lines and terms copied, dates shifted by the term), a renewal
    opportunity at the first stage closing at end − notice, and a call task due at end − renewal lead
    days. All three (and the lines) have ids derived from the contract's id: renewing the same
    contract on two laptops offline makes one of each once they sync."""
    contract = resolve(ws, ref)
    if contract["status"] != rules.ACTIVATED:
        raise StateError(
            f"contract {label(contract)} is {contract['status']}; only an activated contract is renewed"
        )
    draft_id = rules.derived_id(contract["id"], "renewal")
    existing = ws.store.find(CONTRACT, draft_id)
    if existing is not None or contract["renewed_by"]:
        shown = existing["number"] if existing else contract["renewed_by"]
        raise StateError(f"contract {label(contract)} is already renewed ({shown})")
    months = contract["term_months"] or rules.DEFAULT_TERM_MONTHS
    old_end = contract["end_date"] or rules.end_of(contract["start_date"], months)
    start = old_end + timedelta(days=1)
    end = rules.end_of(start, months)
    notice = contract["notice_days"] if contract["notice_days"] is not None else rules.DEFAULT_NOTICE_DAYS
    lead = lead_days(ws, contract)
    account = ws.store.get(ACCOUNT, contract["account_id"], include_deleted=True)
    contact = ws.store.find(CONTACT, contract["contact_id"]) if contract["contact_id"] else None
    keep = ("account_id", "contact_id", "title", "auto_renew", "notice_days", "renewal_lead_days", "value")
    values: Record = {k: contract[k] for k in keep}
    values.update(
        {
            **{k: contract[k] for k in ("currency", "billing", "terms", "owner", "team")},
            "revision": 1,
            "renewal_of": contract["id"],
            "start_date": start,
            "term_months": months,
            "end_date": end,
            "status": rules.DRAFT,
        }
    )
    first = ws.stages[0]
    opp_values: Record = {
        "name": f"Renewal {contract['title']}"[:200],
        "account_id": contract["account_id"],
        "contact_id": contract["contact_id"],
        "amount": contract["value"],
        "currency": contract["currency"] or ws.setting("currency"),
        "stage": first.name,
        "probability": first.probability,
        "close_date": old_end - timedelta(days=notice),
        "owner": contract["owner"],
        "team": contract["team"],
    }
    who = contact["name"] if contact else account["name"]
    task_values: Record = {
        "title": f"Call {who} about renewal of {contract['number']}",
        "due_date": old_end - timedelta(days=lead),
        "priority": "normal",
        "status": "open",
        "account_id": contract["account_id"],
        "contact_id": contract["contact_id"],
        "owner": contract["owner"],
        "team": contract["team"],
    }
    with ws.store.transaction():
        values["number"] = _allocate_number(ws, local_today())
        values["opportunity_id"] = rules.derived_id(contract["id"], "renewal-opportunity")
        opp = ws.store.insert(OPPORTUNITY, opp_values, record_id=values["opportunity_id"])
        new = ws.store.insert(CONTRACT, values, record_id=draft_id)
        for line in lines_of(ws, contract["id"]):
            line_values = {
                **{k: line[k] for k in _LINE_FIELDS},
                "contract_id": draft_id,
                "position": line["position"],
            }
            ws.store.insert(
                CONTRACT_LINE,
                line_values,
                record_id=rules.derived_id(contract["id"], f"renewal-line-{line['position']}"),
            )
        task_values["opportunity_id"] = opp["id"]
        task = ws.store.insert(TASK, task_values, record_id=rules.derived_id(contract["id"], "renewal-task"))
        ws.store.update(CONTRACT, contract["id"], {"renewed_by": draft_id})
        records.add_timeline(
            ws,
            CONTRACT,
            new,
            "status",
            f"contract {new['number']} drafted, renewing {contract['number']}",
            new["account_id"],
        )
    return Renewal(new, opp, task)
