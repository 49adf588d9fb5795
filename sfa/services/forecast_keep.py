"""When a kept forecast result is still the one a fresh computation would give.

A result of the history method or of the backtest reads only what was known before a horizon day
(docs/prediction.md, "The report's kept estimates and the kept backtest"): the backtest's periods all
end by the current period's start, and the report's estimates are fitted on what was known at the
start of today. So it stays valid after a change that leaves everything before the horizon as it
was: the normal case, a rep moving a deal today. A change dated before the horizon (a move synced
from another laptop with an old time, an edited amount, a deleted deal) invalidates it.

The check looks only at what changed since the result was computed (a mark of the store:
sfa/store/changes.py), deal by deal, and says "still valid" only when it can tell that every
change leaves the deals as of the horizon (``DealHistory.as_of``) and their context as they were.
Whatever it cannot tell for sure counts as a change. tests/test_forecast_keep.py compares kept and
fresh results over random change sequences.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sfa.domain.entities import ACCOUNT, OPPORTUNITY, STAGE_CHANGE, TASK, TIMELINE, VISIT
from sfa.domain.ids import timestamp_ms_of
from sfa.domain.stages import LOST, WON
from sfa.store import changes
from sfa.store.migrations import LATEST
from sfa.store.workspace import Workspace

FORMAT = 4  # of the kept files: a newer sfa's or an older one's are recomputed (part of the key)
# 3: the model's training rows and Newton tolerance changed its backtest figures (round 6); 4: Newton's
# tolerance 1e-2 (round 7: the same figures to the 4th decimal, the kept floats may differ beyond it).
DEALS = (OPPORTUNITY, STAGE_CHANGE)
CONTEXT = (ACCOUNT, TASK, TIMELINE, VISIT)  # the model's context features (forecasting.deal_context)
LIMIT = 2000  # more new rows or edits than this since the mark: recompute rather than inspect them

# The deal's fields a history reads whatever its stage changes say (forecasting.histories, the
# report's owner/team scope), and those it reads only when its stage changes say nothing before the
# horizon: its stage and close date today stand in for its history (an imported deal).
ALWAYS = frozenset({"amount", "currency", "owner", "team", "account_id", "contact_id", "deleted"})
PATH = frozenset({"stage", "close_date"})
# Of the context records: the fields deal_context reads, and the dated one that says whether the
# record is before the horizon.
CONTEXT_FIELDS: dict[str, tuple[frozenset[str], str]] = {
    TASK.name: (frozenset({"opportunity_id", "status", "done_at", "contact_id", "deleted"}), "done_at"),
    TIMELINE.name: (frozenset({"record_entity", "record_id", "kind", "at", "deleted"}), "at"),
    VISIT.name: (frozenset({"account_id", "starts_at", "status", "contact_ids", "deleted"}), "starts_at"),
}


def static_key() -> str:
    """What every kept result depends on besides the data: the kept file's format and the schema."""
    return f"f{FORMAT}|v{LATEST}"


def mark(ws: Workspace, context: bool) -> dict[str, Any]:
    """The store's state now: taken before a result is computed, kept beside it."""
    entities = DEALS + (CONTEXT if context else ())
    return {
        "tables": {e.name: list(changes.table_mark(ws.store, e.table)) for e in entities},
        "history": list(changes.history_mark(ws.store)),
    }


def unchanged_before(ws: Workspace, kept: Any, now: dict[str, Any], horizon: date, context: bool) -> bool:
    """Whether everything a result computed at the mark ``kept`` read of the deals (and with
    ``context`` of their context records) before ``horizon`` is as it was; ``now`` is the mark of
    the store now (taken before this check, so that it can be kept in the place of ``kept``)."""
    try:
        return _unchanged(ws, kept, now, horizon, context)
    except (KeyError, TypeError, ValueError, IndexError):
        return False  # a mark of another version


def _unchanged(ws: Workspace, kept: Any, now: dict[str, Any], horizon: date, context: bool) -> bool:
    store = ws.store
    before = horizon.isoformat()  # stored times are ISO text: `at < before` is "before that UTC day"
    entities = DEALS + (CONTEXT if context else ())
    history_id, history_text = int(kept["history"][0]), str(kept["history"][1])
    if history_id and changes.history_text(store, history_id) != history_text:
        return False  # another database (a restore)
    added: dict[str, list[tuple[Any, ...]]] = {}
    columns = {
        OPPORTUNITY.name: ["id"],
        STAGE_CHANGE.name: ["opportunity_id", "at", "to_stage"],
        ACCOUNT.name: ["id"],
        TASK.name: ["status", "done_at"],
        TIMELINE.name: ["record_entity", "kind", "at"],
        VISIT.name: ["status", "starts_at"],
    }
    for entity in entities:
        count, top, top_id = kept["tables"][entity.name]
        count, top = int(count), int(top)
        now_count = int(now["tables"][entity.name][0])
        if top and changes.id_at(store, entity.table, top) != top_id:
            return False  # the last row left and its rid was reused
        rows = changes.rows_since(store, entity.table, top, columns[entity.name], LIMIT)
        if len(rows) > LIMIT or now_count - count != len(rows):
            return False  # too many to inspect, or rows left this replica
        added[entity.name] = rows
    edits = changes.history_since(store, history_id, [e.name for e in entities], LIMIT)
    if len(edits) > LIMIT:
        return False
    edited: dict[tuple[str, str], set[str]] = defaultdict(set)
    dated: dict[tuple[str, str], list[str]] = defaultdict(list)  # old and new values of a dated field
    for entity_name, record_id, field, old, new in edits:
        edited[(entity_name, record_id)].add(field)
        dated_field = CONTEXT_FIELDS.get(entity_name, (frozenset(), ""))[1]
        if field == dated_field:
            dated[(entity_name, record_id)] += [_text(old), _text(new)]
    if not _deals_unchanged(ws, kept, added, edited, horizon, before):
        return False
    return not context or _context_unchanged(ws, kept, added, edited, dated, before)


