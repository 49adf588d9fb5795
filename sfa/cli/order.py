"""`sfa order ...`"""

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
    message,
    print_json,
    record_json,
    timeline_json,
    timeline_rows,
    when,
    workspace,
)
from sfa.domain import quotes as quote_rules
from sfa.domain.entities import ACCOUNT, APPROVAL, ORDER, ORDER_LINE
from sfa.domain.money import format_money
from sfa.services import orders, quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

app = typer.Typer(
    help="Orders: from an accepted quote, submit to the ERP, follow its answer.", no_args_is_help=True
)

Opt = typer.Option
ORef = Annotated[str, typer.Argument(metavar="OREF", help="Order number or short ref.")]
Po = Annotated[str | None, Opt("--po", help="The customer's purchase order number.")]
Requested = Annotated[str | None, Opt("--requested", help="Requested delivery date: ISO, +14d, fri ...")]

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("number", "Number"),
    ("account", "Account"),
    ("status", "Status"),
    ("customer_po", "PO"),
    ("erp_ref", "ERP ref"),
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
    ("delivered", "Delivered"),
    ("invoiced", "Invoiced"),
]


def _order_json(ws: Workspace, order: Record) -> dict[str, Any]:
    return record_json(ORDER, order, records.short_ref(ws, ORDER, order["id"]))


def written(ws: Workspace, order: Record, verb: str, *, as_json: bool, quiet: bool) -> None:
    if quiet:
        print(order["id"])
        return
    if as_json:
        print_json(_order_json(ws, order))
        return
    ref = records.short_ref(ws, ORDER, order["id"])
    print(f"order {ref} {verb}: {order['number']} ({order['status']})")


