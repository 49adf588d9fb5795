"""Conversion of field values between Python, SQLite columns and the JSON of outbox and wire."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sfa.domain.dates import from_iso_utc, iso_utc
from sfa.domain.entities import Field


def to_column(field: Field, value: Any) -> Any:
    if value is None:
        return 0 if field.kind == "bool" else ("[]" if field.kind in ("tags", "refs") else None)
    kind = field.kind
    if kind == "decimal":
        return str(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "datetime":
        return iso_utc(value) if isinstance(value, datetime) else str(value)
    if kind == "tags":
        return json.dumps(sorted(value), ensure_ascii=False)
    if kind == "refs":
        return json.dumps(list(value))
    if kind == "bool":
        return 1 if value else 0
    return value


def from_column(field: Field, value: Any) -> Any:
    kind = field.kind
    if kind == "bool":
        return bool(value)
    if kind in ("tags", "refs"):
        return json.loads(value) if value else []
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "datetime":
        return from_iso_utc(value)
    return value


def to_wire(field: Field, value: Any) -> Any:
    """JSON-ready value: the form of --json output, the outbox and the sync protocol."""
    if value is None:
        return [] if field.kind in ("tags", "refs") else (False if field.kind == "bool" else None)
    kind = field.kind
    if kind in ("decimal", "date", "datetime"):
        return to_column(field, value)
    if kind == "tags":
        return sorted(value)
    if kind == "refs":
        return list(value)
    return value


def from_wire(field: Field, value: Any) -> Any:
    if field.kind == "tags":
        return sorted(value or [])
    if field.kind == "refs":
        return list(value or [])
    if field.kind == "bool":
        return bool(value)
    return from_column(field, value)


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


# One encoder for every call: json.dumps with these options would build a new one each time.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_default)


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)
