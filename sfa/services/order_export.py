"""`sfa order export`: an order confirmation, laid out and written as quotes are
(sfa/services/quote_export.py: one document, three renderings, atomic writes)."""

from __future__ import annotations

from decimal import Decimal

from sfa.domain import quotes as rules
from sfa.domain.dates import local_today, local_zone
from sfa.domain.money import format_money
from sfa.services import orders, quotes
from sfa.services.quote_export import Document, ExportResult, Row, seller_lines
from sfa.services.quote_export import export as export_document
from sfa.store.workspace import Workspace


def build(ws: Workspace, ref: str) -> Document:
    view = orders.view(ws, ref)
    order, totals, currency = view.order, view.totals, view.totals.currency
    seller, extra = seller_lines(ws)
    customer = [
        part.strip() for part in (order["bill_to"] or view.account["name"]).split(";") if part.strip()
    ]
    if view.contact:
        customer.insert(1, f"Attn. {view.contact['name']}")

    def amount(value: Decimal) -> str:
        return format_money(value, currency).removesuffix(f" {currency}")

    rows = []
    for line, net in zip(view.lines, totals.line_nets, strict=True):
        rule_line = quotes.to_line(line)
        rows.append(
            Row(
                str(line["position"]),
                line["sku"] or "",
                line["description"],
                rules.plain_number(line["quantity"]),
                amount(line["unit_price"]),
                rules.discount_text(rule_line, currency),
                f"{rules.plain_number(rule_line.tax_rate)} %",
                amount(net),
            )
        )
    taxes = [(f"VAT {rules.plain_number(b.rate)} % on {amount(b.base)}", amount(b.tax)) for b in totals.taxes]
    issued = order["submitted_at"].astimezone(local_zone()).date() if order["submitted_at"] else local_today()
    facts = [("Order number", order["number"]), ("Date", issued.isoformat())]
    if order["customer_po"]:
        facts.append(("Your order", order["customer_po"]))
    if view.quote:
        facts.append(("Quotation", view.quote["number"]))
    if order["requested_date"]:
        facts.append(("Requested delivery", order["requested_date"].isoformat()))
    if order["ship_to"] and order["ship_to"] != order["bill_to"]:
        facts.append(("Ship to", order["ship_to"]))
    if order["status"] not in ("submitted", "acknowledged", "delivered", "invoiced"):
        facts.append(("Status", order["status"].upper()))
    return Document(
        number=order["number"],
        revision=1,
        status=order["status"],
        issued=issued,
        valid_until=None,
        seller=seller,
        seller_extra=extra,
        customer=customer,
        reference=view.opportunity["name"] if view.opportunity else "",
        currency=currency,
        rows=rows,
        taxes=taxes,
        net=amount(totals.net),
        tax=amount(totals.tax),
        total=amount(totals.total),
        terms=order["payment_terms"] or "",
        has_discount=any(r.discount for r in rows),
        heading="Order confirmation",
        facts=facts,
    )


def export(ws: Workspace, ref: str, output: str) -> ExportResult:
    return export_document(ws, ref, output, builder=build)
