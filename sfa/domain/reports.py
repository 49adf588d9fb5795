"""Report arithmetic: pipeline, forecast and win-loss over opportunity figures. Pure; Decimal only.

Money in different currencies is never added together: every money row is keyed by currency, so a
store with EUR and USD deals gets one row per (stage or period, currency). Sums are exact; only the
weighted amount (amount × probability / 100) is rounded, once per row, half-up to the currency's
minor unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sfa.domain.errors import ValidationError
from sfa.domain.money import money_context, round_money
from sfa.domain.stages import LOST, WON, Stage

ZERO = Decimal(0)
UNSCHEDULED = "unscheduled"
OVERDUE = "overdue"
PERIODS = ("month", "quarter")


@dataclass(frozen=True)
class OppFigures:
    """What the reports need of an opportunity."""

    stage: str
    amount: Decimal | None
    currency: str
    probability: int
    close_date: date | None
    lost_reason: str | None = None
    count: int = 1  # figures may stand for a group of deals: amount is then their sum


@dataclass
class StageRow:
    stage: str
    currency: str
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO


@dataclass
class PeriodRow:
    period: str
    currency: str
    count: int = 0  # open opportunities in the period
    pipeline: Decimal = ZERO  # open amount
    weighted: Decimal = ZERO  # Σ open amount × probability
    best_case: Decimal = ZERO  # won + every open deal closing
    won: Decimal = ZERO  # won to date in the period
    won_count: int = 0


@dataclass
class WinLossRow:
    currency: str
    won_count: int = 0
    won_amount: Decimal = ZERO
    lost_count: int = 0
    lost_amount: Decimal = ZERO

    @property
    def win_rate(self) -> Decimal | None:
        return win_rate(self.won_count, self.lost_count)


@dataclass
class WinLoss:
    rows: list[WinLossRow]
    won_count: int
    lost_count: int
    lost_reasons: list[tuple[str, int]] = field(default_factory=list)

    @property
    def win_rate(self) -> Decimal | None:
        return win_rate(self.won_count, self.lost_count)


def win_rate(won: int, lost: int) -> Decimal | None:
    """Won as a percentage of decided deals, one decimal place; None when nothing was decided."""
    if won + lost == 0:
        return None
    return (Decimal(100 * won) / Decimal(won + lost)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def weighted(amount: Decimal | None, probability: int) -> Decimal:
    return ZERO if amount is None else amount * probability / 100


def _is_open(opp: OppFigures) -> bool:
    return opp.stage not in (WON, LOST)


def pipeline(opps: Iterable[OppFigures], stages: Sequence[Stage]) -> list[StageRow]:
    """Open opportunities by stage (in the configured order), then currency."""
    with money_context():
        return _pipeline(opps, stages)


def _pipeline(opps: Iterable[OppFigures], stages: Sequence[Stage]) -> list[StageRow]:
    rows: dict[tuple[str, str], StageRow] = {}
    for opp in opps:
        if not _is_open(opp):
            continue
        row = rows.setdefault((opp.stage, opp.currency), StageRow(opp.stage, opp.currency))
        row.count += opp.count
        row.amount += opp.amount or ZERO
        row.weighted += weighted(opp.amount, opp.probability)
    order = {s.name: i for i, s in enumerate(stages)}
    result = sorted(rows.values(), key=lambda r: (order.get(r.stage, len(order)), r.stage, r.currency))
    for row in result:
        row.amount = round_money(row.amount, row.currency)
        row.weighted = round_money(row.weighted, row.currency)
    return result


def period_of(day: date | None, by: str) -> str:
    if by not in PERIODS:
        raise ValidationError("by", f"{by!r} is not accepted; use month or quarter")
    if day is None:
        return UNSCHEDULED
    if by == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def period_start(day: date, by: str) -> date:
    """First day of the month or quarter that holds ``day``."""
    if by == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def forecast(opps: Iterable[OppFigures], by: str = "month", start: date | None = None) -> list[PeriodRow]:
    """Per period of expected close date and currency: pipeline, weighted, best case, won.

    Won deals count in the period of their close date; lost deals are left out. Open deals without
    a close date land in the period "unscheduled" (listed last). With ``start`` (the first day of
    the current period), earlier periods are history, not forecast: won deals before it are left
    out, and open deals whose close date has passed are gathered in "overdue" (listed first).
    """
    with money_context():
        return _forecast(opps, by, start)


def _forecast(opps: Iterable[OppFigures], by: str, start: date | None) -> list[PeriodRow]:
    rows: dict[tuple[str, str], PeriodRow] = {}
    for opp in opps:
        if opp.stage == LOST:
            continue
        period = period_of(opp.close_date, by)
        if start is not None and opp.close_date is not None and opp.close_date < start:
            if opp.stage == WON:
                continue
            period = OVERDUE
        row = rows.setdefault((period, opp.currency), PeriodRow(period, opp.currency))
        amount = opp.amount or ZERO
        if opp.stage == WON:
            row.won += amount
            row.won_count += opp.count
        else:
            row.count += opp.count
            row.pipeline += amount
            row.weighted += weighted(opp.amount, opp.probability)
    result = sorted(
        rows.values(), key=lambda r: (r.period != OVERDUE, r.period == UNSCHEDULED, r.period, r.currency)
    )
    for row in result:
        row.weighted = round_money(row.weighted, row.currency)
        row.pipeline = round_money(row.pipeline, row.currency)
        row.won = round_money(row.won, row.currency)
        row.best_case = row.won + row.pipeline
    return result


def win_loss(opps: Iterable[OppFigures]) -> WinLoss:
    """Won against lost deals: counts and amounts per currency, win rate, lost reasons."""
    with money_context():
        return _win_loss(opps)


def _win_loss(opps: Iterable[OppFigures]) -> WinLoss:
    rows: dict[str, WinLossRow] = {}
    reasons: Counter[str] = Counter()
    for opp in opps:
        if opp.stage not in (WON, LOST):
            continue
        row = rows.setdefault(opp.currency, WinLossRow(opp.currency))
        if opp.stage == WON:
            row.won_count += opp.count
            row.won_amount += opp.amount or ZERO
        else:
            row.lost_count += opp.count
            row.lost_amount += opp.amount or ZERO
            reasons[(opp.lost_reason or "").strip().lower() or "(no reason)"] += opp.count
    ordered = sorted(rows.values(), key=lambda r: r.currency)
    for row in ordered:
        row.won_amount = round_money(row.won_amount, row.currency)
        row.lost_amount = round_money(row.lost_amount, row.currency)
    return WinLoss(
        ordered,
        sum(r.won_count for r in ordered),
        sum(r.lost_count for r in ordered),
        sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
    )
