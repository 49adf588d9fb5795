"""A manager's scope on the server: their territory's subtree (issue 14 §5, docs/policy.md and
docs/sync-protocol.md "Scope").

`merge.visible` and `merge.may_write` match a record's team against the user's team; for a
manager, `User.teams` widens that match to every team of their territory's subtree. It is computed
once per request, when the token is checked, from the territory records the server holds (admins
write them; sfa/server/roles.py), so every rule that asks "is this the manager's team?" (pull,
push, blobs, approvals, reviews, the managed records) sees the same tree.
"""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sfa.domain import territories
from sfa.server.merge import User


def widen(conn: Connection, user: User) -> User:
    """`user` with the teams of their territory subtree (a manager only; reps and admins unchanged)."""
    if user.role != "manager":
        return user
    rows = conn.execute(
        text("SELECT fields FROM record WHERE entity = 'territory' AND deleted = :f"), {"f": False}
    ).all()
    tree: list[tuple[str, str | None, str | None]] = []
    for (raw,) in rows:
        fields = json.loads(raw)
        name = (fields.get("name") or [None])[0]
        if not isinstance(name, str) or not name:
            continue
        parent = (fields.get("parent") or [None])[0]
        manager = (fields.get("manager") or [None])[0]
        tree.append(
            (name, parent if isinstance(parent, str) else None, manager if isinstance(manager, str) else None)
        )
    teams = territories.scope_teams(user.name, user.team, tree)
    return replace(user, teams=teams - {user.team} if user.team else teams)
