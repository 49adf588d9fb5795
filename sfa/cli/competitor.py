"""`sfa competitor ...`: the rivals deals meet (issue 16 §3, docs/prediction.md "Win/loss")."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, print_json, record_json, workspace
from sfa.domain.entities import COMPETITOR
from sfa.services import competitors, records

app = typer.Typer(help="Competitors: the rivals deals meet and are lost to.", no_args_is_help=True)

Opt = typer.Option
Website = Annotated[str | None, Opt("--website", help="https://... or a domain.")]
Notes = Annotated[str | None, Opt("--notes", help="Battle card: strengths, weaknesses, how to win.")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The competitor's name.")],
    website: Website = None,
    notes: Notes = None,
    team: Annotated[
        str | None, Opt("--team", help="The team tracking it (default: a manager's own).")
    ] = None,
) -> None:
    """Add a competitor (managers and admins)."""
    ws = workspace(ctx)
    found = competitors.add(ws, name, website=website, notes=notes, team=team)
    print(f"competitor {competitors.short_ref(ws, found)} added: {found['name']}")


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Name or short ref of the competitor.")],
    name: Annotated[str | None, Opt("--name", help="A new name.")] = None,
    website: Website = None,
    notes: Notes = None,
) -> None:
    """Change a competitor's name, website or notes (managers and admins)."""
    ws = workspace(ctx)
    found = competitors.edit(ws, ref, name=name, website=website, notes=notes)
    print(f"competitor {competitors.short_ref(ws, found)} updated: {found['name']}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List competitors by name."""
    ws = workspace(ctx)
    rows = competitors.listing(ws)
    refs = records.short_refs(ws, COMPETITOR, [r["id"] for r in rows])
    if as_json:
        print_json([record_json(COMPETITOR, r, refs[r["id"]]) for r in rows])
        return
    shown = [
        {
            "ref": refs[r["id"]],
            "name": r["name"],
            "website": r["website"] or "",
            "team": r["team"] or "(company)",
            "notes": r["notes"] or "",
        }
        for r in rows
    ]
    columns = [("ref", "Ref"), ("name", "Name"), ("website", "Website"), ("team", "Team"), ("notes", "Notes")]
    emit_table(shown, columns, empty="no competitors")


@app.command("remove")
def remove(
    ctx: typer.Context, ref: Annotated[str, typer.Argument(help="Name or short ref of the competitor.")]
) -> None:
    """Remove a competitor (deals that met it still name it in reports)."""
    ws = workspace(ctx)
    found = competitors.remove(ws, ref)
    print(f"competitor removed: {found['name']}")