def _text(value: str | None) -> str:
    try:
        found = json.loads(value) if value else None
    except ValueError:
        return ""
    return found if isinstance(found, str) else ""


def _deals_unchanged(
    ws: Workspace,
    kept: Any,
    added: dict[str, list[tuple[Any, ...]]],
    edited: dict[tuple[str, str], set[str]],
    horizon: date,
    before: str,
) -> bool:
    if any(name == STAGE_CHANGE.name for name, _ in edited):
        return False  # stage changes are insert-only; a pulled edit of one is not judged here
    moved: dict[str, set[str]] = defaultdict(set)  # deal → the stages its new stage changes moved to
    for opp_id, at, to_stage in added[STAGE_CHANGE.name]:
        if str(at) < before:
            return False  # a change dated before the horizon (synced, or written with an old time)
        moved[str(opp_id)].add(str(to_stage))
    fresh = {str(row[0]) for row in added[OPPORTUNITY.name]}
    touched = set(moved) | {rid for (name, rid) in edited if name == OPPORTUNITY.name}
    old_rid = int(kept["tables"][STAGE_CHANGE.name][1])
    for opp_id in sorted(touched):
        fields = edited.get((OPPORTUNITY.name, opp_id), set())
        n_before, n_close_before, n_all, n_old, stage = changes.stage_rows_before(
            ws.store, opp_id, before, old_rid
        )
        if stage in (WON, LOST) and moved.get(opp_id, {stage}) != {stage}:
            # Closed by the horizon and moved since: the results read a deal's outcome (the labels,
            # the won amounts, the closed deals' snapshots), and it moved off it (reopened).
            relevant = True
        elif n_close_before:
            # Its history as of the horizon is its stage changes before it (unchanged: every new one
            # is after it) and the fields read whatever they say.
            relevant = bool(fields & ALWAYS)
        elif n_before == 0 and n_all:
            # Opened on or after the horizon: no history as of it. Unless it was a deal without stage
            # changes (read as its stage today since its creation) that got its first ones.
            relevant = not (n_old or opp_id in fresh)
        elif n_before == 0:
            # No stage changes at all: its stage and close date today are its history, from the
            # time in its id.
            relevant = _created(opp_id) < horizon if opp_id in fresh else bool(fields & (ALWAYS | PATH))
        else:
            # Stage changes before the horizon without a close date: its first close date may be a
            # later one, or today's.
            relevant = opp_id in moved or bool(fields & (ALWAYS | PATH))
        if relevant:
            return False
    return True


def _created(opp_id: str) -> date:
    try:
        return datetime.fromtimestamp(timestamp_ms_of(opp_id) / 1000, UTC).date()
    except (ValueError, TypeError, OverflowError):
        return date.min


def _context_unchanged(
    ws: Workspace,
    kept: Any,
    added: dict[str, list[tuple[Any, ...]]],
    edited: dict[tuple[str, str], set[str]],
    dated: dict[tuple[str, str], list[str]],
    before: str,
) -> bool:
    store = ws.store
    # An account new since the mark matters when a deal known then names it (its industry).
    new_accounts = [str(row[0]) for row in added[ACCOUNT.name]]
    opp_rid = int(kept["tables"][OPPORTUNITY.name][1])
    if new_accounts and changes.referenced(store, OPPORTUNITY.table, "account_id", new_accounts, opp_rid):
        return False
    if any(name == ACCOUNT.name and fields & {"industry", "deleted"} for (name, _), fields in edited.items()):
        return False
    for status, done_at in added[TASK.name]:
        if status == "done" and done_at and str(done_at) < before:
            return False
    for entity_name, kind, at in added[TIMELINE.name]:
        if entity_name == OPPORTUNITY.name and kind == "note" and str(at) < before:
            return False
    for status, starts_at in added[VISIT.name]:
        if status == "done" and str(starts_at) < before:
            return False
    for entity in (TASK, TIMELINE, VISIT):
        wanted, dated_field = CONTEXT_FIELDS[entity.name]
        ids = [rid for (name, rid), fields in edited.items() if name == entity.name and fields & wanted]
        current = changes.rows_by_id(store, entity.table, ids, [dated_field])
        for record_id in ids:
            times = [*dated.get((entity.name, record_id), []), str(current.get(record_id, ("",))[0] or "")]
            if any(t and t < before for t in times):
                return False
    return True
