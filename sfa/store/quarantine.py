"""Pulled changes this laptop cannot store, set aside with the reason (docs/sync-protocol.md,
"Quarantine").

The server checks every value by the field types of `sfa/domain/fields.py` before it takes it; this
is the laptop's own check of what it pulls, so that a change a server let through (an older server,
a bug, a record poisoned before the server checked) can never stop `sfa sync` or make a report fail.
A pulled field value must

- have the field's kind on the wire (`check_wire`, the server's own check);
- be in the exact form a laptop writes (`to_wire(from_wire(v)) == v`: `2026-12-31`, not `20261231`
  or `2026-W53-4`; an instant in UTC with milliseconds and `Z`);
- as a number, be one this laptop can store and add up: a whole number within ±1,000,000,000 (the
  bound of typed whole numbers, far inside SQLite's 64 bits), a finite float, a finite decimal
  within ±10^15 with at most 12 decimals (wider than the typed money bounds, so a value an older sfa
  let through is kept);
- as text, hold no NUL and no half of a surrogate pair (neither can be stored as UTF-8);
- not be empty in a required field;
- carry a clock of the exact fixed-width form (`Hlc.encode(Hlc.decode(c)) == c`).

A field that fails is left out of the change (the laptop keeps what it had) and recorded in
`sync_quarantine`; the rest of the change and of the page apply. A later valid value of the same
field clears its quarantine rows: the server's repair (or any later write) settles it.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sfa.domain.entities import Entity
from sfa.domain.errors import ValidationError
from sfa.domain.fields import MAX_WHOLE, FieldType
from sfa.domain.hlc import Hlc
from sfa.protocol import CONFLICT_FIELDS, clock_problem, is_uuid

MAX_SHOWN = 500  # characters of a set-aside value kept for the listing
# What a pulled number may be (wider than what people may type: see `_number_problem`).
MAX_DECIMAL = Decimal(10) ** 15
MAX_PLACES = 12
MAX_FLOAT = 1e9

_CONFLICT_TEXT = ("entity", "record_id", "field", "kind", "kept_clock", "lost_clock", "lost_by", "at")
_CONFLICT_STATUSES = ("open", "resolved")
_RESOLUTIONS = ("ours", "theirs", "value")


@dataclass(frozen=True)
class SetAside:
    """One pulled value (or whole change, `field` None) the laptop did not store, and why."""

    seq: int
    entity: str
    record_id: str
    field: str | None
    value: Any
    clock: str | None
    reason: str


_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
# The wire form of a clock, exactly: what `Hlc.encode` writes (a shorter "9:00000:x" would sort wrongly).
_CLOCK = re.compile(r"[0-9]{16}:[0-9]{5}:[0-9A-Za-z_-]{1,64}")
_CACHE_SIZE = 4096


def text_problem(value: str) -> str | None:
    bad = _BAD_CHAR.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "holds the character NUL"
    return "is not valid text (half of a surrogate pair)"


def _strings_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, list):
        for item in value:
            problem = _strings_problem(item)
            if problem is not None:
                return problem
    return None


def clock_issue(clock: object) -> str | None:
    if isinstance(clock, str) and _CLOCK.fullmatch(clock):
        return None
    problem = clock_problem(clock)
    if problem is not None:
        return f"clock {problem}"
    assert isinstance(clock, str)
    if Hlc.decode(clock).encode() != clock:
        return f"clock {clock[:40]!r} is not in the fixed-width form"
    return None


_plain_kinds: dict[str, bool] = {}


def _plain(kind: FieldType) -> bool:
    """A kind whose wire value is any text, stored as it is (text, email, phone, ref, ...)."""
    if kind.name not in _plain_kinds:
        cls = type(kind)
        _plain_kinds[kind.name] = (
            cls.check_wire is FieldType.check_wire and cls.column_reader is FieldType.column_reader
        )
    return _plain_kinds[kind.name]


_checked: dict[tuple[str, str, type, Any, frozenset[str]], str | None] = {}


def value_problem(
    entity: Entity, name: str, value: Any, not_null: frozenset[str] = frozenset()
) -> str | None:
    """None if this laptop can store `value` (wire form) in field `name`, else the reason. `not_null`:
    the fields whose local column cannot be empty (required fields, and those with a default)."""
    spec = entity.by_name[name]
    if type(value) is str and _plain(spec.type):
        return text_problem(value)  # the fast path of most pulled values
    key: tuple[str, str, type, Any, frozenset[str]]
    if value is None or isinstance(value, str | int | float | bool):  # values repeat: enums, money
        key = (entity.name, name, type(value), value, not_null)
    elif type(value) is list and all(type(item) is str for item in value):  # tags repeat too
        key = (entity.name, name, list, tuple(value), not_null)
    else:
        return _value_problem(entity, name, value, not_null)
    if key not in _checked:
        if len(_checked) >= _CACHE_SIZE:
            _checked.clear()
        _checked[key] = _value_problem(entity, name, value, not_null)
    return _checked[key]


def _value_problem(entity: Entity, name: str, value: Any, not_null: frozenset[str]) -> str | None:
    spec = entity.by_name[name]
    kind = spec.type
    try:
        wire = kind.check_wire(spec, value)
        if wire is None or wire == []:
            empty = wire is None and (spec.required or name in not_null)
            return "is required and cannot be empty" if empty else None
        problem = _strings_problem(wire)
        if problem is not None:
            return problem
        decoded = kind.from_wire(wire)
        if kind.to_wire(decoded) != wire:
            return f"{_shown(value)} is not in the form sfa writes ({_shown(kind.to_wire(decoded))})"
        if isinstance(decoded, int | float | Decimal) and not isinstance(decoded, bool):
            problem = _number_problem(decoded)
            if problem is not None:
                return f"{_shown(value)} {problem}"
        elif isinstance(decoded, date) and not 1 < decoded.year < 9999:
            return f"{_shown(value)} is outside the years 2..9998"
    except ValidationError as exc:
        return str(exc).removeprefix(f"{name}: ")
    except (ArithmeticError, ValueError, TypeError, OverflowError) as exc:
        return f"{_shown(value)} cannot be read: {type(exc).__name__}"
    return None


def _number_problem(number: float | Decimal) -> str | None:
    """Why a number cannot be stored or computed with here (not a policy bound: a tax rate of 125
    an older sfa let through is kept; a whole number beyond SQLite's 64 bits, or a decimal too
    large or too fine for sums of money, is not)."""
    if isinstance(number, int):
        return None if abs(number) <= MAX_WHOLE else f"is outside -{MAX_WHOLE:,}..{MAX_WHOLE:,}"
    if isinstance(number, float):
        return None if math.isfinite(number) and abs(number) <= MAX_FLOAT else "is not a usable number"
    exponent = number.as_tuple().exponent
    if not number.is_finite() or not isinstance(exponent, int):
        return "is not a number"
    if abs(number) > MAX_DECIMAL or exponent < -MAX_PLACES:
        return f"is beyond {MAX_DECIMAL:,} or {MAX_PLACES} decimals"
    return None


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


_plain_fields: dict[str, frozenset[str]] = {}


def _plain_names(entity: Entity) -> frozenset[str]:
    """The fields of `entity` whose wire value is any text (`_plain`)."""
    names = _plain_fields.get(entity.name)
    if names is None:
        names = _plain_fields[entity.name] = frozenset(f.name for f in entity.fields if _plain(f.type))
    return names


def screen(
    entity: Entity, seq: int, record_id: str, fields: dict[str, Any], not_null: frozenset[str] = frozenset()
) -> tuple[dict[str, list[Any]], list[SetAside]]:
    """The storable fields of a pulled change (known fields only), and what was set aside.

    Most changes are clean: their text values are checked together, in one search of their
    concatenation (a bad character is bad wherever it stands), and a change with any problem is
    screened again field by field (`_screen_each`), which says what is wrong with which field."""
    by_name = entity.by_name
    plain = _plain_names(entity)
    clean: dict[str, list[Any]] = {}
    texts: list[str] = []
    good = None  # the clock last found well-formed: a change's fields mostly share one
    for name, pair in fields.items():
        if name not in by_name:
            continue  # a field of a newer sfa: ignored, as before
        value, clock = pair[0], pair[1]
        if clock != good or type(clock) is not str:
            if clock_issue(clock) is not None:
                return _screen_each(entity, seq, record_id, fields, not_null)
            good = clock
        if type(value) is str and name in plain:
            texts.append(value)
        elif value_problem(entity, name, value, not_null) is not None:
            return _screen_each(entity, seq, record_id, fields, not_null)
        clean[name] = [value, clock]
    if texts and _BAD_CHAR.search("".join(texts)) is not None:
        return _screen_each(entity, seq, record_id, fields, not_null)
    return clean, []


def _screen_each(
    entity: Entity, seq: int, record_id: str, fields: dict[str, Any], not_null: frozenset[str]
) -> tuple[dict[str, list[Any]], list[SetAside]]:
    """`screen`, one field at a time, with the reason for each field set aside."""
    clean: dict[str, list[Any]] = {}
    aside: list[SetAside] = []
    good = None  # the clock last found well-formed: a change's fields mostly share one
    for name, pair in fields.items():
        if name not in entity.by_name:
            continue  # a field of a newer sfa: ignored, as before
        value, clock = pair[0], pair[1]
        if clock != good or type(clock) is not str:
            problem = clock_issue(clock)
            if problem is None:
                good = clock
        else:
            problem = None
        problem = problem or value_problem(entity, name, value, not_null)
        if problem is None:
            clean[name] = [value, clock]
        else:
            aside.append(SetAside(seq, entity.name, record_id, name, value, clock, f"{name}: {problem}"))
    return clean, aside


def screen_conflict(
    seq: int, record_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], list[SetAside]]:
    """The storable fields of a pulled conflict record, and what was set aside."""
    clean: dict[str, Any] = {}
    aside: list[SetAside] = []
    for name, pair in fields.items():
        if name not in CONFLICT_FIELDS:
            continue
        value, clock = pair[0], pair[1]
        problem = clock_issue(clock)
        if problem is None:
            if name in _CONFLICT_TEXT:
                ok = value is None or isinstance(value, str)
                problem = None if ok else f"{_shown(value)} is not text"
                problem = problem or (_strings_problem(value) if value is not None else None)
                if problem is None and value is None and name in ("entity", "record_id", "field", "kind"):
                    problem = "is required and cannot be empty"
            elif name == "status":
                if value not in _CONFLICT_STATUSES:
                    problem = f"{_shown(value)} is not one of {', '.join(_CONFLICT_STATUSES)}"
            elif name == "resolution":
                if value is not None and value not in _RESOLUTIONS:
                    problem = f"{_shown(value)} is not one of {', '.join(_RESOLUTIONS)}"
            else:  # kept, lost: any JSON value (checked against the field when a person picks it)
                problem = _strings_problem(value)
        if problem is None:
            clean[name] = [value, clock]
        else:
            aside.append(SetAside(seq, "_conflict", record_id, name, value, clock, f"{name}: {problem}"))
    return clean, aside


def whole(change: Any, reason: str) -> SetAside:
    """A pulled change set aside as a whole (its id is not a record id, or applying it failed)."""
    return SetAside(
        int(change.get("seq") or 0),
        str(change.get("entity"))[:64],
        str(change.get("id"))[:64],
        None,
        change.get("fields"),
        None,
        reason,
    )


def bad_id(record_id: object) -> str | None:
    return None if is_uuid(record_id) else f"id {_shown(record_id)} is not a record id"


def column_defaults(conn: sqlite3.Connection, entity: Entity) -> dict[str, Any]:
    """The fields whose local column is NOT NULL, with the column's default (None: no default)."""
    found: dict[str, Any] = {}
    for _cid, name, _type, notnull, default, _pk in conn.execute(f"PRAGMA table_info({entity.table})"):
        # (Lists and flags are never empty in their column: their kind writes [] or 0 for nothing.)
        if notnull and name in entity.by_name and entity.by_name[name].type.empty_column() is None:
            found[name] = _literal(default)
    return found


