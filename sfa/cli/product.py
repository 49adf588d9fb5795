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
Model = Annotated[str | None, Opt("--model", help="Model number.")]
Family = Annotated[str | None, Opt("--family", help="Product family or line.")]
Unit = Annotated[str | None, Opt("--unit", help="Unit of sale: pcs, m, h, kg ...")]
Image = Annotated[
    str | None, Opt("--image", help="A picture file: kept as a document of the product (kind photo).")
]
Datasheet = Annotated[
    list[str] | None,
    Opt("--datasheet", help="A datasheet file: kept as a document of the product (repeat for several)."),
]

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
    model: Model = None,
    family: Family = None,
    unit: Unit = None,
    image: Image = None,
    datasheet: Datasheet = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a product to the price list."""
    from sfa.services import encyclopedia

    ws = workspace(ctx)
    record = encyclopedia.add_with_files(
        ws,
        {
            "name": name,
            "sku": sku,
            "unit_price": price,
            "currency": currency,
            "tax_rate": tax,
            "description": description,
            "model_number": model,
            "family": family,
            "unit": unit,
        },
        datasheets=datasheet or (),
        image=image,
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
    """Show a product: fields, specs, successor, accessories, alternatives."""
    from sfa.domain.entities import DOCUMENT, PRODUCT_SPEC
    from sfa.services import encyclopedia

    ws = workspace(ctx)
    found = encyclopedia.detail(ws, ref)
    product = found.product
    if as_json:
        data = record_json(PRODUCT, product, records.short_ref(ws, PRODUCT, product["id"]))
        data["specs"] = [record_json(PRODUCT_SPEC, s) for s in found.specs]
        data["successor"] = found.successor["sku"] if found.successor else None
        data["accessory_skus"] = [p["sku"] for p in found.accessories]
        data["alternative_skus"] = [p["sku"] for p in found.alternatives]
        data["documents"] = [
            {**record_json(DOCUMENT, d), "ref": records.short_ref(ws, DOCUMENT, d["id"])}
            for d in found.documents
        ]
        print_json(data)
        return
    labels = {
        "unit_price": format_money(product["unit_price"], product["currency"] or ""),
        "tax_rate": f"{product['tax_rate'] or 0} %",
        "active": "yes" if product["active"] else "no",
        "successor_id": f"{found.successor['sku']} ({found.successor['name']})" if found.successor else "",
        "accessories": ", ".join(p["sku"] for p in found.accessories),
        "alternatives": ", ".join(p["sku"] for p in found.alternatives),
    }
    # emit_detail skips falsy values; show an inactive product's state all the same.
    sections = {
        "specs": [{"name": s["name"], "value": s["value"], "unit": s["unit"] or ""} for s in found.specs],
        "accessories": [{"sku": p["sku"], "name": p["name"]} for p in found.accessories],
        "documents": [
            {
                "ref": records.short_ref(ws, DOCUMENT, d["id"]),
                "kind": d["kind"] or "",
                "title": d["title"],
                "file": d["filename"],
            }
            for d in found.documents
        ],
    }
    if product["image"] and any(d["id"] == product["image"] for d in found.documents):
        labels["image"] = next(
            f"{d['filename']} (document {records.short_ref(ws, DOCUMENT, d['id'])})"
            for d in found.documents
            if d["id"] == product["image"]
        )
    emit_detail(
        ws,
        PRODUCT,
        {**product, "active": "no"} if not product["active"] else product,
        labels=labels,
        sections=sections,
        section_columns={
            "specs": [("name", "Spec"), ("value", "Value"), ("unit", "Unit")],
            "accessories": [("sku", "SKU"), ("name", "Name")],
            "documents": [("ref", "Ref"), ("kind", "Kind"), ("title", "Title"), ("file", "File")],
        },
    )


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
    model: Model = None,
    family: Family = None,
    unit: Unit = None,
    image: Image = None,
    datasheet: Datasheet = None,
    successor: Annotated[
        str | None, Opt("--successor", help='SKU of the product replacing it ("" clears).')
    ] = None,
    accessory: Annotated[
        list[str] | None, Opt("--accessory", help="SKU of an accessory (repeat; replaces the list).")
    ] = None,
    alternative: Annotated[
        list[str] | None, Opt("--alternative", help="SKU of an alternative (repeat; replaces the list).")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a product; quotes already written keep the price they copied."""
    from sfa.services import encyclopedia

    ws = workspace(ctx)
    raw = {
        "name": name,
        "sku": sku,
        "unit_price": price,
        "currency": currency,
        "tax_rate": tax,
        "description": description,
        "model_number": model,
        "family": family,
        "unit": unit,
    }
    record = encyclopedia.edit_with_links(
        ws,
        ref,
        raw,
        successor=successor,
        accessories=accessory,
        alternatives=alternative,
        datasheets=datasheet or (),
        image=image,
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


# -- the configurator (docs/products.md) ---------------------------------------------------------

option_app = typer.Typer(help="A configurable product's options.", no_args_is_help=True)
rule_app = typer.Typer(help="Rules between a product's options.", no_args_is_help=True)
app.add_typer(option_app, name="option")
app.add_typer(rule_app, name="rule")

OptionPairs = Annotated[list[str] | None, Opt("--option", metavar="A=V", help="A chosen option (repeat).")]


@option_app.command("add")
def option_add(
    ctx: typer.Context,
    ref: Ref,
    attribute: Annotated[str, Opt("--attribute", help="The attribute, e.g. Voltage.")],
    value: Annotated[str, Opt("--value", help="One of its values, e.g. 24V.")],
    extra: Annotated[str | None, Opt("--extra", help="Price extra (may be negative).")] = None,
    sku_suffix: Annotated[str | None, Opt("--sku-suffix", help="Appended to the SKU with a dash.")] = None,
    default: Annotated[bool, Opt("--default", help="Preselected when the attribute is not chosen.")] = False,
    required: Annotated[bool, Opt("--required", help="The attribute must have a value.")] = False,
    multiple: Annotated[bool, Opt("--multiple", help="The attribute takes several values.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add an option (attribute=value, price extra, SKU suffix) to a product."""
    from sfa.domain.entities import PRODUCT_OPTION
    from sfa.services import configurator

    ws = workspace(ctx)
    record = configurator.add_option(
        ws,
        ref,
        attribute=attribute,
        value=value,
        extra=extra,
        sku_suffix=sku_suffix,
        default=default,
        required=required,
        multiple=multiple,
    )
    if quiet or as_json:
        emit_written(ws, PRODUCT_OPTION, record, "added", as_json=as_json, quiet=quiet)
        return
    print(f"option added: {record['attribute']}={record['value']} (+{record['extra']})")


@option_app.command("list")
def option_list(ctx: typer.Context, ref: Ref, as_json: JsonOpt = False) -> None:
    """A product's options and rules."""
    from sfa.services import configurator

    ws = workspace(ctx)
    product = products.resolve(ws, ref)
    options = configurator.option_rows(ws, product["id"])
    rules = configurator.rule_rows(ws, product["id"])
    if as_json:
        from sfa.domain.entities import OPTION_RULE, PRODUCT_OPTION

        print_json(
            {
                "options": [record_json(PRODUCT_OPTION, r) for r in options],
                "rules": [record_json(OPTION_RULE, r) for r in rules],
            }
        )
        return
    _print_options(options, rules, product["currency"] or "")


def _print_options(options: list[dict[str, Any]], rules: list[dict[str, Any]], currency: str) -> None:
    from sfa.cli.common import emit_table

    rows = [
        {
            "attribute": o["attribute"],
            "value": o["value"],
            "extra": format_money(o["extra"], currency) if o["extra"] else "",
            "suffix": o["sku_suffix"] or "",
            "flags": " ".join(
                name
                for name, on in (
                    ("default", o["is_default"]),
                    ("required", o["required"]),
                    ("multiple", o["multiple"]),
                )
                if on
            ),
        }
        for o in options
    ]
    emit_table(
        rows,
        [
            ("attribute", "Attribute"),
            ("value", "Value"),
            ("extra", "Extra"),
            ("suffix", "SKU suffix"),
            ("flags", "Flags"),
        ],
        empty="no options",
    )
    if rules:
        print()
        emit_table(
            [
                {
                    "n": str(n),
                    "rule": f"{r['when_options']} {r['action']}s {r['target']}",
                    "message": r["message"] or "",
                }
                for n, r in enumerate(rules, start=1)
            ],
            [("n", "#"), ("rule", "Rule"), ("message", "Message")],
        )


@rule_app.command("add")
def rule_add(
    ctx: typer.Context,
    ref: Ref,
    when: Annotated[list[str], Opt("--when", metavar="A=V", help="The condition (repeat: all must hold).")],
    require: Annotated[str | None, Opt("--require", metavar="A=V", help="Then this is required.")] = None,
    exclude: Annotated[str | None, Opt("--exclude", metavar="A=V", help="Then this is excluded.")] = None,
    message_: Annotated[str | None, Opt("--message", help="What a refused choice is told.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a rule: when A=V holds, another option is required or excluded."""
    from sfa.cli.common import require_one
    from sfa.domain.entities import OPTION_RULE
    from sfa.services import configurator

    require_one(("--require", require), ("--exclude", exclude))
    ws = workspace(ctx)
    record = configurator.add_rule(ws, ref, when=when, require=require, exclude=exclude, message=message_)
    if quiet or as_json:
        emit_written(ws, OPTION_RULE, record, "added", as_json=as_json, quiet=quiet)
        return
    print(f"rule added: {record['when_options']} {record['action']}s {record['target']}")


@app.command("configure")
def configure(ctx: typer.Context, ref: Ref, option: OptionPairs = None, as_json: JsonOpt = False) -> None:
    """Configure a product: SKU, description and price for the chosen options, or what is wrong.

    In a terminal without --option it asks attribute by attribute, showing the price as it goes."""
    import sys

    from sfa.services import configurator

    ws = workspace(ctx)
    chosen = list(option or [])
    if not chosen and sys.stdin.isatty() and not as_json:
        chosen = _ask(ws, ref)
    product, config = configurator.configure_product(ws, ref, chosen)
    currency = product["currency"] or ""
    if as_json:
        print_json(
            {
                "sku": config.sku,
                "description": config.description,
                "configuration": config.text,
                "unit_price": str(config.unit_price),
                "currency": currency,
                "ok": config.ok,
                "errors": [
                    {
                        "attribute": p.attribute,
                        "message": p.message,
                        "rule": p.rule.number if p.rule else None,
                    }
                    for p in config.errors
                ],
                "allowed": {a: list(v) for a, v in config.allowed.items()},
            }
        )
        if not config.ok:
            raise typer.Exit(1)
        return
    configurator.check(config)
    print(f"{config.sku}  {config.description}")
    print(f"unit price: {format_money(config.unit_price, currency)}")


def _ask(ws: Any, ref: str) -> list[str]:
    """Attribute by attribute: the allowed values with their extras, the price so far."""
    from sfa.services import configurator

    chosen: list[str] = []
    product, config = configurator.configure_product(ws, ref, chosen)
    currency = product["currency"] or ""
    options = configurator.option_rows(ws, product["id"])
    attributes = list(dict.fromkeys(o["attribute"] for o in options))
    for attribute in attributes:
        _, config = configurator.configure_product(ws, ref, chosen)
        allowed = config.allowed.get(attribute, ())
        extras = {o["value"]: o["extra"] for o in options if o["attribute"] == attribute}
        shown = ", ".join(
            f"{v} (+{format_money(extras[v], currency)})" if extras.get(v) else v for v in allowed
        )
        current = dict(config.chosen).get(attribute, ())
        typer.echo(f"price so far: {format_money(config.unit_price, currency)}", err=True)
        answer = typer.prompt(f"{attribute}: {shown}", default="|".join(current), show_default=bool(current))
        for value in answer.split("|"):
            if value.strip():
                chosen.append(f"{attribute}={value.strip()}")
    return chosen


# -- the encyclopedia (docs/products.md) ---------------------------------------------------------

spec_app = typer.Typer(help="A product's specifications.", no_args_is_help=True)
app.add_typer(spec_app, name="spec")


@spec_app.command("set")
def spec_set(
    ctx: typer.Context,
    ref: Ref,
    name: Annotated[str, typer.Argument(help="Spec name, e.g. Stroke.")],
    value: Annotated[str, typer.Argument(help="Its value, e.g. 600.")],
    unit: Annotated[str | None, Opt("--unit", help="Its unit, e.g. mm.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Set a spec of a product (added, or its value changed)."""
    from sfa.domain.entities import PRODUCT_SPEC
    from sfa.services import encyclopedia

    ws = workspace(ctx)
    record = encyclopedia.set_spec(ws, ref, name, value, unit)
    if quiet or as_json:
        emit_written(ws, PRODUCT_SPEC, record, "set", as_json=as_json, quiet=quiet)
        return
    print(f"spec set: {record['name']} = {record['value']}{' ' + record['unit'] if record['unit'] else ''}")


@spec_app.command("remove")
def spec_remove(
    ctx: typer.Context,
    ref: Ref,
    name: Annotated[str, typer.Argument(help="Spec name.")],
    quiet: QuietOpt = False,
) -> None:
    """Remove a spec from a product."""
    from sfa.services import encyclopedia

    ws = workspace(ctx)
    record = encyclopedia.remove_spec(ws, ref, name)
    print(record["id"] if quiet else f"spec removed: {record['name']}")


@app.command("import")
def import_specs(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE", help="CSV with columns sku, name, value, unit.")],
    as_json: JsonOpt = False,
) -> None:
    """Import specs from CSV (sku, name, value, unit): all rows or none."""
    from pathlib import Path

    from sfa.services import encyclopedia

    ws = workspace(ctx)
    summary = encyclopedia.import_specs(ws, Path(path))
    if as_json:
        print_json(summary)
        return
    print(
        f"{summary['rows']} specs imported for {summary['products']} products "
        f"({summary['created']} new, {summary['updated']} changed)"
    )


@app.command("compare")
def compare(
    ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(metavar="SKU...", help="Two or more products.")],
    as_json: JsonOpt = False,
) -> None:
    """Specs side by side; rows whose values differ are marked with *."""
    from sfa.cli.common import emit_table
    from sfa.services import encyclopedia

    ws = workspace(ctx)
    result = encyclopedia.compare(ws, refs)
    if as_json:
        print_json(encyclopedia.comparison_json(result))
        return
    columns = [("diff", ""), ("spec", "Spec")] + [(f"p{n}", p["sku"]) for n, p in enumerate(result.products)]
    rows = [
        {"diff": "*" if differ else "", "spec": name, **{f"p{n}": v for n, v in enumerate(values)}}
        for name, values, differ in result.rows
    ]
    emit_table(rows, columns, empty="none of these products has specs")


@option_app.command("remove")
def option_remove(
    ctx: typer.Context,
    ref: Ref,
    attribute: Annotated[str, Opt("--attribute", help="The attribute.")],
    value: Annotated[str, Opt("--value", help="The value to remove.")],
    quiet: QuietOpt = False,
) -> None:
    """Remove an option (refused while a rule names it)."""
    from sfa.services import configurator

    ws = workspace(ctx)
    record = configurator.remove_option(ws, ref, attribute, value)
    print(record["id"] if quiet else f"option removed: {record['attribute']}={record['value']}")


@rule_app.command("remove")
def rule_remove(
    ctx: typer.Context,
    ref: Ref,
    number: Annotated[int, typer.Argument(metavar="N", help="Rule number (sfa product option list).")],
    quiet: QuietOpt = False,
) -> None:
    """Remove rule N of a product; the rules after it move up."""
    from sfa.services import configurator

    ws = workspace(ctx)
    record = configurator.remove_rule(ws, ref, number)
    print(
        record["id"]
        if quiet
        else f"rule removed: {record['when_options']} {record['action']}s {record['target']}"
    )
