"""Orders: the use cases behind `sfa order ...` (docs/orders.md).

States: draft -> submitted -> acknowledged | rejected (by the ERP) -> delivered -> invoiced; a draft or
a submitted order not yet acknowledged can be cancelled. Only drafts are edited; submit locks the
order, and the server enforces the lock (sfa/server/merge.py, order_problem).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sfa.domain import orders as rules
from sfa.domain import quotes as quote_rules
from sfa.domain.dates import local_today, parse_date, utc_now
from sfa.domain.entities import (
    ACCOUNT,
    CONTACT,
    OPPORTUNITY,
    ORDER,
    ORDER_LINE,
    ORDER_STATUSES,
    PRODUCT,
    QUOTE,
)
from sfa.domain.errors import NotFoundError, StateError, ValidationError
from sfa.domain.money import format_money
from sfa.domain.text import check_text
from sfa.services import authority, order_approvals, quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

UNACKNOWLEDGED_DAYS = 2
_COPIED = (
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


# -- reading -----------------------------------------------------------------------------------------


def resolve(ws: Workspace, ref: str) -> Record:
    """An order by number or by short ref."""
    text = ref.strip()
    if rules.looks_like_number(text):
        found = ws.store.select(ORDER, "number = ? COLLATE NOCASE", (text,), order="created_at", limit=1)
        if not found:
            raise NotFoundError(f"no order numbered {text}")
        return found[0]
    return ws.store.resolve(ORDER, text)


def lines_of(ws: Workspace, order_id: str) -> list[Record]:
    return ws.store.select(ORDER_LINE, "order_id = ?", (order_id,), order="position")


def totals_of(order: Record, lines: list[Record]) -> quote_rules.Totals:
    return quote_rules.totals((quotes.to_line(line) for line in lines), order["currency"] or "EUR")


@dataclass
class OrderView:
    order: Record
    lines: list[Record]
    totals: quote_rules.Totals
    account: Record
    contact: Record | None
    opportunity: Record | None
    quote: Record | None


def view(ws: Workspace, ref: str) -> OrderView:
    order = resolve(ws, ref)
    lines = lines_of(ws, order["id"])
    account = ws.store.get(ACCOUNT, order["account_id"], include_deleted=True)
    contact = ws.store.find(CONTACT, order["contact_id"]) if order["contact_id"] else None
    opp = ws.store.find(OPPORTUNITY, order["opportunity_id"]) if order["opportunity_id"] else None
    quote = ws.store.find(QUOTE, order["quote_id"]) if order["quote_id"] else None
    return OrderView(order, lines, totals_of(order, lines), account, contact, opp, quote)


def list_orders(
    ws: Workspace,
    *,
    status: str | None = None,
    open_only: bool = False,
    account_ref: str | None = None,
    limit: int | None = None,
) -> list[Record]:
    clauses: list[str] = []
    params: list[Any] = []
    if status:
        wanted = status.strip().lower()
        if wanted not in ORDER_STATUSES:
            raise ValidationError(
                "status", f"{status!r} is not accepted; use one of {', '.join(ORDER_STATUSES)}"
            )
        clauses.append("status = ?")
        params.append(wanted)
    if open_only:
        clauses.append(f"status IN ({', '.join('?' * len(rules.OPEN_STATUSES))})")
        params.extend(rules.OPEN_STATUSES)
    if account_ref:
        clauses.append("account_id = ?")
        params.append(ws.store.resolve(ACCOUNT, account_ref)["id"])
    return ws.store.select(
        ORDER, " AND ".join(f"({c})" for c in clauses), params, order="created_at DESC, rid DESC", limit=limit
    )


def totals_by_order(ws: Workspace, orders: list[Record]) -> dict[str, quote_rules.Totals]:
    if not orders:
        return {}
    ids = [o["id"] for o in orders]
    grouped: dict[str, list[Record]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for line in ws.store.select(ORDER_LINE, f"order_id IN ({marks})", chunk, order="position"):
            grouped[line["order_id"]].append(line)
    return {o["id"]: totals_of(o, grouped[o["id"]]) for o in orders}


def attention(ws: Workspace, now: datetime | None = None) -> dict[str, list[Record]]:
    """For `sfa today`: orders the ERP rejected, and submitted orders unacknowledged for > 2 days."""
    cutoff = (now or utc_now()) - timedelta(days=UNACKNOWLEDGED_DAYS)
    rejected = ws.store.select(ORDER, "status = 'rejected'", (), order="number")
    waiting = [
        o
        for o in ws.store.select(ORDER, "status = 'submitted'", (), order="submitted_at, number")
        if o["submitted_at"] is not None and o["submitted_at"] < cutoff
    ]
    return {"rejected": rejected, "unacknowledged": waiting}


# -- creating and editing drafts ----------------------------------------------------------------------


def _allocate_number(ws: Workspace, today: date) -> str:
    """The next order number of this replica; call inside the transaction that inserts the order."""
    code = quote_rules.replica_code(ws.store.replica_id)
    key = f"order_counter.{today.year}"
    counter = int(ws.store.meta(key) or 0)
    while True:
        counter += 1
        number = rules.format_number(today.year, code, counter)
        if not ws.store.select(ORDER, "number = ?", (number,), limit=1, include_deleted=True):
            break
    ws.store.set_meta(key, str(counter))
    return number


def _address(account: Record) -> str | None:
    place = " ".join(p for p in (account["postcode"], account["city"]) if p)
    parts = [p for p in (account["name"], account["street"], place, account["country"]) if p]
    return "; ".join(parts) or None


def _requested(text: str | None) -> date | None:
    if text is None or not text.strip():
        return None
    day = parse_date(text, "requested")
    if day < local_today():
        raise ValidationError("requested", f"{day.isoformat()} is in the past")
    return day


def new_from_quote(
    ws: Workspace, quote_ref: str, *, po: str | None = None, requested: str | None = None
) -> Record:
    """A draft order with the accepted quote's lines, prices and terms."""
    quote = quotes.resolve(ws, quote_ref)
    status = quotes.status_of(quote)
    if status != quote_rules.ACCEPTED:
        raise StateError(
            f"quote {quote['number']} rev {quote['revision']} is {status}; only an accepted quote becomes "
            "an order (`sfa quote accept`)"
        )
    account = ws.store.get(ACCOUNT, quote["account_id"], include_deleted=True)
    values: Record = {
        **records.scope_defaults(ws),
        "quote_id": quote["id"],
        "account_id": quote["account_id"],
        "opportunity_id": quote["opportunity_id"],
        "contact_id": quote["contact_id"],
        "currency": quote["currency"],
        "customer_po": check_text("po", po.strip()) if po and po.strip() else None,
        "requested_date": _requested(requested),
        "ship_to": _address(account),
        "bill_to": _address(account),
        "payment_terms": quote["terms"],
        "status": rules.DRAFT,
    }
    today = local_today()
    with ws.store.transaction():
        values["number"] = _allocate_number(ws, today)
        order = ws.store.insert(ORDER, values)
        lines = [
            {
                **{k: line[k] for k in _COPIED},
                "order_id": order["id"],
                "position": n,
                "quote_line_id": line["id"],
            }
            for n, line in enumerate(quotes.lines_of(ws, quote["id"]), start=1)
        ]
        ws.store.insert_many(ORDER_LINE, lines)
        records.add_timeline(
            ws,
            ORDER,
            order,
            "status",
            f"order {order['number']} drafted from quote {quote['number']}",
            order["account_id"],
        )
    return order


