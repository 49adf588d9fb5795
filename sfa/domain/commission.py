"""Commission: the calculation, pure (issue 16 §4, docs/incentives.md).

A manager's laptop, a rep's laptop and the server hold the same records, so they get the same lines
from this function: no clock, no store, no float. Money is Decimal; a line's amount is the change
of the rounded running total, so the lines always add up to the rounded total, and the total does
not depend on the order the deals are taken in (the tiers are marginal, like tax brackets).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sfa.domain.errors import ValidationError
from sfa.domain.money import format_money, money_context, round_money

ZERO = Decimal(0)
HUNDRED = Decimal(100)
TIERS = ""  # the pool of the rate table; any other pool is a product family with its own rate
_RATE_PLACES = Decimal("0.0001")
_TIER = re.compile(r"^(\d+(?:\.\d+)?)\s*%?\s*:\s*(\d+(?:\.\d+)?)\s*%?$")
_FAMILY = re.compile(r"^(.+?)\s*:\s*(\d+(?:\.\d+)?)\s*%?$")
_MAX_TIERS = 20


@dataclass(frozen=True)
class Tier:
    threshold: Decimal  # percent of target where the tier starts
    rate: Decimal  # percent of the basis paid inside the tier


def _plain(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text


def parse_rates(text: str, field: str = "rates") -> tuple[Tier, ...]:
    """`0%:2, 80%:4, 100%:6, 150%:8`: from 0 % of target 2 % is paid, from 80 % 4 %, ..."""
    items = [item.strip() for item in re.split(r"[,;\n]", text) if item.strip()]
    if not items:
        raise ValidationError(field, "give the rate table, e.g. 0%:2, 80%:4, 100%:6")
    if len(items) > _MAX_TIERS:
        raise ValidationError(field, f"at most {_MAX_TIERS} tiers")
    tiers: list[Tier] = []
    for item in items:
        found = _TIER.match(item)
        if found is None:
            raise ValidationError(field, f"{item[:40]!r} is not ATTAINMENT%:RATE, e.g. 80%:4")
        threshold, rate = Decimal(found[1]), Decimal(found[2])
        if rate > HUNDRED:
            raise ValidationError(field, f"{item!r}: a rate is at most 100 (percent)")
        if threshold > Decimal(10000):
            raise ValidationError(field, f"{item!r}: attainment is at most 10000 %")
        if tiers and threshold <= tiers[-1].threshold:
            raise ValidationError(field, f"{item!r}: the attainments must rise from tier to tier")
        tiers.append(Tier(threshold, rate))
    if tiers[0].threshold != 0:
        raise ValidationError(field, "the first tier starts at 0%")
    return tuple(tiers)


def rates_text(tiers: Sequence[Tier]) -> str:
    return ", ".join(f"{_plain(t.threshold)}%:{_plain(t.rate)}" for t in tiers)


def parse_family_rates(text: str | None, field: str = "family_rates") -> dict[str, Decimal]:
    """`Pumps:5, Valves:3`: products of these families are paid at their own rate (percent)."""
    rates: dict[str, Decimal] = {}
    for item in (i.strip() for i in re.split(r"[,;\n]", text or "")):
        if not item:
            continue
        found = _FAMILY.match(item)
        if found is None:
            raise ValidationError(field, f"{item[:40]!r} is not FAMILY:RATE, e.g. Pumps:5")
        name, rate = " ".join(found[1].split()), Decimal(found[2])
        if rate > HUNDRED:
            raise ValidationError(field, f"{item!r}: a rate is at most 100 (percent)")
        if name.casefold() in (n.casefold() for n in rates):
            raise ValidationError(field, f"{name!r} is given twice")
        rates[name] = rate
    return rates


def family_rates_text(rates: dict[str, Decimal]) -> str:
    return ", ".join(f"{name}:{_plain(rate)}" for name, rate in rates.items())


def tier_number(tiers: Sequence[Tier], attainment: Decimal, *, entering: bool = False) -> int:
    """1-based number of the tier `attainment` (percent) lies in; `entering`: the tier of the last
    unit below it (where a deal ending there was paid)."""
    number = 1
    for index, tier in enumerate(tiers, 1):
        if tier.threshold < attainment or (not entering and tier.threshold == attainment):
            number = index
    return number


def tiered(tiers: Sequence[Tier], target: Decimal, basis: Decimal) -> Decimal:
    """Commission on `basis` by the marginal tiers: each slice at the rate of the tier it falls in."""
    total = ZERO
    with money_context():
        for index, tier in enumerate(tiers):
            low = tier.threshold * target / HUNDRED
            high = tiers[index + 1].threshold * target / HUNDRED if index + 1 < len(tiers) else None
            if basis <= low:
                break
            top = basis if high is None else min(basis, high)
            total += (top - low) * tier.rate / HUNDRED
    return total


# -- splits ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    rep: str
    percent: Decimal
    kind: str  # revenue or overlay


def credits(owner: str | None, splits: Iterable[Split]) -> dict[str, Decimal]:
    """Percent of a deal credited to each rep. Revenue splits and the owner's remainder add up to
    exactly 100 (the remainder of a deal without owner is credited to "", nobody); overlay splits
    come on top and count for their rep only."""
    revenue: dict[str, Decimal] = {}
    overlay: dict[str, Decimal] = {}
    for split in splits:
        into = revenue if split.kind == "revenue" else overlay
        into[split.rep] = into.get(split.rep, ZERO) + split.percent
    given = sum(revenue.values(), ZERO)
    if given > HUNDRED:
        raise ValidationError("percent", f"the revenue splits add up to {_plain(given)} %, more than 100")
    shares = dict(revenue)
    if given < HUNDRED:
        key = owner or ""
        shares[key] = shares.get(key, ZERO) + (HUNDRED - given)
    result = {rep: share for rep, share in shares.items() if share}
    for rep, share in overlay.items():
        result[rep] = result.get(rep, ZERO) + share
    return result


def revenue_total(owner: str | None, splits: Iterable[Split]) -> Decimal:
    """The revenue shares of `credits` summed: always 100."""
    revenue = [s for s in splits if s.kind == "revenue"]
    return sum(credits(owner, revenue).values(), ZERO)


# -- the calculation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    family: str | None
    amount: Decimal


@dataclass(frozen=True)
class Deal:
    source_entity: str  # opportunity, order, contract (quote: an estimate)
    source_id: str
    label: str
    day: date
    owner: str | None
    currency: str
    parts: tuple[Part, ...]
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True)
class Plan:
    plan_id: str
    name: str
    period: str
    basis: str
    tiers: tuple[Tier, ...]
    family_rates: dict[str, Decimal]
    cap: Decimal | None
    currency: str


@dataclass(frozen=True)
class Line:
    source_entity: str
    source_id: str
    pool: str  # TIERS or a product family
    basis: Decimal
    rate: Decimal
    commission: Decimal
    explanation: str
    tier_from: int = 0
    tier_to: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_entity, self.source_id, self.pool)


@dataclass
class Result:
    rep: str
    currency: str
    target: Decimal
    lines: list[Line] = field(default_factory=list)
    total: Decimal = ZERO
    tier_basis: Decimal = ZERO  # what moved the rep along the rate table
    skipped: list[str] = field(default_factory=list)  # deals in another currency

    @property
    def attainment(self) -> Decimal:
        return percent_of(self.tier_basis, self.target)


def percent_of(basis: Decimal, target: Decimal) -> Decimal:
    if target <= 0:
        return ZERO
    with money_context():
        return basis * HUNDRED / target


def whole_percent(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def shown_percent(value: Decimal) -> str:
    return f"{whole_percent(value):f} %"


def _family_rate(plan: Plan, family: str | None) -> tuple[str, Decimal] | None:
    if not family:
        return None
    for name, rate in plan.family_rates.items():
        if name.casefold() == family.casefold():
            return name, rate
    return None


def calculate(plan: Plan, rep: str, target: Decimal, deals: Iterable[Deal]) -> Result:
    """The rep's lines and total for the deals, taken in the given order (callers sort them; the
    total is the same in any order). Deals in another currency than the plan's are skipped and
    named; a product family with its own rate is paid at it and does not move the rep along the
    rate table (docs/incentives.md)."""
    result = Result(rep, plan.currency, target)
    tier_basis = ZERO
    flat = ZERO  # commission of the family pools
    paid = ZERO  # the rounded, capped running total: what the lines so far add up to
    with money_context():
        for deal in deals:
            share = credits(deal.owner, deal.splits).get(rep)
            if not share:
                continue
            if deal.currency != plan.currency:
                result.skipped.append(f"{deal.label}: in {deal.currency}, the plan pays in {plan.currency}")
                continue
            pools: dict[str, Decimal] = {}
            names: dict[str, Decimal] = {}
            for part in deal.parts:
                found = _family_rate(plan, part.family)
                pool = found[0] if found else TIERS
                if found:
                    names[found[0]] = found[1]
                pools[pool] = pools.get(pool, ZERO) + part.amount * share / HUNDRED
            for pool in sorted(pools):
                basis = pools[pool]
                if basis == 0:
                    continue
                before_exact = tiered(plan.tiers, target, tier_basis) + flat
                credit = "" if share == HUNDRED else f" ({_plain(share)} % credit)"
                money = format_money(basis, plan.currency)
                if pool == TIERS:
                    start = percent_of(tier_basis, target)
                    tier_basis += basis
                    end = percent_of(tier_basis, target)
                    low = tier_number(plan.tiers, start)
                    high = tier_number(plan.tiers, end, entering=True)
                    where = f"tier {low}" if low == high else f"tiers {low}-{high}"
                    after_exact = tiered(plan.tiers, target, tier_basis) + flat
                    rate = (after_exact - before_exact) * HUNDRED / basis
                    text = (
                        f"{deal.label}: {money}{credit} at {where},"
                        f" {shown_percent(start)} → {shown_percent(end)} of target"
                    )
                else:
                    low = high = 0
                    rate = names[pool]
                    flat += basis * rate / HUNDRED
                    after_exact = tiered(plan.tiers, target, tier_basis) + flat
                    text = f"{deal.label}: {money}{credit} at the {pool} rate, {_plain(rate)} %"
                capped = after_exact if plan.cap is None else min(after_exact, plan.cap)
                rounded = round_money(capped, plan.currency)
                amount = rounded - paid
                paid = rounded
                if plan.cap is not None and after_exact > plan.cap:
                    text += f"; capped at {format_money(plan.cap, plan.currency)}"
                result.lines.append(
                    Line(
                        deal.source_entity,
                        deal.source_id,
                        pool,
                        basis,
                        rate.quantize(_RATE_PLACES, rounding=ROUND_HALF_UP),
                        amount,
                        text,
                        low,
                        high,
                    )
                )
    result.tier_basis = tier_basis
    result.total = round_money(paid, plan.currency)
    return result


# -- corrections ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paid:
    """A stored commission line, as far as corrections need it."""

    key: tuple[str, str, str]
    commission: Decimal
    basis: Decimal


@dataclass(frozen=True)
class NewLine:
    line: Line
    reason: str | None  # None: the first line of its key; else why it corrects what was paid
    index: int  # how many lines of its key were written before it (for a stable id)


def corrections(computed: Sequence[Line], stored: Iterable[Paid], currency: str) -> list[NewLine]:
    """What to write so the stored lines add up to the computed ones: nothing for a key already
    right, the line for a new key, a correction (a new line with a reason, never an edit) for a
    key whose amount changed or that no longer counts."""
    paid: dict[tuple[str, str, str], list[Paid]] = {}
    for entry in stored:
        paid.setdefault(entry.key, []).append(entry)
    merged: dict[tuple[str, str, str], Line] = {}
    for line in computed:  # one line per key: a record counted twice is summed
        if line.key in merged:
            first = merged[line.key]
            line = Line(
                first.source_entity,
                first.source_id,
                first.pool,
                first.basis + line.basis,
                first.rate,
                first.commission + line.commission,
                first.explanation,
                first.tier_from,
                line.tier_to,
            )
        merged[line.key] = line
    written: list[NewLine] = []
    for line in merged.values():
        before = paid.pop(line.key, [])
        if not before:
            written.append(NewLine(line, None, 0))
            continue
        had = sum((p.commission for p in before), ZERO)
        had_basis = sum((p.basis for p in before), ZERO)
        if had == line.commission and had_basis == line.basis:
            continue
        change = Line(
            line.source_entity,
            line.source_id,
            line.pool,
            line.basis - had_basis,
            line.rate,
            line.commission - had,
            line.explanation,
            line.tier_from,
            line.tier_to,
        )
        reason = (
            f"recalculated: {format_money(had, currency)} was paid,"
            f" {format_money(line.commission, currency)} is due"
        )
        written.append(NewLine(change, reason, len(before)))
    for key, before in sorted(paid.items()):
        had = sum((p.commission for p in before), ZERO)
        had_basis = sum((p.basis for p in before), ZERO)
        if had == 0 and had_basis == 0:
            continue
        source_entity, source_id, pool = key
        gone = Line(
            source_entity,
            source_id,
            pool,
            -had_basis,
            ZERO,
            -had,
            f"{source_entity} {source_id[-8:]}: no longer in the basis",
        )
        written.append(NewLine(gone, "no longer counts for the period", len(before)))
    return written
