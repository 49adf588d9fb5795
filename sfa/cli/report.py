"""`sfa report ...`: every report prints a table (with bar charts in a terminal), --json or --csv."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any

import typer

from sfa.cli.common import Column, emit_table, is_terminal, message, print_json, refuse_together, workspace
from sfa.domain.dates import parse_date
from sfa.domain.errors import ValidationError
from sfa.domain.money import format_money
from sfa.services import forecasting, reports, winloss

app = typer.Typer(help="Reports: pipeline, forecast, activity, win-loss.", no_args_is_help=True)

Opt = typer.Option
JsonOut = Annotated[bool, Opt("--json", help="Print JSON.")]
CsvOut = Annotated[bool, Opt("--csv", help="Print CSV (header line, then rows).")]
Since = Annotated[str | None, Opt("--since", help="From this date: ISO, mon, -30d, ...")]
OwnerOnly = Annotated[str | None, Opt("--owner", help="Only this rep's records.")]
TeamOnly = Annotated[str | None, Opt("--team", help="Only this team's records.")]
TerritoryOnly = Annotated[
    str | None, Opt("--territory", help="Only the records of this territory and those under it.")
]

Bar = tuple[str, Decimal, str]  # label, value, shown value


def _emit(
    rows: list[dict[str, Any]],
    columns: Sequence[Column],
    *,
    as_json: bool,
    as_csv: bool,
    title: str,
    json_value: Any = None,
    bars: Sequence[tuple[str, list[Bar]]] = (),
    empty: str = "nothing to report",
) -> None:
    refuse_together(("--json", as_json), ("--csv", as_csv))
    if as_json:
        print_json(rows if json_value is None else json_value)
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([key for key, _ in columns])
        for row in rows:
            writer.writerow(["" if row.get(k) is None else row.get(k) for k, _ in columns])
        return
    if not is_terminal():
        emit_table(rows, columns, empty=empty)
        return
    display = [{k: _display(k, v, row.get("currency")) for k, v in row.items()} for row in rows]
    emit_table(display, columns, title=title, empty=empty)
    for chart_title, chart in bars:
        _chart(chart_title, chart)


MONEY = frozenset(
    {
        "amount",
        "weighted",
        "pipeline",
        "commit",
        "best_case",
        "won",
        "won_amount",
        "lost_amount",
        "expected",
        "p10",
        "p50",
        "p90",
    }
)


def _display(key: str, value: Any, currency: Any) -> Any:
    if key in MONEY and isinstance(value, Decimal):
        return format_money(value, str(currency or ""))
    return value


def _chart(title: str, bars: list[Bar], width: int = 40) -> None:
    if not bars:
        return
    from rich.console import Console
    from rich.text import Text

    console = Console()
    peak = max((abs(v) for _, v, _ in bars), default=Decimal(0)) or Decimal(1)
    label_width = max(len(label) for label, _, _ in bars)
    console.print()
    console.print(Text(title, style="bold"))
    for label, value, shown in bars:
        size = int((abs(value) / peak * width).to_integral_value())
        line = Text(f"{label:<{label_width}} ")
        line.append("█" * size or "▏", style="cyan")
        line.append(f" {shown}")
        console.print(line)


def _money_bars(rows: list[dict[str, Any]], label_key: str, value_key: str) -> list[tuple[str, list[Bar]]]:
    """One chart per currency: amounts in different currencies do not share a scale."""
    charts: dict[str, list[Bar]] = {}
    for row in rows:
        currency = str(row["currency"])
        charts.setdefault(currency, []).append(
            (str(row[label_key]), row[value_key], format_money(row[value_key], currency))
        )
    return [(f"{value_key} ({currency})", bars) for currency, bars in charts.items()]


def _since(text: str | None) -> Any:
    return parse_date(text, "since") if text else None


@app.command("pipeline")
def pipeline(
    ctx: typer.Context,
    owner: OwnerOnly = None,
    team: TeamOnly = None,
    territory: TerritoryOnly = None,
    as_json: JsonOut = False,
    as_csv: CsvOut = False,
) -> None:
    """Open opportunities by stage: count, amount, weighted amount (per currency)."""
    ws = workspace(ctx)
    rows = [
        {
            "stage": r.stage,
            "currency": r.currency,
            "count": r.count,
            "amount": r.amount,
            "weighted": r.weighted,
        }
        for r in reports.pipeline(ws, owner=owner, team=reports.teams_of(ws, team, territory))
    ]
    columns = [
        ("stage", "Stage"),
        ("currency", "Cur"),
        ("count", "Count"),
        ("amount", "Amount"),
        ("weighted", "Weighted"),
    ]
    _emit(
        rows,
        columns,
        as_json=as_json,
        as_csv=as_csv,
        title="Pipeline (open opportunities)",
        bars=_money_bars(rows, "stage", "amount"),
        empty="no open opportunities",
    )


@app.command("forecast")
def forecast(
    ctx: typer.Context,
    by: Annotated[str, Opt("--by", help="month or quarter.")] = "month",
    method: Annotated[
        str | None,
        Opt("--method", help="weighted, history or model: how the current period is predicted."),
    ] = None,
    with_range: Annotated[
        bool, Opt("--range", help="Add P10, P50 and P90 of the current period (Monte-Carlo).")
    ] = False,
    target: Annotated[
        str | None, Opt("--target", metavar="AMOUNT", help="Add P(won in the current period ≥ AMOUNT).")
    ] = None,
    owner: OwnerOnly = None,
    team: TeamOnly = None,
    territory: TerritoryOnly = None,
    as_json: JsonOut = False,
    as_csv: CsvOut = False,
) -> None:
    """Per period of expected close: pipeline, weighted, commit, best case, won to date (per currency).

    With --method history|model, --range or --target, the current period also gets the method's
    expected won amount, its P10/P50/P90 and the chance to reach the target (docs/prediction.md)."""
    refuse_together(("--json", as_json), ("--csv", as_csv))  # before anything is computed and kept
    ws = workspace(ctx)
    period_by = by.strip().lower()
    chosen = forecasting.check_method(method) if method is not None else None
    goal = _amount("target", target) if target is not None else None
    if chosen == "weighted" and (with_range or goal is not None):
        raise ValidationError("method", "the weighted method has no range; use --method history or model")
    predicting = chosen in ("history", "model") or with_range or goal is not None
    chosen = chosen or ("history" if predicting else "weighted")
    teams = reports.teams_of(ws, team, territory)
    commit = forecasting.commit_amounts(ws, period_by, owner=owner, team=teams)
    rows: list[dict[str, Any]] = []
    for r in reports.forecast(ws, period_by, owner=owner, team=teams):
        rows.append(
            {
                "period": r.period,
                "currency": r.currency,
                "count": r.count,
                "pipeline": r.pipeline,
                "weighted": r.weighted,
                "commit": r.won + commit.get((r.period, r.currency), Decimal(0)),
                "best_case": r.best_case,
                "won": r.won,
                "won_count": r.won_count,
            }
        )
    adjusted = _apply_adjustments(rows, forecasting.report_adjustments(ws, owner=owner, team=teams))
    columns = [
        ("period", "Period"),
        ("currency", "Cur"),
        ("count", "Open"),
        ("pipeline", "Pipeline"),
        ("weighted", "Weighted"),
        ("commit", "Commit"),
        ("best_case", "Best case"),
        ("won", "Won"),
        ("won_count", "Won #"),
    ]
    if adjusted:
        columns.append(("adjusted", "Adjusted"))
    if predicting:
        current = reports.current_period(period_by)
        notes = set()
        for row in rows:
            for key in ("method", "expected", "p10", "p50", "p90", "p_target"):
                row[key] = None
            if row["period"] != current:
                continue
            result = forecasting.predict_current(
                ws, period_by, chosen, row["currency"], row["won"], goal, owner=owner, team=teams
            )
            row.update(
                method=result.method,
                expected=result.expected,
                p10=result.p10,
                p50=result.p50,
                p90=result.p90,
                p_target=None if result.p_target is None else round(result.p_target, 3),
            )
            if result.note:
                row["note"] = result.note
                notes.add(result.note)
        columns += [("method", "Method"), ("expected", "Expected")]
        if with_range or goal is not None:
            columns += [("p10", "P10"), ("p50", "P50"), ("p90", "P90")]
        if goal is not None:
            columns += [("p_target", "P(≥ target)")]
        for note in sorted(notes):
            message(f"model: {note}")
    _emit(
        rows,
        columns,
        as_json=as_json,
        as_csv=as_csv,
        title=f"Forecast by {by}",
        bars=_money_bars(rows, "period", "weighted"),
        empty="no opportunities to forecast",
    )


def _apply_adjustments(rows: list[dict[str, Any]], found: dict[tuple[str, str, str], Any]) -> bool:
    """The latest adjustment of a row's period replaces its commit or best-case figure; the row
    names what was adjusted ("adjusted": "commit*") and --json keeps the computed figure, the
    amount, who adjusted, when and the note under "adjustments"."""
    any_adjusted = False
    for row in rows:
        marks = []
        details = {}
        for column in ("commit", "best_case"):
            record = found.get((row["period"], row["currency"], column))
            if record is None:
                continue
            details[column] = {
                "computed": row[column],
                "amount": record["amount"],
                "by": record["owner"],
                "at": record["at"],
                "note": record["note"],
            }
            row[column] = record["amount"]
            marks.append(column.replace("_", " ") + "*")
        if details:
            row["adjusted"] = ", ".join(marks)
            row["adjustments"] = details
            any_adjusted = True
    return any_adjusted


def _amount(field: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except ArithmeticError:
        raise ValidationError(field, f"{text!r} is not an amount like 250000 or 250000.00") from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e15"):
        raise ValidationError(field, f"{text!r} is not an amount between 0 and 10^15")
    return value


@app.command("funnel")
def funnel(ctx: typer.Context, as_json: JsonOut = False, as_csv: CsvOut = False) -> None:
    """Per stage: configured against observed chance to win (closed deals that reached it), n,
    conversion to the next stage, median days in the stage."""
    data = forecasting.funnel(workspace(ctx))
    if as_json:
        print_json([vars(r) for r in data])
        return

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.0f} %"

    rows = [
        {
            "stage": r.stage,
            "configured": f"{r.configured} %",
            "observed": pct(r.observed),
            "n": r.reached,
            "won": r.won,
            "to_next": pct(r.to_next),
            "median_days": r.median_days,
        }
        for r in data
    ]
    columns = [
        ("stage", "Stage"),
        ("configured", "Configured"),
        ("observed", "Observed"),
        ("n", "n"),
        ("won", "Won"),
        ("to_next", "Moved on"),
        ("median_days", "Median days"),
    ]
    _emit(rows, columns, as_json=False, as_csv=as_csv, title="Funnel", empty="no stages")


@app.command("flow")
def flow(
    ctx: typer.Context,
    since: Annotated[str, Opt("--from", help="First day: ISO, mon, -30d, ...")],
    until: Annotated[str, Opt("--to", help="Last day (included).")],
    as_json: JsonOut = False,
    as_csv: CsvOut = False,
) -> None:
    """Deals new, pushed out, pulled in, won, lost and removed between two dates (from history)."""
    start, end = parse_date(since, "from"), parse_date(until, "to")
    ws = workspace(ctx)
    currency = ws.setting("currency")
    result = forecasting.flow(ws, start, end)
    rows = [
        {"change": kind, "count": count, "amount": amount, "currency": currency}
        for kind, (count, amount) in result.items()
    ]
    _emit(
        rows,
        [("change", "Change"), ("count", "Deals"), ("amount", "Amount")],
        as_json=as_json,
        as_csv=as_csv,
        title=f"Flow {start.isoformat()} to {end.isoformat()}",
    )


@app.command("activity")
def activity(
    ctx: typer.Context,
    since: Since = None,
    owner: OwnerOnly = None,
    team: TeamOnly = None,
    territory: TerritoryOnly = None,
    as_json: JsonOut = False,
    as_csv: CsvOut = False,
) -> None:
    """Visits done, tasks completed and overdue, quotes sent and accepted (default: this week)."""
    ws = workspace(ctx)
    result = reports.activity(ws, _since(since), owner=owner, team=reports.teams_of(ws, team, territory))
    data = result.as_dict()
    rows = [{"measure": k, "count": v} for k, v in data.items() if k != "since"]
    bars = [(k, Decimal(v), str(v)) for k, v in ((r["measure"], r["count"]) for r in rows)]
    _emit(
        rows,
        [("measure", "Measure"), ("count", "Count")],
        as_json=as_json,
        as_csv=as_csv,
        title=f"Activity since {result.since}",
        json_value=data,
        bars=[(f"activity since {result.since}", bars)],
    )


@app.command("win-loss")
def win_loss(
    ctx: typer.Context,
    by: Annotated[
        str | None,
        Opt("--by", help="Group by competitor, stage, owner, team, source, industry or size."),
    ] = None,
    since: Since = None,
    owner: OwnerOnly = None,
    team: TeamOnly = None,
    territory: TerritoryOnly = None,
    as_json: JsonOut = False,
    as_csv: CsvOut = False,
) -> None:
    """Won against lost: counts and amounts per currency, win rate, lost reasons; with --by, per
    competitor, stage, owner, team, source, industry or size: win rate, stage lost at, cycle time
    (median and p75 days) and average discount on won quotes."""
    ws = workspace(ctx)
    if by is not None:
        _win_loss_by(ws, by, since, owner, reports.teams_of(ws, team, territory), as_json, as_csv)
        return
    result = reports.win_loss(ws, _since(since), owner=owner, team=reports.teams_of(ws, team, territory))
    rows = [
        {
            "currency": r.currency,
            "won_count": r.won_count,
            "won_amount": r.won_amount,
            "lost_count": r.lost_count,
            "lost_amount": r.lost_amount,
            "win_rate": r.win_rate,
        }
        for r in result.rows
    ]
    columns = [
        ("currency", "Cur"),
        ("won_count", "Won"),
        ("won_amount", "Won amount"),
        ("lost_count", "Lost"),
        ("lost_amount", "Lost amount"),
        ("win_rate", "Win %"),
    ]
    json_value = {
        "since": _since(since),
        "won_count": result.won_count,
        "lost_count": result.lost_count,
        "win_rate": result.win_rate,
        "by_currency": rows,
        "lost_reasons": [{"reason": r, "count": n} for r, n in result.lost_reasons],
    }
    bars = [(reason, Decimal(n), str(n)) for reason, n in result.lost_reasons]
    _emit(
        rows,
        columns,
        as_json=as_json,
        as_csv=as_csv,
        title="Won vs lost",
        json_value=json_value,
        bars=[("lost reasons", bars)],
        empty="no won or lost opportunities",
    )
    if not (as_json or as_csv) and result.won_count + result.lost_count:
        rate = result.win_rate
        print(f"win rate: {rate} % ({result.won_count} won, {result.lost_count} lost)", file=sys.stderr)
        if not is_terminal():
            for reason, count in result.lost_reasons:
                print(f"lost: {reason}: {count}", file=sys.stderr)


def _win_loss_by(
    ws: Any,
    by: str,
    since: str | None,
    owner: str | None,
    team: reports.Teams,
    as_json: bool,
    as_csv: bool,
) -> None:
    groups = winloss.report(ws, by, _since(since), owner=owner, team=team)
    dimension = by.strip().lower()
    rows = [
        {
            dimension: g.name,
            "deals": g.deals,
            "won": g.won,
            "lost": g.lost,
            "win_rate": g.win_rate,
            "lost_at": g.lost_at_text,
            "cycle_median_days": g.cycle_median,
            "cycle_p75_days": g.cycle_p75,
            "won_quote_discount": g.discount,
            "won_quotes": g.quotes,
        }
        for g in groups
    ]
    columns = [
        (dimension, dimension.capitalize()),
        ("deals", "Deals"),
        ("won", "Won"),
        ("lost", "Lost"),
        ("win_rate", "Win %"),
        ("lost_at", "Lost at"),
        ("cycle_median_days", "Cycle median d"),
        ("cycle_p75_days", "Cycle p75 d"),
        ("won_quote_discount", "Discount %"),
    ]
    json_value = {
        "by": dimension,
        "since": _since(since),
        "groups": [
            {**row, "lost_at": [{"stage": s, "count": n} for s, n in g.most_lost_at()]}
            for row, g in zip(rows, groups, strict=True)
        ],
    }
    _emit(
        rows,
        columns,
        as_json=as_json,
        as_csv=as_csv,
        title=f"Won vs lost by {dimension}",
        json_value=json_value,
        empty="no won or lost opportunities",
    )


@app.command("campaigns")
def campaigns(ctx: typer.Context, as_json: JsonOut = False, as_csv: CsvOut = False) -> None:
    """Per event or campaign: members met, leads, converted, pipeline, won, cost per lead, ROI."""
    from sfa.services import events

    reports_ = events.all_reports(workspace(ctx))
    rows = [events.report_json(r) for r in reports_]
    columns = [
        ("event", "Event"),
        ("met", "Met"),
        ("leads", "Leads"),
        ("converted", "Conv."),
        ("opportunities", "Opps"),
        ("pipeline", "Pipeline"),
        ("won", "Won"),
        ("cost_per_lead", "Cost/lead"),
        ("roi", "ROI"),
        ("currency", "Cur"),
    ]
    _emit(rows, columns, as_json=as_json, as_csv=as_csv, title="Campaigns", empty="no events or campaigns")


@app.command("attainment")
def attainment(
    ctx: typer.Context,
    period: Annotated[
        str | None, Opt("--period", help="2027-Q1, 2027-03 or 2027 (default: this quarter).")
    ] = None,
    by: Annotated[str, Opt("--by", help="owner or team.")] = "owner",
    owner: OwnerOnly = None,
    team: TeamOnly = None,
    territory: TerritoryOnly = None,
    as_json: JsonOut = False,
    as_csv: CsvOut = False,
) -> None:
    """Targets against actuals: gap, attainment %, weighted pipeline closing in the period, coverage."""
    from sfa.services import targets

    ws = workspace(ctx)
    teams = reports.teams_of(ws, team, territory)
    found_period, found = targets.attainment(ws, period, by, owner=owner, team=teams)
    rows = [
        {
            "subject": a.subject,
            "metric": a.metric,
            "currency": a.currency or "",
            "target": a.target,
            "stretch": a.stretch,
            "actual": a.actual,
            "gap": a.gap,
            "attainment": a.percent,
            "pipeline": a.pipeline if a.currency else None,
            "coverage": a.coverage,
            "summed": not a.explicit,
            "segment": a.segment,
        }
        for a in found
    ]
    columns = [
        ("subject", "Subject"),
        ("metric", "Metric"),
        ("currency", "Cur"),
        ("target", "Target"),
        ("actual", "Actual"),
        ("gap", "Gap"),
        ("attainment", "Att. %"),
        ("pipeline", "Pipeline"),
        ("coverage", "Coverage"),
    ]
    chart: list[Bar] = [
        (f"{a.subject} {a.metric}", a.percent, f"{a.percent} %") for a in found if a.percent is not None
    ]
    bars = [(f"attainment % ({found_period.name})", chart)]
    _emit(
        rows,
        columns,
        as_json=as_json,
        as_csv=as_csv,
        title=f"Attainment {found_period.name}",
        json_value={"period": found_period.name, "by": by, "rows": rows},
        bars=bars,
        empty=f"no targets for {found_period.name}",
    )