def _literal(sql: str | None) -> Any:
    if sql is None:
        return None
    if sql.startswith("'") and sql.endswith("'"):
        return sql[1:-1].replace("''", "'")
    try:
        return int(sql)
    except ValueError:
        return None


# -- the table -----------------------------------------------------------------------------------


def record(conn: sqlite3.Connection, items: list[SetAside], at: str) -> None:
    conn.executemany(
        "INSERT INTO sync_quarantine(seq, entity, record_id, field, value, clock, reason, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i.seq,
                i.entity,
                _safe(i.record_id),
                i.field and _safe(i.field),
                _dump(i.value),
                i.clock and _safe(i.clock),
                _safe(i.reason),
                at,
            )
            for i in items
        ],
    )


def settle(conn: sqlite3.Connection, record_id: str, names: list[str]) -> None:
    """Valid values of these fields arrived: their set-aside values are moot."""
    if names:
        conn.execute(
            f"DELETE FROM sync_quarantine WHERE record_id = ? AND field IN ({', '.join('?' * len(names))})",
            (record_id, *names),
        )


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM sync_quarantine").fetchone()[0])


def listing(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT seq, entity, record_id, field, value, clock, reason, at FROM sync_quarantine ORDER BY seq, id"
    )
    return [
        {
            "seq": r[0],
            "entity": r[1],
            "record_id": r[2],
            "field": r[3],
            "value": r[4],
            "clock": r[5],
            "reason": r[6],
            "at": r[7],
        }
        for r in rows
    ]


def _safe(text: str) -> str:
    """Text for a column: NUL and lone surrogates escaped, cut to a readable length."""
    if text_problem(text) is not None:
        text = json.dumps(text)[1:-1]
    return text[:MAX_SHOWN]


def _dump(value: Any) -> str:
    """What arrived, as JSON (ASCII, so any text survives), cut to a readable length."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(repr(value)[:MAX_SHOWN])
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
