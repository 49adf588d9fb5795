"""Quote rules: exact totals, discounts, quote numbers and the effective status. Pure, no I/O.

Money is Decimal throughout (never float):
- a line's net = quantity × unit price − discount, where the discount is either a percentage of
  quantity × unit price or an amount off the line; the result is rounded to the currency's minor unit,
  half-up (``money.round_money``);
- tax is computed once per rate, on the sum of the line nets at that rate, and rounded the same way;
- grand total = net total + tax total.

Quote numbers look like ``Q-2026-K7F2-0042``: the year, a 4-character code derived from the store's
replica id, and a per-replica counter kept in that store. Two laptops never hand out the same number
without asking a server, as long as their codes differ (see docs/quotes.md for the odds).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from sfa.domain.errors import ValidationError
from sfa.domain.money import (
    MAX_AMOUNT,
    MAX_QUANTITY,
    QUANTITY_PLACES,
    RATE_PLACES,
    check_bounds,
    format_limit,
    minor_units,
    parse_amount,
    round_money,
)

ZERO = Decimal(0)
# Decimal arithmetic rounds to the context's precision (28 digits by default); with 80 digits every
# product and sum of realistic amounts is exact, so the only rounding is the documented one.
_PRECISION = 80
HUNDRED = Decimal(100)

# Crockford's base32: no I, L, O, U, so a code read aloud or off paper is not misread.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 4
NUMBER_RE = re.compile(r"^Q-(\d{4})-([0-9A-Z]{4})-(\d{4,})$", re.IGNORECASE)

DRAFT, SENT, ACCEPTED, REJECTED, EXPIRED = "draft", "sent", "accepted", "rejected", "expired"


@dataclass(frozen=True)
class Line:
    """What the totals need of a quote line."""

    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_rate: Decimal = ZERO


@dataclass(frozen=True)
class TaxBand:
    rate: Decimal  # percent
    base: Decimal  # sum of line nets at this rate
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    line_nets: tuple[Decimal, ...]  # in the order the lines were given
    net: Decimal
    taxes: tuple[TaxBand, ...]  # by rate, ascending
    tax: Decimal
    total: Decimal


def line_gross(line: Line) -> Decimal:
    return line.quantity * line.unit_price


def line_discount(line: Line) -> Decimal:
    """The discount off the line, unrounded (the net is rounded once, after subtracting it)."""
    if line.discount_percent is not None:
        return line_gross(line) * line.discount_percent / HUNDRED
    if line.discount_amount is not None:
        return line.discount_amount
    return ZERO


def line_net(line: Line, currency: str) -> Decimal:
    with localcontext(prec=_PRECISION):
        return round_money(line_gross(line) - line_discount(line), currency)


def tax_of(base: Decimal, rate: Decimal, currency: str) -> Decimal:
    return round_money(base * rate / HUNDRED, currency)


def totals(lines: Iterable[Line], currency: str) -> Totals:
    with localcontext(prec=_PRECISION):
        return _totals(lines, currency)


def _totals(lines: Iterable[Line], currency: str) -> Totals:
    nets: list[Decimal] = []
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        net = line_net(line, currency)
        nets.append(net)
        # Decimal("19") and Decimal("19.0") are equal and hash alike: one band per rate.
        bases[line.tax_rate] = bases.get(line.tax_rate, ZERO) + net
    bands = tuple(
        TaxBand(_plain(rate), base, tax_of(base, rate, currency)) for rate, base in sorted(bases.items())
    )
    net_total = round_money(sum(nets, ZERO), currency)
    tax_total = round_money(sum((b.tax for b in bands), ZERO), currency)
    return Totals(currency, tuple(nets), net_total, bands, tax_total, net_total + tax_total)


def _plain(rate: Decimal) -> Decimal:
    """19.00 -> 19, 7.5 stays 7.5: the rate as people write it."""
    normal = rate.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


# -- checking typed values ------------------------------------------------------------------------


def parse_quantity(text: str) -> Decimal:
    value = parse_amount(text, "qty", limit=MAX_QUANTITY, places=QUANTITY_PLACES, noun="quantity")
    if value <= 0:
        raise ValidationError("qty", f"{text!r} must be more than 0")
    return value


_RATE = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")


def parse_rate(text: str, field: str = "tax") -> Decimal:
    raw = text.strip().rstrip("%").strip()
    if len(raw) > 40 or not _RATE.match(raw):
        shown = text if len(text) <= 32 else text[:29] + "..."
        raise ValidationError(field, f"{shown!r} is not a percentage; expected e.g. 19 or 7.5")
    value = Decimal(raw)
    if not ZERO <= value <= HUNDRED:
        raise ValidationError(field, f"{text!r} is outside 0..100")
    check_bounds(field, value, limit=HUNDRED, places=RATE_PLACES, noun="percentage")
    return _plain(value)


def parse_discount(text: str, currency: str) -> tuple[Decimal | None, Decimal | None]:
    """ "10%" -> (10, None); "25.00" -> (None, 25.00). Returns (percent, amount)."""
    raw = text.strip()
    if raw.endswith("%"):
        percent = parse_rate(raw, "discount")
        return (percent if percent else None), None
    amount = parse_amount(raw, "discount")
    check_minor_units(amount, currency, "discount")
    return None, (amount if amount else None)


def check_minor_units(amount: Decimal, currency: str, field: str) -> None:
    exponent = amount.as_tuple().exponent
    places = minor_units(currency)
    if isinstance(exponent, int) and -exponent > places:
        raise ValidationError(field, f"{amount} has more than {places} decimals for {currency}")


def check_line(line: Line, currency: str) -> None:
    """A line must not be worth less than nothing."""
    if line.quantity <= 0:
        raise ValidationError("qty", "must be more than 0")
    if line.unit_price < 0:
        raise ValidationError("price", "must not be negative")
    if line_gross(line) > MAX_AMOUNT:
        raise ValidationError(
            "qty", f"quantity × price is more than the largest line amount, {format_limit(MAX_AMOUNT)}"
        )
    if line.discount_percent is not None and line.discount_amount is not None:
        raise ValidationError("discount", "give a percentage or an amount, not both")
    if line.discount_amount is not None and line.discount_amount > line_gross(line):
        gross = round_money(line_gross(line), currency)
        raise ValidationError("discount", f"{line.discount_amount} is more than the line's {gross}")


# -- numbering ------------------------------------------------------------------------------------


def replica_code(replica_id: str) -> str:
    """A 4-character code (Crockford base32, 20 bits) derived from the store's replica id."""
    digest = int.from_bytes(hashlib.sha256(replica_id.encode()).digest()[:4], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        chars.append(_CODE_ALPHABET[digest % 32])
        digest //= 32
    return "".join(reversed(chars))


def format_number(year: int, code: str, counter: int) -> str:
    return f"Q-{year}-{code}-{counter:04d}"


def looks_like_number(text: str) -> bool:
    return NUMBER_RE.match(text.strip()) is not None


# -- status ---------------------------------------------------------------------------------------


def effective_status(status: str, valid_until: date | None, today: date) -> str:
    """A sent quote past its valid-until date reads as expired (computed on read, never stored)."""
    if status == SENT and valid_until is not None and valid_until < today:
        return EXPIRED
    return status


def totals_json(totals: Totals) -> dict[str, object]:
    """Totals as JSON-ready strings (exact decimals, never floats)."""
    return {
        "currency": totals.currency,
        "net": str(totals.net),
        "taxes": [{"rate": str(b.rate), "base": str(b.base), "tax": str(b.tax)} for b in totals.taxes],
        "tax": str(totals.tax),
        "total": str(totals.total),
    }


def plain_number(value: Decimal) -> str:
    """A quantity or rate as people write it: 2, 1.5, 0.125 (no exponent, no trailing zeros)."""
    text = f"{value.normalize():f}"
    return text


def discount_text(line: Line, currency: str) -> str:
    if line.discount_percent is not None:
        return f"{plain_number(line.discount_percent)} %"
    if line.discount_amount is not None:
        places = minor_units(currency)
        return f"{line.discount_amount:,.{places}f}"
    return ""
