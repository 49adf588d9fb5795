"""Full-text search across accounts, contacts, leads, opportunities and notes."""

from __future__ import annotations

from sfa.domain.entities import ENTITIES, Entity
from sfa.domain.errors import ValidationError
from sfa.store.db import Record
from sfa.store.workspace import Workspace

# The names a person types for --type, and the record type each means.
TYPE_NAMES = {"account": "account", "contact": "contact", "lead": "lead", "opp": "opportunity",
              "opportunity": "opportunity", "note": "timeline"}  # fmt: skip


def search(
    ws: Workspace, text: str, types: list[str] | None = None, limit: int = 20
) -> list[tuple[Entity, Record]]:
    entities = None
    if types:
        entities = []
        for name in types:
            key = name.strip().lower()
            if key not in TYPE_NAMES:
                accepted = ", ".join(sorted(set(TYPE_NAMES) - {"opportunity"}))
                raise ValidationError("type", f"{name!r} is not a record type; use one of {accepted}")
            entities.append(ENTITIES[TYPE_NAMES[key]])
    return ws.store.search(text, entities, limit=limit)
