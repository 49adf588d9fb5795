"""`sfa playbook ...`: the steps each stage asks for (docs/policy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, print_json, record_json, workspace
from sfa.domain.entities import PLAYBOOK, PLAYBOOK_KINDS
from sfa.services import playbooks, records

app = typer.Typer(help="Playbooks: the steps and tasks each stage asks for.", no_args_is_help=True)

Opt = typer.Option


@app.command("add")
def add(
    ctx: typer.Context,
    stage: Annotated[str, typer.Argument(help="A stage of the policy.")],
    title: Annotated[str, typer.Argument(help="What to do, e.g. 'Call the decision maker'.")],
    kind: Annotated[
        str | None, Opt("--kind", help=f"One of {', '.join(PLAYBOOK_KINDS)} (default task).")
    ] = None,
    due: Annotated[str | None, Opt("--due", help="Due after the move: +3d, +2w.")] = None,
    required: Annotated[bool, Opt("--required", help="A forward move warns while it is open.")] = False,
    guidance: Annotated[str | None, Opt("--guidance", help="How to do it, shown in the checklist.")] = None,
    team: Annotated[str | None, Opt("--team", help="The team's playbook (default: a manager's own).")] = None,
) -> None:
    """Add a step to a stage's playbook (managers and admins)."""
    ws = workspace(ctx)
    step = playbooks.add_step(
        ws, stage, title, kind=kind, due=due, required=required, guidance=guidance, team=team
    )
    print(
        f"playbook step {records.short_ref(ws, PLAYBOOK, step['id'])} added to {step['stage']}: {step['title']}"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Annotated[str | None, Opt("--stage", help="Only this stage's steps.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List playbook steps in stage order."""
    ws = workspace(ctx)
    from sfa.domain.stages import find_stage

    rows = playbooks.steps(ws, find_stage(ws.stages, stage).name if stage else None)
    refs = records.short_refs(ws, PLAYBOOK, [r["id"] for r in rows])
    if as_json:
        print_json([record_json(PLAYBOOK, r, refs[r["id"]]) for r in rows])
        return
    shown = [
        {
            "ref": refs[r["id"]],
            "stage": r["stage"],
            "title": r["title"],
            "kind": r["kind"],
            "due": f"+{r['due_days']}d" if r["due_days"] is not None else "",
            "required": "yes" if r["required"] else "",
            "team": r["team"] or "(company)",
        }
        for r in rows
    ]
    columns = [
        ("ref", "Ref"),
        ("stage", "Stage"),
        ("title", "Step"),
        ("kind", "Kind"),
        ("due", "Due"),
        ("required", "Required"),
        ("team", "Team"),
    ]
    emit_table(shown, columns, empty="no playbook steps")


@app.command("remove")
def remove(ctx: typer.Context, ref: Annotated[str, typer.Argument(help="Short ref of the step.")]) -> None:
    """Remove a playbook step (tasks it made stay)."""
    ws = workspace(ctx)
    step = playbooks.remove_step(ws, ref)
    print(f"playbook step removed: {step['title']}")