def _draft(ws: Workspace, ref: str) -> Record:
    order = resolve(ws, ref)
    if order["status"] != rules.DRAFT:
        raise StateError(f"order {order['number']} is {order['status']}; only drafts can be changed")
    return order


def edit_order(
    ws: Workspace,
    ref: str,
    *,
    po: str | None = None,
    requested: str | None = None,
    ship_to: str | None = None,
    bill_to: str | None = None,
    payment_terms: str | None = None,
    contact_ref: str | None = None,
) -> Record:
    order = _draft(ws, ref)
    changes: Record = {}
    for name, value in (
        ("customer_po", po),
        ("ship_to", ship_to),
        ("bill_to", bill_to),
        ("payment_terms", payment_terms),
    ):
        if value is not None:
            changes[name] = check_text(name, value.strip()) or None
    if requested is not None:
        changes["requested_date"] = _requested(requested)
    if contact_ref is not None:
        if contact_ref.strip():
            contact = ws.store.resolve(CONTACT, contact_ref)
            if contact["account_id"] and contact["account_id"] != order["account_id"]:
                raise ValidationError("contact", f"{contact['name']!r} belongs to another account")
            changes["contact_id"] = contact["id"]
        else:
            changes["contact_id"] = None
    if not changes:
        raise ValidationError("order", "nothing to change; give at least one option")
    return ws.store.update(ORDER, order["id"], changes)


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
    """Append a line to a draft order, by the same rules as a quote line."""
    order = _draft(ws, ref)
    values = quotes.line_values(
        ws,
        order["currency"] or ws.setting("currency"),
        product_ref=product_ref,
        description=description,
        price=price,
        qty=qty,
        discount=discount,
        tax=tax,
        account_id=order["account_id"],
    )
    values["order_id"] = order["id"]
    with ws.store.transaction():
        return quotes.append_line(ws, ORDER_LINE, lines_of(ws, order["id"]), values)


