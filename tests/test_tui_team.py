"""The dashboard's Team screen (issue 14 §6): approvals waiting are decided with a comment;
attainment, stalled deals and forecast by rep are drawn (docs/policy.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfa.services import approvals, policy, quotes, targets
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.tui_support import FROZEN, freeze, load_fixture, screen_text, until

pytestmark = pytest.mark.asyncio

LIMITS = """
quote_discount_limit = "5"
[[stages]]
name = "initiation"
probability = 10
[[stages]]
name = "qualification"
probability = 30
[[stages]]
name = "won"
probability = 100
[[stages]]
name = "lost"
probability = 0
"""


@pytest.fixture
def desk(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    freeze(monkeypatch)
    load_fixture(home)
    ws = Workspace(home)
    try:
        policy.save_toml(ws, LIMITS, None)
        draft = next(q for q in quotes.list_quotes(ws) if q["status"] == "draft")
        quotes.add_line(ws, draft["id"], description="Big discount", price="1000", discount="50%")
        approvals.submit(ws, draft["id"], "please")
        period = f"{FROZEN.year}-Q{(FROZEN.month - 1) // 3 + 1}"
        targets.set_target(ws, targets.TargetInput("rep", "north", period, "won_amount", "100k"))
    finally:
        ws.close()
    return home


async def test_team_screen_decides_approvals_with_a_comment(desk: Path) -> None:
    app = SfaApp(desk, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("0")
        await pilot.pause()
        text = screen_text(app)
        assert "Approvals waiting (1)" in text and "pending" in text
        assert "Attainment" in text and "won_amount" in text
        assert "Forecast by rep" in text and "Stalled deals by rep" in text
        assert "rep            EUR" in text  # one line per rep and currency
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"too much")
        await pilot.press("enter")
        await pilot.pause()
        assert await until(pilot, lambda: "Approvals waiting (0)" in screen_text(app))
    check = Workspace(desk)
    try:
        [row] = approvals.listing(check, pending_only=False)
        assert row["status"] == "rejected"
        assert [(d["action"], d["comment"]) for d in row["decisions"]] == [("reject", "too much")]
    finally:
        check.close()


def test_a_rep_sees_their_own_line(desk: Path) -> None:
    from sfa.services import team

    ws = Workspace(desk)
    try:
        ws.config.set("sync.url", "http://127.0.0.1:9")
        with ws.store.transaction():
            ws.store.set_meta("sync.role", "rep")
            ws.store.set_meta("sync.user", "someone-else")
        mine = team.overview(ws, FROZEN)
        assert mine.only == "someone-else"
        assert mine.approvals == [] and mine.forecast == [] and mine.stalled == {}
        with ws.store.transaction():
            ws.store.set_meta("sync.user", "rep")
        theirs = team.overview(ws, FROZEN)
        assert len(theirs.approvals) == 1 and [f.owner for f in theirs.forecast] == ["rep"]
        assert [a.subject for a in theirs.attainment] == ["rep"]
    finally:
        ws.close()
