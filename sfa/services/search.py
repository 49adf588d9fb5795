"""Full-text search across every record type the search index holds."""

from __future__ import annotations

from sfa.domain.entities import ENTITIES, PRODUCT, PRODUCT_SPEC, Entity
from sfa.domain.errors import UsageError
from sfa.store.db import Record
from sfa.store.workspace import Workspace

# The names a person types for --type, and the record type each means. The names search shows
# (SHOWN) are accepted for every record type that has a search entry (Entity.search_fields), so a
# type search returns is always one --type accepts (tests/test_cli_consistency.py).
SHOWN = {"opportunity": "opp", "timeline": "note"}
# Spec rows are found through their product (sfa/store/specsearch.py), never shown themselves.
HIDDEN = frozenset({PRODUCT_SPEC.name})
TYPE_NAMES = {
    **{
        SHOWN.get(e.name, e.name): e.name
        for e in ENTITIES.values()
        if e.search_fields and e.name not in HIDDEN
    },
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
    if entities is None:
        entities = [e for e in ENTITIES.values() if e.search_fields and e.name not in HIDDEN]
    hits = ws.store.search(text, entities, limit=limit)
    if PRODUCT in entities:
        # Products whose words are spread over their specs ("600 mm 24V") come first.
        from sfa.store.specsearch import products_matching

        by_spec = products_matching(ws.store, text, limit)
        if by_spec:
            shown = {r["id"] for e, r in hits if e is PRODUCT}
            first = [(PRODUCT, ws.store.get(PRODUCT, i)) for i in by_spec if i not in shown]
            hits = (first + hits)[:limit]
    return hits