def remove_line(ws: Workspace, ref: str, position: int) -> Record:
    order = _draft(ws, ref)
    with ws.store.transaction():
        return quotes.remove_numbered_line(
            ws, ORDER_LINE, lines_of(ws, order["id"]), position, f"order {order['number']}"
        )


# -- states -------------------------------------------------------------------------------------------


def check_ref(ws: Workspace, ref: str) -> rules.PricingCheck:
    """The pricing check of an order, as submit will run it."""
    order = resolve(ws, ref)
    return pricing_check(ws, order, lines_of(ws, order["id"]))


def pricing_check(ws: Workspace, order: Record, lines: list[Record]) -> rules.PricingCheck:
    """The pure check (sfa/domain/orders.py) fed from the store."""
    currency = order["currency"] or "EUR"
    product_ids = sorted({line["product_id"] for line in lines if line["product_id"]})
    found: dict[str, rules.Product] = {}
    for pid in product_ids:
        product = ws.store.find(PRODUCT, pid)
        if product is not None:
            found[pid] = rules.Product(
                product["unit_price"], product["tax_rate"], bool(product["active"]), bool(product["deleted"])
            )
    quote_lines: dict[str, quote_rules.Line] = {}
    all_quote_lines: list[quote_rules.Line] | None = None
    if order["quote_id"]:
        all_quote_lines = []
        for qline in quotes.lines_of(ws, order["quote_id"]):
            converted = quotes.to_line(qline)
            quote_lines[qline["id"]] = converted
            all_quote_lines.append(converted)
    priced = [
        rules.PricedLine(
            line["position"],
            line["description"],
            quotes.to_line(line),
            line["product_id"],
            quote_lines.get(line["quote_line_id"]) if line["quote_line_id"] else None,
        )
        for line in lines
    ]
    return rules.pricing_check(priced, found, currency, all_quote_lines)


@dataclass
class Submitted:
    order: Record
    check: rules.PricingCheck
    approval: Record | None = None  # the manager's approval the differences went through on


