"""A manager's approval of an order's pricing differences (issue 15 §1, docs/orders.md).

The alternative to the rep's `accept_differences`: a manager of the order's team (or an admin)
approves the draft as it stands, and the rep submits it without accepting the differences
themselves. The approval is an APPROVAL record (entity "order", action "approve"), insert-only like
the quote discount approvals (sfa/services/approvals.py); the server lets only a manager of the
record's team or an admin write one (sfa/server/merge.py `document_problem`).

An approval covers the order's lines as they were when it was written: a line written later (its
field clock is later than the approval's) makes it stale, and the order needs a new approval or the
rep's acceptance. Computed on read, never stored. An approval the server rejected (a rep's own,
written around the CLI) does not count on the laptop either.
"""

from __future__ import annotations

from sfa.domain.dates import utc_now
from sfa.domain.entities import APPROVAL, ORDER_LINE
from sfa.domain.hlc import Hlc
from sfa.domain.text import check_text
from sfa.services import authority
from sfa.store.db import Record
from sfa.store.replica import Replica
from sfa.store.workspace import Workspace


def _latest_clock(clocks: dict[str, str]) -> Hlc | None:
    decoded = []
    for clock in clocks.values():
        try:
            decoded.append(Hlc.decode(clock))
        except ValueError:
            continue
    return max(decoded, default=None)


def approvals_of(ws: Workspace, order_id: str) -> list[Record]:
    """The order's approvals, oldest first, without those the server rejected (a rep's approval is
    refused by the server, and an insert it refused stays on the laptop: it must not count)."""
    found = ws.store.select(
        APPROVAL, "entity = 'order' AND record_id = ? AND action = 'approve'", (order_id,), order="at, rid"
    )
    if not found:
        return found
    refused = {r["record_id"] for r in Replica(ws.store).rejected() if r["entity"] == APPROVAL.name}
    return [entry for entry in found if entry["id"] not in refused]


def covering(ws: Workspace, order: Record) -> Record | None:
    """The latest approval of the order if no line of it changed since, else None."""
    found = approvals_of(ws, order["id"])
    if not found:
        return None
    latest = found[-1]
    mark = _latest_clock(ws.store.clocks_where(APPROVAL, "id = ?", (latest["id"],)).get(latest["id"], {}))
    if mark is None:
        return latest
    lines = ws.store.clocks_where(ORDER_LINE, "order_id = ?", (order["id"],))
    for clocks in lines.values():
        written = _latest_clock(clocks)
        if written is not None and written > mark:
            return None
    return latest


def stale(ws: Workspace, order: Record) -> bool:
    """An approval exists but its order's lines changed after it."""
    return bool(approvals_of(ws, order["id"])) and covering(ws, order) is None


def record(ws: Workspace, order: Record, comment: str | None) -> Record:
    text = check_text("comment", comment.strip()) if comment and comment.strip() else None
    return ws.store.insert(
        APPROVAL,
        {
            "entity": "order",
            "record_id": order["id"],
            "action": "approve",
            "by": authority.user(ws),
            "at": utc_now(),
            "comment": text,
            "owner": order["owner"],
            "team": order["team"],
        },
    )
