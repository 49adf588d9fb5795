"""Money is Decimal, never float. Amounts as people type them: 12000, 12,000.50, 12k, 1.5m.

Bounds (docs/cli.md, "Bounds of money and text"): an amount or a price is at most
999,999,999,999.99 with at most 4 decimals, a quantity at most 999,999.999 with at most 3, a rate
(tax, discount percent) 0..100 with at most 4. Within them every sum sfa makes is exact in the
default 28-digit Decimal context for any store a disk can hold; sums and rounding run in a wider
context anyway (`money_context`), so a value an older sfa stored beyond the bounds still adds up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from sfa.domain.errors import ValidationError

_SUFFIX = {"k": Decimal(1000), "m": Decimal(1_000_000)}
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$")
AMOUNT_HELP = "a number like 12000, 12,000.50 or 12k"

# The largest amount, price or amount off a line, and its decimals (sub-cent unit prices exist).
MAX_AMOUNT = Decimal("999999999999.99")
AMOUNT_PLACES = 4
# The largest quantity on a quote line, and its decimals.
MAX_QUANTITY = Decimal("999999.999")
QUANTITY_PLACES = 3
# Percentages (tax rate, discount): 0..100, decimals.
RATE_PLACES = 4
# Digits of the context sums and rounding run in: room for any bounded sum, and for old values.
MONEY_PRECISION = 80
# A typed number longer than this is refused before any arithmetic is tried on it.
_MAX_TYPED = 40

# ISO 4217 minor units where they are not 2.
_MINOR_UNITS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "VND": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "TND": 3,
}


def parse_amount(
    text: str,
    field: str = "amount",
    allow_negative: bool = False,
    *,
    limit: Decimal = MAX_AMOUNT,
    places: int = AMOUNT_PLACES,
    noun: str = "amount",
) -> Decimal:
    """An amount as typed, checked against its bounds: at most `limit`, at most `places` decimals."""
    raw = text.strip().lower().replace(" ", "").replace("_", "")
    negative = raw.startswith("-")
    if negative:
        if not allow_negative:
            raise ValidationError(field, f"{_shown(text)} is negative; expected {AMOUNT_HELP}")
        raw = raw[1:]
    factor = Decimal(1)
    if raw and raw[-1] in _SUFFIX:
        factor = _SUFFIX[raw[-1]]
        raw = raw[:-1]
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    elif not _PLAIN.match(raw):
        raise ValidationError(field, f"{_shown(text)} is not an {noun}; expected {AMOUNT_HELP}")
    if len(raw) > _MAX_TYPED:  # no arithmetic on a number no bound admits
        raise ValidationError(field, f"{_shown(text)} is more than the largest {noun}, {format_limit(limit)}")
    try:
        with localcontext(prec=MONEY_PRECISION):
            value = Decimal(raw) * factor
    except InvalidOperation:
        raise ValidationError(field, f"{_shown(text)} is not an {noun}; expected {AMOUNT_HELP}") from None
    value = -value if negative else value
    check_bounds(field, value, limit=limit, places=places, noun=noun, allow_negative=allow_negative)
    # Normalise "12k" to 12000 rather than 1.2E+4, keeping typed decimals as they are.
    return value.quantize(Decimal(1)) if value == value.to_integral() else value


def check_bounds(
    field: str,
    value: Decimal,
    *,
    limit: Decimal = MAX_AMOUNT,
    places: int = AMOUNT_PLACES,
    noun: str = "amount",
    allow_negative: bool = False,
) -> Decimal:
    """`value` if it is a finite number within its bounds; else a ValidationError naming the field."""
    if not value.is_finite():
        raise ValidationError(field, f"{value} is not a number")
    if not allow_negative and value < 0:
        raise ValidationError(field, f"{_plain(value)} is negative; it must be 0 or more")
    if abs(value) > limit:
        raise ValidationError(
            field, f"{_plain(value)} is more than the largest {noun}, {format_limit(limit)}"
        )
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > places
        and value != value.quantize(Decimal(1).scaleb(-places))
    ):
        raise ValidationError(field, f"{_plain(value)} has more than {places} decimals")
    return value


# Bounds of the decimal fields by name (entities.py): what `check_decimal_field` holds a stored
# or restored value to, and what records.convert parses typed text by.
_AMOUNT_FIELDS = frozenset({"amount", "unit_price", "discount_amount"})
_QUANTITY_FIELDS = frozenset({"quantity", "delivered_quantity", "invoiced_quantity"})
_RATE_FIELDS = frozenset({"tax_rate", "discount_percent"})
# Amounts that may be negative: a commission line's (a correction takes back what was paid).
_SIGNED_FIELDS = frozenset({"commission", "basis"})
HUNDRED = Decimal(100)


def _bounds_of(field: str) -> dict[str, Any]:
    """The limit, decimal places and noun of a decimal field (an amount unless named otherwise)."""
    if field in _QUANTITY_FIELDS:
        return {"limit": MAX_QUANTITY, "places": QUANTITY_PLACES, "noun": "quantity"}
    if field in _RATE_FIELDS:
        return {"limit": HUNDRED, "places": RATE_PLACES, "noun": "percentage"}
    if field in _SIGNED_FIELDS:
        return {"allow_negative": True}
    return {}


def check_decimal_field(field: str, value: Decimal) -> Decimal:
    """A decimal field's value (typed or read from a backup) held to the bounds of its field."""
    return check_bounds(field, value, **_bounds_of(field))


def parse_decimal_field(text: str, field: str) -> Decimal:
    """Typed text for the decimal field `field`, by the bounds of that field."""
    return parse_amount(text, field, **_bounds_of(field))


def format_limit(limit: Decimal) -> str:
    """999999999999.99 -> 999,999,999,999.99 (as the limits are written in docs/cli.md)."""
    places = max(0, -int(limit.as_tuple().exponent))
    return f"{limit:,.{places}f}"


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text if len(text) <= 32 else f"{text[:29]}..."


def _shown(text: str) -> str:
    """The typed text as the message quotes it: a page-long number is cut, not echoed whole."""
    return repr(text) if len(text) <= 32 else repr(text[:29] + "...")


@contextmanager
def money_context() -> Iterator[None]:
    """Decimal arithmetic wide enough that sums of money are exact and rounding cannot fail."""
    with localcontext(prec=MONEY_PRECISION):
        yield


def minor_units(currency: str | None) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2) if currency else 2


def round_money(value: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit, in a context with room for every digit of the value
    (the default 28 digits would fail on a sum past 10^26; a value an older sfa stored beyond the
    bounds still rounds). Not-a-number and infinity are returned as they are."""
    if not value.is_finite():
        return value
    places = minor_units(currency)
    with localcontext(prec=max(MONEY_PRECISION, value.adjusted() + places + 2)):
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_money(value: Decimal | None, currency: str = "") -> str:
    if value is None:
        return ""
    places = minor_units(currency) if currency else 2
    text = f"{value:,.{places}f}"
    return f"{text} {currency}".strip()


def parse_currency(text: str, field: str = "currency") -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValidationError(field, f"{text!r} is not a currency code; expected three letters like EUR")
    return code
