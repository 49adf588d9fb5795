"""`sfa merge contact|account|lead KEEP OTHER`: one record survives, the other is merged into it."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, QuietOpt, print_json, record_json, workspace
from sfa.services import records

app = typer.Typer(help="Merge two duplicates: one survives, children re-pointed.", no_args_is_help=True)

Keep = Annotated[str, typer.Argument(help="Ref of the record that survives.")]
Other = Annotated[str, typer.Argument(help="Ref of the record merged into it (then deleted).")]
Take = Annotated[
    list[str] | None,
    typer.Option("--take", metavar="FIELD=OTHER", help="Take this field's value from OTHER (repeat)."),
]


def _merge(
    ctx: typer.Context,
    type_name: str,
    keep: str,
    other: str,
    take: list[str] | None,
    as_json: bool,
    quiet: bool,
) -> None:
    from sfa.services import dedupe

    ws = workspace(ctx)
    result = dedupe.merge(ws, type_name, keep, other, take or ())
    if quiet:
        print(result.keep["id"])
        return
    if as_json:
        print_json(
            {
                "survivor": record_json(result.entity, result.keep),
                "merged": result.other["id"],
                "taken": result.taken,
                "children": result.children,
            }
        )
        return
    ref = records.short_ref(ws, result.entity, result.other["id"])
    title = result.entity.title
    taken = f"; took {', '.join(result.taken)}" if result.taken else ""
    print(
        f"{result.entity.name} {result.other[title]!r} merged into {result.keep[title]!r}: "
        f"{result.children} linked records moved{taken} (undo: sfa unmerge {ref})"
    )


@app.command("contact")
def contact(
    ctx: typer.Context,
    keep: Keep,
    other: Other,
    take: Take = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Merge contact OTHER into KEEP."""
    _merge(ctx, "contact", keep, other, take, as_json, quiet)


@app.command("account")
def account(
    ctx: typer.Context,
    keep: Keep,
    other: Other,
    take: Take = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Merge account OTHER into KEEP."""
    _merge(ctx, "account", keep, other, take, as_json, quiet)


@app.command("lead")
def lead(
    ctx: typer.Context,
    keep: Keep,
    other: Other,
    take: Take = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Merge lead OTHER into KEEP."""
    _merge(ctx, "lead", keep, other, take, as_json, quiet)
