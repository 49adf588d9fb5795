"""The field-type registry: one object per kind of field, owning every conversion of its values.

A record declares each field with a kind name (`Field("email", "email")`, see entities.py); the
kind's object here is the one place that knows how such a value is

- parsed from what a person typed (the CLI, a form, an import): `parse`;
- held to those same rules when it was read back decoded (a backup line): `check`;
- checked when it arrives from another laptop through the server: `check_wire`;
- written to and read from its SQLite column: `to_column` / `from_column`;
- written to and read from JSON (the outbox, the sync protocol, `--json`): `to_wire` / `from_wire`;
- shown back to a person as the text that would parse to it again: `to_text`.

Adding a kind of field is one subclass and one `register` call. The store, the sync replica, the
server's merge and the services all convert through these objects; none switches on kind names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from sfa.domain import normalize
from sfa.domain.dates import from_iso_utc, iso_utc, parse_date, parse_datetime, utc_now
from sfa.domain.errors import ValidationError
from sfa.domain.money import check_decimal_field, parse_currency, parse_decimal_field
from sfa.domain.text import check_text

if TYPE_CHECKING:
    from sfa.domain.entities import Field

# Looks up a record by a ref a person typed and returns its id: (entity name, ref) -> id.
Resolve = Callable[[str, str], str]
Convert = Callable[[Any], Any]


class FieldType:
    """A kind of field. The defaults suit a plain text value stored and sent as it is."""

    name: ClassVar[str] = "text"
    # The value of a field that holds nothing, in Python, in its column and on the wire.
    empty: ClassVar[Any] = None
    # True when the wire form is already the column form (an initial sync writes it unconverted).
    wire_is_column: ClassVar[bool] = True

    def __init__(self) -> None:
        # Resolved once, for the hot paths (listings, bulk inserts, pulled pages).
        self.write_column = self.column_writer()
        self.read_column = self.column_reader()
        self.write_wire = self.wire_writer()

    # Converters of non-empty values; None means the value is used as it is.
    def column_writer(self) -> Convert | None:
        return None

    def column_reader(self) -> Convert | None:
        return None

    def wire_writer(self) -> Convert | None:
        return None

    # -- from people ----------------------------------------------------------------------------
    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        """The value of non-empty, stripped text a person typed; ValidationError naming the field."""
        return text

    def check(self, field: Field, value: Any) -> Any:
        """A decoded, non-empty value held to the rules typed text meets (`parse`): text without
        control characters, within bounds, of the field's form. Returns the value."""
        if not isinstance(value, str):
            raise ValidationError(field.name, f"{value!r} is not text")
        return check_text(field.name, value)

    def to_text(self, value: Any) -> str:
        """What a person would type to get `value` back (form fields, CSV cells)."""
        return "" if value is None else str(self.to_wire(value))

    # -- from another laptop --------------------------------------------------------------------
    def check_wire(self, field: Field, value: Any) -> Any:
        """The value if a JSON value from the wire has this kind; ValidationError otherwise."""
        if value is None:
            return self.empty_wire()
        if not isinstance(value, str):
            raise self.invalid(field, value)
        return value

    def invalid(self, field: Field, value: Any) -> ValidationError:
        return ValidationError(field.name, f"{str(value)[:40]!r} is not a valid {self.name}")

    # -- storage and JSON -----------------------------------------------------------------------
    def empty_wire(self) -> Any:
        return self.empty

    def to_column(self, value: Any) -> Any:
        if value is None:
            return self.empty_column()
        return self.write_column(value) if self.write_column is not None else value

    def empty_column(self) -> Any:
        return None

    def from_column(self, value: Any) -> Any:
        return self.read_column(value) if self.read_column is not None else value

    def to_wire(self, value: Any) -> Any:
        if value is None:
            return self.empty_wire()
        return self.write_wire(value) if self.write_wire is not None else value

    def from_wire(self, value: Any) -> Any:
        return self.from_column(value)

    def wire_to_column(self, value: Any) -> Any:
        """A wire value straight to its column (the fast path of applying pulled records)."""
        return value if self.wire_is_column else self.to_column(self.from_wire(value))

    def placeholder(self) -> Any:
        """A value that keeps a required column valid when a create was never seen."""
        return ""


FIELD_TYPES: dict[str, FieldType] = {}


def register(kind: FieldType) -> FieldType:
    if kind.name in FIELD_TYPES:
        raise ValueError(f"field kind {kind.name!r} is registered twice")
    FIELD_TYPES[kind.name] = kind
    return kind


def field_type(name: str) -> FieldType:
    try:
        return FIELD_TYPES[name]
    except KeyError:
        raise ValueError(f"unknown field kind {name!r}; known: {', '.join(sorted(FIELD_TYPES))}") from None


