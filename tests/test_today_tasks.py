"""Today's task list (services/tasks.for_today): one query per part (due today, overdue, undated)
and a count from the index, against the order and count the list is defined by (docs/dashboard.md,
"Today, complete"), for generated tasks and limits."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.domain.entities import TASK
from sfa.services import tasks as task_service
from sfa.store.workspace import Workspace

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday; local zone UTC in the tests
TODAY = date(2026, 11, 30)
PRIORITY = {"high": 0, "normal": 1, "low": 2}

task_st = st.fixed_dictionaries(
    {
        "day": st.one_of(st.none(), st.integers(-6, 3)),  # days from today; None: undated
        "hour": st.one_of(st.none(), st.integers(6, 18)),  # a due time, or the day only
        "priority": st.sampled_from(sorted(PRIORITY)),
        "status": st.sampled_from(["open", "open", "open", "done"]),
        "deleted": st.booleans(),
    }
)


def expected(tasks: list[dict[str, Any]], limit: int) -> tuple[list[str], int]:
    """Open, live, due by today or undated; today's first, then overdue oldest first, then undated;
    within a day timed tasks by time before the others, high priority first, then as inserted."""
    wanted = [
        (index, t)
        for index, t in enumerate(tasks)
        if t["status"] == "open" and not t["deleted"] and (t["due_date"] is None or t["due_date"] <= TODAY)
    ]

    def key(item: tuple[int, dict[str, Any]]) -> tuple[Any, ...]:
        index, t = item
        part = 2 if t["due_date"] is None else 0 if t["due_date"] == TODAY else 1
        return (
            part,
            t["due_date"] or date.min,
            t["due_at"] is None,
            t["due_at"] or NOW,
            PRIORITY[t["priority"]],
            index,
        )

    ordered = sorted(wanted, key=key)
    return [t["title"] for _, t in ordered[:limit]], len(wanted)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=st.lists(task_st, max_size=30), limit=st.integers(1, 12))
def test_today_lists_the_tasks_in_the_defined_order_and_counts_them_all(
    drawn: list[dict[str, Any]], limit: int
) -> None:
    tasks = []
    for index, d in enumerate(drawn):
        day = None if d["day"] is None else TODAY + timedelta(days=d["day"])
        at = (
            None
            if day is None or d["hour"] is None
            else datetime(day.year, day.month, day.day, d["hour"], tzinfo=UTC)
        )
        tasks.append({**d, "title": f"t{index}", "due_date": day, "due_at": at})
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp))
        try:
            for t in tasks:
                values = {k: t[k] for k in ("title", "due_date", "due_at", "priority", "status")}
                record = ws.store.insert(TASK, values)
                if t["deleted"]:
                    ws.store.delete(TASK, record["id"])
            rows, total = task_service.for_today(ws, now=NOW, limit=limit)
        finally:
            ws.close()
    titles, count = expected(tasks, limit)
    assert [r["task"]["title"] for r in rows] == titles
    assert total == count
