"""`sfa quote ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import (
    JsonOpt,
    LimitOpt,
    QuietOpt,
    emit_export,
    emit_records,
    emit_table,
    print_json,
    record_json,
    timeline_json,
    timeline_rows,
    when,
    workspace,
)
from sfa.domain import quotes as rules
from sfa.domain.entities import ACCOUNT, ORDER, QUOTE, QUOTE_LINE
from sfa.domain.errors import UsageError
from sfa.domain.money import format_money
from sfa.services import quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

app = typer.Typer(
    help="Quotes: lines from the price list, exact totals, send, revise, export.", no_args_is_help=True
)

Opt = typer.Option
QRef = Annotated[str, typer.Argument(metavar="QREF", help="Quote number (latest revision) or short ref.")]
ValidUntil = Annotated[str | None, Opt("--valid-until", help="Date: ISO, +30d, fri ... (default: config).")]
Contact = Annotated[str | None, Opt("--contact", help="Contact ref at the quote's account.")]
Terms = Annotated[str | None, Opt("--terms", help="Terms printed on the quote (default: config).")]

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("number", "Number"),
    ("revision", "Rev"),
    ("account", "Account"),
    ("status", "Status"),
    ("valid_until", "Valid until"),
    ("amount", "Total"),
]
LINE_COLUMNS = [
    ("position", "#"),
    ("sku", "SKU"),
    ("description", "Description"),
    ("qty", "Qty"),
    ("unit_price", "Unit price"),
    ("discount", "Discount"),
    ("tax", "Tax %"),
    ("amount", "Net"),
]


def _quote_json(ws: Workspace, quote: Record, status: str) -> dict[str, Any]:
    data = record_json(QUOTE, quote, records.short_ref(ws, QUOTE, quote["id"]))
    data["stored_status"] = data["status"]
    data["status"] = status
    return data


def _written(ws: Workspace, quote: Record, verb: str, *, as_json: bool, quiet: bool) -> None:
    if quiet:
        print(quote["id"])
        return
    status = quotes.status_of(quote)
    if as_json:
        print_json(_quote_json(ws, quote, status))
        return
    ref = records.short_ref(ws, QUOTE, quote["id"])
    print(f"quote {ref} {verb}: {quote['number']} rev {quote['revision']} ({status})")


@app.command("new")
def new(
    ctx: typer.Context,
    opp: Annotated[str | None, Opt("--opp", help="Opportunity ref; quote for its account.")] = None,
    account: Annotated[str | None, Opt("--account", help="Account ref (no opportunity).")] = None,
    valid_until: ValidUntil = None,
    contact: Contact = None,
    terms: Terms = None,
    currency: Annotated[str | None, Opt("--currency", help="Default: the opportunity's.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Start a draft quote with a new number."""
    ws = workspace(ctx)
    quote = quotes.new_quote(
        ws,
        opp_ref=opp,
        account_ref=account,
        contact_ref=contact,
        valid_until=valid_until,
        terms=terms,
        currency=currency,
    )
    _written(ws, quote, "drafted", as_json=as_json, quiet=quiet)