def _nullable(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _date_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _datetime_text(value: Any) -> str:
    return iso_utc(value) if isinstance(value, datetime) else str(value)


def _json_list(value: Any) -> list[Any]:
    return json.loads(value) if value else []


# Whole-number fields are small: a probability is a percentage, and the rest (minutes, revisions,
# positions) stay far below a billion; the bound keeps a typed page of digits out of int() and
# SQLite's 64-bit integers.
MAX_WHOLE = 1_000_000_000
_WHOLE_BOUNDS = {"probability": (0, 100)}


def _shown(text: str) -> str:
    return text if len(text) <= 32 else text[:29] + "..."


def _whole_number(name: str, text: str) -> int:
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError(name, f"{_shown(text)!r} is not a whole number")
    low, high = _WHOLE_BOUNDS.get(name, (-MAX_WHOLE, MAX_WHOLE))
    if len(digits) > 10:
        raise ValidationError(name, f"{_shown(text)!r} is outside {low:,}..{high:,}")
    number = int(text)
    if not low <= number <= high:
        raise ValidationError(name, f"{number} is outside {low:,}..{high:,}")
    return number


def _coordinate(name: str, text: str) -> float:
    """A latitude within +-90, a longitude (any other float field) within +-180."""
    try:
        number = float(text) if len(text) <= 40 else float("nan")
    except ValueError:
        raise ValidationError(name, f"{_shown(text)!r} is not a number") from None
    if number != number:  # NaN, or a page of digits
        raise ValidationError(name, f"{_shown(text)!r} is not a number")
    limit = 90 if name == "latitude" else 180
    if not -limit <= number <= limit:
        raise ValidationError(name, f"{number} is outside -{limit}..{limit}")
    return number


class Text(FieldType):
    name = "text"


class _Normalized(FieldType):
    """Text with a normal form (an email, a phone number, a web address): typed text is brought into
    it, and a decoded value must be accepted by the same rule."""

    def normalize(self, text: str, name: str) -> str:
        raise NotImplementedError

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return self.normalize(text, field.name)

    def check(self, field: Field, value: Any) -> Any:
        text = super().check(field, value)
        self.normalize(text, field.name)
        return text


class Email(_Normalized):
    name = "email"

    def normalize(self, text: str, name: str) -> str:
        return normalize.email(text, name)


class Phone(_Normalized):
    name = "phone"

    def normalize(self, text: str, name: str) -> str:
        return normalize.phone(text, name)


class Url(_Normalized):
    name = "url"

    def normalize(self, text: str, name: str) -> str:
        return normalize.website(text, name)


class Currency(FieldType):
    name = "currency"

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return parse_currency(text, field.name)

    def check(self, field: Field, value: Any) -> Any:
        text = super().check(field, value)
        if parse_currency(text, field.name) != text:
            raise ValidationError(
                field.name, f"{text!r} is not a currency code; expected three letters like EUR"
            )
        return text


class Enum(FieldType):
    name = "enum"

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        word = text.lower()
        if word not in field.choices:
            raise ValidationError(
                field.name, f"{text!r} is not accepted; use one of {', '.join(field.choices)}"
            )
        return word

    def check(self, field: Field, value: Any) -> Any:
        text = super().check(field, value)
        if text not in field.choices:
            raise ValidationError(
                field.name, f"{text!r} is not accepted; use one of {', '.join(field.choices)}"
            )
        return text

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return None
        if value not in field.choices:
            raise ValidationError(field.name, f"{str(value)[:40]!r} is not one of {', '.join(field.choices)}")
        return value


class Int(FieldType):
    name = "int"

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return _whole_number(field.name, text)

    def check(self, field: Field, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(field.name, f"{value!r} is not a whole number")
        return _whole_number(field.name, str(value))

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid(field, value)
        return value

    def placeholder(self) -> Any:
        return 0


class Float(FieldType):
    """A coordinate: latitude within ±90, longitude (any other float field) within ±180."""

    name = "float"

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return _coordinate(field.name, text)

    def check(self, field: Field, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(field.name, f"{value!r} is not a number")
        return _coordinate(field.name, repr(float(value)))

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.invalid(field, value)
        return value

    def placeholder(self) -> Any:
        return 0.0


class DecimalType(FieldType):
    """Exact numbers (money, quantities, rates): Decimal in Python, text in columns and JSON."""

    name = "decimal"

    def column_writer(self) -> Convert | None:
        return str

    def column_reader(self) -> Convert | None:
        return _nullable(Decimal)

    def wire_writer(self) -> Convert | None:
        return str

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return parse_decimal_field(text, field.name)

    def check(self, field: Field, value: Any) -> Any:
        return check_decimal_field(field.name, value)

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return None
        try:
            if not isinstance(value, str) or not Decimal(value).is_finite():
                raise self.invalid(field, value)
        except InvalidOperation:
            raise self.invalid(field, value) from None
        return value

    def placeholder(self) -> Any:
        return Decimal(0)


class _Temporal(FieldType):
    """A date or an instant: ISO 8601 text in columns and JSON, checked on the wire by the ISO
    parser of its Python type. Subclasses give the conversions."""

    def __init__(
        self, *, as_text: Convert, from_text: Convert, iso_check: Convert, typed: Callable[[str, str], Any]
    ) -> None:
        self.as_text, self.from_text, self.iso_check, self.typed = as_text, from_text, iso_check, typed
        super().__init__()

    def column_writer(self) -> Convert | None:
        return self.as_text

    def column_reader(self) -> Convert | None:
        return _nullable(self.from_text)

    def wire_writer(self) -> Convert | None:
        return self.as_text

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return self.typed(text, field.name)

    def check(self, field: Field, value: Any) -> Any:
        return value  # from_wire parsed it, or refused it

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return None
        try:
            self.iso_check(value)
        except (TypeError, ValueError):
            raise self.invalid(field, value) from None
        return value


class Date(_Temporal):
    name = "date"

    def __init__(self) -> None:
        super().__init__(
            as_text=_date_text, from_text=date.fromisoformat, iso_check=date.fromisoformat, typed=parse_date
        )

    def placeholder(self) -> Any:
        return utc_now().date()


class DateTime(_Temporal):
    """An instant: timezone-aware in Python, ISO 8601 UTC text in columns and JSON."""

    name = "datetime"

    def __init__(self) -> None:
        super().__init__(
            as_text=_datetime_text,
            from_text=from_iso_utc,
            iso_check=datetime.fromisoformat,
            typed=parse_datetime,
        )

    def placeholder(self) -> Any:
        return utc_now()


class Ref(FieldType):
    """The id of another record; a person types a short ref, resolved through the store."""

    name = "ref"

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        assert field.ref is not None and resolve is not None, "a ref field needs its target and a resolver"
        return resolve(field.ref, text)


class _List(FieldType):
    """A list of strings: JSON text in its column, a JSON array on the wire."""

    wire_is_column = False

    def column_reader(self) -> Convert | None:
        return _json_list

    def empty_wire(self) -> Any:
        return []

    def empty_column(self) -> Any:
        return "[]"

    def from_wire(self, value: Any) -> Any:
        return list(value or [])

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.invalid(field, value)
        return value

    def check(self, field: Field, value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError(field.name, "is not a list of text")
        for item in value:
            check_text(field.name, item)
        return value

    def to_text(self, value: Any) -> str:
        return ", ".join(value or [])


class Refs(_List):
    name = "refs"

    def column_writer(self) -> Convert | None:
        return lambda value: json.dumps(list(value)) if value else "[]"

    def wire_writer(self) -> Convert | None:
        return list

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        assert field.ref is not None and resolve is not None, "a refs field needs its target and a resolver"
        return [resolve(field.ref, part.strip()) for part in text.split(",") if part.strip()]


class Tags(_List):
    """A set of words: kept sorted, so two laptops store the same tags the same way."""

    name = "tags"

    def column_writer(self) -> Convert | None:
        return lambda value: json.dumps(sorted(value), ensure_ascii=False) if value else "[]"

    def wire_writer(self) -> Convert | None:
        return sorted

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return normalize.split_tags(text)

    def from_wire(self, value: Any) -> Any:
        return sorted(value or [])

    def check_wire(self, field: Field, value: Any) -> Any:
        return sorted(set(super().check_wire(field, value)))


class Bool(FieldType):
    name = "bool"
    empty = False
    wire_is_column = False

    def column_writer(self) -> Convert | None:
        return lambda value: 1 if value else 0

    def column_reader(self) -> Convert | None:
        return bool

    def empty_column(self) -> Any:
        return 0

    def from_wire(self, value: Any) -> Any:
        return bool(value)

    def parse(self, field: Field, text: str, resolve: Resolve | None = None) -> Any:
        return text.lower() in ("1", "true", "yes", "y")

    def check_wire(self, field: Field, value: Any) -> Any:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.invalid(field, value)
        return value

    def check(self, field: Field, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValidationError(field.name, f"{value!r} is not true or false")
        return value

    def to_text(self, value: Any) -> str:
        return "yes" if value else "no"


for _kind in (
    Text,
    Email,
    Phone,
    Url,
    Currency,
    Enum,
    Int,
    Float,
    DecimalType,
    Date,
    DateTime,
    Ref,
    Refs,
    Tags,
    Bool,
):
    register(_kind())
