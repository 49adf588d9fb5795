"""`sfa contract export`: the contract as a document, laid out and written as quotes are
(sfa/services/quote_export.py)."""

from __future__ import annotations

from decimal import Decimal

from sfa.domain import quotes as rules
from sfa.domain.dates import local_today
from sfa.domain.money import format_money
from sfa.services import contracts, quotes
from sfa.services.quote_export import Document, ExportResult, Row, seller_lines
from sfa.services.quote_export import export as export_document
from sfa.store.workspace import Workspace


def build(ws: Workspace, ref: str) -> Document:
    view = contracts.view(ws, ref)
    contract, totals = view.contract, view.totals
    currency = totals.currency
    seller, extra = seller_lines(ws)
    account = view.account
    customer = [account["name"]]
    if view.contact:
        customer.append(f"Attn. {view.contact['name']}")
    place = " ".join(p for p in (account["postcode"], account["city"]) if p)
    customer += [p for p in (account["street"], place, account["country"]) if p]

    def amount(value: Decimal) -> str:
        return format_money(value, currency).removesuffix(f" {currency}")

    rows = [
        Row(
            str(line["position"]),
            line["sku"] or "",
            line["description"],
            rules.plain_number(line["quantity"]),
            amount(line["unit_price"]),
            rules.discount_text(quotes.to_line(line), currency),
            f"{rules.plain_number(quotes.to_line(line).tax_rate)} %",
            amount(net),
        )
        for line, net in zip(view.lines, totals.line_nets, strict=True)
    ]
    facts = [("Contract number", contract["number"]), ("Revision", str(contract["revision"]))]
    facts.append(("Start", contract["start_date"].isoformat()))
    if contract["end_date"]:
        facts.append(("End", contract["end_date"].isoformat()))
    if contract["term_months"]:
        facts.append(("Term", f"{contract['term_months']} months"))
    if contract["notice_days"] is not None:
        facts.append(("Notice", f"{contract['notice_days']} days"))
    if contract["billing"]:
        facts.append(("Billing", contract["billing"]))
    if contract["auto_renew"]:
        facts.append(("Renewal", "automatic unless terminated"))
    if contract["value"] is not None:
        facts.append(("Value", format_money(contract["value"], currency)))
    if contract["customer_signed_by"]:
        facts.append(("Signed by", contract["customer_signed_by"]))
    if view.state not in ("activated", "active", "pending"):
        facts.append(("Status", view.state.upper()))
    taxes = [(f"VAT {rules.plain_number(b.rate)} % on {amount(b.base)}", amount(b.tax)) for b in totals.taxes]
    return Document(
        number=contract["number"],
        revision=contract["revision"],
        status=view.state,
        issued=local_today(),
        valid_until=None,
        seller=seller,
        seller_extra=extra,
        customer=customer,
        reference=contract["title"],
        currency=currency,
        rows=rows,
        taxes=taxes,
        net=amount(totals.net),
        tax=amount(totals.tax),
        total=amount(totals.total),
        terms=contract["terms"] or "",
        has_discount=any(r.discount for r in rows),
        heading="Contract",
        facts=facts,
    )


def export(ws: Workspace, ref: str, output: str) -> ExportResult:
    return export_document(ws, ref, output, builder=build)
