"""The manager's desk on one screen (issue 14 §6): approvals waiting, attainment by rep, stalled
deals by rep, forecast by rep. A rep sees their own line (docs/policy.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sfa.domain.dates import local_today
from sfa.domain.entities import OPPORTUNITY
from sfa.domain.stages import LOST, WON
from sfa.domain.targets import Attainment, Period, quarter_of
from sfa.services import approvals, authority, stalled, targets
from sfa.store.workspace import Workspace

ZERO = Decimal(0)


@dataclass
class RepForecast:
    owner: str
    currency: str
    open_count: int = 0
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO


@dataclass
class TeamView:
    period: Period
    only: str | None  # a rep's own name when the viewer is a rep
    approvals: list[dict[str, Any]] = field(default_factory=list)
    attainment: list[Attainment] = field(default_factory=list)
    stalled: dict[str, int] = field(default_factory=dict)  # owner -> stalled deals
    forecast: list[RepForecast] = field(default_factory=list)


def overview(ws: Workspace, now: datetime | None = None) -> TeamView:
    """As of `now` (default: the clock): the quarter it is in, deals stalled by then."""
    current = now or datetime.now(UTC)
    today = local_today(current)
    only = authority.user(ws) if authority.role(ws) == "rep" else None
    period, rows = targets.attainment(ws, quarter_of(today).name, "owner", owner=only)
    view = TeamView(period, only, attainment=rows)
    view.approvals = [
        a for a in approvals.listing(ws, pending_only=True) if only is None or a["owner"] == only
    ]
    for item in stalled.stalled(ws, today, current):
        owner = item.opp["owner"] or "(none)"
        if only is None or owner == only:
            view.stalled[owner] = view.stalled.get(owner, 0) + 1
    by_rep: dict[tuple[str, str], RepForecast] = {}
    default = ws.setting("currency")
    for opp in ws.store.select(
        OPPORTUNITY, "stage NOT IN (?, ?)", (WON, LOST), fields=["owner", "amount", "currency", "probability"]
    ):
        owner = opp["owner"] or "(none)"
        if only is not None and owner != only:
            continue
        key = (owner, opp["currency"] or default)
        row = by_rep.setdefault(key, RepForecast(*key))
        amount = opp["amount"] or ZERO
        row.open_count += 1
        row.pipeline += amount
        row.weighted += amount * (opp["probability"] or 0) / 100
    view.forecast = [by_rep[k] for k in sorted(by_rep)]
    return view
