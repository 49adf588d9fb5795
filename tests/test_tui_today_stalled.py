"""Stalled deals on the dashboard's Today (issue 14 asks for them there; issue 13's Today): the
deals `stalled.mine` finds, with their reasons, and Enter opens the deal (its account, the focus on
that deal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfa.domain.entities import OPPORTUNITY
from sfa.services import crm, records, stalled
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from sfa.tui.screens.accounts import AccountView
from sfa.tui.widgets import Table
from tests.tui_support import FROZEN, screen_text, until
from tests.tui_support import check as check
from tests.tui_support import filled as filled

pytestmark = pytest.mark.asyncio


async def test_no_stalled_deal_no_section(filled: Path, check: Workspace) -> None:
    assert stalled.mine(check, FROZEN.date(), FROZEN) == []
    app = SfaApp(filled, now=FROZEN, background_sync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: "Stalled deals" not in screen_text(app))


async def test_stalled_deal_listed_with_its_reason_and_enter_opens_it(filled: Path, check: Workspace) -> None:
    deal = next(o for o in crm.list_opportunities(check, open_only=True) if o["name"] == "Patient portal")
    records.edit(check, OPPORTUNITY, deal["id"], {"close_date": "2026-03-02"})
    [found] = stalled.mine(check, FROZEN.date(), FROZEN)
    assert found.opp["id"] == deal["id"]
    app = SfaApp(filled, now=FROZEN, background_sync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "Stalled deals (1)" in text
        assert "close date 2026-03-02 has passed" in text
        table = app.screen.query_one("#stalled", Table)
        table.focus()
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, AccountView))
        assert isinstance(app.screen, AccountView)
        opps = app.screen.query_one("#opps-table", Table)
        assert opps.has_focus and opps.selected_key() == deal["id"]  # e edits this deal
        await pilot.press("escape")
        await pilot.pause()
        # a new close date ahead: no longer stalled, the section goes
        records.edit(check, OPPORTUNITY, deal["id"], {"close_date": "2026-03-30"})
        app.data_changed()
        app.screen.reload()  # type: ignore[attr-defined]
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: "Stalled deals" not in screen_text(app))
