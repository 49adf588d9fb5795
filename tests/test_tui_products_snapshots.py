"""Snapshots of the dashboard parts issue 17 added (Products screen, configurator dialog, Duplicates
view) at 80×24 and 120×40, on the fixed sample plus a small catalogue. Regenerate with
`pytest tests/test_tui_products_snapshots.py --snapshot-update` and review the diff."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sfa.domain.entities import CONTACT
from sfa.services import crm
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.test_tui_products import add_catalogue
from tests.tui_support import FROZEN, freeze, load_fixture

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture
def shop(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    freeze(monkeypatch)
    load_fixture(home)
    ws = Workspace(home)
    try:
        add_catalogue(ws, tmp_path)
        account = crm.list_accounts(ws, limit=1)[0]
        for name, phone in (("Jane Doe", None), ("Doe, Jane", "+49 30 1111")):
            ws.store.insert(
                CONTACT,
                {"name": name, "email": "jane@dupes.example", "phone": phone, "account_id": account["id"]},
            )
            time.sleep(0.002)  # ids are time-ordered by the millisecond: the scan's order is fixed
    finally:
        ws.close()
    return home


def opened(mode: str, *keys: str) -> Any:
    async def run(pilot: Any) -> None:
        pilot.app.switch_mode(mode)
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES)
def test_products(snap_compare: Any, shop: Path, size: Any) -> None:
    app = SfaApp(shop, now=FROZEN)
    assert snap_compare(app, terminal_size=size, run_before=opened("products", "slash", *"actuator"))


@pytest.mark.parametrize("size", SIZES)
def test_configurator_dialog(snap_compare: Any, shop: Path, size: Any) -> None:
    app = SfaApp(shop, now=FROZEN)
    keys = ("slash", *"LA-600", "enter", "a", "enter", "tab", "enter")  # draft picked, Housing=Plastic
    assert snap_compare(app, terminal_size=size, run_before=opened("products", *keys))


@pytest.mark.parametrize("size", SIZES)
def test_duplicates(snap_compare: Any, shop: Path, size: Any) -> None:
    app = SfaApp(shop, now=FROZEN)
    assert snap_compare(app, terminal_size=size, run_before=opened("duplicates"))
