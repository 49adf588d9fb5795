"""Today's task list (services/tasks.for_today): one query per part (due today, overdue, undated)
and a count from the index, against the order and count the list is defined by (docs/dashboard.md,
"Today, complete"), for generated tasks and limits."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.domain.entities import TASK
from sfa.services import tasks as task_service
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from sfa.tui.screens.today import TodayScreen
from sfa.tui.widgets import Table
from tests.tui_support import FROZEN, freeze, screen_text

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


# -- the dashboard: rows held back for the first paint -----------------------------------------------


def _many_tasks(home: Path, count: int) -> None:
    """`count` open tasks: a third due today, a third overdue, a third undated."""
    ws = Workspace(home)
    try:
        for index in range(count):
            part = index % 3
            day = None if part == 2 else FROZEN.date() - timedelta(days=part * (1 + index % 5))
            ws.store.insert(
                TASK, {"title": f"task {index:03d}", "due_date": day, "priority": "normal", "status": "open"}
            )
    finally:
        ws.close()


@pytest.mark.asyncio
async def test_rows_held_back_for_the_first_paint_follow_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80x24 Today draws its first frame with 24 task rows; the other 66 go in right after it, in
    the list's order, and the title counts all 90 from the start. G then reaches the last one."""
    freeze(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    _many_tasks(home, 90)
    check = Workspace(home)
    try:
        rows, total = task_service.for_today(check, now=FROZEN)
    finally:
        check.close()
    assert total == 90
    app = SfaApp(home, now=FROZEN, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#tasks", Table)
        assert [k.value for k in table.rows] == [r["task"]["id"] for r in rows]
        assert "(90)" in screen_text(app)
        table.focus()
        await pilot.press("G")
        await pilot.pause()
        assert table.selected_key() == rows[-1]["task"]["id"]
        # a reload after the first paint (a write anywhere) lists them all at once, the cursor kept
        app.data_changed()
        app.screen.reload()  # type: ignore[attr-defined]
        await pilot.pause()
        assert [k.value for k in table.rows] == [r["task"]["id"] for r in rows]
        assert table.selected_key() == rows[-1]["task"]["id"]


@pytest.mark.asyncio
async def test_the_first_frame_holds_a_screenful_of_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the first paint costs depends on the rows the tables measure before it: the task list
    gets the terminal's height in rows before the first frame, not all 90."""
    freeze(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    _many_tasks(home, 90)
    before_paint: list[int] = []

    class Probe(TodayScreen):
        def _after_first_paint(self) -> None:
            before_paint.append(self.query_one("#tasks", Table).row_count)
            super()._after_first_paint()

    monkeypatch.setitem(SfaApp.MODES, "today", Probe)
    app = SfaApp(home, now=FROZEN, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert before_paint == [24]
        assert app.screen.query_one("#tasks", Table).row_count == 90


@pytest.mark.asyncio
async def test_the_first_frame_drawn_is_today_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Textual drew Today three times before its first complete frame (the screen bar and footer,
    then scroll bars over an empty body, then Today), and rendered it twice more for nothing. The
    app holds frames back until Today is filled and skips the renders nobody sees: the first frame
    drawn holds the rows, at most one more comes before the after-paint work (six before), and
    the rows held back and the tasks not yet read follow it (90 in all)."""
    freeze(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    _many_tasks(home, 90)
    frames: list[int] = []  # per frame drawn: the task rows then
    at_after_paint: list[int] = []  # frames drawn when the after-paint work ran

    class Probe(TodayScreen):
        def _compositor_refresh(self) -> None:
            if not self.sfa.first_frame_held:  # drawn (held back, Textual would render for nothing)
                frames.append(self.query_one("#tasks", Table).row_count)
            super()._compositor_refresh()

        def _after_first_paint(self) -> None:
            at_after_paint.append(len(frames))
            super()._after_first_paint()

    monkeypatch.setitem(SfaApp.MODES, "today", Probe)
    app = SfaApp(home, now=FROZEN, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        # in a terminal one frame (bench/bench_tui.py); under Pilot a layout may still follow it
        assert at_after_paint and at_after_paint[0] <= 2
        assert frames[0] == 24
        assert "(90)" in screen_text(app)
        assert app.screen.query_one("#tasks", Table).row_count == 90
