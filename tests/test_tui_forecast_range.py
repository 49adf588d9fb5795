"""The dashboard's Forecast screen (issue 16): the current period's P10-P90 band, the target line
and the attainment, from the services the CLI uses (sfa/services/outlook.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfa.services import outlook
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.conftest import run_sfa
from tests.tui_support import FROZEN, freeze, load_fixture, screen_text

pytestmark = pytest.mark.asyncio


@pytest.fixture
def filled(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    freeze(monkeypatch)
    load_fixture(home)
    return home


async def test_forecast_screen_shows_range_target_and_attainment(filled: Path) -> None:
    ws = Workspace(filled)
    try:
        before = outlook.outlook(ws, "quarter", FROZEN.date())
    finally:
        ws.close()
    assert before.period == "2026-Q1" and before.target is None
    assert before.p10 is not None and before.p90 is not None and before.p10 <= before.p50 <= before.p90  # type: ignore[operator]
    made = run_sfa(
        filled,
        "target",
        "set",
        "--period",
        "2026-Q1",
        "--metric",
        "won_amount",
        "--value",
        "200000",
        "--owner",
        "rep",
    )
    assert made.code == 0, made.err
    ws = Workspace(filled)
    try:
        found = outlook.outlook(ws, "quarter", FROZEN.date())
    finally:
        ws.close()
    assert found.target == 200000 and found.target_of == "rep"
    assert found.attainment() == (found.won * 100 / 200000).quantize(found.attainment() or 1)
    assert found.p_target is not None and 0 <= found.p_target <= 1

    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        await pilot.press("b")  # by quarter: the period targets are set for
        await pilot.pause()
        text = screen_text(app)
        assert "2026-Q1 outlook" in text
        assert "▒" in text and "┃" in text  # the band and the target line
        assert f"attainment {found.attainment()} %" in text
        assert "P(≥ target)" in text and "target 200k (rep)" in text
        await pilot.press("b")  # by month: no monthly target
        await pilot.pause()
        text = screen_text(app)
        assert "2026-03 outlook" in text and "no won-amount target for 2026-03" in text
