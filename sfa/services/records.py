"""Shared use cases for every record type: checking typed input, show, list, edit, delete."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sfa.domain import normalize
from sfa.domain.dates import parse_date, parse_datetime
from sfa.domain.entities import TIMELINE, Entity
from sfa.domain.errors import ValidationError
from sfa.domain.money import check_decimal_field, parse_currency, parse_decimal_field
from sfa.domain.text import check_text
from sfa.services.workspace import Workspace
from sfa.store.db import Record

# What a typed value may be: a string from the command line, or an already-typed value (None
# leaves a field alone on edit; "" clears it).
Raw = Mapping[str, Any]


# Choices that may be cleared (`lead edit --rating ""`); every other choice always has a value.
_CLEARABLE_ENUMS = frozenset({("lead", "rating")})


def clean(ws: Workspace, entity: Entity, raw: Raw, *, creating: bool) -> Record:
    """Check and convert typed values by field kind. Unknown fields are an error."""
    values: Record = {}
    by_name = entity.by_name
    for name, value in raw.items():
        field = by_name.get(name)
        if field is None:
            raise ValidationError(name, f"{entity.name} has no field {name!r}")
        if value is None:
            continue
        if isinstance(value, str):
            text = value.strip()
            if not text and field.kind != "tags":
                if field.required:
                    raise ValidationError(name, "is required and cannot be empty")
                if field.kind == "currency":
                    raise ValidationError(name, "cannot be empty; give a three-letter code like EUR")
                if field.kind == "enum" and (entity.name, name) not in _CLEARABLE_ENUMS:
                    raise ValidationError(name, f"cannot be empty; use one of {', '.join(field.choices)}")
                values[name] = None
                continue
            if field.kind == "text":  # the common case, without a call (imports run this per cell)
                values[name] = check_text(name, text)
                continue
        values[name] = convert(ws, entity, name, value)
    if creating:
        for required in _required(entity):
            if values.get(required) is None:
                raise ValidationError(required, "is required")
    return values


@cache
def _required(entity: Entity) -> tuple[str, ...]:
    return tuple(f.name for f in entity.fields if f.required)


def convert(ws: Workspace, entity: Entity, name: str, value: Any) -> Any:
    field = entity.by_name[name]
    if not isinstance(value, str):
        return value
    text = check_text(name, value.strip())
    kind = field.kind
    if kind == "text":
        return text
    if kind == "email":
        return normalize.email(text, name)
    if kind == "phone":
        return normalize.phone(text, name)
    if kind == "url":
        return normalize.website(text, name)
    if kind == "tags":
        return normalize.split_tags(text)
    if kind == "enum":
        word = text.lower()
        if word not in field.choices:
            raise ValidationError(name, f"{text!r} is not accepted; use one of {', '.join(field.choices)}")
        return word
    if kind == "decimal":
        return parse_decimal_field(text, name)
    if kind == "date":
        return parse_date(text, name)
    if kind == "datetime":
        return parse_datetime(text, name)
    if kind == "int":
        return _whole_number(name, text)
    if kind == "float":
        return _coordinate(name, text)
    if kind == "ref":
        from sfa.domain.entities import ENTITIES

        assert field.ref is not None
        return ws.store.resolve(ENTITIES[field.ref], text)["id"]
    if kind == "refs":
        from sfa.domain.entities import ENTITIES

        assert field.ref is not None
        target = ENTITIES[field.ref]
        return [ws.store.resolve(target, part)["id"] for part in text.split(",") if part.strip()]
    if kind == "currency":
        return parse_currency(text, name)
    if kind == "bool":
        return text.lower() in ("1", "true", "yes", "y")
    raise AssertionError(f"unhandled field kind {kind}")


# Whole-number fields are small: a probability is a percentage, and the rest (minutes, revisions,
# positions) stay far below a billion; the bound keeps a typed page of digits out of int() and
# SQLite's 64-bit integers.
MAX_WHOLE = 1_000_000_000
_WHOLE_BOUNDS = {"probability": (0, 100)}


def _whole_number(name: str, text: str) -> int:
    shown = text if len(text) <= 32 else text[:29] + "..."
    digits = text[1:] if text[:1] in "+-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError(name, f"{shown!r} is not a whole number")
    low, high = _WHOLE_BOUNDS.get(name, (-MAX_WHOLE, MAX_WHOLE))
    if len(digits) > 10:
        raise ValidationError(name, f"{shown!r} is outside {low:,}..{high:,}")
    number = int(text)
    if not low <= number <= high:
        raise ValidationError(name, f"{number} is outside {low:,}..{high:,}")
    return number


def _coordinate(name: str, text: str) -> float:
    shown = text if len(text) <= 32 else text[:29] + "..."
    try:
        number = float(text) if len(text) <= 40 else float("nan")
    except ValueError:
        raise ValidationError(name, f"{shown!r} is not a number") from None
    if number != number:  # NaN, or a page of digits
        raise ValidationError(name, f"{shown!r} is not a number")
    limit = 90 if name == "latitude" else 180
    if not -limit <= number <= limit:
        raise ValidationError(name, f"{number} is outside -{limit}..{limit}")
    return number


def get(ws: Workspace, entity: Entity, ref: str) -> Record:
    return ws.store.resolve(entity, ref)


def edit(ws: Workspace, entity: Entity, ref: str, raw: Raw) -> Record:
    record = ws.store.resolve(entity, ref)
    values = clean(ws, entity, raw, creating=False)
    if not values:
        raise ValidationError(entity.name, "nothing to change; give at least one option")
    return ws.store.update(entity, record["id"], values)


def delete(ws: Workspace, entity: Entity, ref: str) -> Record:
    record = ws.store.resolve(entity, ref)
    return ws.store.delete(entity, record["id"])


def add_timeline(
    ws: Workspace, record_entity: Entity, record: Record, kind: str, text: str,
    account_id: str | None = None,
) -> Record:  # fmt: skip
    from sfa.domain.dates import utc_now

    return ws.store.insert(
        TIMELINE,
        {
            "record_entity": record_entity.name,
            "record_id": record["id"],
            "account_id": account_id,
            "kind": kind,
            "text": text,
            "at": utc_now(),
            "owner": ws.owner,
        },
    )


def timeline_of(ws: Workspace, record_id: str, limit: int = 20) -> list[Record]:
    return ws.store.select(TIMELINE, "record_id = ?", (record_id,), order="at DESC, rid DESC", limit=limit)


def scope_defaults(ws: Workspace) -> Record:
    return {"owner": ws.owner, "team": ws.team}


def add_note(ws: Workspace, entity: Entity, ref: str, text: str) -> Record:
    """A note on a record: an insert-only timeline entry, found by full-text search."""
    if not text.strip():
        raise ValidationError("text", "a note needs some text")
    text = check_text("text", text)
    record = ws.store.resolve(entity, ref)
    account_id = record["id"] if entity.name == "account" else record.get("account_id")
    return add_timeline(ws, entity, record, "note", text.strip(), account_id)


def notes_of(ws: Workspace, entity: Entity, ref: str) -> list[Record]:
    record = ws.store.resolve(entity, ref)
    return ws.store.select(
        TIMELINE, "record_id = ? AND kind = 'note'", (record["id"],), order="at DESC, rid DESC"
    )


# -- values read back (a backup): checked by the rules typed values meet ---------------------------


def check_value(entity: Entity, name: str, value: Any) -> Any:
    """A field's value as `codec.from_wire` decodes it (a backup line), held to the rules a typed
    value meets in `convert`: text without control characters, a choice of the field's choices,
    money and numbers within their bounds, a well-formed email, phone, web address or currency.
    References are checked by the caller, against the records it has. Returns the value."""
    field = entity.by_name[name]
    kind = field.kind
    if value is None or value == [] or (kind == "bool" and isinstance(value, bool)):
        if value is None and field.required:
            raise ValidationError(name, "is required")
        return value
    if kind in ("tags", "refs"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError(name, "is not a list of text")
        for item in value:
            check_text(name, item)
        return value
    if kind == "decimal":
        return check_decimal_field(name, value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(name, f"{value!r} is not a whole number")
        return _whole_number(name, str(value))
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(name, f"{value!r} is not a number")
        return _coordinate(name, repr(float(value)))
    if kind in ("date", "datetime"):
        return value  # codec.from_wire parsed it, or refused it
    if not isinstance(value, str):
        raise ValidationError(name, f"{value!r} is not text")
    text = check_text(name, value)
    if field.required and not text.strip():
        raise ValidationError(name, "is required and cannot be empty")
    if kind == "enum" and text not in field.choices:
        raise ValidationError(name, f"{text!r} is not accepted; use one of {', '.join(field.choices)}")
    if kind == "currency":
        if parse_currency(text, name) != text:
            raise ValidationError(name, f"{text!r} is not a currency code; expected three letters like EUR")
    elif kind == "email":
        normalize.email(text, name)
    elif kind == "phone":
        normalize.phone(text, name)
    elif kind == "url":
        normalize.website(text, name)
    return text
