"""Targets and attainment: periods, and the figures of a target row (pure; docs/policy.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sfa.domain.errors import ValidationError

_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
AMOUNT_METRICS = frozenset({"won_amount"})
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Period:
    name: str  # 2027-Q1, 2027-03 or 2027
    start: date
    end: date  # exclusive

    def holds(self, day: date) -> bool:
        return self.start <= day < self.end


def _next_month(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def parse_period(text: str, field: str = "period") -> Period:
    raw = text.strip()
    if found := _QUARTER.match(raw):
        year, quarter = int(found[1]), int(found[2])
        start = date(year, 3 * quarter - 2, 1)
        return Period(f"{year}-Q{quarter}", start, _next_month(year, 3 * quarter))
    if found := _MONTH.match(raw):
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise ValidationError(field, f"{raw!r}: the month must be 01..12")
        return Period(f"{year}-{month:02d}", date(year, month, 1), _next_month(year, month))
    if found := _YEAR.match(raw):
        year = int(found[1])
        return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1))
    raise ValidationError(field, f"{raw[:40]!r} is not a period; use 2027-Q1, 2027-03 or 2027")


def quarter_of(day: date) -> Period:
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


@dataclass
class Attainment:
    subject: str  # a rep's name, or "team NAME"
    metric: str
    currency: str | None
    target: Decimal | None
    stretch: Decimal | None
    actual: Decimal
    pipeline: Decimal  # weighted pipeline closing in the period (amount metrics)
    explicit: bool = True  # False: a team's target summed from its members'

    @property
    def gap(self) -> Decimal | None:
        if self.target is None:
            return None
        return max(self.target - self.actual, Decimal(0))

    @property
    def percent(self) -> Decimal | None:
        if not self.target:
            return None
        return (self.actual * HUNDRED / self.target).quantize(Decimal("0.1"))

    @property
    def coverage(self) -> Decimal | None:
        """Weighted pipeline ÷ gap: above 1 the pipeline could close the gap."""
        gap = self.gap
        if not gap or self.metric not in AMOUNT_METRICS:
            return None
        return (self.pipeline / gap).quantize(Decimal("0.01"))
