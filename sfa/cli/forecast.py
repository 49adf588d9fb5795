"""`sfa forecast ...`: how well each forecast method would have predicted the past."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import emit_table, message, print_json, record_json, workspace
from sfa.domain.entities import FORECAST_ADJUSTMENT, FORECAST_SNAPSHOT
from sfa.services import forecasting

app = typer.Typer(
    help="Forecasts: backtest the methods, adjust, take weekly snapshots.", no_args_is_help=True
)

Opt = typer.Option


@app.callback()
def group() -> None:
    """Forecasts: backtest the methods, adjust, take weekly snapshots."""


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


@app.command("backtest")
def backtest(
    ctx: typer.Context,
    periods: Annotated[int, Opt("--periods", help="How many past periods to predict (1..40).")] = 8,
    by: Annotated[str, Opt("--by", help="quarter or month.")] = "quarter",
    detail: Annotated[
        bool, Opt("--detail", help="Also list each period: predicted, actual, P10, P90.")
    ] = False,
    as_json: Annotated[bool, Opt("--json", help="Print JSON.")] = False,
) -> None:
    """Rebuild the pipeline at each past period's start from the deals' stage changes, predict the
    period with every method, and compare with what was won: WMAPE, bias, P10-P90 coverage, Brier
    score and AUC (docs/prediction.md)."""
    forecasting.check_periods(periods)
    period_by = forecasting.check_by(by)
    result = forecasting.backtest(workspace(ctx), periods, period_by)
    if as_json:
        data = forecasting.backtest_json(result)
        if detail:
            data["detail"] = [
                {"method": m, "period": p, "predicted": pt, "actual": a, "p10": lo, "p90": hi}
                for m, p, pt, a, lo, hi in forecasting.period_rows(result)
            ]
        print_json(data)
        return
    rows: list[dict[str, Any]] = [
        {
            "method": name,
            "wmape": _percent(score.wmape),
            "bias": _percent(score.bias),
            "coverage": _percent(score.coverage),
            "brier": _figure(score.brier),
            "auc": _figure(score.auc),
            "note": score.note,
        }
        for name, score in result.scores.items()
    ]
    columns = [
        ("method", "Method"),
        ("wmape", "WMAPE"),
        ("bias", "Bias"),
        ("coverage", "P10-P90 coverage"),
        ("brier", "Brier"),
        ("auc", "AUC"),
        ("note", "Note"),
    ]
    emit_table(rows, columns, title=f"Backtest over {result.periods} {period_by}s")
    if detail:
        detail_rows = [
            {"method": m, "period": p, "predicted": pt, "actual": a, "p10": lo, "p90": hi}
            for m, p, pt, a, lo, hi in forecasting.period_rows(result)
        ]
        emit_table(
            detail_rows,
            [
                ("method", "Method"),
                ("period", "Period"),
                ("predicted", "Predicted"),
                ("actual", "Actual"),
                ("p10", "P10"),
                ("p90", "P90"),
            ],
            title="Per period",
        )
    message(f"best: {result.best}")


@app.command("adjust")
def adjust(
    ctx: typer.Context,
    period: Annotated[str, Opt("--period", help="2026-Q4 or 2026-11.")],
    category: Annotated[str, Opt("--category", help="commit, best case or pipeline.")],
    amount: Annotated[str, Opt("--amount", help="The adjusted amount, in the store's currency.")],
    owner: Annotated[str | None, Opt("--owner", help="The rep the adjustment is for.")] = None,
    team: Annotated[str | None, Opt("--team", help="The team the adjustment is for.")] = None,
    note: Annotated[str | None, Opt("--note", help="Why.")] = None,
    as_json: Annotated[bool, Opt("--json", help="Print JSON.")] = False,
) -> None:
    """Record a forecast adjustment (insert-only; the latest per person, subject, period and category
    counts)."""
    ws = workspace(ctx)
    record = forecasting.adjust(ws, period, category, amount, owner=owner, team=team, note=note)
    if as_json:
        print_json(record_json(FORECAST_ADJUSTMENT, record))
        return
    print(
        f"forecast {record['period']} {record['subject_kind']} {record['subject']}: "
        f"{record['category']} {record['amount']} {record['currency'] or ''}".rstrip()
    )


@app.command("adjustments")
def adjustments(
    ctx: typer.Context,
    period: Annotated[str | None, Opt("--period", help="Only this period.")] = None,
    as_json: Annotated[bool, Opt("--json", help="Print JSON.")] = False,
) -> None:
    """The adjustments that count: the latest per person, subject, period and category."""
    rows = forecasting.adjustments(workspace(ctx), period)
    if as_json:
        print_json([record_json(FORECAST_ADJUSTMENT, r) for r in rows])
        return
    emit_table(
        [{**r, "amount": r["amount"], "at": str(r["at"])[:16]} for r in rows],
        [
            ("period", "Period"),
            ("subject_kind", "Kind"),
            ("subject", "Subject"),
            ("category", "Category"),
            ("amount", "Amount"),
            ("owner", "By"),
            ("at", "At"),
            ("note", "Note"),
        ],
        empty="no forecast adjustments",
    )


@app.command("snapshot")
def snapshot(
    ctx: typer.Context,
    by: Annotated[str, Opt("--by", help="quarter or month.")] = "quarter",
    owner: Annotated[str | None, Opt("--owner", help="Only this rep's deals.")] = None,
    team: Annotated[str | None, Opt("--team", help="Only this team's deals.")] = None,
    as_json: Annotated[bool, Opt("--json", help="Print JSON.")] = False,
) -> None:
    """Take this week's snapshot of the current period (one per subject, period and week: taking it
    again the same week replaces it, on every replica alike)."""
    record = forecasting.take_snapshot(workspace(ctx), by, owner=owner, team=team)
    if as_json:
        print_json(record_json(FORECAST_SNAPSHOT, record))
        return
    print(
        f"snapshot {record['period']} {record['week']} {record['subject_kind']} {record['subject']}: "
        f"{record['open_count']} open, pipeline {record['pipeline']}, weighted {record['weighted']}, "
        f"commit {record['commit_amount']}, best case {record['best_case']}, won {record['won']} "
        f"{record['currency'] or ''}".rstrip()
    )
