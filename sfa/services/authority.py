"""Who may change the manager's records, as far as this laptop knows: the role the server gave at
`sfa sync login`. The server decides (sfa/server/roles.py); this refuses early what it would reject,
so a rep does not wait for a sync to learn it (docs/policy.md)."""

from __future__ import annotations

from sfa.domain import territories
from sfa.domain.entities import TERRITORY
from sfa.domain.errors import NotAllowedError
from sfa.services import status
from sfa.store.workspace import Workspace


def role(ws: Workspace) -> str | None:
    """The cached role, or None without a server (a single user may change everything)."""
    if status.server_of(ws) is None:
        return None
    return ws.store.meta("sync.role") or None


def user(ws: Workspace) -> str:
    """Who acts: the user name the server knows (cached at login), else the configured owner."""
    if status.server_of(ws) is None:
        return ws.owner
    return ws.store.meta("sync.user") or ws.owner


def my_team(ws: Workspace) -> str | None:
    if status.server_of(ws) is None:
        return ws.team
    return ws.store.meta("sync.team") or None


def my_teams(ws: Workspace) -> frozenset[str]:
    """The teams a manager's scope covers as far as this laptop knows: their team and their
    territory's subtree, from the territories it holds (the server computes the same;
    docs/policy.md, "A manager's scope")."""
    tree = [(t["name"], t["parent"], t["manager"]) for t in ws.store.select(TERRITORY)]
    return territories.scope_teams(user(ws), my_team(ws), tree)


def require_manager(ws: Workspace, what: str, *, team: str | None = None, scoped: bool = True) -> None:
    """Refuse unless the user may change `what`: an admin always; a manager when `scoped` is False
    (company records any manager may write) or the record's `team` is in their scope (`my_teams`). Without a server, or
    before a login that cached a role, nothing is refused here."""
    current = role(ws)
    if current is None or current == "admin":
        return
    if current != "manager":
        raise NotAllowedError(f"{what}: only a manager or an admin may change it (you are a {current})")
    if not scoped:
        return
    if team is None:
        raise NotAllowedError(f"{what}: a company-wide one is changed by admins only")
    if team not in my_teams(ws):
        raise NotAllowedError(f"{what}: a manager may change only their own team's ({my_team(ws) or 'none'})")


def is_manager(ws: Workspace) -> bool:
    return role(ws) in (None, "manager", "admin")
