"""`sfa commission ...`: estimates for reps; runs, approvals and payroll export for managers
(docs/incentives.md)."""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any

import typer

from sfa.cli.common import JsonOpt, emit_table, message, print_json, refuse_together, when, workspace
from sfa.domain.commission import shown_percent, whole_percent
from sfa.domain.entities import SPLIT_KINDS
from sfa.domain.money import format_money
from sfa.services import commission

app = typer.Typer(
    help="Commission: estimates, statements, runs, approval, payroll export.", no_args_is_help=True
)

Opt = typer.Option
PeriodOpt = Annotated[str, Opt("--period", help="2027-Q1, 2027-03 or 2027.")]
RepOpt = Annotated[str, Opt("--rep", help="The rep's user name.")]


def _line_json(line: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": line["id"],
        "source_entity": line["source_entity"],
        "source_id": line["source_id"],
        "pool": line["pool"],
        "basis": None if line["basis"] is None else str(line["basis"]),
        "rate": None if line["rate"] is None else str(line["rate"]),
        "amount": str(line["commission"]),
        "explanation": line["explanation"],
        "reason": line["reason"],
    }


@app.command("estimate")
def estimate(
    ctx: typer.Context,
    quote: Annotated[
        str | None, Opt("--quote", help="What this quote would add if won (number or ref).")
    ] = None,
    rep: Annotated[str | None, Opt("--rep", help="Whose commission (default: you).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Your commission so far in the current plan, or what a quote adds (offline)."""
    ws = workspace(ctx)
    found = commission.estimate(ws, quote, rep)
    if as_json:
        data: dict[str, Any] = {
            "rep": found.rep,
            "plan": found.plan["name"],
            "period": found.plan["period"],
            "currency": found.currency,
            "target": str(found.target),
            "earned": str(found.before.total),
            "attainment": str(whole_percent(found.before.attainment)),
        }
        if found.after is not None:
            data["quote"] = found.quote["number"] if found.quote else None
            data["adds"] = str(found.added)
            data["at"] = found.where()
            data["attainment_after"] = str(whole_percent(found.after.attainment))
        data["skipped"] = (found.after or found.before).skipped
        print_json(data)
        return
    print(found.sentence())
    if found.plan["status"] != "approved":
        message(f"note: plan {found.plan['name']} is a draft; the rates may change")
    for skipped in (found.after or found.before).skipped:
        message(f"note: skipped {skipped}")


@app.command("statement")
def statement(
    ctx: typer.Context,
    period: Annotated[
        str | None, Opt("--period", help="2027-Q1, 2027-03 or 2027 (default: this quarter).")
    ] = None,
    rep: Annotated[str | None, Opt("--rep", help="Whose statement (default: you).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A statement: its lines, total and status."""
    ws = workspace(ctx)
    view = commission.statement(ws, period, rep)
    record = view.statement
    if as_json:
        print_json(
            {
                "rep": view.rep,
                "period": view.period.name,
                "status": record["status"] if record else None,
                "currency": view.currency,
                "total": str(view.total),
                "lines": [_line_json(x) for x in view.lines],
            }
        )
        return
    if record is None and not view.lines:
        message(f"no commission statement of {view.rep} for {view.period.name} yet")
        return
    status = record["status"] if record else "no statement"
    cur = view.currency or ""
    print(f"commission statement: {view.rep} {view.period.name} ({status})")
    rows = [
        {
            "at": when(x["at"]),
            "amount": format_money(x["commission"], cur),
            "explanation": x["explanation"],
            "reason": x["reason"] or "",
        }
        for x in view.lines
    ]
    emit_table(
        rows,
        [("at", "When"), ("amount", "Amount"), ("explanation", "Explanation"), ("reason", "Correction")],
        empty="no lines",
    )
    print(f"total: {format_money(view.total, cur)}")


@app.command("run")
def run(
    ctx: typer.Context,
    period: PeriodOpt,
    dry_run: Annotated[bool, Opt("--dry-run", help="Show what would be written; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Calculate the period's commission by the approved plans: new lines, corrections, statements."""
    ws = workspace(ctx)
    outcome = commission.run(ws, period, dry_run=dry_run)
    if as_json:
        print_json(
            {
                "period": outcome.period.name,
                "dry_run": dry_run,
                "draft_plans": outcome.draft_plans,
                "reps": [
                    {
                        "rep": r.rep,
                        "plan": r.plan["name"],
                        "total": str(r.result.total),
                        "currency": r.result.currency,
                        "attainment": str(whole_percent(r.result.attainment)),
                        "new_lines": len(r.written),
                        "corrections": sum(1 for n in r.written if n.reason),
                        "frozen": r.frozen,
                        "status": r.statement["status"] if r.statement else None,
                        "skipped": r.result.skipped,
                    }
                    for r in outcome.reps
                ],
            }
        )
        return
    for name in outcome.draft_plans:
        message(f"note: plan {name} is a draft and was not run; approve it first")
    if not outcome.reps:
        message(f"no approved plan with assigned reps for {outcome.period.name}")
        return
    rows = []
    for r in outcome.reps:
        corrections = sum(1 for n in r.written if n.reason)
        if r.frozen:
            what = f"{r.statement['status'] if r.statement else ''}: unchanged"
        else:
            what = f"{len(r.written)} line(s){f', {corrections} correction(s)' if corrections else ''}"
        rows.append(
            {
                "rep": r.rep,
                "plan": r.plan["name"],
                "attainment": shown_percent(r.result.attainment),
                "amount": format_money(r.result.total, r.result.currency),
                "written": what,
            }
        )
        for skipped in r.result.skipped:
            message(f"note: {r.rep}: skipped {skipped}")
    emit_table(
        rows,
        [
            ("rep", "Rep"),
            ("plan", "Plan"),
            ("attainment", "Attainment"),
            ("amount", "Commission"),
            ("written", "Written" if not dry_run else "Would write"),
        ],
    )
    if dry_run:
        message("dry run: nothing was written")


@app.command("approve")
def approve(ctx: typer.Context, rep: RepOpt, period: PeriodOpt, as_json: JsonOpt = False) -> None:
    """Approve a rep's statement for the period (then it is paid as it stands)."""
    ws = workspace(ctx)
    record = commission.approve_statement(ws, rep, period)
    if as_json:
        print_json(
            {
                "rep": record["rep"],
                "period": record["period"],
                "status": record["status"],
                "total": str(record["total"]),
            }
        )
        return
    print(
        f"statement approved: {record['rep']} {record['period']} {format_money(record['total'], record['currency'] or '')}"
    )


@app.command("export")
def export(
    ctx: typer.Context,
    period: PeriodOpt,
    as_csv: Annotated[bool, Opt("--csv", help="Print CSV for payroll (the default).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The period's approved statements for payroll; they become exported."""
    refuse_together(("--json", as_json), ("--csv", as_csv))
    ws = workspace(ctx)
    rows = commission.export(ws, period)
    if as_json:
        print_json(rows)
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(commission.EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([row[c] for c in commission.EXPORT_COLUMNS])


@app.command("correct")
def correct(
    ctx: typer.Context,
    rep: RepOpt,
    period: PeriodOpt,
    amount: Annotated[str, Opt("--amount", help="What to add (negative: to take back), e.g. -120.50.")],
    reason: Annotated[str, Opt("--reason", help="Why: it is shown on the statement.")],
    as_json: JsonOpt = False,
) -> None:
    """Correct a draft statement: a new line with its reason (lines are never edited)."""
    ws = workspace(ctx)
    line = commission.correct(ws, rep, period, amount, reason)
    if as_json:
        print_json(_line_json(line))
        return
    print(
        f"correction added: {line['rep']} {line['period']} {format_money(line['commission'], line['currency'] or '')}"
    )


@app.command("split")
def split(
    ctx: typer.Context,
    opportunity: Annotated[str, typer.Argument(help="The deal's name or ref.")],
    rep: RepOpt,
    percent: Annotated[str, Opt("--percent", help="Share of the deal credited (0 removes the split).")],
    kind: Annotated[str, Opt("--kind", help=f"One of {', '.join(SPLIT_KINDS)}.")] = "revenue",
    as_json: JsonOpt = False,
) -> None:
    """Split a deal's credit: revenue shares add up to 100 (the owner keeps the rest); overlay on top."""
    ws = workspace(ctx)
    commission.set_split(ws, opportunity, rep, percent, kind)
    opp, credited = commission.credits_of(ws, opportunity)
    if as_json:
        print_json(
            {"opportunity": opp["id"], "credits": {k or "(nobody)": str(v) for k, v in credited.items()}}
        )
        return
    shown = ", ".join(f"{k or '(nobody)'} {shown_percent(v)}" for k, v in credited.items())
    print(f"{opp['name']}: {shown}")
