"""Numbers and dates as spreadsheets and other CRMs export them, turned into the forms sfa parses.

A CSV column is read one way throughout. Its order of day and month, and its decimal mark, are
decided by the values that allow one reading only (31/12/2026 is day first, 1.234,56 has a decimal
comma) and then applied to the ambiguous ones (03/04/2026, 1,234). A column with no deciding value
keeps sfa's own reading of numbers (a comma groups thousands), and an ambiguous date in it is
rejected with its line rather than guessed.

- Dates: ISO (2026-12-15) as before; day.month.year (15.12.2026, day first wherever it is written
  so); day/month/year or month/day/year, decided per column as above; a timestamp
  (2026-12-15T09:30:00Z, 2026-12-15 00:00) gives its date in the local zone (a naive one, its own
  date).
- Numbers: a currency symbol or code before or after (€, $, £, ¥, EUR) is taken off and gives the
  row's currency when it names none (a different one rejects the row); spaces, also no-break
  spaces and apostrophes that group digits (1 234,50; 1'234.50) go; a trailing % goes (70%).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import NamedTuple

from sfa.domain.dates import local_zone
from sfa.domain.errors import ValidationError

_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SLASHED = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}.*")
_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_CODE = re.compile(r"^([A-Za-z]{3})\s*(?=[\d.,\s-])|(?<=[\d.,\s])\s*([A-Za-z]{3})$")
_GROUPING = str.maketrans("", "", " \u00a0\u202f'")
# Numbers only one decimal mark can explain: both marks (the last one is the decimal); one mark
# not followed by exactly three digits, or after more than three; one mark repeated (grouping).
# "1,234" and "1.234" alone could be either.
_COMMA_DECIMAL = re.compile(
    r"-?(\d{1,3}(\.\d{3})+,\d+|\d+,(\d{1,2}|\d{4,})|\d{4,},\d{3}|\d{1,3}(\.\d{3}){2,})"
)
_DOT_DECIMAL = re.compile(
    r"-?(\d{1,3}(,\d{3})+\.\d+|\d+\.(\d{1,2}|\d{4,})|\d{4,}\.\d{3}|\d{1,3}(,\d{3}){2,})"
)


# -- dates ------------------------------------------------------------------------------------------


def date_order(values: Iterable[str]) -> str | None:
    """ "dmy" or "mdy" for a column of slashed dates, from the values only one order allows."""
    for value in values:
        match = _SLASHED.fullmatch(value.strip())
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12 >= second:
                return "dmy"
            if second > 12 >= first:
                return "mdy"
    return None


def iso_date(text: str, order: str | None, field: str = "date") -> str:
    """The date as ISO text when it is in a spreadsheet form; other text as it is (parse_date
    accepts it, or says what it expects)."""
    value = text.strip()
    match = _DOTTED.fullmatch(value)
    if match:
        return f"{match.group(3)}-{int(match.group(2)):02d}-{int(match.group(1)):02d}"
    match = _SLASHED.fullmatch(value)
    if match:
        first, second, year = int(match.group(1)), int(match.group(2)), match.group(3)
        if order is None and first <= 12 and second <= 12 and first != second:
            raise ValidationError(
                field,
                f"{value!r} could be day/month or month/day; "
                "no date in this column tells which (write it as 2026-12-15)",
            )
        day, month = (first, second) if order == "dmy" or first > 12 else (second, first)
        return f"{year}-{month:02d}-{day:02d}"
    if _STAMP.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(local_zone())
        return moment.date().isoformat()
    return value


# -- numbers ----------------------------------------------------------------------------------------


def _bare(text: str) -> tuple[str, str | None]:
    """The number's text without currency and grouping spaces, and the currency it named."""
    value = text.strip()
    currency = None
    if value and value[0] in _SYMBOLS:
        currency, value = _SYMBOLS[value[0]], value[1:]
    elif value and value[-1] in _SYMBOLS:
        currency, value = _SYMBOLS[value[-1]], value[:-1]
    else:
        code = _CODE.search(value)
        if code:
            currency = (code.group(1) or code.group(2)).upper()
            value = value[: code.start()] + value[code.end() :]
    value = value.strip().translate(_GROUPING)
    if value.endswith("%"):
        value = value[:-1]
    return value, currency


def decimal_mark(values: Iterable[str]) -> str | None:
    """ "," or "." for a column of numbers, from the values only one reading allows."""
    for text in values:
        value, _ = _bare(text)
        if _COMMA_DECIMAL.fullmatch(value):
            return ","
        if _DOT_DECIMAL.fullmatch(value):
            return "."
    return None


def plain_number(text: str, mark: str | None) -> tuple[str, str | None]:
    """The number as sfa reads it (dot decimal, no grouping), and the currency the text named."""
    value, currency = _bare(text)
    if mark == ",":
        value = value.replace(".", "").replace(",", ".")
    return value, currency


class Forms(NamedTuple):
    """How each date and number field of a file's columns is read (target -> converter)."""

    dates: dict[str, Callable[[str], str]]
    numbers: dict[str, Callable[[str], tuple[str, str | None]]]


def column_forms(
    columns: Mapping[str, Iterable[str]], date_fields: set[str], number_fields: set[str]
) -> Forms:
    """Readers for the columns (target -> the column's values) that hold dates or numbers."""
    dates: dict[str, Callable[[str], str]] = {}
    numbers: dict[str, Callable[[str], tuple[str, str | None]]] = {}
    for target, values in columns.items():
        if target in date_fields:
            order = date_order(values)
            dates[target] = partial(iso_date, order=order, field=target)
        elif target in number_fields:
            mark = decimal_mark(values)
            numbers[target] = partial(plain_number, mark=mark)
    return Forms(dates, numbers)
