"""Win/loss that explains (issue 16 §3): decided deals grouped by one dimension, with the win rate,
the stage deals were lost at, the cycle time and the discount given on won quotes. Pure; money and
percentages are Decimal. Design: docs/prediction.md, "Win/loss".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sfa.domain.errors import ValidationError
from sfa.domain.reports import win_rate

DIMENSIONS = ("competitor", "stage", "owner", "team", "source", "industry", "size")
NONE = "(none)"
UNKNOWN = "(unknown)"  # a deal decided before stage changes were recorded: the stage it left is not known
TENTH = Decimal("0.1")

# Deal size bands by amount (in the deal's own currency): lower bound, label.
SIZE_BANDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(0), "< 10k"),
    (Decimal(10_000), "10k-50k"),
    (Decimal(50_000), "50k-250k"),
    (Decimal(250_000), ">= 250k"),
)


def size_band(amount: Decimal | None) -> str:
    if amount is None:
        return NONE
    label = SIZE_BANDS[0][1]
    for bound, name in SIZE_BANDS:
        if amount >= bound:
            label = name
    return label


def check_dimension(by: str) -> str:
    value = by.strip().lower()
    if value not in DIMENSIONS:
        raise ValidationError("by", f"{by!r} is not a dimension; accepted: {', '.join(DIMENSIONS)}")
    return value


@dataclass(frozen=True)
class Decided:
    """A won or lost deal as win/loss needs it."""

    won: bool
    groups: tuple[str, ...]  # the deal's values of the dimension (a deal may meet several competitors)
    cycle_days: int  # creation to close
    lost_at: str | None = None  # the stage it was in when lost
    discounts: tuple[Decimal, ...] = ()  # percent off list on each of its accepted quotes (won deals)


@dataclass
class Group:
    name: str
    won: int = 0
    lost: int = 0
    lost_at: Counter[str] = field(default_factory=Counter)
    cycle_median: Decimal | None = None
    cycle_p75: Decimal | None = None
    discount: Decimal | None = None  # average percent off list on won quotes
    quotes: int = 0  # won quotes the discount averages

    @property
    def deals(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> Decimal | None:
        return win_rate(self.won, self.lost)

    @property
    def lost_at_text(self) -> str:
        """The stages deals were lost at, most often first: "proposal 12, negotiation 5"."""
        return ", ".join(f"{stage} {n}" for stage, n in self.most_lost_at())

    def most_lost_at(self) -> list[tuple[str, int]]:
        return sorted(self.lost_at.items(), key=lambda item: (-item[1], item[0]))


def percentile(values: Sequence[int], q: float) -> Decimal | None:
    """Linear interpolation between closest ranks (the median of [1, 2] is 1.5), one decimal."""
    if not values:
        return None
    ordered = sorted(values)
    position = Decimal(str(q)) * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def discount_percent(lines: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Percent off list of one quote from its lines' (gross, discount); None for a quote worth 0."""
    gross = discount = Decimal(0)
    for line_gross, line_discount in lines:
        gross += line_gross
        discount += line_discount
    if gross <= 0:
        return None
    return discount * 100 / gross


def win_loss(deals: Iterable[Decided]) -> list[Group]:
    """One row per group value, the most decided deals first (ties by name; "(none)" last)."""
    groups: dict[str, Group] = {}
    cycles: dict[str, list[int]] = {}
    discounts: dict[str, list[Decimal]] = {}
    for deal in deals:
        for name in deal.groups or (NONE,):
            group = groups.get(name)
            if group is None:
                group = groups[name] = Group(name)
                cycles[name], discounts[name] = [], []
            if deal.won:
                group.won += 1
                discounts[name] += deal.discounts
            else:
                group.lost += 1
                group.lost_at[deal.lost_at or UNKNOWN] += 1
            cycles[name].append(deal.cycle_days)
    for name, group in groups.items():
        group.cycle_median = percentile(cycles[name], 0.5)
        group.cycle_p75 = percentile(cycles[name], 0.75)
        found = discounts[name]
        group.quotes = len(found)
        if found:
            average = sum(found, Decimal(0)) / len(found)
            group.discount = average.quantize(TENTH, rounding=ROUND_HALF_UP)
    return sorted(groups.values(), key=lambda g: (g.name in (NONE, UNKNOWN), -g.deals, g.name.lower()))
