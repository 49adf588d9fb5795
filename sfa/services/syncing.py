"""Sync, as the dashboard shows it: state, pending changes, rejected changes, conflicts and their
resolution, and one sync round. The use cases behind the dashboard's Sync screen (the CLI's
`sfa sync` commands do the same through the same Replica and engine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfa.domain.entities import ENTITIES
from sfa.services import records, status
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace


@dataclass(frozen=True)
class Overview:
    server: str | None
    user: str | None
    pending: int
    last_sync: str | None
    conflicts: int
    rejected: int


def overview(ws: Workspace) -> Overview:
    state = Replica(ws.store).status()
    return Overview(
        status.server_of(ws),
        state.get("user"),
        int(state["pending"]),
        state.get("last_sync"),
        int(state["conflicts"]),
        int(state["rejected"]),
    )


def _title(ws: Workspace, entity_name: str, record_id: str) -> str:
    entity = ENTITIES.get(entity_name)
    if entity is None:
        return record_id
    return ws.store.titles(entity, [record_id]).get(record_id, "") or record_id[-8:]


def conflicts(ws: Workspace) -> list[dict[str, Any]]:
    """Open conflicts, each with the record's title beside the kept (theirs) and set-aside (ours) values."""
    items = Replica(ws.store).conflicts()
    return [{**item, "title": _title(ws, item["entity"], item["record_id"])} for item in items]


def check_value(ws: Workspace, conflict: dict[str, Any], text: str) -> Any:
    """A typed new value for the conflict's field, converted by the CLI's rules (raises SfaError)."""
    return records.convert(ws, ENTITIES[conflict["entity"]], conflict["field"], text)


def resolve(ws: Workspace, conflict_id: str, choice: str, value: str | None = None) -> dict[str, Any]:
    """Settle a conflict with "ours", "theirs" or "value" (then `value` is the typed new value)."""
    replica = Replica(ws.store)
    conflict = replica.find_conflict(conflict_id)
    converted = check_value(ws, conflict, value) if choice == "value" and value is not None else None
    return replica.resolve(conflict, choice, converted)


def pending(ws: Workspace, limit: int = 50) -> list[dict[str, Any]]:
    """The oldest changes waiting to be pushed, with the record's title."""
    rows = ws.store.outbox(limit)
    return [{**row, "title": _title(ws, row["entity"], row["record_id"])} for row in rows]


def rejected(ws: Workspace) -> list[dict[str, Any]]:
    return [
        {**row, "title": _title(ws, row["entity"], row["record_id"])} for row in Replica(ws.store).rejected()
    ]


def sync_now(ws: Workspace) -> Any:
    """One push/pull round with the configured server (raises SfaError when it cannot)."""
    from sfa.sync import engine

    return engine.sync_once(ws)
