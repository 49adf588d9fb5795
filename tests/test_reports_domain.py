"""Pipeline, forecast and win-loss arithmetic: exact Decimal, per currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain.errors import ValidationError
from sfa.domain.reports import (
    UNSCHEDULED,
    OppFigures,
    forecast,
    period_of,
    period_start,
    pipeline,
    win_loss,
    win_rate,
)
from sfa.domain.stages import DEFAULT_STAGES

D = Decimal


def opp(
    stage: str,
    amount: str | None,
    probability: int,
    close: date | None = None,
    currency: str = "EUR",
    reason: str | None = None,
) -> OppFigures:
    return OppFigures(stage, D(amount) if amount is not None else None, currency, probability, close, reason)


def test_pipeline_by_stage_in_configured_order_and_per_currency() -> None:
    rows = pipeline(
        [
            opp("quotation sent", "1000.00", 70),
            opp("initiation", "333.33", 10),
            opp("initiation", "333.33", 10),
            opp("initiation", "500.00", 10, currency="USD"),
            opp("won", "9999.00", 100),
            opp("lost", "9999.00", 0),
            opp("initiation", None, 10),
        ],
        DEFAULT_STAGES,
    )
    assert [(r.stage, r.currency, r.count, r.amount, r.weighted) for r in rows] == [
        ("initiation", "EUR", 3, D("666.66"), D("66.67")),  # 66.666 rounded once, half-up
        ("initiation", "USD", 1, D("500.00"), D("50.00")),
        ("quotation sent", "EUR", 1, D("1000.00"), D("700.00")),
    ]


def test_forecast_by_month_and_quarter() -> None:
    opps = [
        opp("qualification", "10000.00", 30, date(2026, 11, 30)),
        opp("final stage", "5000.00", 90, date(2026, 11, 2)),
        opp("won", "2500.00", 100, date(2026, 11, 15)),
        opp("lost", "7000.00", 0, date(2026, 11, 15)),
        opp("rfp received", "1234.55", 50, date(2026, 12, 1)),
        opp("initiation", "100.00", 10, None),
        opp("initiation", "800", 10, date(2026, 11, 20), currency="JPY"),
    ]
    rows = {(r.period, r.currency): r for r in forecast(opps, "month")}
    nov = rows[("2026-11", "EUR")]
    assert (nov.count, nov.pipeline, nov.weighted, nov.won, nov.best_case, nov.won_count) == (
        2,
        D("15000.00"),
        D("7500.00"),
        D("2500.00"),
        D("17500.00"),
        1,
    )
    dec = rows[("2026-12", "EUR")]
    assert dec.weighted == D("617.28")  # 617.275 → half-up
    assert rows[("2026-11", "JPY")].weighted == D("80")  # yen has no minor unit
    assert rows[(UNSCHEDULED, "EUR")].pipeline == D("100.00")
    assert [r.period for r in forecast(opps, "month")][-1] == UNSCHEDULED

    quarters = {(r.period, r.currency): r for r in forecast(opps, "quarter")}
    q4 = quarters[("2026-Q4", "EUR")]
    assert q4.pipeline == D("16234.55")
    assert q4.weighted == D("8117.28")  # 3000 + 4500 + 617.275 → rounded once
    assert q4.best_case == D("18734.55")


def test_period_of() -> None:
    assert period_of(date(2026, 1, 1), "quarter") == "2026-Q1"
    assert period_of(date(2026, 3, 31), "quarter") == "2026-Q1"
    assert period_of(date(2026, 4, 1), "quarter") == "2026-Q2"
    assert period_of(date(2026, 12, 31), "month") == "2026-12"
    with pytest.raises(ValidationError, match="month or quarter"):
        period_of(date(2026, 1, 1), "week")


def test_win_loss() -> None:
    result = win_loss(
        [
            opp("won", "1000.00", 100),
            opp("won", "500.00", 100, currency="USD"),
            opp("lost", "200.00", 0, reason="Price"),
            opp("lost", "300.00", 0, reason="price "),
            opp("lost", "50.00", 0, reason=None),
            opp("qualification", "9999.00", 30),
        ]
    )
    assert (result.won_count, result.lost_count, result.win_rate) == (2, 3, D("40.0"))
    eur = result.rows[0]
    assert (eur.currency, eur.won_amount, eur.lost_count, eur.lost_amount) == (
        "EUR",
        D("1000.00"),
        3,
        D("550.00"),
    )
    assert eur.win_rate == D("25.0")
    assert result.lost_reasons == [("price", 2), ("(no reason)", 1)]


def test_win_rate_rounding_and_nothing_decided() -> None:
    assert win_rate(0, 0) is None
    assert win_rate(1, 2) == D("33.3")
    assert win_rate(2, 1) == D("66.7")
    assert win_rate(1, 0) == D("100.0")


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@given(st.lists(st.tuples(amounts, st.integers(0, 100), st.sampled_from(["EUR", "USD"])), max_size=30))
def test_forecast_totals_are_exact_and_order_independent(items: list[tuple[Decimal, int, str]]) -> None:
    opps = [opp("qualification", str(a), p, date(2026, 11, 1), currency=c) for a, p, c in items]
    rows = forecast(opps)
    assert rows == forecast(list(reversed(opps)))
    for row in rows:
        mine = [(a, p) for a, p, c in items if c == row.currency]
        assert row.pipeline == sum((a for a, _ in mine), D(0))
        exact = sum((a * p / 100 for a, p in mine), D(0))
        assert abs(row.weighted - exact) <= D("0.005")
        assert row.best_case == row.pipeline + row.won


def test_forecast_from_the_current_period_keeps_overdue_deals() -> None:
    opps = [
        opp("qualification", "1000.00", 30, date(2026, 9, 30)),  # close date passed, still open
        opp("won", "400.00", 100, date(2026, 9, 1)),  # history
        opp("won", "250.00", 100, date(2026, 11, 3)),  # won this month
        opp("initiation", "300.00", 10, date(2026, 11, 28)),
    ]
    rows = forecast(opps, "month", start=date(2026, 11, 1))
    assert [(r.period, r.pipeline, r.won) for r in rows] == [
        ("overdue", D("1000.00"), D("0.00")),
        ("2026-11", D("300.00"), D("250.00")),
    ]
    assert rows[1].best_case == D("550.00")
    assert period_start(date(2026, 11, 23), "quarter") == date(2026, 10, 1)
    assert period_start(date(2026, 11, 23), "month") == date(2026, 11, 1)
