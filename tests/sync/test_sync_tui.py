"""The dashboard against a real sync server: background sync, and a real conflict resolved on its
Sync screen reaching the other laptop."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sfa.tui.app import SfaApp
from tests.tui_support import screen_text

pytestmark = pytest.mark.asyncio


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the dashboard does not care which database the server uses


async def wait_until(pilot: Any, predicate: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{screen_text(pilot.app)}")
        await pilot.pause(0.1)


async def test_resolve_a_real_conflict_from_the_dashboard(laptop: Any) -> None:
    ana, bob = laptop("ana"), laptop("bob")
    account = ana.ok("account", "add", "Acme", "-q").out.strip()
    contact = ana.ok("contact", "add", "Jane Roe", "--account", account, "-q").out.strip()
    ana.synced(), bob.synced()
    ana.ok("contact", "edit", contact, "--phone", "+49 30 2222")
    time.sleep(0.01)
    bob.ok("contact", "edit", contact, "--phone", "+49 30 3333")  # the later write wins
    ana.synced(), bob.synced(), ana.synced()

    app = SfaApp(ana.home)  # a server is configured: the background worker syncs
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.online is True, "the first background sync")
        assert "online" in screen_text(app)
        await pilot.press("7")
        await pilot.pause()
        text = screen_text(app)
        assert "+49 30 3333" in text and "+49 30 2222" in text  # theirs and ours, side by side
        await pilot.press("o")  # ours
        await pilot.pause()
        await pilot.press("s")  # sync now (in a worker)
        await wait_until(pilot, lambda: any("synced:" in n.message for n in app._notifications), "sync now")
        assert "0 open conflicts" in screen_text(app)
    bob.synced()
    assert bob.ok("contact", "show", contact, "--json").json()["phone"] == "+49 30 2222"
    assert bob.ok("sync", "conflicts", "--json").json() == []
