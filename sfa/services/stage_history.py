"""The insert-only stage_change rows a deal's moves write (issue 16 §1), apart from the forecasting
service so that writing a deal does not import the prediction code (a plain `sfa lead add` or
`sfa opp add` stays light: docs/performance.md, "Start-up")."""

from __future__ import annotations

from datetime import datetime

from sfa.domain.dates import utc_now
from sfa.domain.entities import STAGE_CHANGE
from sfa.store.db import Record
from sfa.store.workspace import Workspace


def record_change(ws: Workspace, opp: Record, from_stage: str | None, at: datetime | None = None) -> Record:
    """The insert-only stage_change row for ``opp`` as it now stands (its stage, amount, close date).

    ``from_stage`` is None when the deal is opened, the earlier stage on a move, and the deal's own
    stage when only its close date or amount moved.
    """
    return ws.store.insert(STAGE_CHANGE, change_row(opp, from_stage, at or utc_now()))


def change_row(opp: Record, from_stage: str | None, at: datetime) -> Record:
    return {
        "opportunity_id": opp["id"],
        "from_stage": from_stage,
        "to_stage": opp["stage"],
        "at": at,
        "amount": opp.get("amount"),
        "currency": opp.get("currency"),
        "close_date": opp.get("close_date"),
        "owner": opp.get("owner"),
    }
