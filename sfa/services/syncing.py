"""Sync use cases: state, pending changes, rejected changes, conflicts and their resolution, login,
one sync round and watching. The CLI's `sfa sync` commands and the dashboard's Sync screen both call
these; neither builds a Replica or calls the engine itself (docs/sync-protocol.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sfa.domain import ids
from sfa.domain.entities import ENTITIES
from sfa.domain.errors import SfaError
from sfa.services import records, status
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace

if TYPE_CHECKING:  # the engine imports httpx: loaded only when a sync really runs
    from sfa.sync.engine import Summary


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


def state(ws: Workspace) -> dict[str, Any]:
    """What `sfa sync status` shows: the server and the replica's bookkeeping."""
    return {"server": ws.setting("sync.url") or None, **Replica(ws.store).status()}


def _title(ws: Workspace, entity_name: str, record_id: str) -> str:
    entity = ENTITIES.get(entity_name)
    if entity is None:
        return record_id
    return ws.store.titles(entity, [record_id]).get(record_id, "") or record_id[-8:]


def conflict_records(ws: Workspace, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflicts as the replica holds them (open ones, or all)."""
    return Replica(ws.store).conflicts(include_resolved=include_resolved)


def conflicts(ws: Workspace, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflicts, each with its short ref and the record's title beside the kept (theirs) and
    set-aside (ours) values."""
    items = conflict_records(ws, include_resolved=include_resolved)
    return [
        {**item, "ref": ids.handle_of(item["id"])[:8], "title": _title(ws, item["entity"], item["record_id"])}
        for item in items
    ]


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


def rejected_records(ws: Workspace) -> list[dict[str, Any]]:
    """Changes the server refused for good, as the replica holds them."""
    return Replica(ws.store).rejected()


def quarantined(ws: Workspace) -> list[dict[str, Any]]:
    """Pulled values this laptop could not store, set aside with the reason (sfa/store/quarantine.py)."""
    return Replica(ws.store).quarantined()


def rejected(ws: Workspace) -> list[dict[str, Any]]:
    return [{**row, "title": _title(ws, row["entity"], row["record_id"])} for row in rejected_records(ws)]


def login(ws: Workspace, url: str, token: str, switch: str | None = None) -> dict[str, Any]:
    """Check the token against the server and keep it; returns the server's account of the user
    and what the login did to the data home (records adopted; a switch from another user:
    `switch` "adopt" or "fresh", else engine.SwitchNeeded, a UsageError)."""
    from sfa.sync import engine

    return engine.login(ws, url, token, switch=switch)


def switch_needed(exc: Exception) -> str | None:
    """The previous user when `exc` says this home was another user's (login needs a choice)."""
    from sfa.sync import engine

    return exc.previous if isinstance(exc, engine.SwitchNeeded) else None


def sync_now(
    ws: Workspace,
    progress: Callable[[str, int, int], None] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Summary:
    """One push/pull round with the configured server (raises SfaError when it cannot)."""
    from sfa.sync import engine

    return engine.sync_once(ws, progress, on_wait=on_wait)


def watch(
    ws: Workspace,
    interval: float,
    report: Callable[[Summary | Exception], None],
    stop: Callable[[], bool] = lambda: False,
    today: Callable[[], date] | None = None,
) -> None:
    """Sync every `interval` seconds and soon after local writes, until interrupted. On Mondays,
    after a round that reached the server, this week's forecast snapshot of the user is taken
    (once: its id is per subject, period and week; issue 16, docs/prediction.md)."""
    from sfa.services import forecasting
    from sfa.sync import engine

    def round_done(outcome: Summary | Exception) -> None:
        report(outcome)
        if isinstance(outcome, Exception):
            return
        try:
            forecasting.monday_snapshot(ws, today() if today else None)
        except SfaError as exc:  # e.g. a store another process holds: next Monday round tries again
            report(exc)

    engine.watch(ws, interval, round_done, stop)
