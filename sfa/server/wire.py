"""What the server accepts as a field's value: exactly what every laptop can store and report on.

A laptop keeps each field in a typed SQLite column and computes reports from it (sfa/domain/fields.py
converts). A value one laptop pushes reaches every laptop that can see the record, so the server
holds each value to what *every* laptop can take (docs/sync-protocol.md, "Validation"):

- text of every kind: a string without NUL or half a surrogate pair (both break the laptops' and the
  server's UTF-8 text); bounded length;
- whole numbers and coordinates: the bounds the field type keeps typed values in (`check`), which fit
  the 64-bit columns; no NaN or infinity;
- exact numbers (money, quantities, rates): a plain decimal string within the money bounds
  (sfa/domain/money.py), so sums stay finite and exact;
- dates in exactly the form laptops write (`2026-12-31`), instants as ISO 8601 with a zone
  (`2026-12-31T09:00:00.000Z`): Python's ISO parser also takes `20261231` and `2026-W01-1`, which
  a laptop's reports cannot read back;
- enums one of their choices; tags and refs lists of such text; flags true or false;
- fields whose local column is NOT NULL (`required` ones, and `NOT_NULL` below) are present in a
  create and never set to null.

Every failure is an `Invalid` naming the field; the mutation is rejected whole.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sfa.domain.entities import ENTITIES, Entity, Field
from sfa.domain.errors import ValidationError
from sfa.domain.money import check_decimal_field
from sfa.protocol import CONFLICT_FIELDS, CONFLICT_WRITABLE, clock_problem, is_uuid

# Fields that are not `required` but whose laptop column is NOT NULL (with a default the laptop's
# own writes always fill in): a create must carry them and no edit may set them to null.
# tests/sync/test_server_validation.py checks this against the laptops' schema.
NOT_NULL: dict[str, frozenset[str]] = {
    "lead": frozenset({"status"}),
    "visit": frozenset({"status"}),
    "task": frozenset({"priority", "status"}),
    "quote": frozenset({"revision", "status"}),
    "campaign": frozenset({"status"}),
    "order": frozenset({"status"}),
    "contract": frozenset({"revision", "status"}),
    "document": frozenset({"version"}),
    "review": frozenset({"status"}),
    "playbook": frozenset({"kind"}),
}

# The `_conflict` record: what a laptop may write to one, and the values it may write.
CONFLICT_STATUSES = ("open", "resolved")
CONFLICT_RESOLUTIONS = ("ours", "theirs", "value")
MAX_TEXT = 1_000_000  # characters of one text value (the body limit keeps the total down anyway)
MAX_LIST = 10_000  # entries of one tags or refs value
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_DECIMAL = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")


class Invalid(Exception):
    """A mutation that can never be applied; the reason is shown to the rep."""


def not_null(entity: Entity, name: str) -> bool:
    return entity.by_name[name].required or name in NOT_NULL.get(entity.name, ())


def shown(value: Any) -> str:
    """A value as a reason quotes it: short, and printable whatever it holds."""
    if isinstance(value, str):
        return repr(value[:40])  # repr escapes NUL and surrogates
    if isinstance(value, bool | int | float) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return f"a JSON {'list' if isinstance(value, list) else 'object'}"


def safe_text(text: str) -> str:
    """`text` with NUL and surrogates escaped: reasons are stored and sent as UTF-8."""
    return _BAD_TEXT.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _fail(spec: Field, value: Any, what: str) -> Invalid:
    return Invalid(f"{spec.name}: {shown(value)} is not {what}")


def check_text(name: str, value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{name}: {shown(value)} is not text")
    if len(value) > limit:
        raise Invalid(f"{name}: longer than {limit} characters")
    bad = _BAD_TEXT.search(value)
    if bad is not None:
        what = "NUL" if bad.group() == "\x00" else "half of a surrogate pair"
        raise Invalid(f"{name}: holds {what}; only valid text is accepted")
    return value


def check_value(entity: Entity, name: str, value: Any) -> Any:
    """`value` as the server stores it if field `name` of `entity` can hold it; Invalid otherwise.
    A null is returned as the field's empty value (a list field's `[]`, a flag's `false`)."""
    spec = entity.by_name[name]
    kind = spec.type.name
    if value is None:
        if not_null(entity, name) and spec.type.empty_wire() is None:
            raise Invalid(f"{name}: is required and cannot be empty")
        return spec.type.empty_wire()
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(spec, value, "true or false")
        return value
    if kind in ("tags", "refs"):
        if not isinstance(value, list) or len(value) > MAX_LIST:
            raise _fail(spec, value, "a list of text")
        for item in value:
            check_text(name, item, 1000)
        return spec.type.check_wire(spec, value)  # tags: sorted, without repeats
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(spec, value, "a whole number")
        return _typed(spec, value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(spec, value, "a number")
        return _typed(spec, value)
    if kind == "decimal":
        if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
            raise _fail(spec, value, "a decimal number like 1234.50")
        try:
            check_decimal_field(name, Decimal(value))
        except (InvalidOperation, ValidationError) as exc:
            raise Invalid(str(exc)) from None
        return value
    text = check_text(name, value)
    if kind == "enum" and text not in spec.choices:
        raise Invalid(f"{name}: {shown(value)} is not one of {', '.join(spec.choices)}")
    if kind == "currency" and not _CURRENCY.fullmatch(text):
        raise _fail(spec, value, "a currency code like EUR")
    if kind == "date" and not (_DATE.fullmatch(text) and _parses(date.fromisoformat, text)):
        raise _fail(spec, value, "a date like 2026-12-31")
    if kind == "datetime" and not (_INSTANT.fullmatch(text) and _parses(_aware, text.replace("Z", "+00:00"))):
        raise _fail(spec, value, "an instant like 2026-12-31T09:00:00.000Z")
    return text


def _typed(spec: Field, value: Any) -> Any:
    """A number held to the bounds its field type keeps typed values in."""
    try:
        spec.type.check(spec, value)
    except (ValidationError, OverflowError, ValueError) as exc:
        raise Invalid(
            str(exc) if isinstance(exc, ValidationError) else f"{spec.name}: out of range"
        ) from None
    return value


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def check_conflict_value(name: str, value: Any) -> Any:
    """A value a laptop writes to a `_conflict` record (only `status` and `resolution`)."""
    if name == "status":
        if value not in CONFLICT_STATUSES:
            raise Invalid(f"status: {shown(value)} is not one of {', '.join(CONFLICT_STATUSES)}")
        return value
    if value is None:
        return None
    return check_text(name, value, 40)


CONFLICT_KINDS = ("lww", "flag", "delete")


def check_lost_conflict(fields: dict[str, list[Any]]) -> None:
    """A whole conflict record re-sent by a laptop after a restore lost it (docs/sync-protocol.md,
    "Restore"): every field of the record, each of the type the server writes, the field it is about
    one of its entity's, the values ones that field can hold."""
    missing = [name for name in CONFLICT_FIELDS if name not in fields]
    if missing:
        raise Invalid(f"{missing[0]}: is required to re-create a conflict")
    for name in fields:
        if name not in CONFLICT_FIELDS:
            raise Invalid(f"{safe_text(name[:40])}: a conflict has no such field")
    values = {name: pair[0] for name, pair in fields.items()}
    for name in ("entity", "record_id", "field", "kind", "lost_by", "at", "kept_clock", "lost_clock"):
        if name == "lost_by" and values[name] == "":
            continue
        check_text(name, values[name], 100)
    entity = ENTITIES.get(values["entity"])
    if entity is None:
        raise Invalid(f"entity: {shown(values['entity'])} is not a record type")
    if not is_uuid(values["record_id"]):
        raise Invalid("record_id: not a record id")
    if values["field"] not in entity.by_name:
        raise Invalid(f"field: {entity.name} has no field {shown(values['field'])}")
    if values["kind"] not in CONFLICT_KINDS:
        raise Invalid(f"kind: {shown(values['kind'])} is not one of {', '.join(CONFLICT_KINDS)}")
    for name in ("kept_clock", "lost_clock"):  # "" when the kept side was never written
        problem = clock_problem(values[name]) if values[name] else None
        if problem is not None:
            raise Invalid(f"{name}: {problem}")
    for name in ("kept", "lost"):
        if values[name] is not None:
            try:
                check_value(entity, values["field"], values[name])
            except Invalid as exc:
                raise Invalid(f"{name}: {exc}") from None
    for name in CONFLICT_WRITABLE:
        check_conflict_value(name, values[name])
    if values["resolution"] is not None and values["resolution"] not in CONFLICT_RESOLUTIONS:
        raise Invalid(
            f"resolution: {shown(values['resolution'])} is not one of {', '.join(CONFLICT_RESOLUTIONS)}"
        )


def missing_on_create(entity: Entity, values: dict[str, Any]) -> str | None:
    """The first NOT NULL field a create leaves empty, if any."""
    for spec in entity.fields:
        if not_null(entity, spec.name) and spec.type.empty_wire() is None and values.get(spec.name) is None:
            return spec.name
    return None
