"""The dashboard's Sync screen and background sync: conflicts side by side, resolved three ways."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfa.domain.entities import CONTACT, OPPORTUNITY
from sfa.services import crm
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.tui_support import FROZEN, freeze, load_fixture, screen_text, until
from tests.tui_support import check as check

pytestmark = pytest.mark.asyncio
SIZE = (80, 24)
COLUMNS = (
    "id, clocks, entity, record_id, field, kind, kept, kept_clock, lost, lost_clock, lost_by, status,"
    " resolution, at"
)


def conflict(
    ws: Workspace, number: int, entity: str, record_id: str, field: str, kind: str, kept: object, lost: object
) -> str:
    """A conflict as a pull leaves it (the server kept one value, ours was set aside)."""
    conflict_id = f"0190aaaa-bbbb-7ccc-8ddd-eeeeffff{number:04d}"
    ws.store.conn.execute(
        f"INSERT INTO sync_conflict({COLUMNS}) VALUES (?, '{{}}', ?, ?, ?, ?, ?, 'k', ?, 'l', 'bob', 'open',"
        " NULL, '2026-03-16T07:00:00Z')",
        (conflict_id, entity, record_id, field, kind, json.dumps(kept), json.dumps(lost)),
    )
    return conflict_id


@pytest.fixture
def conflicted(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    freeze(monkeypatch)
    load_fixture(home)
    ws = Workspace(home)
    try:
        anna = next(c for c in crm.list_contacts(ws) if c["name"] == "Anna Berger")
        ws.store.conn.execute("UPDATE contact SET phone = '+49 30 3333' WHERE id = ?", (anna["id"],))
        conflict(ws, 1, "contact", anna["id"], "phone", "lww", "+49 30 3333", "+49 30 2222")
        deal = next(o for o in crm.list_opportunities(ws) if o["name"] == "Fleet telematics")
        conflict(ws, 2, "opportunity", deal["id"], "amount", "flag", "88000.00", "91000.00")
    finally:
        ws.close()
    return home


async def test_sync_screen_shows_both_values_and_resolves(conflicted: Path, check: Workspace) -> None:
    app = SfaApp(conflicted, now=FROZEN, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await pilot.pause()
        text = screen_text(app)
        assert "+49 30 3333" in text and "+49 30 2222" in text  # theirs and ours side by side
        assert "2 open conflicts" in text
        await pilot.press("o")  # ours: the set-aside phone wins
        await pilot.pause()
        await pilot.press("e")  # the amount: a new value, checked as typed
        await pilot.pause()
        await pilot.press(*"lots")
        await pilot.pause()
        assert await until(pilot, lambda: "not" in screen_text(app))
        await pilot.press("ctrl+u", *"89.5k", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "0 open conflicts" in screen_text(app))
    anna = next(c for c in crm.list_contacts(check) if c["name"] == "Anna Berger")
    assert check.store.get(CONTACT, anna["id"])["phone"] == "+49 30 2222"
    deal = next(o for o in crm.list_opportunities(check) if o["name"] == "Fleet telematics")
    assert check.store.get(OPPORTUNITY, deal["id"])["amount"] == Decimal("89500")


async def test_theirs_keeps_the_current_value(conflicted: Path, check: Workspace) -> None:
    app = SfaApp(conflicted, now=FROZEN, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7", "r")
        await pilot.pause()
        assert await until(pilot, lambda: "1 open conflicts" in screen_text(app))
    anna = next(c for c in crm.list_contacts(check) if c["name"] == "Anna Berger")
    assert check.store.get(CONTACT, anna["id"])["phone"] == "+49 30 3333"


async def test_background_sync_reports_offline_and_keeps_answering(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfa.sync import engine

    freeze(monkeypatch)
    load_fixture(home)
    monkeypatch.setenv("SFA_SYNC_RETRIES", "0")
    ws = Workspace(home)
    ws.config.set("sync.url", "http://127.0.0.1:9")  # nothing listens there
    engine.save_token(ws.home, "token")
    ws.close()
    app = SfaApp(home, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "offline" in text and "server http://127.0.0.1:9" in text
        await pilot.press("2")  # the UI answered throughout
        await pilot.pause()
        assert await until(pilot, lambda: "qualification (2)" in screen_text(app))


@pytest.mark.parametrize("size", [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")])
def test_sync_screen_snapshot(snap_compare: Any, conflicted: Path, size: Any) -> None:
    async def settle(pilot: Any) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    app = SfaApp(conflicted, now=FROZEN, background_sync=False)
    assert snap_compare(app, press=["7"], terminal_size=size, run_before=settle)
