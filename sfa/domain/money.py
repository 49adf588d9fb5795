"""Money is Decimal, never float. Amounts as people type them: 12000, 12,000.50, 12k, 1.5m."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sfa.domain.errors import ValidationError

_SUFFIX = {"k": Decimal(1000), "m": Decimal(1_000_000)}
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$")
AMOUNT_HELP = "a number like 12000, 12,000.50 or 12k"

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


def parse_amount(text: str, field: str = "amount", allow_negative: bool = False) -> Decimal:
    raw = text.strip().lower().replace(" ", "").replace("_", "")
    negative = raw.startswith("-")
    if negative:
        if not allow_negative:
            raise ValidationError(field, f"{text!r} is negative; expected {AMOUNT_HELP}")
        raw = raw[1:]
    factor = Decimal(1)
    if raw and raw[-1] in _SUFFIX:
        factor = _SUFFIX[raw[-1]]
        raw = raw[:-1]
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    elif not _PLAIN.match(raw):
        raise ValidationError(field, f"{text!r} is not an amount; expected {AMOUNT_HELP}")
    try:
        value = Decimal(raw) * factor
    except InvalidOperation:
        raise ValidationError(field, f"{text!r} is not an amount; expected {AMOUNT_HELP}") from None
    value = -value if negative else value
    # Normalise "12k" to 12000 rather than 1.2E+4, keeping typed decimals as they are.
    return value.quantize(Decimal(1)) if value == value.to_integral() else value


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def round_money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


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
