"""Records merged on a laptop (`sfa merge`), as the server sees them: pure rules, no I/O.

A merged-away record carries ``merged_into`` (the survivor's id) and ``deleted``. Two rules keep
offline work made before the merge (docs/products.md, "Merges and sync"):

- **redirect**: an edit of a merged-away record that arrives later is applied to the survivor, as a
  normal per-field merge; a ref to a merged-away record in any incoming write points at the survivor.
- **opposite merges**: a write merging R into S while S is already merged into R is refused for those
  two fields only; R stays alive and a flagged conflict tells a person.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sfa.domain.entities import ENTITIES, MERGEABLE
from sfa.domain.hlc import Hlc
from sfa.protocol import Fields, Mutation

__all__ = [
    "MERGEABLE",
    "conflict_data",
    "list_ref_fields",
    "names_its_record",
    "opposite",
    "redirected",
    "ref_fields",
    "repointed",
    "survivor_of",
]

BOOKKEEPING = frozenset({"merged_into", "deleted"})
MAX_CHAIN = 8  # survivors merged in turn: followed this far


def survivor_of(state: Fields | None, deleted: bool) -> str | None:
    """The id a merged-away record's state points at, or None for any other record."""
    if state is None or not deleted:
        return None
    value = state.get("merged_into", [None])[0]
    return value if isinstance(value, str) and value else None


@cache
def ref_fields(entity_name: str) -> tuple[tuple[str, str], ...]:
    """(field, target entity) of the single refs of a record type that may point at a merged record."""
    entity = ENTITIES.get(entity_name)
    if entity is None:
        return ()
    return tuple(
        (f.name, f.ref)
        for f in entity.fields
        if f.kind == "ref" and f.ref in MERGEABLE and f.name != "merged_into"
    )


@cache
def list_ref_fields(entity_name: str) -> tuple[tuple[str, str], ...]:
    """(field, target entity) of the list refs (kind "refs", e.g. visit.contact_ids) of a record type
    that may hold a merged record's id."""
    entity = ENTITIES.get(entity_name)
    if entity is None:
        return ()
    return tuple((f.name, f.ref) for f in entity.fields if f.kind == "refs" and f.ref in MERGEABLE)


@cache
def names_its_record(entity_name: str) -> bool:
    """Whether a record type names the record it belongs to by (record_entity, record_id) rather
    than by a ref field (documents); insert-only types are left alone (timeline entries)."""
    entity = ENTITIES.get(entity_name)
    return (
        entity is not None
        and not entity.insert_only
        and "record_entity" in entity.by_name
        and "record_id" in entity.by_name
    )


def repointed(ids: list[Any], survivor: Callable[[str], str | None]) -> list[Any] | None:
    """A list of ids with every merged-away id replaced by its survivor, in place (an id then listed
    twice is kept once, in its first place); None when no id in the list was merged away."""
    found = {item: new for item in ids if isinstance(item, str) and (new := survivor(item))}
    if not found:
        return None
    out: list[Any] = []
    for item in ids:
        item = found.get(item, item)
        if item not in out:
            out.append(item)
    return out


def redirected(m: Mutation, survivor: str, other: Fields, target: Fields | None) -> Mutation:
    """The edit of merged-away record `m.id`, as an edit of `survivor`. A field whose base clock is the
    clock the merged-away record had, and whose value the survivor took from it, counts as based on the
    survivor's (the writer had seen the value that was merged); any other field merges as usual."""
    fields = {k: v for k, v in m.fields.items() if k not in BOOKKEEPING}
    base: dict[str, str] = {}
    for name in fields:
        seen = m.base.get(name)
        if seen is None:
            continue
        theirs = other.get(name)
        mine = (target or {}).get(name)
        if theirs is not None and mine is not None and seen == theirs[1] and mine[0] == theirs[0]:
            base[name] = mine[1]
    return Mutation(m.seq, m.entity, survivor, fields, base, None)


def opposite(m: Mutation, target_state: Fields | None, target_deleted: bool) -> bool:
    """Whether `m` merges its record into one that is already merged into it."""
    into = m.fields.get("merged_into", [None])[0]
    if not isinstance(into, str) or not into:
        return False
    return survivor_of(target_state, target_deleted) == m.id


def conflict_data(m: Mutation, kept: list[Any]) -> dict[str, Any]:
    lost = m.fields["merged_into"]

    return {
        "entity": m.entity,
        "record_id": m.id,
        "field": "merged_into",
        "kind": "flag",
        "kept": kept[0],
        "kept_clock": kept[1],
        "lost": lost[0],
        "lost_clock": lost[1],
        "lost_by": Hlc.decode(lost[1]).replica if lost[1] else "",
        "status": "open",
        "resolution": None,
    }
