"""Duplicate scan, merge and unmerge: `sfa dedupe scan`, `sfa merge`, `sfa unmerge` (docs/products.md).

The scan groups records that share a duplicate-check key (the derived columns the store keeps for
`lead add` and `contact add`): email, phone or mobile, folded name + company; for accounts the folded
name. A merge keeps one record, re-points every child to it, and marks the other merged into it and
deleted: ordinary field writes, so the merge reaches every laptop through sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sfa.domain.entities import ACCOUNT, CONTACT, ENTITIES, MERGEABLE, Entity
from sfa.domain.errors import NotFoundError, UsageError, ValidationError
from sfa.services import records
from sfa.store import codec, merges
from sfa.store.db import Record
from sfa.store.workspace import Workspace

# Fields a merge never copies between the two records: bookkeeping of the merge itself.
_NOT_TAKEN = frozenset({"deleted", "merged_into"})


@dataclass
class Group:
    entity: str
    reasons: list[str]
    records: list[tuple[str, str]] = field(default_factory=list)  # (id, title)


def entity_of(type_name: str) -> Entity:
    name = type_name.strip().lower()
    if name not in MERGEABLE:
        raise ValidationError("type", f"{type_name!r}: use one of {', '.join(MERGEABLE)}")
    return ENTITIES[name]


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        parent = self.parent.setdefault(item, item)
        while parent != self.parent[parent]:
            self.parent[parent] = self.parent[self.parent[parent]]
            parent = self.parent[parent]
        self.parent[item] = parent
        return parent

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def scan(ws: Workspace, types: Sequence[str] = MERGEABLE) -> list[Group]:
    """Groups of likely duplicates per record type, largest first, with the keys they share."""
    groups: list[Group] = []
    for type_name in types:
        groups += _scan(ws, entity_of(type_name))
    return groups


def _scan(ws: Workspace, entity: Entity) -> list[Group]:
    union = _Union()
    reasons: dict[str, set[str]] = {}
    for reason, ids_ in merges.shared_keys(ws.store, entity.name):
        for record_id in ids_:
            union.join(ids_[0], record_id)
            reasons.setdefault(record_id, set()).add(reason)
    titles = ws.store.titles(entity, reasons)
    members: dict[str, list[str]] = {}
    for record_id in reasons:
        members.setdefault(union.find(record_id), []).append(record_id)
    groups = []
    for ids_ in members.values():
        ordered = sorted(ids_)  # ids are time-ordered: the oldest record first
        why = sorted({r for i in ordered for r in reasons[i]})
        groups.append(Group(entity.name, why, [(i, titles[i]) for i in ordered]))
    groups.sort(key=lambda g: (-len(g.records), g.records[0][1].casefold()))
    return groups


# -- merge ----------------------------------------------------------------------------------------


@dataclass
class MergeResult:
    entity: Entity
    keep: Record
    other: Record
    taken: list[str]
    children: int


def _children(ws: Workspace, entity: Entity, record_id: str) -> list[tuple[Entity, Record, str]]:
    """(entity, record, field) of every live record that refers to `record_id`."""
    found = []
    for child in ENTITIES.values():
        if child.insert_only:
            continue
        for f in child.fields:
            if f.ref != entity.name or f.name == "merged_into":
                continue
            if f.kind == "ref":
                rows = ws.store.select(child, f"{f.name} = ?", (record_id,))
            elif f.kind == "refs":
                rows = ws.store.select(child, f"{f.name} LIKE ?", (f'%"{record_id}"%',))
            else:
                continue
            found += [(child, row, f.name) for row in rows]
        if "record_entity" in child.by_name and "record_id" in child.by_name:
            # documents (and approvals) name their record by (type, id), not by a ref field
            rows = ws.store.select(child, "record_entity = ? AND record_id = ?", (entity.name, record_id))
            found += [(child, row, "record_id") for row in rows]
    return found


def _parse_take(entity: Entity, take: Sequence[str]) -> list[str]:
    names = []
    for item in take:
        name, sep, source = item.partition("=")
        name = name.strip().replace("-", "_")
        if sep and source.strip().lower() != "other":
            raise ValidationError(
                "take", f"{item!r}: write FIELD=OTHER (the field's value from the other record)"
            )
        if name not in entity.by_name or name in _NOT_TAKEN:
            allowed = ", ".join(f.name for f in entity.fields if f.name not in _NOT_TAKEN)
            raise ValidationError("take", f"{entity.name} has no field {name!r}; allowed: {allowed}")
        names.append(name)
    return names


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def merge(
    ws: Workspace, type_name: str, keep_ref: str, other_ref: str, take: Sequence[str] = ()
) -> MergeResult:
    """Keep one record: it takes the chosen fields (and fills its empty ones) from the other, every
    child is re-pointed to it, and the other is marked merged into it and deleted."""
    entity = entity_of(type_name)
    taken = _parse_take(entity, take)
    keep = ws.store.resolve(entity, keep_ref)
    other = ws.store.resolve(entity, other_ref)
    if keep["id"] == other["id"]:
        raise UsageError("KEEP and OTHER are the same record")
    changes: Record = {}
    for f in entity.fields:
        if f.name in _NOT_TAKEN:
            continue
        if f.name in taken:
            changes[f.name] = other[f.name]
        elif f.kind == "tags":
            union = sorted(set(keep[f.name] or []) | set(other[f.name] or []))
            if union != sorted(keep[f.name] or []):
                changes[f.name] = union
        elif _empty(keep[f.name]) and not _empty(other[f.name]):
            changes[f.name] = other[f.name]
    changes = {k: v for k, v in changes.items() if v != keep[k]}
    if entity is CONTACT and changes.get("account_id") is None and "account_id" in changes:
        del changes["account_id"]
    undo: dict[str, Any] = {
        "keep": {k: codec.to_wire(entity.by_name[k], keep[k]) for k in changes},
        "children": [],
    }
    with ws.store.transaction():
        children = _children(ws, entity, other["id"])
        for child, row, name in children:
            value = row[name]
            if isinstance(value, list):
                new: Any = list(dict.fromkeys(keep["id"] if v == other["id"] else v for v in value))
            else:
                new = keep["id"]
            ws.store.update(child, row["id"], {name: new})
            entry: list[Any] = [child.name, row["id"], name]
            if isinstance(value, list):  # the list as it was, and as the merge left it
                entry += [list(value), new]
            undo["children"].append(entry)
        survivor = ws.store.update(entity, keep["id"], changes) if changes else keep
        ws.store.update(entity, other["id"], {"merged_into": keep["id"], "deleted": True})
        records.add_timeline(
            ws,
            entity,
            survivor,
            "merged",
            f"{entity.name} {other[entity.title]!r} merged into this ({other['id']})",
            account_id=_account_of(entity, survivor),
        )
        merges.record(ws.store, entity.name, keep["id"], other["id"], undo)
    return MergeResult(entity, survivor, other, sorted(changes), len(children))


def _account_of(entity: Entity, record: Record) -> str | None:
    if entity is ACCOUNT:
        return str(record["id"])
    value = record.get("account_id")
    return str(value) if value else None


@dataclass
class UnmergeResult:
    entity: Entity
    restored: Record
    survivor_id: str
    children: int
    fields: list[str]
    logged: bool  # False: merged on another laptop, only the record itself came back


def _merged(ws: Workspace, ref: str) -> tuple[Entity, Record]:
    for name in MERGEABLE:
        entity = ENTITIES[name]
        try:
            record = ws.store.resolve(entity, ref, include_deleted=True)
        except (NotFoundError, ValidationError):
            continue
        if record.get("merged_into") and record.get("deleted"):
            return entity, record
    raise NotFoundError(f"no merged record matches {ref!r} (give the ref `sfa merge` printed)")


def unmerge(ws: Workspace, ref: str) -> UnmergeResult:
    """Bring a merged-away record back: its children and the survivor's fields as they were, where
    nobody changed them since (from the merge log; history keeps every value)."""
    entity, other = _merged(ws, ref)
    survivor_id = str(other["merged_into"])
    log = merges.latest(ws.store, other["id"])
    moved = 0
    restored_fields: list[str] = []
    with ws.store.transaction():
        if log is not None:
            log_id, _, keep_id, undo = log
            survivor_id = keep_id
            for child_name, child_id, name, *lists in undo["children"]:
                child = ENTITIES[child_name]
                row = ws.store.find(child, child_id)
                if row is None:
                    continue
                value = row[name]
                if isinstance(value, list) and lists and value == lists[1]:
                    # unchanged since the merge: the list as it was (both ids, if it named both)
                    ws.store.update(child, child_id, {name: lists[0]})
                    moved += 1
                elif isinstance(value, list):
                    if keep_id in value:
                        ws.store.update(
                            child, child_id, {name: [other["id"] if v == keep_id else v for v in value]}
                        )
                        moved += 1
                elif value == keep_id:
                    ws.store.update(child, child_id, {name: other["id"]})
                    moved += 1
            survivor = ws.store.find(entity, keep_id)
            if survivor is not None:
                back = {k: codec.from_wire(entity.by_name[k], v) for k, v in undo["keep"].items()}
                # Only what the merge set (the other's value) and nobody changed since goes back.
                revert = {
                    k: v for k, v in back.items() if k == "tags" or _same(entity, k, survivor[k], other[k])
                }
                if revert:
                    ws.store.update(entity, keep_id, revert)
                    restored_fields = sorted(revert)
            merges.mark_undone(ws.store, log_id)
        restored = ws.store.update(entity, other["id"], {"merged_into": None, "deleted": False})
        records.add_timeline(
            ws,
            entity,
            restored,
            "unmerged",
            f"{entity.name} brought back from the merge into {survivor_id}",
            account_id=_account_of(entity, restored),
        )
    return UnmergeResult(entity, restored, survivor_id, moved, restored_fields, log is not None)


def _same(entity: Entity, name: str, a: Any, b: Any) -> bool:
    f = entity.by_name[name]
    return bool(codec.to_wire(f, a) == codec.to_wire(f, b))


def group_json(ws: Workspace, group: Group) -> dict[str, Any]:
    entity = ENTITIES[group.entity]
    refs = ws.store.short_refs(entity, [i for i, _ in group.records])
    return {
        "type": group.entity,
        "reasons": group.reasons,
        "records": [{"id": i, "ref": refs[i], "name": t} for i, t in group.records],
    }


@dataclass
class SideBySide:
    entity: Entity
    keep: Record
    other: Record
    rows: list[tuple[str, str, str, bool]]  # field, keep's value, other's value, the values differ


def _shown(ws: Workspace, entity: Entity, name: str, value: Any) -> str:
    if _empty(value):
        return ""
    f = entity.by_name[name]
    if f.kind == "ref" and f.ref in ENTITIES and isinstance(value, str):
        return ws.store.titles(ENTITIES[f.ref], [value]).get(value, value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def side_by_side(ws: Workspace, type_name: str, keep_ref: str, other_ref: str) -> SideBySide:
    """Two records' fields next to each other (the dashboard's Duplicates view): every field either
    has, without the merge's bookkeeping; values shown as text, refs by their title."""
    entity = entity_of(type_name)
    keep = ws.store.resolve(entity, keep_ref)
    other = ws.store.resolve(entity, other_ref)
    rows = []
    for f in entity.fields:
        if f.name in _NOT_TAKEN:
            continue
        a, b = _shown(ws, entity, f.name, keep[f.name]), _shown(ws, entity, f.name, other[f.name])
        if a or b:
            rows.append((f.name, a, b, a.casefold() != b.casefold()))
    return SideBySide(entity, keep, other, rows)
