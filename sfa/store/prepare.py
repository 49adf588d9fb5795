"""New records made ready for SQL: the row, its field clocks and its outbox entry (the search entry is
made from the row by SQL, sfa/store/writes.py).

`Store.insert_many` prepares and writes in its own process. A bulk session (sfa/store/bulk.py)
hands the checked rows to its writer process, which prepares them there: the process that reads
and checks an import then spends its time on the next batch, not on encoding this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sfa.domain.entities import Entity
from sfa.domain.errors import ValidationError
from sfa.store import codec
from sfa.store.writes import PreparedInsert

Record = dict[str, Any]


@cache
def insert_sql(entity: Entity) -> str:
    columns = [
        "rid",
        "id",
        "clocks",
        "created_at",
        "updated_at",
        *entity.field_names,
    ]
    return f"INSERT INTO {entity.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def check_fields(entity: Entity, rows: Sequence[Record]) -> None:
    """Refuse a field the entity does not have (checked once per distinct set of names)."""
    known = entity.by_name
    seen: set[tuple[str, ...]] = set()
    for values in rows:
        shape = tuple(values)
        if shape in seen:
            continue
        seen.add(shape)
        for name in shape:
            if name not in known:
                raise ValidationError(name, f"{entity.name} has no such field")


@cache
def _blank(entity: Entity) -> tuple[Record, tuple[str, ...]]:
    """A record with every field empty, and the list fields (each record needs its own list)."""
    plan = codec.writers(entity)
    return (
        {name: empty for name, empty, _, _, _ in plan},
        tuple(name for name, empty, _, _, _ in plan if isinstance(empty, list)),
    )


def new_records(entity: Entity, rows: Sequence[Record], record_ids: Sequence[str], now: str) -> list[Record]:
    """The records `prepare_insert` describes, as reads return them (every field, ids and times)."""
    empty_record, list_fields = _blank(entity)
    records = []
    for record_id, values in zip(record_ids, rows, strict=True):
        full = empty_record.copy()
        for name in list_fields:
            full[name] = []
        full.update({name: value for name, value in values.items() if value is not None})
        full["id"] = record_id
        full["created_at"] = full["updated_at"] = now
        records.append(full)
    return records


def prepare_insert(
    entity: Entity,
    rows: Sequence[Record],
    record_ids: Sequence[str],
    clock: str,
    now: str,
    *,
    keep_records: bool = True,
) -> tuple[PreparedInsert, list[Record]]:
    """The SQL rows of new records (row, field clocks, outbox entry), and the records
    themselves unless `keep_records` is false.

    `clock` is one clock for the batch: clocks order writes to the same field of the same record,
    and a batch writes each record once. The duplicate-check key columns are not written: SQLite
    computes them (sfa/store/keys.py).
    """
    table_rows: list[tuple[Any, ...]] = []
    outbox_rows: list[tuple[str, str, str, str]] = []
    records: list[Record] = []
    plan = codec.writers(entity)
    empty_record, list_fields = _blank(entity)
    empty_columns = [empty_column for _, _, empty_column, _, _ in plan]
    converters = {
        name: (position, to_column, to_wire) for position, (name, _, _, to_column, to_wire) in enumerate(plan)
    }
    entity_name = entity.name
    dumps = codec.dumps
    clocks_json: dict[tuple[str, ...], str] = {}
    # Rows of a batch mostly name the same fields: their conversions are looked up once a shape.
    shapes: dict[tuple[str, ...], list[tuple[str, int, Any, Any]]] = {}
    for index, values in enumerate(rows):
        record_id = record_ids[index]
        full: Record = empty_record.copy()
        for name in list_fields:
            full[name] = []
        wire: Record = {}
        column_values = empty_columns.copy()
        shape = tuple(values)
        steps = shapes.get(shape)
        if steps is None:
            unknown = [name for name in shape if name not in converters]
            if unknown:
                raise ValidationError(unknown[0], f"{entity.name} has no such field")
            steps = shapes[shape] = [(name, *converters[name]) for name in shape]
        for (name, position, to_column, to_wire), value in zip(steps, values.values(), strict=True):
            if value is None:
                continue
            full[name] = value
            column_values[position] = value if to_column is None else to_column(value)
            wire[name] = value if to_wire is None else to_wire(value)
        # Compact clocks (codec.read_clocks); field names are identifiers and clocks are
        # [0-9a-f:] only, so no escaping is needed.
        written = tuple(wire)
        clocks = clocks_json.get(written)
        if clocks is None:
            clocks = clocks_json[written] = f'["{clock}"' + "".join(f',"{n}"' for n in written) + "]"
        table_rows.append((record_id, clocks, now, now, *column_values))
        outbox_rows.append((entity_name, record_id, dumps([clock, wire]), now))
        if keep_records:
            full["id"] = record_id
            full["created_at"] = full["updated_at"] = now
            records.append(full)
    prepared = PreparedInsert(entity.name, insert_sql(entity), table_rows, outbox_rows)
    return prepared, records
