"""`sfa product ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import (
    CurrencyOpt,
    JsonOpt,
    LimitOpt,
    QuietOpt,
    emit_detail,
    emit_records,
    emit_written,
    print_json,
    record_json,
    workspace,
)
from sfa.domain.entities import PRODUCT
from sfa.domain.money import format_money
from sfa.services import products, records

app = typer.Typer(help="The price list: products with SKU, price and tax rate.", no_args_is_help=True)

Opt = typer.Option
Ref = Annotated[str, typer.Argument(help="SKU or short ref.")]
Sku = Annotated[str | None, Opt("--sku", help="Stock-keeping unit; unique among active products.")]
Price = Annotated[str | None, Opt("--price", help="Unit price: 12.50, 1,200 or 1.2k.")]
Currency = CurrencyOpt
Tax = Annotated[str | None, Opt("--tax", help="Tax rate in percent, e.g. 19 (default: quote.tax_rate).")]
Description = Annotated[str | None, Opt("--description", help="Longer text.")]

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("sku", "SKU"),
    ("name", "Name"),
    ("price", "Price"),
    ("tax", "Tax %"),
    ("status", "Status"),
]


def _display(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "price": format_money(r["unit_price"], r["currency"] or ""),
            "tax": str(r["tax_rate"] or 0),
            "status": "active" if r["active"] else "inactive",
        }
        for r in batch
    ]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Product name.")],
    sku: Annotated[str, Opt("--sku", help="Stock-keeping unit; unique among active products.")],
    price: Annotated[str, Opt("--price", help="Unit price: 12.50, 1,200 or 1.2k.")],
    currency: Currency = None,
    tax: Tax = None,
    description: Description = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a product to the price list."""
    ws = workspace(ctx)
    record = products.add_product(
        ws,
        {
            "name": name,
            "sku": sku,
            "unit_price": price,
            "currency": currency,
            "tax_rate": tax,
            "description": description,
        },
    )
    emit_written(ws, PRODUCT, record, "added", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    include_all: Annotated[bool, Opt("--all", help="Include inactive products.")] = False,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the price list by SKU."""
    ws = workspace(ctx)
    rows = products.list_products(ws, include_inactive=include_all, limit=limit)
    emit_records(ws, PRODUCT, rows, LIST_COLUMNS, as_json=as_json, extra=_display, empty="no products")


@app.command("show")
def show(ctx: typer.Context, ref: Ref, as_json: JsonOpt = False) -> None:
    """Show a product."""
    ws = workspace(ctx)
    product = products.resolve(ws, ref)
    if as_json:
        print_json(record_json(PRODUCT, product, records.short_ref(ws, PRODUCT, product["id"])))
        return
    labels = {
        "unit_price": format_money(product["unit_price"], product["currency"] or ""),
        "tax_rate": f"{product['tax_rate'] or 0} %",
        "active": "yes" if product["active"] else "no",
    }
    # emit_detail skips falsy values; show an inactive product's state all the same.
    emit_detail(ws, PRODUCT, {**product, "active": "no"} if not product["active"] else product, labels=labels)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Ref,
    name: Annotated[str | None, Opt("--name")] = None,
    sku: Sku = None,
    price: Price = None,
    currency: Currency = None,
    tax: Tax = None,
    description: Description = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a product; quotes already written keep the price they copied."""
    ws = workspace(ctx)
    record = products.edit_product(
        ws,
        ref,
        {
            "name": name,
            "sku": sku,
            "unit_price": price,
            "currency": currency,
            "tax_rate": tax,
            "description": description,
        },
    )
    emit_written(ws, PRODUCT, record, "updated", as_json=as_json, quiet=quiet)


@app.command("deactivate")
def deactivate(ctx: typer.Context, ref: Ref, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Take a product off the price list (kept for old quotes; its SKU may be reused)."""
    ws = workspace(ctx)
    record = products.set_active(ws, ref, False)
    emit_written(ws, PRODUCT, record, "deactivated", as_json=as_json, quiet=quiet)


@app.command("activate")
def activate(ctx: typer.Context, ref: Ref, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Put a deactivated product back on the price list."""
    ws = workspace(ctx)
    record = products.set_active(ws, ref, True)
    emit_written(ws, PRODUCT, record, "activated", as_json=as_json, quiet=quiet)
