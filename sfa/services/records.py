"""Shared use cases for every record type: checking typed input, show, list, edit, delete."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sfa.domain.entities import ENTITIES, TIMELINE, Entity
from sfa.domain.errors import ValidationError
from sfa.domain.text import check_text
from sfa.store.db import Record
from sfa.store.workspace import Workspace

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
            if not text and field.kind != "tags":  # an empty tags value clears the tags
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
    """A typed value by its field's kind (sfa/domain/fields.py); refs are resolved in the store."""
    field = entity.by_name[name]
    if not isinstance(value, str):
        return value
    text = check_text(name, value.strip())
    return field.type.parse(field, text, lambda target, ref: ws.store.resolve(ENTITIES[target], ref)["id"])


def get(ws: Workspace, entity: Entity, ref: str) -> Record:
    return ws.store.resolve(entity, ref)


def short_ref(ws: Workspace, entity: Entity, record_id: str) -> str:
    """The shortest prefix of the record's handle that no other record of its type shares."""
    return ws.store.short_ref(entity, record_id)


def short_refs(ws: Workspace, entity: Entity, record_ids: Sequence[str]) -> dict[str, str]:
    """The short ref of each record, for a listing (record id -> ref)."""
    return ws.store.short_refs(entity, record_ids)


def titles_of(ws: Workspace, entity: Entity, record_ids: Iterable[str]) -> dict[str, str]:
    """The display title of each record that exists (record id -> title), in one query; empty
    ids are skipped, so an optional reference can be passed as it is."""
    return ws.store.titles(entity, record_ids)


def all_of(ws: Workspace, entity: Entity, *, include_deleted: bool = False) -> list[Record]:
    """Every record of a type (a small table: price lists, products for a listing)."""
    return ws.store.select(entity, include_deleted=include_deleted)


def open_data(ws: Workspace) -> None:
    """Open the data file now, so that a bad one is reported before anything starts."""
    ws.store  # noqa: B018 - opening is the point


def count(ws: Workspace, entity: Entity) -> int:
    """Live records of a type."""
    return ws.store.count(entity)


@contextmanager
def all_or_nothing(ws: Workspace) -> Iterator[None]:
    """Several use cases as one write: all of them are kept, or none (one store transaction)."""
    with ws.store.transaction():
        yield


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
    ws: Workspace,
    record_entity: Entity,
    record: Record,
    kind: str,
    text: str,
    account_id: str | None = None,
) -> Record:
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


# A record's timeline includes the entries of the records merged into it (sfa merge): timeline
# entries are insert-only, so they keep pointing at the merged-away record.
_MERGED = " OR ".join(
    f"record_id IN (SELECT id FROM {name} WHERE merged_into = ?1)" for name in ("account", "contact", "lead")
)


def timeline_of(ws: Workspace, record_id: str, limit: int = 20) -> list[Record]:
    return ws.store.select(
        TIMELINE, f"record_id = ?1 OR {_MERGED}", (record_id,), order="at DESC, rid DESC", limit=limit
    )


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
        TIMELINE,
        f"(record_id = ?1 OR {_MERGED}) AND kind = 'note'",
        (record["id"],),
        order="at DESC, rid DESC",
    )


# -- values read back (a backup): checked by the rules typed values meet ---------------------------


def check_value(entity: Entity, name: str, value: Any) -> Any:
    """A field's value as `codec.from_wire` decodes it (a backup line), held to the rules a typed
    value meets in `convert` (the field's kind checks it: sfa/domain/fields.py). References are
    checked by the caller, against the records it has. Returns the value."""
    field = entity.by_name[name]
    if value is None or value == [] or (field.kind == "bool" and isinstance(value, bool)):
        if value is None and field.required:
            raise ValidationError(name, "is required")
        return value
    checked = field.type.check(field, value)
    if field.required and isinstance(checked, str) and not checked.strip():
        raise ValidationError(name, "is required and cannot be empty")
    return checked
