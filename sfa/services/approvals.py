"""Quote discount approval (issue 14 §3, docs/policy.md).

Approvals are insert-only records: a submit by the rep, then decisions (approve, reject) by
managers. The state of a quote's approval is computed on read from them, never stored:

- the entries after the latest submit count; each person's latest decision replaces their earlier
  ones;
- no decision: pending; all counted decisions approve: approved; all reject: rejected; some approve
  and some reject (two managers deciding differently, offline or not): **conflict**, which blocks
  sending like a rejection until one of them decides again or the rep submits again;
- a line of the quote written after the submit (its field clock is later than the submit's):
  **changed**; the approval no longer covers the quote, submit again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sfa.domain import quotes as quote_rules
from sfa.domain.dates import utc_now
from sfa.domain.entities import ACCOUNT, APPROVAL, QUOTE, QUOTE_LINE
from sfa.domain.errors import NotFoundError, StateError, ValidationError
from sfa.domain.hlc import Hlc
from sfa.domain.money import HUNDRED
from sfa.domain.text import check_text
from sfa.services import authority, quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

ZERO = Decimal(0)
PAST = {"approve": "approved", "reject": "rejected", "release": "released", "submit": "submitted"}


@dataclass(frozen=True)
class Discounts:
    line: Decimal  # the largest line discount, percent of the line's gross
    quote: Decimal  # the discount over the whole quote, percent of its gross


@dataclass
class ApprovalState:
    quote: Record
    status: str  # none, pending, approved, rejected, conflict, changed
    submit: Record | None = None
    decisions: list[Record] = field(default_factory=list)  # the counted ones, one per person


def discounts(ws: Workspace, quote: Record) -> Discounts:
    lines = [quotes.to_line(line) for line in quotes.lines_of(ws, quote["id"])]
    gross = sum((quote_rules.line_gross(line) for line in lines), ZERO)
    off = sum((quote_rules.line_discount(line) for line in lines), ZERO)
    worst = ZERO
    for line in lines:
        line_gross = quote_rules.line_gross(line)
        if line_gross > 0:
            worst = max(worst, quote_rules.line_discount(line) * HUNDRED / line_gross)
    whole = off * HUNDRED / gross if gross > 0 else ZERO
    return Discounts(worst.quantize(Decimal("0.01")), whole.quantize(Decimal("0.01")))


def over_limit(ws: Workspace, quote: Record) -> str | None:
    """Why the quote needs approval under the policy in force, or None."""
    policy = ws.policy
    if policy.line_discount_limit is None and policy.quote_discount_limit is None:
        return None
    found = discounts(ws, quote)
    reasons = []
    if policy.line_discount_limit is not None and found.line > policy.line_discount_limit:
        reasons.append(f"a line discount of {found.line} % (limit {policy.line_discount_limit} %)")
    if policy.quote_discount_limit is not None and found.quote > policy.quote_discount_limit:
        reasons.append(f"a quote discount of {found.quote} % (limit {policy.quote_discount_limit} %)")
    return " and ".join(reasons) or None


def _entries(ws: Workspace, quote_id: str) -> list[Record]:
    return ws.store.select(APPROVAL, "entity = 'quote' AND record_id = ?", (quote_id,), order="at, rid")


def _max_clock(clocks: dict[str, str]) -> str:
    return max(clocks.values(), default="")


def state_of(ws: Workspace, quote: Record) -> ApprovalState:
    entries = _entries(ws, quote["id"])
    submits = [e for e in entries if e["action"] == "submit"]
    if not submits:
        return ApprovalState(quote, "none")
    submit = submits[-1]
    after = [e for e in entries if e["action"] in ("approve", "reject") and e["at"] >= submit["at"]]
    latest: dict[str, Record] = {}
    for entry in after:
        latest[entry["by"]] = entry  # in time order: each person's last decision stays
    decisions = list(latest.values())
    submitted = ws.store.clocks_where(APPROVAL, "id = ?", (submit["id"],)).get(submit["id"], {})
    lines = ws.store.clocks_where(QUOTE_LINE, "quote_id = ?", (quote["id"],))
    mark = _max_clock(submitted)
    if mark and any(_later(_max_clock(c), mark) for c in lines.values()):
        status = "changed"
    else:
        actions = {d["action"] for d in decisions}
        status = {
            frozenset(): "pending",
            frozenset({"approve"}): "approved",
            frozenset({"reject"}): "rejected",
        }.get(frozenset(actions), "conflict")
    return ApprovalState(quote, status, submit, decisions)


def _later(clock: str, than: str) -> bool:
    try:
        return Hlc.decode(clock) > Hlc.decode(than) if clock else False
    except ValueError:
        return clock > than


def check_send(ws: Workspace, quote: Record) -> None:
    """Refuse to send a quote whose discounts need an approval it does not have."""
    reason = over_limit(ws, quote)
    if reason is None:
        return
    state = state_of(ws, quote)
    if state.status == "approved":
        return
    label = quote["number"]
    advice = {
        "none": f"submit it with `sfa quote submit {label}`",
        "pending": "it is waiting for a manager's decision",
        "rejected": "a manager rejected it; revise the discount and submit again",
        "conflict": "managers decided differently (see `sfa approval list`); one of them must decide again",
        "changed": f"its lines changed after it was submitted; submit it again with `sfa quote submit {label}`",
    }[state.status]
    raise StateError(f"quote {label} needs approval for {reason}: {advice}")


def submit(ws: Workspace, ref: str, comment: str | None) -> Record:
    quote = quotes.resolve(ws, ref)
    if quote["status"] != "draft":
        raise StateError(f"quote {quote['number']} is {quote['status']}; only a draft is submitted")
    reason = over_limit(ws, quote)
    if reason is None:
        raise StateError(f"quote {quote['number']} needs no approval: its discounts are within the policy")
    state = state_of(ws, quote)
    if state.status in ("pending", "approved"):
        raise StateError(f"quote {quote['number']} is already {state.status}")
    return _insert(ws, quote, "submit", comment)


def _insert(ws: Workspace, quote: Record, action: str, comment: str | None) -> Record:
    text = check_text("comment", comment.strip()) if comment and comment.strip() else None
    return ws.store.insert(
        APPROVAL,
        {
            "entity": "quote",
            "record_id": quote["id"],
            "action": action,
            "by": authority.user(ws),
            "at": utc_now(),
            "comment": text,
            "owner": quote["owner"],
            "team": quote["team"],
        },
    )


def find_quote(ws: Workspace, ref: str) -> Record:
    """A quote by its number or ref, or by the ref of one of its approval entries."""
    try:
        return quotes.resolve(ws, ref)
    except (NotFoundError, ValidationError):
        pass
    try:
        entry = ws.store.resolve(APPROVAL, ref)
    except (NotFoundError, ValidationError):
        raise NotFoundError(f"no quote or approval matches {ref!r} (see `sfa approval list`)") from None
    return ws.store.get(QUOTE, entry["record_id"], include_deleted=True)


def decide(ws: Workspace, ref: str, action: str, comment: str | None) -> tuple[Record, ApprovalState]:
    quote = find_quote(ws, ref)
    authority.require_manager(ws, f"approving quote {quote['number']}", team=quote["team"])
    state = state_of(ws, quote)
    if state.status == "none":
        raise StateError(f"quote {quote['number']} was not submitted for approval")
    if state.status == "changed":
        raise StateError(f"quote {quote['number']} changed after it was submitted; the rep submits it again")
    if quote["status"] != "draft":
        raise StateError(f"quote {quote['number']} is {quote['status']}; there is nothing to decide")
    with ws.store.transaction():
        entry = _insert(ws, quote, action, comment)
        records.add_timeline(
            ws,
            QUOTE,
            quote,
            "approval",
            f"quote {quote['number']} {PAST[action]} by {entry['by']}",
            quote["account_id"],
        )
    return entry, state_of(ws, quote)


def listing(ws: Workspace, *, pending_only: bool) -> list[dict[str, Any]]:
    """One row per quote submitted for approval, newest submit first."""
    submits = ws.store.select(APPROVAL, "entity = 'quote' AND action = 'submit'", order="at DESC, rid DESC")
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for entry in submits:
        if entry["record_id"] in seen:
            continue
        seen.add(entry["record_id"])
        quote = ws.store.find(QUOTE, entry["record_id"])
        if quote is None:
            continue
        state = state_of(ws, quote)
        if pending_only and state.status not in ("pending", "conflict"):
            continue
        account = ws.store.find(ACCOUNT, quote["account_id"])
        found = discounts(ws, quote)
        rows.append(
            {
                "id": entry["id"],
                "quote": quote["number"],
                "quote_id": quote["id"],
                "account": account["name"] if account else "",
                "owner": quote["owner"],
                "team": quote["team"],
                "line_discount": str(found.line),
                "quote_discount": str(found.quote),
                "submitted_by": entry["by"],
                "submitted_at": entry["at"],
                "comment": entry["comment"],
                "status": state.status,
                "decisions": [
                    {"by": d["by"], "action": d["action"], "at": d["at"], "comment": d["comment"]}
                    for d in state.decisions
                ],
            }
        )
    return rows
