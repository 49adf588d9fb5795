"""`sfa policy ...`: the sales policy (docs/policy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sfa.cli.common import JsonOpt, emit_table, message, print_json, workspace
from sfa.cli.editor import edit_text
from sfa.domain.entities import POLICY
from sfa.services import authority, policy, records

app = typer.Typer(
    help="The sales policy: stages, stall days, key fields, approval limits.", no_args_is_help=True
)

Opt = typer.Option
TeamOpt = Annotated[
    str | None, Opt("--team", help="Write this team's policy (default: a manager's own team).")
]
CompanyOpt = Annotated[bool, Opt("--company", help="Write the company-wide policy (admins).")]


def _policy_json(view: policy.PolicyView) -> dict[str, Any]:
    p = view.policy
    return {
        "source": p.source,
        "id": p.record_id,
        "strict": p.strict,
        "line_discount_limit": None if p.line_discount_limit is None else str(p.line_discount_limit),
        "quote_discount_limit": None if p.quote_discount_limit is None else str(p.quote_discount_limit),
        "stages": [
            {
                "name": s.name,
                "probability": s.probability,
                "category": s.category,
                "stall_days": s.stall_days,
                "key_fields": list(s.key_fields),
            }
            for s in p.stages
        ],
        "unknown_stages": view.unknown_stages,
        "problems": list(p.problems),
    }


def _report_unknown(view: policy.PolicyView) -> None:
    for stage, count in view.unknown_stages.items():
        message(
            f"note: {count} deal(s) are in the stage {stage!r}, which the policy does not have (kept as is)"
        )


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show the sales policy in force here, and deals in stages it does not have."""
    ws = workspace(ctx)
    view = policy.view(ws)
    if as_json:
        print_json(_policy_json(view))
        return
    p = view.policy
    source = {"local": "local (this laptop's config; no synced policy yet)", "company": "company-wide"}
    print(f"policy: {source.get(p.source, p.source)}")
    print(f"strict: {'yes' if p.strict else 'no'}")
    for key, label in (("line_discount_limit", "line discount"), ("quote_discount_limit", "quote discount")):
        value = getattr(p, key)
        print(f"approval above {label}: {'-' if value is None else f'{value} %'}")
    rows = [
        {
            "stage": s.name,
            "probability": f"{s.probability} %",
            "category": s.category,
            "stall": str(s.stall_days),
            "keys": ", ".join(s.key_fields),
        }
        for s in p.stages
    ]
    columns = [
        ("stage", "Stage"),
        ("probability", "Prob."),
        ("category", "Forecast"),
        ("stall", "Stall days"),
        ("keys", "Key fields"),
    ]
    emit_table(rows, columns)
    for problem in p.problems:
        message(f"warning: {problem}")
    _report_unknown(view)


def _saved(ctx: typer.Context, record: dict[str, Any]) -> None:
    ws = workspace(ctx)
    where = f"team {record['team']}" if record.get("team") else "company-wide"
    print(f"policy {records.short_ref(ws, POLICY, record['id'])} saved ({where})")
    _report_unknown(policy.view(ws))


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A policy in TOML (`sfa policy edit` shows the form).")],
    team: TeamOpt = None,
    company: CompanyOpt = False,
) -> None:
    """Replace the sales policy with a TOML file."""
    ws = workspace(ctx)
    record = policy.import_file(ws, file, policy.team_for(ws, team, company))
    _saved(ctx, record)


@app.command("edit")
def edit(ctx: typer.Context, team: TeamOpt = None, company: CompanyOpt = False) -> None:
    """Edit the sales policy in $EDITOR (a TOML rendering)."""
    ws = workspace(ctx)
    target = policy.team_for(ws, team, company)
    authority.require_manager(ws, "the sales policy", team=target)
    before = policy.as_toml(ws, target)
    after = edit_text(before, ".toml")
    if after.strip() == before.strip():
        print("policy unchanged")
        return
    _saved(ctx, policy.save_toml(ws, after, target))
