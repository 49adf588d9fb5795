"""`sfa unmerge REF`: bring back a record that `sfa merge` merged away."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, QuietOpt, print_json, record_json, workspace

app = typer.Typer(help="Undo a merge: the merged-away record comes back.")


@app.command()
def unmerge(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Ref of the merged-away record.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Undo a merge: the merged-away record comes back with its linked records."""
    from sfa.services import dedupe

    ws = workspace(ctx)
    result = dedupe.unmerge(ws, ref)
    if quiet:
        print(result.restored["id"])
        return
    if as_json:
        print_json(
            {
                "restored": record_json(result.entity, result.restored),
                "survivor": result.survivor_id,
                "children": result.children,
                "fields": result.fields,
            }
        )
        return
    title = result.restored[result.entity.title]
    where = (
        f"{result.children} linked records moved back"
        if result.logged
        else "linked records stay with the survivor (the merge was made on another laptop)"
    )
    print(f"{result.entity.name} {title!r} restored: {where}")
