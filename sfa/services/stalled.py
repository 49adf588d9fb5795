"""Stalled deals, computed on read, never stored (issue 14 §2, docs/policy.md).

An open deal is stalled when any of these holds (each gives a reason):
- its close date has passed;
- nothing happened on it (a timeline entry: note, stage change, visit report, ...) for the stall
  days of its stage in the policy;
- it has been in its stage longer than 75 % of the won deals stayed in that stage;
- a quote of it was sent and nothing happened on it for 7 days after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from sfa.domain.dates import local_today
from sfa.domain.entities import OPPORTUNITY, QUOTE, TIMELINE
from sfa.domain.stages import LOST, WON
from sfa.store.db import Record
from sfa.store.workspace import Workspace

QUOTE_FOLLOW_UP_DAYS = 7
WON_SHARE = 0.75


@dataclass
class Stalled:
    opp: Record
    reasons: list[str]


def _moment(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _stage_entered(text: str) -> str | None:
    """The stage a "stage: a → b" timeline entry moved to."""
    if not text.startswith("stage: ") or " → " not in text:
        return None
    return text.split(" → ", 1)[1].split(" (", 1)[0].strip()


def _typical_days(won_ids: set[str], entries: dict[str, list[Record]]) -> dict[str, float]:
    """Per stage: the 75th percentile of the days won deals spent in it."""
    spans: dict[str, list[float]] = {}
    for opp_id in won_ids:
        moves: list[tuple[datetime, str]] = []
        for entry in entries.get(opp_id, []):
            entered = _stage_entered(entry["text"]) if entry["kind"] == "stage" else None
            if entered:
                moves.append((_moment(entry["at"]), entered))
        moves.sort()
        for (start, stage), (end, _next) in pairwise(moves):
            spans.setdefault(stage, []).append((end - start).total_seconds() / 86400)
    typical = {}
    for stage, days in spans.items():
        days.sort()
        typical[stage] = days[min(len(days) - 1, int(WON_SHARE * len(days)))]
    return typical


def stalled(ws: Workspace, today: date | None = None, now: datetime | None = None) -> list[Stalled]:
    day = today or local_today()
    current = now or datetime.now(UTC)
    opps = ws.store.select(
        OPPORTUNITY, "stage NOT IN (?, ?)", (WON, LOST), order="close_date IS NULL, close_date, name"
    )
    if not opps:
        return []
    won_ids = {r["id"] for r in ws.store.select(OPPORTUNITY, "stage = ?", (WON,), fields=["stage"])}
    entries: dict[str, list[Record]] = {}
    for entry in ws.store.select(
        TIMELINE, "record_entity = 'opportunity'", order="at", fields=["record_id", "kind", "text", "at"]
    ):
        entries.setdefault(entry["record_id"], []).append(entry)
    typical = _typical_days(won_ids, entries)
    sent: dict[str, datetime] = {}
    for quote in ws.store.select(
        QUOTE, "status = 'sent' AND opportunity_id IS NOT NULL", fields=["opportunity_id", "sent_at"]
    ):
        if quote["sent_at"] is not None:
            moment = _moment(quote["sent_at"])
            sent[quote["opportunity_id"]] = max(moment, sent.get(quote["opportunity_id"], moment))
    policy = ws.policy
    found = []
    for opp in opps:
        reasons = []
        if opp["close_date"] is not None and opp["close_date"] < day:
            reasons.append(f"close date {opp['close_date']} has passed")
        own = entries.get(opp["id"], [])
        last = max([_moment(e["at"]) for e in own] + [_moment(opp["created_at"])])
        stage = policy.stage(opp["stage"])
        stall_days = stage.stall_days if stage else 21
        idle = (current - last).days
        if idle >= stall_days:
            reasons.append(f"no activity for {idle} days (stage allows {stall_days})")
        entered = [
            _moment(e["at"])
            for e in own
            if e["kind"] == "stage" and _stage_entered(e["text"]) == opp["stage"]
        ]
        since = max(entered) if entered else _moment(opp["created_at"])
        in_stage = (current - since).total_seconds() / 86400
        usual = typical.get(opp["stage"])
        if usual is not None and usual >= 1 and in_stage > usual:  # under a day is no measure
            reasons.append(f"{int(in_stage)} days in {opp['stage']}; won deals left it within {usual:.0f}")
        if opp["id"] in sent:
            sent_at = sent[opp["id"]]
            follow_up = [m for m in (_moment(e["at"]) for e in own) if m > sent_at + timedelta(minutes=1)]
            if not follow_up and current - sent_at >= timedelta(days=QUOTE_FOLLOW_UP_DAYS):
                reasons.append(
                    f"quote sent {sent_at.date()} and no follow-up for {(current - sent_at).days} days"
                )
        if reasons:
            found.append(Stalled(opp, reasons))
    return found


def mine(ws: Workspace, today: date | None = None, now: datetime | None = None) -> list[Stalled]:
    """The stalled deals a rep sees on Today (`sfa today`, the dashboard): their own and unowned."""
    return [s for s in stalled(ws, today, now) if s.opp["owner"] in (None, ws.owner)]
