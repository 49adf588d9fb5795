"""`sfa pricelist ...`: price lists per currency or customer group (docs/policy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import CurrencyOpt, JsonOpt, emit_records, emit_table, print_json, record_json, workspace
from sfa.domain.entities import PRICE_LIST, PRICE_LIST_ITEM, PRODUCT
from sfa.domain.money import format_money
from sfa.services import pricelists, records

app = typer.Typer(
    help="Price lists per currency or customer group, with quantity prices.", no_args_is_help=True
)

Opt = typer.Option
ListRef = Annotated[str, typer.Argument(help="Price list name or short ref.")]
ProductRef = Annotated[str, typer.Argument(help="Product SKU or short ref.")]
MinQty = Annotated[str | None, Opt("--min-qty", help="The price applies from this quantity on (default 1).")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the list, e.g. 'Dealers EUR'.")],
    currency: CurrencyOpt = None,
    group: Annotated[
        str | None, Opt("--group", help="Customer group: accounts of this industry get the list's prices.")
    ] = None,
    team: Annotated[
        str | None, Opt("--team", help="The team whose list it is (default: a manager's own).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a price list (managers and admins)."""
    ws = workspace(ctx)
    record = pricelists.add(ws, name, currency=currency, group=group, team=team)
    if as_json:
        print_json(record_json(PRICE_LIST, record, records.short_ref(ws, PRICE_LIST, record["id"])))
        return
    print(f"price list {records.short_ref(ws, PRICE_LIST, record['id'])} added: {record['name']}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the price lists."""
    ws = workspace(ctx)
    columns = [("ref", "Ref"), ("name", "Name"), ("currency", "Cur."), ("group", "Group"), ("team", "Team")]
    emit_records(
        ws,
        PRICE_LIST,
        pricelists.list_all(ws),
        columns,
        as_json=as_json,
        extra=lambda rows: ({"group": r["customer_group"], "team": r["team"] or "(company)"} for r in rows),
        empty="no price lists",
    )


@app.command("show")
def show(ctx: typer.Context, ref: ListRef, as_json: JsonOpt = False) -> None:
    """Show a price list and its prices."""
    ws = workspace(ctx)
    price_list = pricelists.resolve(ws, ref)
    items = pricelists.items(ws, price_list)
    products = {p["id"]: p for p in records.all_of(ws, PRODUCT, include_deleted=True)}
    if as_json:
        print_json(
            {
                **record_json(PRICE_LIST, price_list, records.short_ref(ws, PRICE_LIST, price_list["id"])),
                "items": [
                    {**record_json(PRICE_LIST_ITEM, i), "sku": products.get(i["product_id"], {}).get("sku")}
                    for i in items
                ],
            }
        )
        return
    print(f"{price_list['name']} ({price_list['currency']})")
    if price_list["customer_group"]:
        print(f"customer group: {price_list['customer_group']}")
    print(f"team: {price_list['team'] or '(company)'}")
    rows = [
        {
            "sku": products.get(i["product_id"], {}).get("sku", "?"),
            "name": products.get(i["product_id"], {}).get("name", ""),
            "min": str(i["min_quantity"] or 1),
            "price": format_money(i["unit_price"], price_list["currency"] or ""),
        }
        for i in sorted(
            items,
            key=lambda i: (products.get(i["product_id"], {}).get("sku", ""), i["min_quantity"] or 0),
        )
    ]
    emit_table(
        rows,
        [("sku", "SKU"), ("name", "Product"), ("min", "From qty"), ("price", "Price")],
        empty="no prices",
    )


@app.command("set-price")
def set_price(
    ctx: typer.Context,
    ref: ListRef,
    product: ProductRef,
    price: Annotated[str, typer.Argument(help="Unit price: 12.50, 1,200 or 1.2k.")],
    min_qty: MinQty = None,
) -> None:
    """Set a product's price on a list (from a quantity on)."""
    ws = workspace(ctx)
    item = pricelists.set_price(ws, ref, product, price, min_qty)
    price_list = pricelists.resolve(ws, ref)
    print(
        f"price set: {format_money(item['unit_price'], price_list['currency'] or '')}"
        f" from quantity {item['min_quantity']} on {price_list['name']}"
    )


@app.command("remove-price")
def remove_price(ctx: typer.Context, ref: ListRef, product: ProductRef, min_qty: MinQty = None) -> None:
    """Remove a product's price from a list."""
    ws = workspace(ctx)
    pricelists.remove_price(ws, ref, product, min_qty)
    print("price removed")
