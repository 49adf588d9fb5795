"""`sfa search TEXT`"""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, LimitOpt, emit_table, print_json, record_json, workspace
from sfa.services import records
from sfa.services import search as search_service

app = typer.Typer(help="Full-text search over every record type.")


@app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help="Words to find; each must match (as a prefix).")],
    types: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help=f"{', '.join(search_service.accepted_types())}; may repeat."),
    ] = None,
    limit: LimitOpt = 20,
    as_json: JsonOpt = False,
) -> None:
    """Find records by any word in their name, company, email, notes ..."""
    ws = workspace(ctx)
    hits = search_service.search(ws, " ".join(text), types, limit=limit or 20)
    refs = {}
    for entity, record in hits:
        refs.update(records.short_refs(ws, entity, [record["id"]]))
    if as_json:
        print_json(
            [{"type": search_service.shown_name(e), **record_json(e, r, refs[r["id"]])} for e, r in hits]
        )
        return
    rows = []
    for entity, record in hits:
        detail = " ".join(str(record[f]) for f in entity.search_fields[1:3] if record.get(f))
        rows.append(
            {
                "type": search_service.shown_name(entity),
                "ref": refs[record["id"]],
                "title": record.get(entity.title),
                "detail": detail,
            }
        )
    emit_table(
        rows,
        [("type", "Type"), ("ref", "Ref"), ("title", "Name"), ("detail", "Detail")],
        empty=f"nothing matches {' '.join(text)!r}",
    )
