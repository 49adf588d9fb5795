"""`sfa dedupe scan`: groups of likely duplicates across everything this laptop holds."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, message, print_json, workspace

app = typer.Typer(help="Find likely duplicates (merge them with `sfa merge`).", no_args_is_help=True)


@app.callback()
def group() -> None:
    """Find likely duplicates (merge them with `sfa merge`)."""


@app.command("scan")
def scan(
    ctx: typer.Context,
    type_: Annotated[
        str | None, typer.Option("--type", help="contact, account or lead (default: all three).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Groups of likely duplicates (same email, phone, or name + company), with the reason."""
    from sfa.domain.entities import MERGEABLE
    from sfa.services import dedupe

    ws = workspace(ctx)
    groups = dedupe.scan(ws, [type_] if type_ else MERGEABLE)
    if as_json:
        print_json([dedupe.group_json(ws, g) for g in groups])
        return
    if not groups:
        message("no likely duplicates")
        return
    rows = []
    for number, group in enumerate(groups, start=1):
        data = dedupe.group_json(ws, group)
        for record in data["records"]:
            rows.append(
                {
                    "group": str(number),
                    "type": group.entity,
                    "ref": record["ref"],
                    "name": record["name"],
                    "reason": "same " + " and ".join(group.reasons),
                }
            )
    emit_table(
        rows, [("group", "Group"), ("type", "Type"), ("ref", "Ref"), ("name", "Name"), ("reason", "Why")]
    )
