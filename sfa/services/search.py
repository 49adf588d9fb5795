"""Full-text search across every record type the search index holds."""

from __future__ import annotations

from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import UsageError
from sfa.store.db import Record
from sfa.store.workspace import Workspace

# The names a person types for --type, and the record type each means. The names search shows
# (SHOWN) are accepted for every record type that has a search entry (Entity.search_fields), so a
# type search returns is always one --type accepts (tests/test_cli_consistency.py).
SHOWN = {"opportunity": "opp", "timeline": "note"}
TYPE_NAMES = {
    **{SHOWN.get(e.name, e.name): e.name for e in ENTITIES.values() if e.search_fields},
    "opportunity": "opportunity",
}


def shown_name(entity: Entity) -> str:
    """The type name search prints for a record type (opp, note, or the entity's own name)."""
    return SHOWN.get(entity.name, entity.name)


def accepted_types() -> list[str]:
    return sorted(set(TYPE_NAMES) - {"opportunity"})


def search(
    ws: Workspace, text: str, types: list[str] | None = None, limit: int = 20
) -> list[tuple[Entity, Record]]:
    entities = None
    if types:
        entities = []
        for name in types:
            key = name.strip().lower()
            if key not in TYPE_NAMES:
                accepted = ", ".join(accepted_types())
                raise UsageError(
                    f"type: {name!r} is not a record type search finds; use one of {accepted}",
                    asks_for=("type",),
                )
            entities.append(ENTITIES[TYPE_NAMES[key]])
    return ws.store.search(text, entities, limit=limit)
