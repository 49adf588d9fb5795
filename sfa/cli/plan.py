"""`sfa plan ...`: commission plans, written by managers (docs/incentives.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import CurrencyOpt, JsonOpt, emit_table, print_json, record_json, workspace
from sfa.domain.entities import COMMISSION_BASES, COMMISSION_PLAN, PLAN_ASSIGNMENT
from sfa.domain.money import format_money
from sfa.services import commission, records

app = typer.Typer(
    help="Commission plans: rates by attainment, approval, reps and targets.", no_args_is_help=True
)

Opt = typer.Option
PlanArg = Annotated[str, typer.Argument(help="The plan's name or ref.")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The plan's name.")],
    period: Annotated[str, Opt("--period", help="2027-Q1, 2027-03 or 2027.")],
    rates: Annotated[str, Opt("--rates", help="Rate table by attainment: '0%:2, 80%:4, 100%:6, 150%:8'.")],
    basis: Annotated[str, Opt("--basis", help=f"One of {', '.join(COMMISSION_BASES)}.")] = "won_amount",
    family: Annotated[
        str | None, Opt("--family-rates", help="Rates per product family: 'Pumps:5, Valves:3'.")
    ] = None,
    cap: Annotated[str | None, Opt("--cap", help="The most a rep earns in the period.")] = None,
    currency: CurrencyOpt = None,
    team: Annotated[str | None, Opt("--team", help="The team (default: a manager's own).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a draft commission plan."""
    ws = workspace(ctx)
    record = commission.add_plan(
        ws, commission.PlanInput(name, period, basis, rates, family, cap, currency, team)
    )
    ref = records.short_ref(ws, COMMISSION_PLAN, record["id"])
    if as_json:
        print_json(record_json(COMMISSION_PLAN, record, ref))
        return
    print(f"plan {ref} added (draft): {record['name']} {record['period']}, {record['basis']}")


@app.command("assign")
def assign(
    ctx: typer.Context,
    plan: PlanArg,
    rep: Annotated[str, Opt("--rep", help="The rep's user name.")],
    target: Annotated[str, Opt("--target", help="The rep's target in the plan's currency: 250k, ...")],
    as_json: JsonOpt = False,
) -> None:
    """Put a rep on a plan with a target (again: sets the target)."""
    ws = workspace(ctx)
    record = commission.assign(ws, plan, rep, target)
    if as_json:
        print_json(record_json(PLAN_ASSIGNMENT, record, records.short_ref(ws, PLAN_ASSIGNMENT, record["id"])))
        return
    print(f"{record['rep']} assigned, target {format_money(record['target'])}")


@app.command("show")
def show(
    ctx: typer.Context,
    plan: Annotated[str | None, typer.Argument(help="The plan's name or ref (default: list them).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a plan with its reps and targets, or list the plans."""
    ws = workspace(ctx)
    if plan is None:
        plans = commission.list_plans(ws)
        refs = records.short_refs(ws, COMMISSION_PLAN, [p["id"] for p in plans])
        if as_json:
            print_json([record_json(COMMISSION_PLAN, p, refs[p["id"]]) for p in plans])
            return
        rows = [
            {
                "ref": refs[p["id"]],
                "name": p["name"],
                "period": p["period"],
                "basis": p["basis"],
                "status": p["status"],
                "team": p["team"] or "",
            }
            for p in plans
        ]
        columns = [
            ("ref", "Ref"),
            ("name", "Name"),
            ("period", "Period"),
            ("basis", "Basis"),
            ("status", "Status"),
            ("team", "Team"),
        ]
        emit_table(rows, columns, empty="no commission plans")
        return
    record = commission.resolve_plan(ws, plan)
    assigned = commission.assignments_of(ws, record["id"])
    ref = records.short_ref(ws, COMMISSION_PLAN, record["id"])
    if as_json:
        data = record_json(COMMISSION_PLAN, record, ref)
        data["assignments"] = [{"rep": a["rep"], "target": str(a["target"])} for a in assigned]
        print_json(data)
        return
    cur = record["currency"] or ""
    print(f"plan {ref}  {record['name']}  ({record['status']})")
    print(f"  period: {record['period']}")
    print(f"  basis: {record['basis']}")
    print(f"  rates: {record['rates']}")
    if record["family_rates"]:
        print(f"  family rates: {record['family_rates']}")
    print(f"  cap: {format_money(record['cap'], cur) if record['cap'] is not None else '-'}")
    print(f"  currency: {cur}")
    if record["team"]:
        print(f"  team: {record['team']}")
    if record["approved_by"]:
        print(f"  approved by: {record['approved_by']}")
    print()
    rows = [{"rep": a["rep"], "target": format_money(a["target"], cur)} for a in assigned]
    emit_table(rows, [("rep", "Rep"), ("target", "Target")], empty="no reps assigned")


@app.command("approve")
def approve(ctx: typer.Context, plan: PlanArg, as_json: JsonOpt = False) -> None:
    """Approve a plan: from now on it is immutable (a change is a new plan)."""
    ws = workspace(ctx)
    record = commission.approve_plan(ws, plan)
    if as_json:
        print_json(record_json(COMMISSION_PLAN, record, records.short_ref(ws, COMMISSION_PLAN, record["id"])))
        return
    print(f"plan {record['name']} approved")
