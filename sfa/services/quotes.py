"""Quotes: the use cases behind `sfa quote ...` (numbering, lines, states, revisions).

States (docs/quotes.md): draft -> sent -> accepted | rejected. A sent quote whose valid-until date
has passed reads as *expired*; that is computed on read and never stored, so no write happens on
a read and two laptops cannot disagree about it. Only drafts can be edited. Decisions (send, accept,
reject, revise) apply to the latest revision of a number only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sfa.domain import quotes as rules
from sfa.domain.dates import local_today, parse_date, utc_now
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY, QUOTE, QUOTE_LINE, QUOTE_STATUSES, Entity
from sfa.domain.errors import NotFoundError, StateError, UsageError, ValidationError
from sfa.domain.money import format_money, parse_amount, parse_currency
from sfa.domain.stages import LOST, WON
from sfa.domain.text import check_text
from sfa.services import crm, pricelists, products, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

QUOTATION_SENT = "quotation sent"
_LATEST = (
    "NOT EXISTS (SELECT 1 FROM quote AS newer WHERE newer.number = quote.number"
    " AND newer.revision > quote.revision AND newer.deleted = 0)"
)


# -- reading -----------------------------------------------------------------------------------------


def resolve(ws: Workspace, ref: str) -> Record:
    """A quote by number (its latest revision) or by short ref."""
    text = ref.strip()
    if rules.looks_like_number(text):
        found = ws.store.select(
            QUOTE, "number = ? COLLATE NOCASE", (text,), order="revision DESC, created_at DESC", limit=1
        )
        if not found:
            raise NotFoundError(f"no quote numbered {text}")
        return found[0]
    return ws.store.resolve(QUOTE, text)


def lines_of(ws: Workspace, quote_id: str) -> list[Record]:
    return ws.store.select(QUOTE_LINE, "quote_id = ?", (quote_id,), order="position")


def to_line(line: Record) -> rules.Line:
    return rules.Line(
        quantity=line["quantity"],
        unit_price=line["unit_price"],
        discount_percent=line["discount_percent"],
        discount_amount=line["discount_amount"],
        tax_rate=line["tax_rate"] if line["tax_rate"] is not None else rules.ZERO,
    )


def totals_of(quote: Record, lines: list[Record]) -> rules.Totals:
    return rules.totals((to_line(line) for line in lines), quote["currency"] or "EUR")


def status_of(quote: Record, today: date | None = None) -> str:
    return rules.effective_status(quote["status"], quote["valid_until"], today or local_today())


def is_latest(ws: Workspace, quote: Record) -> bool:
    newer = ws.store.count(QUOTE, "number = ? AND revision > ?", (quote["number"], quote["revision"]))
    return newer == 0


@dataclass
class QuoteView:
    """A quote with everything `show` and `export` print."""

    quote: Record
    status: str
    lines: list[Record]
    totals: rules.Totals
    account: Record
    contact: Record | None
    opportunity: Record | None
    latest: bool


def view(ws: Workspace, ref: str) -> QuoteView:
    quote = resolve(ws, ref)
    lines = lines_of(ws, quote["id"])
    account = ws.store.get(ACCOUNT, quote["account_id"], include_deleted=True)
    contact = ws.store.find(CONTACT, quote["contact_id"]) if quote["contact_id"] else None
    opp = ws.store.find(OPPORTUNITY, quote["opportunity_id"]) if quote["opportunity_id"] else None
    return QuoteView(
        quote, status_of(quote), lines, totals_of(quote, lines), account, contact, opp, is_latest(ws, quote)
    )


def list_quotes(
    ws: Workspace,
    *,
    status: str | None = None,
    all_revisions: bool = False,
    limit: int | None = None,
    account_ref: str | None = None,
) -> list[Record]:
    clauses: list[str] = []
    params: list[Any] = []
    today = local_today().isoformat()
    if status:
        wanted = status.strip().lower()
        if wanted not in QUOTE_STATUSES:
            raise ValidationError(
                "status", f"{status!r} is not accepted; use one of {', '.join(QUOTE_STATUSES)}"
            )
        if wanted == rules.SENT:
            clauses.append("status = 'sent' AND (valid_until IS NULL OR valid_until >= ?)")
            params.append(today)
        elif wanted == rules.EXPIRED:
            clauses.append("status = 'sent' AND valid_until < ?")
            params.append(today)
        else:
            clauses.append("status = ?")
            params.append(wanted)
    if account_ref:
        clauses.append("account_id = ?")
        params.append(ws.store.resolve(ACCOUNT, account_ref)["id"])
    if not all_revisions:
        clauses.append(_LATEST)
    return ws.store.select(
        QUOTE, " AND ".join(f"({c})" for c in clauses), params, order="created_at DESC, rid DESC", limit=limit
    )


def totals_by_quote(ws: Workspace, quotes: list[Record]) -> dict[str, rules.Totals]:
    """Totals of many quotes with one query for their lines."""
    if not quotes:
        return {}
    ids = [q["id"] for q in quotes]
    marks = ", ".join("?" * len(ids))
    grouped: dict[str, list[Record]] = {i: [] for i in ids}
    for line in ws.store.select(QUOTE_LINE, f"quote_id IN ({marks})", ids, order="position"):
        grouped[line["quote_id"]].append(line)
    return {q["id"]: totals_of(q, grouped[q["id"]]) for q in quotes}


def expiring(ws: Workspace, until: date, today: date | None = None) -> list[Record]:
    """Sent quotes (latest revisions) still valid today and valid until no later than `until`."""
    start = (today or local_today()).isoformat()
    return ws.store.select(
        QUOTE,
        f"status = 'sent' AND valid_until >= ? AND valid_until <= ? AND {_LATEST}",
        (start, until.isoformat()),
        order="valid_until, number",
    )


# -- creating and editing drafts ----------------------------------------------------------------------


def _allocate_number(ws: Workspace, today: date) -> str:
    """The next number of this replica; call inside the transaction that inserts the quote."""
    code = rules.replica_code(ws.store.replica_id)
    key = f"quote_counter.{today.year}"
    counter = int(ws.store.meta(key) or 0)
    while True:
        counter += 1
        number = rules.format_number(today.year, code, counter)
        # A restored or copied data file could have an old counter: never reuse a number seen here.
        taken = ws.store.select(QUOTE, "number = ?", (number,), limit=1, include_deleted=True)
        if not taken:
            break
    ws.store.set_meta(key, str(counter))
    return number


def _valid_until(ws: Workspace, text: str | None, today: date) -> date:
    if not text:
        return today + timedelta(days=int(ws.setting("quote.valid_days")))
    day = parse_date(text, "valid_until")
    if day < today:
        raise ValidationError("valid_until", f"{day.isoformat()} is in the past")
    return day


def _contact_at(ws: Workspace, ref: str, account_id: str) -> str:
    contact = ws.store.resolve(CONTACT, ref)
    if contact["account_id"] and contact["account_id"] != account_id:
        raise ValidationError("contact", f"{contact['name']!r} belongs to another account")
    return str(contact["id"])


def new_quote(
    ws: Workspace,
    *,
    opp_ref: str | None = None,
    account_ref: str | None = None,
    contact_ref: str | None = None,
    valid_until: str | None = None,
    terms: str | None = None,
    currency: str | None = None,
) -> Record:
    if not opp_ref and not account_ref:
        raise UsageError(
            "give the opportunity or the account the quote is for", asks_for=("opportunity", "account")
        )
    opp = ws.store.resolve(OPPORTUNITY, opp_ref) if opp_ref else None
    if account_ref:
        account_id = ws.store.resolve(ACCOUNT, account_ref)["id"]
        if opp is not None and opp["account_id"] != account_id:
            raise ValidationError("account", f"opportunity {opp['name']!r} belongs to another account")
    else:
        assert opp is not None
        account_id = opp["account_id"]
    today = local_today()
    opp_contact, opp_currency = (opp["contact_id"], opp["currency"]) if opp else (None, None)
    default_currency = ws.setting("currency")
    values: Record = {
        **records.scope_defaults(ws),
        "revision": 1,
        "account_id": account_id,
        "opportunity_id": opp["id"] if opp else None,
        "contact_id": _contact_at(ws, contact_ref, account_id) if contact_ref else opp_contact,
        "currency": parse_currency(currency) if currency else (opp_currency or default_currency),
        "valid_until": _valid_until(ws, valid_until, today),
        "status": rules.DRAFT,
        "terms": check_text("terms", terms.strip())
        if terms is not None
        else (ws.setting("quote.terms") or None),
    }
    with ws.store.transaction():
        values["number"] = _allocate_number(ws, today)
        quote = ws.store.insert(QUOTE, values)
        records.add_timeline(ws, QUOTE, quote, "status", f"quote {quote['number']} drafted", account_id)
    return quote


def _draft(ws: Workspace, ref: str) -> Record:
    quote = resolve(ws, ref)
    status = status_of(quote)
    if status != rules.DRAFT:
        raise StateError(
            f"quote {_label(quote)} is {status}; only drafts can be changed (use `sfa quote revise`)"
        )
    return quote


def _label(quote: Record) -> str:
    return f"{quote['number']} rev {quote['revision']}"


def edit_quote(
    ws: Workspace,
    ref: str,
    *,
    valid_until: str | None = None,
    contact_ref: str | None = None,
    terms: str | None = None,
) -> Record:
    quote = _draft(ws, ref)
    changes: Record = {}
    if valid_until is not None:
        changes["valid_until"] = _valid_until(ws, valid_until, local_today()) if valid_until.strip() else None
    if contact_ref is not None:
        changes["contact_id"] = (
            _contact_at(ws, contact_ref, quote["account_id"]) if contact_ref.strip() else None
        )
    if terms is not None:
        changes["terms"] = check_text("terms", terms.strip()) or None
    if not changes:
        raise ValidationError("quote", "nothing to change; give at least one option")
    return ws.store.update(QUOTE, quote["id"], changes)


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
    options: Sequence[str] = (),
) -> Record:
    """Append a line: from a product (its price and tax unless overridden) or free text. A product
    with options is configured (sfa/services/configurator.py): its defaults, or `options`."""
    if options and not product_ref:
        raise UsageError("options need a product", asks_for=("product",))
    quote = _draft(ws, ref)
    currency = quote["currency"] or ws.setting("currency")
    values = line_values(
        ws,
        currency,
        product_ref=product_ref,
        description=description,
        price=price,
        qty=qty,
        discount=discount,
        tax=tax,
        options=options,
        account_id=quote["account_id"],
    )
    values["quote_id"] = quote["id"]
    with ws.store.transaction():
        return append_line(ws, QUOTE_LINE, lines_of(ws, quote["id"]), values)


def append_line(ws: Workspace, entity: Entity, lines: list[Record], values: Record) -> Record:
    """Insert `values` after `lines` (a quote's, order's or contract's, in position order), so the
    positions stay 1..n. Inside the caller's transaction."""
    values["position"] = (lines[-1]["position"] + 1) if lines else 1
    return ws.store.insert(entity, values)


def remove_numbered_line(
    ws: Workspace, entity: Entity, lines: list[Record], position: int, owner: str
) -> Record:
    """Remove line `position` of `lines` (`owner` names their document in the refusal); the lines
    after it move up one, so positions stay 1..n. Inside the caller's transaction."""
    target = next((line for line in lines if line["position"] == position), None)
    if target is None:
        shown = f"1..{len(lines)}" if lines else "none yet"
        raise ValidationError("line", f"{owner} has no line {position}; lines: {shown}")
    ws.store.delete(entity, target["id"])
    for line in lines:
        if line["position"] > position:
            ws.store.update(entity, line["id"], {"position": line["position"] - 1})
    return target


def line_values(
    ws: Workspace,
    currency: str,
    *,
    product_ref: str | None = None,
    description: str | None = None,
    price: str | None = None,
    qty: str | None = None,
    discount: str | None = None,
    tax: str | None = None,
    options: Sequence[str] = (),
    account_id: str | None = None,
) -> Record:
    """A checked line (quote, order or contract) from a product or free text; no position or parent
    yet. A product with options is configured: its defaults, or `options`. A product's price is the
    applicable price list's for `account_id` (docs/policy.md), else its list price."""
    values: Record = {}
    if product_ref:
        product = products.resolve(ws, product_ref, active_only=True)
        quantity = rules.parse_quantity(qty) if qty is not None else Decimal(1)
        listed = pricelists.price_for(ws, product["id"], currency, account_id, quantity)
        if listed is None and (product["currency"] or currency) != currency:
            raise ValidationError(
                "product", f"{product['sku']} is priced in {product['currency']}, the document in {currency}"
            )
        values.update(
            product_id=product["id"],
            sku=product["sku"],
            description=product["name"],
            unit_price=product["unit_price"] if listed is None else listed[0],
            tax_rate=product["tax_rate"],
        )
        from sfa.services import configurator  # configured products only (not on the dashboard's start)

        if options or configurator.option_rows(ws, product["id"]):
            _, config = configurator.configure_product(ws, product["id"], options)
            configurator.check(config)
            values.update(
                sku=config.sku,
                description=config.description,
                unit_price=config.unit_price,
                configuration=config.text or None,
            )
    elif description is None or price is None:
        raise UsageError(
            "give a product, or a description and a price", asks_for=("product", "description", "price")
        )
    if description is not None:
        if not description.strip():
            raise ValidationError("description", "is required and cannot be empty")
        values["description"] = check_text("description", description.strip())
    if price is not None:
        values["unit_price"] = parse_amount(price, "price")
    if tax is not None:
        values["tax_rate"] = rules.parse_rate(tax)
    elif values.get("tax_rate") is None:
        values["tax_rate"] = rules.parse_rate(ws.setting("quote.tax_rate"))
    values["quantity"] = rules.parse_quantity(qty) if qty is not None else Decimal(1)
    percent, amount = rules.parse_discount(discount, currency) if discount else (None, None)
    values["discount_percent"], values["discount_amount"] = percent, amount
    rules.check_line(to_line(values), currency)
    return values


def remove_line(ws: Workspace, ref: str, position: int) -> Record:
    """Remove line N; the lines after it move up one, so positions stay 1..n."""
    quote = _draft(ws, ref)
    with ws.store.transaction():
        return remove_numbered_line(
            ws, QUOTE_LINE, lines_of(ws, quote["id"]), position, f"quote {_label(quote)}"
        )


# -- states -------------------------------------------------------------------------------------------


def _latest_only(ws: Workspace, quote: Record, verb: str) -> None:
    if not is_latest(ws, quote):
        raise StateError(f"quote {_label(quote)} has a newer revision; {verb} the latest ({quote['number']})")


def _set_status(ws: Workspace, quote: Record, changes: Record, text: str) -> Record:
    updated = ws.store.update(QUOTE, quote["id"], changes)
    records.add_timeline(ws, QUOTE, updated, "status", text, updated["account_id"])
    return updated


def _total_text(ws: Workspace, quote: Record) -> str:
    totals = totals_of(quote, lines_of(ws, quote["id"]))
    return format_money(totals.total, totals.currency)


def send(ws: Workspace, ref: str) -> Record:
    """Lock the draft; the opportunity moves to "quotation sent" if it is at an earlier stage."""
    quote = _draft(ws, ref)
    _latest_only(ws, quote, "send")
    if not lines_of(ws, quote["id"]):
        raise StateError(f"quote {_label(quote)} has no lines; add one with `sfa quote add-line`")
    today = local_today()
    if quote["valid_until"] is not None and quote["valid_until"] < today:
        raise StateError(
            f"quote {_label(quote)} was valid until {quote['valid_until']}; edit the quote to set a "
            "later valid_until first"
        )
    from sfa.services import approvals  # it reads quotes through this module

    approvals.check_send(ws, quote)
    with ws.store.transaction():
        updated = _set_status(
            ws,
            quote,
            {"status": rules.SENT, "sent_at": utc_now()},
            f"quote {_label(quote)} sent ({_total_text(ws, quote)})",
        )
        _advance_opportunity(ws, quote, QUOTATION_SENT)
    return updated


def _advance_opportunity(ws: Workspace, quote: Record, stage_name: str) -> None:
    """Move the linked opportunity forward to `stage_name`; never backwards, never reopen a closed one."""
    if not quote["opportunity_id"]:
        return
    opp = ws.store.find(OPPORTUNITY, quote["opportunity_id"])
    if opp is None or opp["deleted"]:
        return
    names = [s.name for s in ws.stages]
    if stage_name not in names or opp["stage"] == stage_name:
        return
    if stage_name != WON:
        if opp["stage"] in (WON, LOST):
            return
        if opp["stage"] in names and names.index(opp["stage"]) > names.index(stage_name):
            return
    crm.move_stage(ws, opp["id"], stage_name, force=True)  # automatic: a strict policy does not stop it


def accept(ws: Workspace, ref: str) -> Record:
    quote = resolve(ws, ref)
    _latest_only(ws, quote, "accept")
    status = status_of(quote)
    if status == rules.EXPIRED:
        raise StateError(
            f"quote {_label(quote)} expired on {quote['valid_until']}; revise it (`sfa quote revise`) first"
        )
    if status != rules.SENT:
        raise StateError(f"quote {_label(quote)} is {status}; only a sent quote can be accepted")
    with ws.store.transaction():
        updated = _set_status(
            ws,
            quote,
            {"status": rules.ACCEPTED, "decided_at": utc_now()},
            f"quote {_label(quote)} accepted ({_total_text(ws, quote)})",
        )
        _advance_opportunity(ws, quote, WON)
    return updated


def reject(ws: Workspace, ref: str, reason: str | None = None) -> Record:
    quote = resolve(ws, ref)
    _latest_only(ws, quote, "reject")
    status = status_of(quote)
    if status not in (rules.SENT, rules.EXPIRED):
        raise StateError(f"quote {_label(quote)} is {status}; only a sent quote can be rejected")
    reason = check_text("reason", reason.strip()) if reason else None
    text = f"quote {_label(quote)} rejected" + (f" ({reason})" if reason else "")
    with ws.store.transaction():
        return _set_status(
            ws, quote, {"status": rules.REJECTED, "decided_at": utc_now(), "reject_reason": reason}, text
        )


def revise(ws: Workspace, ref: str) -> Record:
    """A new draft with the same number and revision + 1, copying the lines; the old one stays."""
    quote = resolve(ws, ref)
    _latest_only(ws, quote, "revise")
    status = status_of(quote)
    if status == rules.DRAFT:
        raise StateError(f"quote {_label(quote)} is still a draft; change it directly")
    if status == rules.ACCEPTED:
        raise StateError(f"quote {_label(quote)} was accepted; start a new quote instead")
    today = local_today()
    keep = (
        "number",
        "account_id",
        "opportunity_id",
        "contact_id",
        "currency",
        "terms",
        "owner",
        "team",
        "tags",
        "notes",
    )
    values: Record = {name: quote[name] for name in keep}
    values.update(
        revision=quote["revision"] + 1,
        previous_id=quote["id"],
        status=rules.DRAFT,
        valid_until=max(quote["valid_until"] or today, _valid_until(ws, None, today)),
    )
    copied = (
        "position",
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
    with ws.store.transaction():
        new = ws.store.insert(QUOTE, values)
        lines = [
            {**{k: line[k] for k in copied}, "quote_id": new["id"]} for line in lines_of(ws, quote["id"])
        ]
        ws.store.insert_many(QUOTE_LINE, lines)
        records.add_timeline(
            ws,
            QUOTE,
            new,
            "status",
            f"quote {_label(new)} drafted, revising rev {quote['revision']} ({status})",
            new["account_id"],
        )
    return new


def draft_for_opportunity(ws: Workspace, opp_id: str) -> Record | None:
    """The opportunity's draft (the latest revision still a draft), if it has one: `q` on a deal
    opens it rather than drafting a second quote."""
    found = ws.store.select(
        QUOTE,
        f"opportunity_id = ? AND status = ? AND ({_LATEST})",
        (opp_id, rules.DRAFT),
        order="created_at DESC, rid DESC",
        limit=1,
    )
    return found[0] if found else None


def delete_draft(ws: Workspace, ref: str) -> Record:
    """Delete a draft and its lines (`sfa quote delete`). Only a draft: a sent or decided quote is
    a document the customer has seen, it is revised, never deleted. Deleting a revision's draft
    makes the revision before it the latest again; the number of a deleted first draft is not
    given out again (numbers only go up)."""
    quote = _draft(ws, ref)
    with ws.store.transaction():
        for line in lines_of(ws, quote["id"]):
            ws.store.delete(QUOTE_LINE, line["id"])
        deleted = ws.store.delete(QUOTE, quote["id"])
        records.add_timeline(
            ws, QUOTE, quote, "status", f"quote {_label(quote)} draft deleted", quote["account_id"]
        )
    return deleted
