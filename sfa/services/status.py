"""What the dashboard's status bar shows: the server (if any) and the changes not yet synced."""

from __future__ import annotations

from dataclasses import dataclass

from sfa.domain import settings
from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY
from sfa.store.workspace import Workspace


@dataclass(frozen=True)
class SyncState:
    server: str | None
    pending: int


def server_of(ws: Workspace) -> str | None:
    """The configured sync server, or None (also before the sync settings exist)."""
    if "sync.url" not in settings.SETTINGS:
        return None
    return ws.setting("sync.url") or None


def pending_changes(ws: Workspace) -> int:
    """Changes written here and not yet acknowledged by a server (the outbox)."""
    from sfa.store.replica import Replica

    return Replica(ws.store).pending_count()


def sync_state(ws: Workspace) -> SyncState:
    return SyncState(server_of(ws), pending_changes(ws))


def is_empty(ws: Workspace) -> bool:
    """True when the store holds no accounts, contacts, leads or opportunities."""
    return not any(ws.store.select(entity, limit=1) for entity in (ACCOUNT, CONTACT, LEAD, OPPORTUNITY))
