"""Who sees a record: the rule the sync server enforces (sfa/server/merge.py `visible`, `own_scope`,
`parent_of`), stated once more for the laptop, which uses it to re-send after a restore only what
the server would take from its user (docs/sync-protocol.md, "Restore"). The server decides all the
same; tests/sync/test_sync_reconcile_scope.py checks the two statements agree.
"""

from __future__ import annotations

# Records that take the scope of the record they belong to: record type -> its parent's id field.
CHILD_PARENTS: dict[str, str] = {
    "timeline": "record_id",
    "stage_change": "opportunity_id",
    "document": "record_id",
    "quote_line": "quote_id",
    "order_line": "order_id",
    "contract_line": "contract_id",
}


# What a rep is paid is between the rep and their managers: a teammate does not see another rep's
# commission lines or statements (docs/incentives.md, "Who sees what").
PRIVATE: frozenset[str] = frozenset({"commission_line", "commission_statement"})


def visible(
    role: str,
    user: str,
    team: str | None,
    owner: str | None,
    record_team: str | None,
    teams: frozenset[str] = frozenset(),
    entity: str | None = None,
) -> bool:
    """May server user `user` (of `role` and `team`) see a record owned by `owner` in `record_team`?
    Admins see everything, everyone sees records of no owner and no team, the rest is the owner's
    and their team's; `teams` are a manager's other teams (their territory's subtree, as the
    server's /v1/me names them). A PRIVATE record type a rep sees only when they own it."""
    if role == "admin":
        return True
    if entity in PRIVATE and role == "rep":
        return owner == user
    if not owner and not record_team:
        return True
    return owner == user or (bool(record_team) and (record_team == team or record_team in teams))
