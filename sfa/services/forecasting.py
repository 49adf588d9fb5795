"""Deal history and forecasts over the store: stage changes written with every move, the deals'
histories read back for the prediction methods (sfa/domain/prediction.py), the backtest and the
forecast range. Design and measured figures: docs/prediction.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sfa.domain import prediction
from sfa.domain import reports as report_rules
from sfa.domain.dates import local_today, utc_now
from sfa.domain.entities import OPPORTUNITY, STAGE_CHANGE
from sfa.domain.errors import ValidationError
from sfa.domain.ids import timestamp_ms_of
from sfa.domain.prediction import DealHistory, StageStep
from sfa.domain.stages import LOST, WON, Stage
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def record_change(ws: Workspace, opp: Record, from_stage: str | None, at: datetime | None = None) -> Record:
    """The insert-only stage_change row for ``opp`` as it now stands (its stage, amount, close date).

    ``from_stage`` is None when the deal is opened, the earlier stage on a move, and the deal's own
    stage when only its close date or amount moved.
    """
    return ws.store.insert(STAGE_CHANGE, change_row(opp, from_stage, at or utc_now()))


def change_row(opp: Record, from_stage: str | None, at: datetime) -> Record:
    return {
        "opportunity_id": opp["id"],
        "from_stage": from_stage,
        "to_stage": opp["stage"],
        "at": at,
        "amount": opp.get("amount"),
        "currency": opp.get("currency"),
        "close_date": opp.get("close_date"),
        "owner": opp.get("owner"),
    }


def stages_for(ws: Workspace) -> tuple[Stage, ...]:
    """The stage probabilities the methods start from: today the configured stages; a sales policy
    (issue 14) will feed its own here."""
    return tuple(ws.stages)


def _day(text: str) -> date:
    return date.fromisoformat(text[:10])


def histories(ws: Workspace, *, open_only: bool = False) -> list[DealHistory]:
    """Every live opportunity (or only the open ones) as its stage_change rows recorded it.

    A deal without rows (imported, or pulled from a replica that predates stage changes) is one step:
    its stage today since its creation (the time in its UUIDv7 id).
    """
    changes: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for _id, to_stage, opp_id, at, close in ws.store.key_rows(
        STAGE_CHANGE, ["opportunity_id", "at", "close_date"]
    ):
        changes[opp_id].append((at, to_stage, close))
    days: dict[str, date] = {}  # a few hundred distinct days among tens of thousands of rows

    def day_of(text: str) -> date:
        key = text[:10]
        found = days.get(key)
        if found is None:
            found = days[key] = date.fromisoformat(key)
        return found

    deals = []
    for opp_id, _name, stage, amount, currency, close, owner in ws.store.key_rows(
        OPPORTUNITY, ["stage", "amount", "currency", "close_date", "owner"]
    ):
        if open_only and stage in (WON, LOST):
            continue
        rows = changes.get(opp_id)
        if rows:
            rows.sort()
            created = day_of(rows[0][0])
        else:
            created = datetime.fromtimestamp(timestamp_ms_of(opp_id) / 1000, UTC).date()
            rows = [(created.isoformat(), stage, close)]
        steps: list[StageStep] = []
        close_dates: list[tuple[date, date]] = []
        last_stage = last_close = None
        for at, to_stage, row_close in rows:
            if to_stage != last_stage:
                steps.append(StageStep(to_stage, day_of(at)))
                last_stage = to_stage
            if row_close and row_close != last_close:
                close_dates.append((day_of(at), day_of(row_close)))
                last_close = row_close
        if not close_dates:
            close_dates.append((created, day_of(close) if close else created))
        deals.append(
            DealHistory(
                opp_id,
                created,
                Decimal(amount) if amount else Decimal(0),
                tuple(steps),
                tuple(close_dates),
                owner or "",
                "",
                currency or "",
            )
        )
    return deals


def backtest(
    ws: Workspace, periods: int = 8, by: str = "quarter", today: date | None = None
) -> prediction.Backtest:
    return prediction.backtest(histories(ws), stages_for(ws), today or local_today(), periods, by)


def backtest_json(result: prediction.Backtest) -> dict[str, Any]:
    """The shape of `sfa forecast backtest --json` (issue 16)."""

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    methods: dict[str, Any] = {}
    for name, score in result.scores.items():
        entry: dict[str, Any] = {
            "wmape": rounded(score.wmape),
            "bias": rounded(score.bias),
            "coverage": rounded(score.coverage),
            "brier": rounded(score.brier),
            "auc": rounded(score.auc),
        }
        if score.note:
            entry["note"] = score.note
        methods[name] = entry
    return {"periods": result.periods, "methods": methods, "best": result.best}


def period_rows(result: prediction.Backtest) -> Sequence[tuple[str, str, Decimal, Decimal, Any, Any]]:
    return [
        (method, period, point, actual, p10, p90)
        for method, score in result.scores.items()
        for period, point, actual, p10, p90 in score.periods
    ]


# -- the forecast report's prediction columns ------------------------------------------------------

FORECAST_METHODS = prediction.METHODS
MAX_PERIODS = 40


# Forecast categories from the deal's probability until a sales policy (issue 14) names them per
# stage: at or above COMMIT_FROM a deal is commit, at or above BEST_CASE_FROM best case, else pipeline.
COMMIT_FROM = 90
BEST_CASE_FROM = 50


def category_of(probability: int | None) -> str:
    if probability is None:
        return "pipeline"
    if probability >= COMMIT_FROM:
        return "commit"
    return "best case" if probability >= BEST_CASE_FROM else "pipeline"


def check_method(method: str) -> str:
    value = method.strip().lower()
    if value not in FORECAST_METHODS:
        raise ValidationError(
            "method", f"{method!r} is not a method; accepted: {', '.join(FORECAST_METHODS)}"
        )
    return value


def check_by(by: str) -> str:
    value = by.strip().lower()
    report_rules.period_of(None, value)  # month or quarter, else a ValidationError naming --by
    return value


def check_periods(periods: int) -> int:
    if not 1 <= periods <= MAX_PERIODS:
        raise ValidationError("periods", f"{periods} is outside 1..{MAX_PERIODS}")
    return periods


def predict_current(
    ws: Workspace,
    by: str,
    method: str,
    currency: str,
    won_so_far: Decimal,
    target: Decimal | None = None,
    today: date | None = None,
    runs: int = 2000,
) -> prediction.Prediction:
    """The current period's won amount by ``method`` from the deals in ``currency``: what is already
    won plus the method's prediction for the open pipeline (and deals still to come from new).

    The estimates are trained on snapshots taken at period starts; mid-period the open deals are
    scored as they stand today (docs/prediction.md)."""
    day = today or local_today()
    deals = [d for d in histories(ws) if d.currency == currency]
    rest = None if target is None else target - won_so_far
    result = prediction.predict(deals, stages_for(ws), day, by, method, runs=runs, target=rest)
    shift = won_so_far

    def plus(value: Decimal | None) -> Decimal | None:
        return None if value is None else value + shift

    return prediction.Prediction(
        result.method,
        result.expected + shift,
        result.deal_probability,
        result.from_new,
        plus(result.p10),
        plus(result.p50),
        plus(result.p90),
        (1.0 if rest is not None and rest <= 0 else result.p_target),
        result.note,
    )


def commit_amounts(ws: Workspace, by: str, today: date | None = None) -> dict[tuple[str, str], Decimal]:
    """(period, currency) → Σ amount of open deals whose stage counts as commit."""
    start = report_rules.period_start(today or local_today(), by)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for _id, _name, stage, amount, currency, close, probability in ws.store.key_rows(
        OPPORTUNITY, ["stage", "amount", "currency", "close_date", "probability"]
    ):
        if stage in ("won", "lost") or not amount or category_of(probability) != "commit":
            continue
        close_day = _day(close) if close else None
        if close_day is None:
            period = report_rules.UNSCHEDULED
        elif close_day < start:
            period = report_rules.OVERDUE
        else:
            period = report_rules.period_of(close_day, by)
        totals[(period, currency or "")] += Decimal(amount)
    return totals


# -- funnel and flow -----------------------------------------------------------------------------------


def funnel(ws: Workspace) -> list[prediction.FunnelRow]:
    return prediction.funnel(histories(ws), stages_for(ws))


def flow(ws: Workspace, start: date, end: date) -> dict[str, tuple[int, Decimal]]:
    """`prediction.flow` plus "removed": deals deleted between the dates (by their last change)."""
    if end < start:
        raise ValidationError("to", f"{end.isoformat()} is before --from {start.isoformat()}")
    result = prediction.flow(histories(ws), start, end)
    after = (end.toordinal() + 1) - start.toordinal()
    removed = ws.store.select(
        OPPORTUNITY,
        "deleted = 1 AND updated_at >= ? AND updated_at < ?",
        (start.isoformat(), date.fromordinal(start.toordinal() + after).isoformat()),
        include_deleted=True,
        fields=["amount"],
    )
    result["removed"] = (len(removed), sum((r["amount"] or Decimal(0) for r in removed), Decimal("0.00")))
    return result


def score(ws: Workspace, opp_id: str, today: date | None = None) -> prediction.Score | None:
    """The open deal's chance to win by the history method and its top factors (None: closed)."""
    return prediction.score(histories(ws), stages_for(ws), opp_id, today or local_today())
