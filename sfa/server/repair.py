"""Repairing a record that an older server accepted with values no laptop can store
(docs/sync-protocol.md, "Repairing a poisoned record").

The record's fields are held to today's checks (sfa/server/wire.py). A value that fails is replaced:
a NOT NULL field by its default (the value a laptop's column would take, or the field type's
placeholder), any other field by null. A clock not of the fixed-width form is replaced too. The
repair is one change in the log carrying the whole record, every field with a new server clock
greater than all it had, so every laptop that pulls it ends at the repaired record, and a laptop
that set the bad change aside gets the full record.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from sfa.domain.entities import ENTITIES
from sfa.domain.errors import NotFoundError, ValidationError
from sfa.protocol import CONFLICT, CONFLICT_FIELDS, clock_problem
from sfa.server import merge, wire
from sfa.server.storage import utc_iso

# The laptops' column defaults of the NOT NULL fields that are not `required`.
DEFAULTS: dict[tuple[str, str], Any] = {
    ("lead", "status"): "new",
    ("visit", "status"): "planned",
    ("task", "priority"): "normal",
    ("task", "status"): "open",
    ("quote", "revision"): 1,
    ("quote", "status"): "draft",
}


def repaired_fields(entity_name: str, fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The record's values with every failing one replaced, and why each replaced one failed."""
    values: dict[str, Any] = {}
    fixed: dict[str, str] = {}
    pairs = {k: v for k, v in fields.items() if isinstance(v, list) and len(v) == 2}
    if entity_name == CONFLICT:
        for name in CONFLICT_FIELDS:
            value = pairs.get(name, [None])[0]
            if name in ("status", "resolution"):
                try:
                    value = wire.check_conflict_value(name, value)
                except wire.Invalid as exc:
                    fixed[name] = str(exc)
                    value = "open" if name == "status" else None
            values[name] = value
        return values, fixed
    entity = ENTITIES[entity_name]
    for spec in entity.fields:
        value = pairs.get(spec.name, [None])[0]
        try:
            values[spec.name] = wire.check_value(entity, spec.name, value)
            continue
        except wire.Invalid as exc:
            fixed[spec.name] = str(exc)
        if not wire.not_null(entity, spec.name):
            values[spec.name] = spec.type.empty_wire()
        elif (entity.name, spec.name) in DEFAULTS:
            values[spec.name] = DEFAULTS[(entity.name, spec.name)]
        else:
            values[spec.name] = spec.type.to_wire(spec.type.placeholder())
    for name, pair in pairs.items():
        if name in entity.by_name and clock_problem(pair[1]) is not None:
            fixed.setdefault(name, f"{name}: the clock {str(pair[1])[:40]!r} is not of the fixed-width form")
    return values, fixed


def repair(engine: Engine, entity_name: str, record_id: str, user: str = "admin") -> dict[str, Any]:
    if entity_name not in ENTITIES and entity_name != CONFLICT:
        raise ValidationError(
            "entity", f"{entity_name!r} is not a record type; use one of {', '.join(ENTITIES)}"
        )
    postgres = engine.dialect.name == "postgresql"
    lock = " FOR UPDATE" if postgres else ""
    with engine.begin() as conn:
        seq = int(conn.execute(text(f"SELECT value FROM counter WHERE name = 'seq'{lock}")).scalar_one())
        row = conn.execute(
            text("SELECT fields, owner, team FROM record WHERE entity = :e AND id = :i"),
            {"e": entity_name, "i": record_id},
        ).first()
        if row is None:
            raise NotFoundError(f"no {entity_name} {record_id} on this server")
        fields = json.loads(row[0])
        values, fixed = repaired_fields(entity_name, fields)
        if not fixed:
            return {"entity": entity_name, "id": record_id, "fixed": {}, "seq": None}
        valid = [
            p[1] for p in fields.values() if isinstance(p, list) and len(p) == 2 and not clock_problem(p[1])
        ]
        clock = merge.server_tick(merge.now_ms(), *valid)
        state = {name: [value, clock] for name, value in values.items()}
        seq += 1
        dumped = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
        deleted = state.get("deleted", [False])[0] is True
        now = utc_iso()
        conn.execute(
            text(
                "UPDATE record SET fields = :f, deleted = :d, seq = :s, updated_at = :u"
                " WHERE entity = :e AND id = :i"
            ),
            {"f": dumped, "d": deleted, "s": seq, "u": now, "e": entity_name, "i": record_id},
        )
        conn.execute(
            text(
                "INSERT INTO change(seq, entity, id, fields, owner, team, prev_owner, prev_team, existed,"
                " origin, user_name, at) VALUES (:seq, :e, :i, :f, :o, :t, :o, :t, :x, NULL, :u, :at)"
            ),
            {
                "seq": seq,
                "e": entity_name,
                "i": record_id,
                "f": dumped,
                "o": row[1],
                "t": row[2],
                "x": True,
                "u": user,
                "at": now,
            },
        )
        conn.execute(text("UPDATE counter SET value = :v WHERE name = 'seq'"), {"v": seq})
    return {"entity": entity_name, "id": record_id, "fixed": fixed, "seq": seq}
