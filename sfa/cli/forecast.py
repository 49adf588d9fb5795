"""`sfa forecast ...`: how well each forecast method would have predicted the past."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import emit_table, message, print_json, workspace
from sfa.services import forecasting

app = typer.Typer(help="Forecast methods measured on history: backtest.", no_args_is_help=True)

Opt = typer.Option


@app.callback()
def group() -> None:
    """Forecast methods measured on history: backtest."""


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
