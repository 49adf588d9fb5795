"""Shared pieces of the dashboard tests: a frozen clock, fixed data, reading the screen as text."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sfa.store.workspace import Workspace
from sfa.tui import sample

# A Monday morning; every date in the fixture is relative to it.
FROZEN = datetime(2026, 3, 16, 7, 30, tzinfo=UTC)


def freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """UTC as the local zone, and the store's clock (timeline stamps) stopped at FROZEN."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr("sfa.domain.dates.utc_now", lambda: FROZEN)
    # the quote services read "today" themselves (validity, numbering, the expired state)
    monkeypatch.setattr("sfa.services.quotes.local_today", lambda now=None: FROZEN.date())
    monkeypatch.setattr("sfa.services.quotes.utc_now", lambda: FROZEN)
    # the forecast starts at the current period
    monkeypatch.setattr("sfa.services.reports.local_today", lambda now=None: FROZEN.date())


def load_fixture(home: Path, today: date | None = None) -> None:
    """The fixed sample, dated relative to FROZEN (or to `today`, for a process with the real clock)."""
    ws = Workspace(home)
    ws.store.replica_id = "fixture-replica"  # fixed quote numbers (their replica code comes from it)
    ws.config.set("owner", "rep")  # not the login name of whoever runs the tests
    try:
        sample.load(ws, today=today or FROZEN.date(), now=FROZEN)
    finally:
        ws.close()


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def shows(pilot: Any, text: str, tries: int = 100) -> bool:
    """Whether `text` appears on screen once the app has caught up with the keys pressed (a loaded
    machine may need several rounds of the event loop; this waits for the screen, it times nothing)."""
    for _ in range(tries):
        await pilot.pause()
        if text in screen_text(pilot.app):
            return True
    return False


def drain_between_keys(monkeypatch: pytest.MonkeyPatch, pilot: Any) -> None:
    """Pilot's `press` waits after every key until the process has been idle for a 20 ms slice of
    wall-clock time, twice: for thousands of keys that is minutes of sleeping. Instead, wait until
    the app and every widget of the screen have handled what was queued (twice, so a key the app
    forwards to the focused widget is handled too). Deeper cascades may still be running when the
    next key arrives, as when a rep types fast; timers fire as they come due. For the fuzz tests,
    whose checks do not depend on the moment a key's effects land."""

    async def drained(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        for _ in range(2):
            await pilot._wait_for_screen()

    monkeypatch.setattr("textual.app.wait_for_idle", drained)
