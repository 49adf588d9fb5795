"""The current period's outlook for the dashboard's Forecast screen (issue 16): won so far, the
history method's P10/P50/P90 of the period's won amount, the target and the attainment.

The target is the user's own won-amount target for the period, else their team's (sfa target,
issue 14); none when neither exists. Design: docs/prediction.md, "The Forecast screen".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sfa.domain import reports as report_rules
from sfa.domain.dates import local_today
from sfa.domain.errors import ValidationError
from sfa.domain.targets import AMOUNT_METRICS
from sfa.services import forecasting, reports, targets
from sfa.store.workspace import Workspace

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Outlook:
    period: str
    currency: str
    won: Decimal
    expected: Decimal
    p10: Decimal | None
    p50: Decimal | None
    p90: Decimal | None
    target: Decimal | None = None
    target_of: str = ""  # whose target: the rep's user name or "team NAME"
    p_target: float | None = None
    method: str = "history"
    note: str = ""

    def attainment(self, amount: Decimal | None = None) -> Decimal | None:
        """``amount`` (default: won so far) as a percentage of the target, one decimal."""
        if not self.target:
            return None
        value = self.won if amount is None else amount
        return (value * HUNDRED / self.target).quantize(Decimal("0.1"))


def target_for(ws: Workspace, period: str, currency: str) -> tuple[Decimal | None, str]:
    """The user's won-amount target for ``period``, else their team's."""
    try:
        _, mine = targets.attainment(ws, period, "owner", owner=ws.owner)
        team_rows = targets.attainment(ws, period, "team", team=ws.team)[1] if ws.team else []
    except ValidationError:
        return None, ""  # a month has no targets: they are set per quarter or year
    for row in [*mine, *team_rows]:
        if row.metric in AMOUNT_METRICS and row.currency in (None, currency) and row.target:
            return row.target, row.subject
    return None, ""


def outlook(ws: Workspace, by: str = "quarter", today: date | None = None) -> Outlook:
    day = today or local_today()
    by = forecasting.check_by(by)
    period = report_rules.period_of(day, by)
    currency = ws.setting("currency")
    won = sum(
        (r.won for r in reports.forecast(ws, by) if r.period == period and r.currency == currency),
        Decimal(0),
    )
    target, whose = target_for(ws, period, currency)
    result = forecasting.predict_current(ws, by, "history", currency, won, target, today=day)
    return Outlook(
        period,
        currency,
        won,
        result.expected,
        result.p10,
        result.p50,
        result.p90,
        target,
        whose,
        result.p_target if target is not None else None,
        result.method,
        result.note,
    )