@app.command("new")
def new(
    ctx: typer.Context,
    from_quote: Annotated[str, Opt("--from-quote", metavar="QREF", help="An accepted quote.")],
    po: Po = None,
    requested: Requested = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Draft an order from an accepted quote (its lines, prices and terms)."""
    ws = workspace(ctx)
    order = orders.new_from_quote(ws, from_quote, po=po, requested=requested)
    written(ws, order, "drafted", as_json=as_json, quiet=quiet)


@app.command("edit")
def edit(
    ctx: typer.Context,
    oref: ORef,
    po: Po = None,
    requested: Requested = None,
    ship_to: Annotated[str | None, Opt("--ship-to", help="Delivery address.")] = None,
    bill_to: Annotated[str | None, Opt("--bill-to", help="Invoice address.")] = None,
    payment_terms: Annotated[str | None, Opt("--payment-terms")] = None,
    contact: Annotated[str | None, Opt("--contact", help="Contact ref at the order's account.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a draft order's header ("" clears)."""
    ws = workspace(ctx)
    order = orders.edit_order(
        ws,
        oref,
        po=po,
        requested=requested,
        ship_to=ship_to,
        bill_to=bill_to,
        payment_terms=payment_terms,
        contact_ref=contact,
    )
    written(ws, order, "updated", as_json=as_json, quiet=quiet)


@app.command("add-line")
def add_line(
    ctx: typer.Context,
    oref: ORef,
    product: Annotated[str | None, Opt("--product", help="SKU or ref: its name, price, tax.")] = None,
    description: Annotated[str | None, Opt("--description", help="Line text (or override).")] = None,
    price: Annotated[str | None, Opt("--price", help="Unit price (or override).")] = None,
    qty: Annotated[str | None, Opt("--qty", help="Quantity (default 1).")] = None,
    discount: Annotated[str | None, Opt("--discount", help="10% or an amount off: 25.00.")] = None,
    tax: Annotated[str | None, Opt("--tax", help="Tax rate, percent (default: product's).")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Append a line to a draft order."""
    ws = workspace(ctx)
    line = orders.add_line(
        ws,
        oref,
        product_ref=product,
        description=description,
        price=price,
        qty=qty,
        discount=discount,
        tax=tax,
    )
    if quiet:
        print(line["id"])
        return
    if as_json:
        print_json(record_json(ORDER_LINE, line))
        return
    order = records.get(ws, ORDER, line["order_id"])
    currency = order["currency"] or ""
    net = quote_rules.line_net(quotes.to_line(line), currency)
    print(
        f"line {line['position']} added to {order['number']}: {line['description']}, "
        f"{quote_rules.plain_number(line['quantity'])} × {format_money(line['unit_price'], currency)}"
        f" = {format_money(net, currency)}"
    )


@app.command("remove-line")
def remove_line(
    ctx: typer.Context,
    oref: ORef,
    position: Annotated[int, typer.Argument(metavar="N", help="Line number.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Remove line N of a draft order; the lines after it move up."""
    ws = workspace(ctx)
    line = orders.remove_line(ws, oref, position)
    if quiet:
        print(line["id"])
    elif as_json:
        print_json(record_json(ORDER_LINE, {**line, "deleted": True}))
    else:
        print(f"line {position} removed: {line['description']}")


@app.command("submit")
def submit(
    ctx: typer.Context,
    oref: ORef,
    accept_differences: Annotated[
        bool, Opt("--accept-differences", help="Submit although it differs from its quote or the price list.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Lock the order for the ERP, after the pricing check (printed line by line)."""
    ws = workspace(ctx)
    if not as_json and not quiet:
        for line in orders.check_ref(ws, oref).lines():  # line by line, before a refusal too
            message(f"pricing: {line}")
    result = orders.submit(ws, oref, accept_differences=accept_differences)
    if as_json:
        data = _order_json(ws, result.order)
        data["pricing_check"] = [
            {"line": f.position, "text": f.text, "blocking": f.blocking} for f in result.check.findings
        ]
        data["approved_by"] = result.approval["by"] if result.approval is not None else None
        print_json(data)
        return
    if result.approval is not None and not quiet:
        message(f"pricing differences approved by {result.approval['by']}")
    written(ws, result.order, "submitted", as_json=False, quiet=quiet)


@app.command("approve")
def approve(
    ctx: typer.Context,
    oref: ORef,
    comment: Annotated[str | None, Opt("--comment", help="A note for the rep.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Approve a draft's pricing differences (manager): the rep then submits it without
    --accept-differences. The approval covers the lines as they are now."""
    ws = workspace(ctx)
    entry, check = orders.approve(ws, oref, comment)
    order = orders.resolve(ws, oref)
    if quiet:
        print(entry["id"])
    elif as_json:
        print_json(
            {
                **record_json(APPROVAL, entry),
                "order": order["number"],
                "pricing_check": [
                    {"line": f.position, "text": f.text, "blocking": f.blocking} for f in check.findings
                ],
            }
        )
    else:
        for line in check.lines():
            message(f"pricing: {line}")
        print(f"order {order['number']}: pricing differences approved by {entry['by']}")


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    oref: ORef,
    reason: Annotated[str, Opt("--reason", help="Why the order is cancelled.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Cancel a draft, or a submitted order the ERP has not acknowledged yet."""
    ws = workspace(ctx)
    written(ws, orders.cancel(ws, oref, reason), "cancelled", as_json=as_json, quiet=quiet)


def _line_rows(view: orders.OrderView) -> list[dict[str, Any]]:
    currency = view.totals.currency
    rows = []
    for line, net in zip(view.lines, view.totals.line_nets, strict=True):
        rules_line = quotes.to_line(line)
        rows.append(
            {
                "position": line["position"],
                "sku": line["sku"] or "",
                "description": line["description"],
                "qty": quote_rules.plain_number(line["quantity"]),
                "unit_price": format_money(line["unit_price"], currency),
                "discount": quote_rules.discount_text(rules_line, currency),
                "tax": quote_rules.plain_number(rules_line.tax_rate),
                "amount": format_money(net, currency),
                "delivered": quote_rules.plain_number(line["delivered_quantity"])
                if line["delivered_quantity"] is not None
                else "",
                "invoiced": quote_rules.plain_number(line["invoiced_quantity"])
                if line["invoiced_quantity"] is not None
                else "",
            }
        )
    return rows


def _accepted(ws: Workspace, order: Record) -> str | None:
    if not order["accepted_differences"]:
        return None
    approval = orders.approval_of(ws, order)
    return f"yes, approved by {approval['by']}" if approval is not None else "yes"


@app.command("show")
def show(ctx: typer.Context, oref: ORef, as_json: JsonOpt = False) -> None:
    """Show an order: header, ERP answer, lines and totals."""
    ws = workspace(ctx)
    view = orders.view(ws, oref)
    order, totals = view.order, view.totals
    timeline = records.timeline_of(ws, order["id"])
    if as_json:
        data = _order_json(ws, order)
        data["lines"] = [
            {**record_json(ORDER_LINE, line), "net": str(net)}
            for line, net in zip(view.lines, totals.line_nets, strict=True)
        ]
        data["totals"] = quote_rules.totals_json(totals)
        data["timeline"] = timeline_json(timeline)
        print_json(data)
        return
    ref = records.short_ref(ws, ORDER, order["id"])
    print(f"order {ref}  {order['number']}  ({order['status']})")
    fields = [
        ("account", view.account["name"]),
        ("quote", f"{view.quote['number']} rev {view.quote['revision']}" if view.quote else None),
        ("opportunity", view.opportunity["name"] if view.opportunity else None),
        ("contact", view.contact["name"] if view.contact else None),
        ("currency", totals.currency),
        ("customer PO", order["customer_po"]),
        ("requested", order["requested_date"]),
        ("ship to", order["ship_to"]),
        ("bill to", order["bill_to"]),
        ("payment terms", order["payment_terms"]),
        ("submitted", when(order["submitted_at"]) if order["submitted_at"] else None),
        ("differences accepted", _accepted(ws, order)),
        ("ERP ref", order["erp_ref"]),
        ("ERP message", order["erp_message"]),
        ("ERP answered", when(order["erp_at"]) if order["erp_at"] else None),
        ("cancelled", when(order["cancelled_at"]) if order["cancelled_at"] else None),
        ("cancel reason", order["cancel_reason"]),
    ]
    for label, value in fields:
        if value not in (None, ""):
            print(f"  {label}: {value}")
    print(f"  id: {order['id']}")
    print()
    print(f"lines ({len(view.lines)})")
    if view.lines:
        emit_table(_line_rows(view), LINE_COLUMNS)
    print()
    print(f"  net: {format_money(totals.net, totals.currency)}")
    for band in totals.taxes:
        base = format_money(band.base, totals.currency)
        rate = quote_rules.plain_number(band.rate)
        print(f"  tax {rate} % on {base}: {format_money(band.tax, totals.currency)}")
    print(f"  total: {format_money(totals.total, totals.currency)}")
    if timeline:
        print()
        print(f"timeline ({len(timeline)})")
        emit_table(timeline_rows(timeline), [("at", "When"), ("text", "What")])


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        Opt("--status", help="draft, submitted, acknowledged, rejected, cancelled, delivered, invoiced."),
    ] = None,
    open_only: Annotated[bool, Opt("--open", help="Only orders not yet finished or cancelled.")] = False,
    account: Annotated[str | None, Opt("--account", help="Account ref.")] = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List orders, newest first."""
    ws = workspace(ctx)
    rows = orders.list_orders(ws, status=status, open_only=open_only, account_ref=account, limit=limit)
    totals = orders.totals_by_order(ws, rows)
    if as_json:
        refs = records.short_refs(ws, ORDER, [r["id"] for r in rows])
        print_json(
            [
                {
                    **record_json(ORDER, row, refs[row["id"]]),
                    "totals": quote_rules.totals_json(totals[row["id"]]),
                }
                for row in rows
            ]
        )
        return

    def display(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = records.titles_of(ws, ACCOUNT, {str(r["account_id"]) for r in batch})
        return [
            {
                "account": names.get(r["account_id"], ""),
                "amount": format_money(totals[r["id"]].total, totals[r["id"]].currency),
            }
            for r in batch
        ]

    emit_records(ws, ORDER, rows, LIST_COLUMNS, as_json=False, extra=display, empty="no orders")


@app.command("export")
def export(
    ctx: typer.Context,
    oref: ORef,
    output: Annotated[str, Opt("--output", "-o", metavar="FILE", help="FILE.pdf, FILE.md or FILE.html.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write an order confirmation (PDF, Markdown or HTML)."""
    from sfa.services import order_export

    ws = workspace(ctx)
    result = order_export.export(ws, oref, output)
    emit_export(result, as_json=as_json, quiet=quiet)