def submit(ws: Workspace, ref: str, *, accept_differences: bool = False) -> Submitted:
    """Lock the draft for the ERP. A pricing difference needs `accept_differences`, or a manager's
    approval of the order as it stands (`approve`)."""
    order = _draft(ws, ref)
    lines = lines_of(ws, order["id"])
    if not lines:
        raise StateError(f"order {order['number']} has no lines; add one with `sfa order add-line`")
    check = pricing_check(ws, order, lines)
    approval = order_approvals.covering(ws, order) if check.differs else None
    if check.differs and not accept_differences and approval is None:
        stale = (
            " (a manager approved it, but its lines changed since)"
            if order_approvals.stale(ws, order)
            else ""
        )
        raise StateError(
            f"order {order['number']}: the pricing check found differences from the accepted quote or the "
            f"price list{stale}; accept the differences to send it as it is, or have a manager approve it "
            f"(`sfa order approve {order['number']}`)",
            asks_for=("accept_differences",),
        )
    total = format_money(check.order_total, order["currency"] or "EUR")
    how = (
        f", differences approved by {approval['by']}"
        if approval is not None and not accept_differences
        else ""
    )
    with ws.store.transaction():
        updated = ws.store.update(
            ORDER,
            order["id"],
            {"status": rules.SUBMITTED, "submitted_at": utc_now(), "accepted_differences": check.differs},
        )
        records.add_timeline(
            ws,
            ORDER,
            updated,
            "status",
            f"order {order['number']} submitted ({total}{how})",
            order["account_id"],
        )
    return Submitted(updated, check, approval if not accept_differences else None)


def approve(ws: Workspace, ref: str, comment: str | None = None) -> tuple[Record, rules.PricingCheck]:
    """A manager approves a draft whose pricing check finds differences, so the rep can submit it
    without accepting them. The approval covers the lines as they are now."""
    order = _draft(ws, ref)
    authority.require_manager(ws, f"approving order {order['number']}", team=order["team"])
    lines = lines_of(ws, order["id"])
    if not lines:
        raise StateError(f"order {order['number']} has no lines; there is nothing to approve")
    check = pricing_check(ws, order, lines)
    if not check.differs:
        raise StateError(
            f"order {order['number']} needs no approval: the pricing check finds no blocking difference"
        )
    if order_approvals.covering(ws, order) is not None:
        raise StateError(f"order {order['number']} is already approved as it stands")
    with ws.store.transaction():
        entry = order_approvals.record(ws, order, comment)
        records.add_timeline(
            ws,
            ORDER,
            order,
            "approval",
            f"order {order['number']}: pricing differences approved by {entry['by']}",
            order["account_id"],
        )
    return entry, check


def cancel(ws: Workspace, ref: str, reason: str) -> Record:
    order = resolve(ws, ref)
    if order["status"] not in (rules.DRAFT, rules.SUBMITTED):
        raise StateError(
            f"order {order['number']} is {order['status']}; only a draft or a submitted order not yet "
            "acknowledged by the ERP can be cancelled"
        )
    if not reason.strip():
        raise ValidationError("reason", "give the reason for cancelling")
    text = check_text("reason", reason.strip())
    with ws.store.transaction():
        updated = ws.store.update(
            ORDER, order["id"], {"status": rules.CANCELLED, "cancelled_at": utc_now(), "cancel_reason": text}
        )
        records.add_timeline(
            ws, ORDER, updated, "status", f"order {order['number']} cancelled ({text})", order["account_id"]
        )
    return updated


def delivered_total(lines: list[Record]) -> tuple[Decimal, Decimal]:
    """Sums of delivered and ordered quantities (for `show`)."""
    delivered = sum((line["delivered_quantity"] or Decimal(0) for line in lines), Decimal(0))
    ordered = sum((line["quantity"] for line in lines), Decimal(0))
    return delivered, ordered


def approval_of(ws: Workspace, order: Record) -> Record | None:
    """The manager's approval covering the order's lines, if any (for `show`)."""
    return order_approvals.covering(ws, order)
