"""The quote editor shows the commission estimate of the quote (issue 16 §4, docs/incentives.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfa.services import commission
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.tui_support import FROZEN, freeze, load_fixture, screen_text

pytestmark = pytest.mark.asyncio


@pytest.fixture
def filled(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    freeze(monkeypatch)
    monkeypatch.setattr("sfa.services.commission.local_today", lambda now=None: FROZEN.date())
    load_fixture(home)
    return home


async def test_the_quote_editor_shows_what_the_quote_adds(filled: Path) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        assert "Commission" not in screen_text(app)  # no plan assigned: nothing to show
    ws = Workspace(filled)
    try:
        commission.add_plan(
            ws,
            commission.PlanInput("Q1 reps", "2026-Q1", "won_amount", "0%:2, 80%:4, 100%:6", currency="EUR"),
        )
        commission.assign(ws, "Q1 reps", "rep", "1m")
    finally:
        ws.close()
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        text = screen_text(app)
        assert "Commission: this quote adds 103.20 EUR at tier 1; 0 % → 1 % of target" in text
