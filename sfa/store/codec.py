"""Conversion of field values between Python, SQLite columns and the JSON of outbox and wire."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from json.encoder import encode_basestring
from typing import Any

from sfa.domain.dates import iso_utc
from sfa.domain.entities import Entity, Field


def to_column(field: Field, value: Any) -> Any:
    return field.type.to_column(value)


def from_column(field: Field, value: Any) -> Any:
    return field.type.from_column(value)


def to_wire(field: Field, value: Any) -> Any:
    """JSON-ready value: the form of --json output, the outbox and the sync protocol."""
    return field.type.to_wire(value)


def from_wire(field: Field, value: Any) -> Any:
    return field.type.from_wire(value)


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


# -- field clocks and outbox entries ---------------------------------------------------------------
# A write stamps every field it writes with one clock, so both are stored compactly: an outbox entry
# as ["<clock>", {"field": value, ...}] rather than {"field": [value, "<clock>"], ...}, and a row's
# clocks packed: each distinct clock once, followed by the fields it stamps,
# ["<clock 1>", "name", "city", "<clock 2>", "phone"], rather than {"field": "<clock>", ...}. The
# first item is always a clock; after it a clock is told from a field name by its ':'
# (ms:counter:replica), which no field name holds. Every writer of a row's clocks uses `pack_clocks`
# (from migration V_LEAN_STORE on, which converted older rows; before it only the one-clock list
# was written), so a pulled record, whose fields usually share its create's clock, stores the clock
# once rather than once a field (docs/store.md, "Size"). Since V_CLOCK_GROUPS the store writes the
# group form made from this text (sfa/store/clocks.py), and `clocks.read` reads every form.


def read_clocks(text: str) -> dict[str, str]:
    value = json.loads(text)
    if isinstance(value, list):
        clocks: dict[str, str] = {}
        clock: str = value[0]  # the first item is always a clock
        for item in value[1:]:
            if ":" in item:
                clock = item
            else:
                clocks[item] = clock
        return clocks
    return value  # type: ignore[no-any-return]


def pack_clocks(clocks: dict[str, str]) -> str:
    """Field clocks in the packed form read_clocks reads: each distinct clock once (oldest first),
    then its fields in their order here. One clock gives the form a create writes (prepare.py)."""
    if not clocks:
        return "{}"
    values = iter(clocks.values())
    first = next(values)
    if all(clock == first for clock in values):  # the common case (a create, a first sync): no encoder
        return "[" + encode_basestring(first) + _field_list(tuple(clocks)) + "]"
    groups: dict[str, list[str]] = {}
    for name, clock in clocks.items():
        groups.setdefault(clock, []).append(name)
    return dumps([item for clock in sorted(groups) for item in (clock, *groups[clock])])


def pack_clocks_of(fields: dict[str, list[Any]]) -> str:
    """`pack_clocks` of pulled wire fields ({name: [value, clock]}); a create's fields mostly share
    one clock, which is then encoded once."""
    clocks: list[str] = [pair[1] for pair in fields.values()]
    if clocks and clocks.count(clocks[0]) == len(clocks):
        return "[" + encode_basestring(clocks[0]) + _field_list(tuple(fields)) + "]"
    return pack_clocks(dict(zip(fields, clocks, strict=True)))


@lru_cache(maxsize=1024)
def _field_list(names: tuple[str, ...]) -> str:
    """',"name","city"': a record type's written field sets are few, so each is encoded once."""
    return "".join("," + encode_basestring(name) for name in names)


def read_outbox_fields(text: str) -> dict[str, list[Any]]:
    """An outbox entry as {field: [value, clock]}, the form of the sync protocol."""
    value = json.loads(text)
    if isinstance(value, list):
        clock, values = value
        return {name: [field_value, clock] for name, field_value in values.items()}
    return value  # type: ignore[no-any-return]


# One encoder for every call: json.dumps with these options would build a new one each time.
# Values are plain data (never cyclic), so the encoder's cycle check is skipped (about 20% faster).
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=json_default, check_circular=False
)


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


@cache
def readers(entity: Entity) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """Per field: the column name and the converter from its column value (None: as stored),
    resolved once per entity for the listing hot path."""
    return tuple((f.name, f.type.read_column) for f in entity.fields)


Writer = tuple[str, Any, Any, Callable[[Any], Any] | None, Callable[[Any], Any] | None]


@cache
def writers(entity: Entity) -> tuple[Writer, ...]:
    """Per field: name, empty value, empty column value, column converter, wire converter,
    resolved once per entity for bulk inserts."""
    return tuple(
        (f.name, f.type.empty_wire(), f.type.empty_column(), f.type.write_column, f.type.write_wire)
        for f in entity.fields
    )
