"""Search as you type, for the dashboard: every keystroke answers within a time budget.

- One typed character matches half the store, and ranking all of it is slow on a large store (about
  150 ms at 100,000 contacts) while telling the person nothing; so a single character lists the
  accounts and contacts whose name starts with it, from the name indexes.
- From the second character on, full-text search over every record type, best first (the same
  ranked search as `sfa search`). When a prefix matches so many records that ranking them all would
  take longer than RANK_BUDGET (30 ms) ("bu" matches every "budget" note), the ranked query is interrupted
  and the first matches are shown unranked instead; the next keystroke narrows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfa.domain.entities import ACCOUNT, CONTACT, Entity
from sfa.services import search
from sfa.store.db import QueryInterrupted, Record
from sfa.store.workspace import Workspace

RANK_BUDGET = 0.030  # seconds a ranked search may take before the unranked fallback
_NAME_FROM = "name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ?"


@dataclass
class Found:
    hits: list[tuple[Entity, Record]]
    how: str  # "names", "ranked" or "unranked"


def find_as_you_type(ws: Workspace, text: str, limit: int = 50) -> Found:
    typed = text.strip()
    if len(typed) == 1 and typed.isalnum():
        bounds = (typed, chr(ord(typed) + 1))
        half = max(1, limit // 2)
        found: list[tuple[Entity, Record]] = []
        for entity in (ACCOUNT, CONTACT):
            rows = ws.store.select(entity, _NAME_FROM, bounds, order="name COLLATE NOCASE", limit=half)
            found += [(entity, row) for row in rows]
        return Found(found, "names")
    try:
        with ws.store.time_limit(RANK_BUDGET):
            return Found(search.search(ws, text, limit=limit), "ranked")
    except QueryInterrupted:
        hits = ws.store.first_matches(text, limit)
        return Found([h for h in hits if h[0].name not in search.HIDDEN], "unranked")
