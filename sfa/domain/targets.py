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
    segment: str | None = None  # stored form, e.g. family:Pumps (docs/policy.md)

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


# -- segments (docs/policy.md, "Targets") ---------------------------------------------------------

SEGMENT_KINDS = ("industry", "family", "business")
BUSINESS_KINDS = ("new", "existing")
_KIND_NAMES = {
    "industry": "industry",
    "family": "family",
    "product family": "family",
    "product_family": "family",
    "business": "business",
}
# A product family needs the record's quote lines: visits and accounts have none.
FAMILY_METRICS = frozenset({"won_amount", "new_opportunities", "quotes_sent"})


@dataclass(frozen=True)
class Segment:
    kind: str  # one of SEGMENT_KINDS
    value: str  # an industry, a product family, or new / existing

    @property
    def text(self) -> str:
        """The stored form: KIND:VALUE."""
        return f"{self.kind}:{self.value}"


def parse_segment(text: str | None, field: str = "segment") -> Segment | None:
    """`industry:Construction`, `family:Pumps` (or `product family:Pumps`), `business:new`,
    `business:existing`; `new` and `existing` alone are the business kinds, any other text without
    a kind an industry (what targets stored before the segment kinds, so those keep meaning it)."""
    if text is None or not text.strip():
        return None
    head, sep, tail = text.partition(":")
    if not sep:
        value = " ".join(text.split())
        if value.casefold() in BUSINESS_KINDS:
            return Segment("business", value.casefold())
        return Segment("industry", value)
    kind = _KIND_NAMES.get(" ".join(head.split()).casefold())
    if kind is None:
        raise ValidationError(
            field, f"{head.strip()[:40]!r}; use industry:NAME, family:NAME, business:new or business:existing"
        )
    value = " ".join(tail.split())
    if not value:
        raise ValidationError(field, f"{kind}: give the {kind} after the colon")
    if kind == "business":
        if value.casefold() not in BUSINESS_KINDS:
            raise ValidationError(field, f"business:{value[:40]!r}; use business:new or business:existing")
        value = value.casefold()
    return Segment(kind, value)


def segment_problem(segment: Segment, metric: str) -> str | None:
    """Why a metric cannot be cut by this segment, or None."""
    if segment.kind == "family" and metric not in FAMILY_METRICS:
        return f"a product family segment applies to {', '.join(sorted(FAMILY_METRICS))}, not {metric}"
    if segment.kind == "business" and metric == "new_accounts" and segment.value == "existing":
        return "a new account is new business: business:existing never counts one"
    return None
