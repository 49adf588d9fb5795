"""`sfa target ...`: sales targets per rep or team and period (docs/policy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sfa.cli.common import CurrencyOpt, JsonOpt, emit_table, print_json, record_json, workspace
from sfa.domain.entities import TARGET, TARGET_METRICS
from sfa.domain.money import format_money
from sfa.services import records, targets

app = typer.Typer(
    help="Sales targets per rep or team and period (managers write them).", no_args_is_help=True
)

Opt = typer.Option
PeriodOpt = Annotated[str | None, Opt("--period", help="2027-Q1, 2027-03 or 2027.")]


def _shown(value: object, currency: str | None) -> str:
    if value is None:
        return ""
    return format_money(value, currency) if currency else str(value)  # type: ignore[arg-type]


@app.command("set")
def set_(
    ctx: typer.Context,
    period: Annotated[str, Opt("--period", help="2027-Q1, 2027-03 or 2027.")],
    metric: Annotated[str, Opt("--metric", help=f"One of {', '.join(TARGET_METRICS)}.")],
    value: Annotated[str, Opt("--value", help="The target: 250k, 40, ...")],
    owner: Annotated[str | None, Opt("--owner", help="The rep (leave out for a team's target).")] = None,
    team: Annotated[str | None, Opt("--team", help="The team (default: a manager's own).")] = None,
    stretch: Annotated[str | None, Opt("--stretch", help="The stretch target.")] = None,
    currency: CurrencyOpt = None,
    segment: Annotated[
        str | None,
        Opt(
            "--segment",
            help="Count only industry:NAME, family:NAME (product family) or business:new|existing.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set a target (replaces the same subject's target for the period and metric)."""
    ws = workspace(ctx)
    record = targets.set_target(
        ws, targets.TargetInput(owner, team, period, metric, value, stretch, currency, segment)
    )
    if as_json:
        print_json(record_json(TARGET, record, records.short_ref(ws, TARGET, record["id"])))
        return
    subject = record["owner"] or f"team {record['team']}"
    print(
        f"target set: {subject} {record['period']} {record['metric']} {_shown(record['value'], record['currency'])}"
    )


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="CSV: owner,team,period,metric,value,stretch,currency,segment.")
    ],
) -> None:
    """Set many targets from a CSV file (all rows or none)."""
    ws = workspace(ctx)
    written = targets.import_csv(ws, file)
    print(f"{len(written)} target(s) set")


@app.command("list")
def list_(ctx: typer.Context, period: PeriodOpt = None, as_json: JsonOpt = False) -> None:
    """List targets, by period."""
    ws = workspace(ctx)
    rows = targets.list_targets(ws, period)
    refs = records.short_refs(ws, TARGET, [r["id"] for r in rows])
    if as_json:
        print_json([record_json(TARGET, r, refs[r["id"]]) for r in rows])
        return
    shown = [
        {
            "ref": refs[r["id"]],
            "period": r["period"],
            "subject": r["owner"] or f"team {r['team']}",
            "team": r["team"] or "",
            "metric": r["metric"],
            "value": _shown(r["value"], r["currency"]),
            "stretch": _shown(r["stretch"], r["currency"]),
            "segment": r["segment"] or "",
        }
        for r in rows
    ]
    columns = [
        ("ref", "Ref"),
        ("period", "Period"),
        ("subject", "Subject"),
        ("team", "Team"),
        ("metric", "Metric"),
        ("value", "Target"),
        ("stretch", "Stretch"),
        ("segment", "Segment"),
    ]
    emit_table(shown, columns, empty="no targets")