@app.command("edit")
def edit(
    ctx: typer.Context,
    qref: QRef,
    valid_until: ValidUntil = None,
    contact: Contact = None,
    terms: Terms = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a draft's valid-until date, contact or terms ("" clears)."""
    ws = workspace(ctx)
    quote = quotes.edit_quote(ws, qref, valid_until=valid_until, contact_ref=contact, terms=terms)
    _written(ws, quote, "updated", as_json=as_json, quiet=quiet)


@app.command("add-line")
def add_line(
    ctx: typer.Context,
    qref: QRef,
    product: Annotated[str | None, Opt("--product", help="SKU or ref: its name, price, tax.")] = None,
    description: Annotated[str | None, Opt("--description", help="Line text (or override).")] = None,
    price: Annotated[str | None, Opt("--price", help="Unit price (or override).")] = None,
    qty: Annotated[str | None, Opt("--qty", help="Quantity (default 1).")] = None,
    discount: Annotated[str | None, Opt("--discount", help="10% or an amount off: 25.00.")] = None,
    tax: Annotated[str | None, Opt("--tax", help="Tax rate, percent (default: product's).")] = None,
    option: Annotated[
        list[str] | None, Opt("--option", metavar="A=V", help="A configured product's option (repeat).")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Append a line to a draft (a configurable product: with its options)."""
    ws = workspace(ctx)
    line = quotes.add_line(
        ws,
        qref,
        product_ref=product,
        description=description,
        price=price,
        qty=qty,
        discount=discount,
        tax=tax,
        options=option or (),
    )
    if quiet:
        print(line["id"])
        return
    if as_json:
        print_json(record_json(QUOTE_LINE, line))
        return
    quote = records.get(ws, QUOTE, line["quote_id"])
    currency = quote["currency"] or ""
    net = rules.line_net(quotes.to_line(line), currency)
    print(
        f"line {line['position']} added to {quote['number']}: {line['description']}, "
        f"{rules.plain_number(line['quantity'])} × {format_money(line['unit_price'], currency)}"
        f" = {format_money(net, currency)}"
    )


@app.command("remove-line")
def remove_line(
    ctx: typer.Context,
    qref: QRef,
    position: Annotated[int, typer.Argument(metavar="N", help="Line number.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Remove line N of a draft; the lines after it move up."""
    ws = workspace(ctx)
    line = quotes.remove_line(ws, qref, position)
    if quiet:
        print(line["id"])
    elif as_json:
        print_json(record_json(QUOTE_LINE, {**line, "deleted": True}))
    else:
        print(f"line {position} removed: {line['description']}")


def _line_rows(view: quotes.QuoteView) -> list[dict[str, Any]]:
    currency = view.totals.currency
    rows = []
    for line, net in zip(view.lines, view.totals.line_nets, strict=True):
        rules_line = quotes.to_line(line)
        rows.append(
            {
                "position": line["position"],
                "sku": line["sku"] or "",
                "description": line["description"],
                "qty": rules.plain_number(line["quantity"]),
                "unit_price": format_money(line["unit_price"], currency),
                "discount": rules.discount_text(rules_line, currency),
                "tax": rules.plain_number(rules_line.tax_rate),
                "amount": format_money(net, currency),
            }
        )
    return rows


@app.command("show")
def show(ctx: typer.Context, qref: QRef, as_json: JsonOpt = False) -> None:
    """Show a quote: header, lines and totals per tax rate."""
    ws = workspace(ctx)
    view = quotes.view(ws, qref)
    quote, totals = view.quote, view.totals
    timeline = records.timeline_of(ws, quote["id"])
    if as_json:
        data = _quote_json(ws, quote, view.status)
        data["latest_revision"] = view.latest
        data["lines"] = [
            {**record_json(QUOTE_LINE, line), "net": str(net)}
            for line, net in zip(view.lines, totals.line_nets, strict=True)
        ]
        data["totals"] = rules.totals_json(totals)
        data["timeline"] = timeline_json(timeline)
        print_json(data)
        return
    ref = records.short_ref(ws, QUOTE, quote["id"])
    print(f"quote {ref}  {quote['number']} rev {quote['revision']}  ({view.status})")
    fields = [
        ("account", view.account["name"]),
        ("opportunity", view.opportunity["name"] if view.opportunity else None),
        ("contact", view.contact["name"] if view.contact else None),
        ("currency", totals.currency),
        ("valid until", quote["valid_until"]),
        ("sent", when(quote["sent_at"]) if quote["sent_at"] else None),
        ("decided", when(quote["decided_at"]) if quote["decided_at"] else None),
        ("reject reason", quote["reject_reason"]),
        ("terms", quote["terms"]),
        ("newer revision", None if view.latest else "yes; this one is kept for the record"),
    ]
    for label, value in fields:
        if value not in (None, ""):
            print(f"  {label}: {value}")
    print(f"  id: {quote['id']}")
    print()
    print(f"lines ({len(view.lines)})")
    if view.lines:
        emit_table(_line_rows(view), LINE_COLUMNS)
    print()
    print(f"  net: {format_money(totals.net, totals.currency)}")
    for band in totals.taxes:
        base = format_money(band.base, totals.currency)
        print(f"  tax {rules.plain_number(band.rate)} % on {base}: {format_money(band.tax, totals.currency)}")
    print(f"  total: {format_money(totals.total, totals.currency)}")
    if timeline:
        print()
        print(f"timeline ({len(timeline)})")
        emit_table(timeline_rows(timeline), [("at", "When"), ("text", "What")])


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, Opt("--status", help="draft, sent, accepted, rejected or expired.")] = None,
    account: Annotated[str | None, Opt("--account", help="Account ref.")] = None,
    all_revisions: Annotated[bool, Opt("--all-revisions", help="Also older revisions.")] = False,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List quotes, newest first (the latest revision of each number)."""
    ws = workspace(ctx)
    rows = quotes.list_quotes(
        ws, status=status, all_revisions=all_revisions, limit=limit, account_ref=account
    )
    totals = quotes.totals_by_quote(ws, rows)
    if as_json:
        refs = records.short_refs(ws, QUOTE, [r["id"] for r in rows])
        out = []
        for row in rows:
            data = record_json(QUOTE, row, refs[row["id"]])
            data["stored_status"] = data["status"]
            data["status"] = quotes.status_of(row)
            data["totals"] = rules.totals_json(totals[row["id"]])
            out.append(data)
        print_json(out)
        return

    def display(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = records.titles_of(ws, ACCOUNT, {str(r["account_id"]) for r in batch})
        return [
            {
                "account": names.get(r["account_id"], ""),
                "status": quotes.status_of(r),
                "amount": format_money(totals[r["id"]].total, totals[r["id"]].currency),
            }
            for r in batch
        ]

    emit_records(ws, QUOTE, rows, LIST_COLUMNS, as_json=False, extra=display, empty="no quotes")


@app.command("send")
def send(ctx: typer.Context, qref: QRef, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Lock the draft as sent; the opportunity moves to "quotation sent"."""
    ws = workspace(ctx)
    _written(ws, quotes.send(ws, qref), "sent", as_json=as_json, quiet=quiet)


@app.command("submit")
def submit(
    ctx: typer.Context,
    qref: QRef,
    comment: Annotated[str | None, Opt("--comment", help="Why the discount, for the manager.")] = None,
) -> None:
    """Submit a draft whose discount is over the policy's limit for a manager's approval."""
    from sfa.services import approvals

    ws = workspace(ctx)
    approvals.submit(ws, qref, comment)
    print(f"quote {quotes.resolve(ws, qref)['number']} submitted for approval")


@app.command("revise")
def revise(ctx: typer.Context, qref: QRef, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Start the next revision as a draft (same number, lines copied); the old one is kept."""
    ws = workspace(ctx)
    _written(ws, quotes.revise(ws, qref), "revised", as_json=as_json, quiet=quiet)


@app.command("accept")
def accept(
    ctx: typer.Context,
    qref: QRef,
    order: Annotated[bool, Opt("--order", help="Also draft the order (sfa order new --from-quote).")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """The customer accepted: the quote is accepted and its opportunity won."""
    ws = workspace(ctx)
    accepted = quotes.accept(ws, qref)
    if not order:
        _written(ws, accepted, "accepted", as_json=as_json, quiet=quiet)
        return
    from sfa.cli.order import written
    from sfa.services import orders

    drafted = orders.new_from_quote(ws, accepted["id"])
    if as_json:
        data = _quote_json(ws, accepted, quotes.status_of(accepted))
        data["order"] = record_json(ORDER, drafted, records.short_ref(ws, ORDER, drafted["id"]))
        print_json(data)
        return
    _written(ws, accepted, "accepted", as_json=False, quiet=quiet)
    written(ws, drafted, "drafted", as_json=False, quiet=quiet)


@app.command("reject")
def reject(
    ctx: typer.Context,
    qref: QRef,
    reason: Annotated[str | None, Opt("--reason", help="Why the customer said no.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """The customer declined; the opportunity stays open (revise, or mark it lost)."""
    ws = workspace(ctx)
    _written(ws, quotes.reject(ws, qref, reason), "rejected", as_json=as_json, quiet=quiet)


@app.command("delete")
def delete(ctx: typer.Context, qref: QRef, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete a draft and its lines (sent or decided quotes are revised, never deleted)."""
    ws = workspace(ctx)
    _written(ws, quotes.delete_draft(ws, qref), "deleted", as_json=as_json, quiet=quiet)


@app.command("export")
def export(
    ctx: typer.Context,
    qref: QRef,
    output: Annotated[str, Opt("--output", "-o", metavar="FILE", help="FILE.pdf, FILE.md or FILE.html.")],
    attach_datasheets: Annotated[
        bool, Opt("--attach-datasheets", help="Append the lines' product datasheets (PDF output).")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a customer-ready quote document (PDF, Markdown or HTML)."""
    from sfa.services import quote_export

    if attach_datasheets and not output.lower().endswith(".pdf"):
        raise UsageError("--attach-datasheets needs a .pdf --output")
    ws = workspace(ctx)
    attachments = None
    if attach_datasheets:
        from sfa.services import documents

        attachments = documents.datasheets_for_quote(ws, quotes.resolve(ws, qref)["id"])
    result = quote_export.export(ws, qref, output, attachments=attachments)
    emit_export(result, as_json=as_json, quiet=quiet, revision=True)
