"""The dashboard's Orders and Contracts screens (issue 15 §4): reached from the palette, a list and
the selected document's lines; the actions with confirmation; an account's 360° view lists its
orders, contracts and documents; Today lists ERP rejections and renewals due. Snapshots of the two
new screens only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sfa.domain.entities import ORDER
from sfa.services import contracts, documents, order_approvals, orders, quotes
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from sfa.tui.widgets import Table
from tests.tui_support import FROZEN, freeze, load_fixture, screen_text, shows

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
WIDE = (120, 40)


def _freeze_paperwork(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order and contract services read "today" and "now" themselves (numbers, stamps, states)."""
    for module in ("sfa.services.orders", "sfa.services.contracts"):
        monkeypatch.setattr(f"{module}.local_today", lambda now=None: FROZEN.date())
        monkeypatch.setattr(f"{module}.utc_now", lambda: FROZEN)


@pytest.fixture
def deals(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fixture, with the sent quote accepted; a draft order that differs from it (a line added);
    an order the ERP rejected; an activated contract due for renewal; a draft contract; a document."""
    freeze(monkeypatch)
    _freeze_paperwork(monkeypatch)
    load_fixture(home)
    ws = Workspace(home)
    ws.store.replica_id = "fixture-replica"  # fixed order and contract numbers, as the quotes' are
    try:
        sent = next(q for q in quotes.list_quotes(ws) if q["status"] == "sent")
        quotes.accept(ws, sent["id"])
        draft = orders.new_from_quote(ws, sent["id"], po="PO-4711")
        orders.add_line(ws, draft["id"], description="Montage", price="85.50")
        rejected = orders.new_from_quote(ws, sent["id"], po="PO-4712")
        orders.submit(ws, rejected["id"])
        # the ERP's answer, as a pull brings it
        ws.store.update(ORDER, rejected["id"], {"status": "rejected", "erp_message": "credit limit exceeded"})
        start = (FROZEN.date() - timedelta(days=330)).isoformat()
        running = contracts.new_contract(
            ws, quote_ref=sent["id"], start=start, term="12m", title="Service 2025"
        )
        contracts.submit(ws, running["id"])
        contracts.release(ws, running["id"])
        contracts.new_contract(
            ws, account_ref=sent["account_id"], start=FROZEN.date().isoformat(), term="24m", title="Wartung"
        )
        sheet = tmp_path / "angebot-anlage.pdf"
        sheet.write_bytes(b"%PDF-1.4 fixture\n")
        documents.add(ws, str(sheet), "account", sent["account_id"], kind="contract", title="Rahmenvertrag")
    finally:
        ws.close()
    return home


def notes(app: Any) -> str:
    """The notifications shown so far, one a line (toasts are drawn over the screen for a while)."""
    return "\n".join(n.message for n in app._notifications)


async def noted(pilot: Any, text: str, tries: int = 100) -> bool:
    for _ in range(tries):
        await pilot.pause()
        if text in notes(pilot.app):
            return True
    return False


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _go(mode: str) -> Any:
    async def run(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.switch_mode(mode)
        await settle(pilot)

    return run


def _select(app: Any, column: int, value: str) -> None:
    table = app.screen.query_one("#doc-list", Table)
    table.move_cursor(
        row=next(i for i in range(table.row_count) if str(table.get_row_at(i)[column]) == value)
    )


@pytest.mark.parametrize("size", SIZES)
def test_orders_snapshot(snap_compare: Any, deals: Path, size: Any) -> None:
    assert snap_compare(SfaApp(deals, now=FROZEN), terminal_size=size, run_before=_go("orders"))


@pytest.mark.parametrize("size", SIZES)
def test_contracts_snapshot(snap_compare: Any, deals: Path, size: Any) -> None:
    assert snap_compare(SfaApp(deals, now=FROZEN), terminal_size=size, run_before=_go("contracts"))


@pytest.mark.asyncio
async def test_the_palette_reaches_orders_and_a_draft_is_submitted_after_a_confirmation(deals: Path) -> None:
    app = SfaApp(deals, now=FROZEN)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"Go to Orders")
        await pilot.pause()
        await pilot.press("enter")
        assert await shows(pilot, "PO-4711")
        text = screen_text(app)
        assert "REJECTED · " in text and "ERP: credit limit exceeded" in text  # the newest first, its answer
        _select(app, 3, "PO-4711")
        assert await shows(pilot, "pricing: order: total")  # the draft's pricing check, under its totals
        await pilot.press("s")
        assert await shows(pilot, "with these differences?")
        await pilot.press("escape")  # cancelled: nothing written
        await pilot.pause()
        draft = next(o for o in orders.list_orders(app.ws) if o["customer_po"] == "PO-4711")
        assert draft["status"] == "draft"
        await pilot.press("s")
        assert await shows(pilot, "with these differences?")
        await pilot.press("enter")
        assert await shows(pilot, "SUBMITTED · ")
        submitted = orders.resolve(app.ws, draft["id"])
        assert submitted["status"] == "submitted" and submitted["accepted_differences"]
        # A submitted order: its draft keys are hidden, and pressing one says why.
        footer = screen_text(app).splitlines()[-1]
        assert "Submit" not in footer and "Cancel order" in footer
        await pilot.press("e")
        assert await noted(pilot, "this order is submitted; only a draft is edited")


@pytest.mark.asyncio
async def test_a_managers_approval_from_the_orders_screen_and_submit_on_it(deals: Path) -> None:
    app = SfaApp(deals, now=FROZEN)
    async with app.run_test(size=WIDE) as pilot:
        await _go("orders")(pilot)
        _select(app, 3, "PO-4711")
        await pilot.pause()
        await pilot.press("a")
        assert await shows(pilot, "Approve the pricing differences")
        await pilot.press(*"Montage agreed")
        await pilot.press("enter", "enter")
        draft = next(o for o in orders.list_orders(app.ws) if o["customer_po"] == "PO-4711")
        assert await noted(pilot, "pricing differences approved by")
        assert order_approvals.covering(app.ws, draft) is not None
        await pilot.press("s")
        assert await shows(pilot, "the differences are approved by")
        await pilot.press("enter")
        assert await shows(pilot, "SUBMITTED · ")
        assert orders.resolve(app.ws, draft["id"])["status"] == "submitted"


@pytest.mark.asyncio
async def test_cancel_and_add_line_on_the_orders_screen(deals: Path) -> None:
    app = SfaApp(deals, now=FROZEN)
    async with app.run_test(size=WIDE) as pilot:
        await _go("orders")(pilot)
        _select(app, 3, "PO-4711")
        await pilot.pause()
        await pilot.press("tab")  # to the lines: n adds a line there
        await pilot.press("n")
        assert await shows(pilot, "Add a line to")
        await pilot.press("tab", *"Schulung", "tab", *"300", "ctrl+s")
        assert await noted(pilot, "line 4 added: Schulung")
        await pilot.press("shift+tab")
        await pilot.press("c")
        assert await shows(pilot, "Cancel order")
        await pilot.press(*"duplicate", "enter", "enter")
        assert await shows(pilot, "CANCELLED · ")
        draft = next(o for o in orders.list_orders(app.ws) if o["customer_po"] == "PO-4711")
        assert draft["status"] == "cancelled" and draft["cancel_reason"] == "duplicate"


@pytest.mark.asyncio
async def test_contracts_submit_release_and_renew_with_confirmation(deals: Path) -> None:
    app = SfaApp(deals, now=FROZEN)
    async with app.run_test(size=WIDE) as pilot:
        await _go("contracts")(pilot)
        text = screen_text(app)
        assert "renewal due" in text and "Wartung" in text
        _select(app, 2, "Wartung")
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "Submit" in footer and "Renew" not in footer
        await pilot.press("w")
        assert await noted(pilot, "only an activated contract not renewed yet is renewed")
        await pilot.press("s")
        await pilot.press("enter", "enter")
        assert await shows(pilot, "IN APPROVAL · ")
        await pilot.press("r")
        await pilot.press("enter", "enter")
        assert await shows(pilot, "ACTIVE · ")  # activated, starting today
        wartung = next(c for c, _ in contracts.list_contracts(app.ws) if c["title"] == "Wartung")
        assert wartung["status"] == "activated"

        _select(app, 2, "Service 2025")
        assert await shows(pilot, "RENEWAL DUE · ")
        await pilot.press("w")
        assert await shows(pilot, "Renew ")
        await pilot.press("enter")
        assert await noted(pilot, "renewal ")
        renewals = [c for c, _ in contracts.list_contracts(app.ws) if c["renewal_of"]]
        assert len(renewals) == 1 and renewals[0]["status"] == "draft"


@pytest.mark.asyncio
async def test_today_lists_erp_rejections_and_renewals_and_opens_them(deals: Path) -> None:
    app = SfaApp(deals, now=FROZEN)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Orders: rejected by the ERP, or waiting for it (1)" in text
        assert "credit limit exceeded" in text
        assert "Contracts due for renewal (1)" in text and "Service 2025" in text
        app.screen.query_one("#orders", Table).focus()
        await pilot.press("enter")
        assert await shows(pilot, "REJECTED · ")
        assert app.current_mode == "orders"
        assert "credit limit exceeded" in screen_text(app)  # the ERP's message in the head


@pytest.mark.asyncio
async def test_an_empty_today_hides_the_order_and_renewal_sections(home: Path, monkeypatch: Any) -> None:
    freeze(monkeypatch)
    load_fixture(home)
    app = SfaApp(home, now=FROZEN)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Orders: rejected" not in text and "Contracts due for renewal" not in text


@pytest.mark.asyncio
async def test_the_account_360_shows_orders_contracts_and_documents(deals: Path) -> None:
    from sfa.tui.screens.accounts import AccountView

    ws = Workspace(deals)
    try:
        account_id = next(o for o in orders.list_orders(ws))["account_id"]
    finally:
        ws.close()
    app = SfaApp(deals, now=FROZEN)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        app.push_screen(AccountView(account_id))
        await settle(pilot)
        text = screen_text(app)
        for wanted in ("Orders", "PO-4711", "Contracts", "Service 2025", "Documents", "Rahmenvertrag"):
            assert wanted in text, wanted
        app.screen.query_one("#contracts-table", Table).focus()
        await pilot.press("enter")
        assert await shows(pilot, "Wartung") or await shows(pilot, "Service 2025")
        assert app.current_mode == "contracts"


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["orders", "contracts"])
async def test_random_keys_on_the_new_screens_never_crash(
    deals: Path, mode: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The dashboard fuzz (tests/test_tui_fuzz.py) reaches screens by number keys; these two have
    none, so they get their own: seeded random keys, the app keeps running and the store stays whole."""
    import random

    from tests.test_tui_fuzz import ACTION_KEYS, MOVE_KEYS, TEXT_KEYS, integrity_problems

    monkeypatch.chdir(tmp_path)  # an export writes where the dashboard was started
    rng = random.Random(15 + len(mode))
    keys: list[str] = []
    while len(keys) < 200:
        pool = rng.random()
        if pool < 0.45:
            keys.append(rng.choice(ACTION_KEYS))
        elif pool < 0.8:
            keys.append(rng.choice(MOVE_KEYS))
        else:
            keys.extend(rng.choice(TEXT_KEYS) for _ in range(rng.randint(1, 6)))
    app = SfaApp(deals, now=FROZEN, background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for start in range(0, len(keys), 20):
            if app.current_mode != mode and len(app.screen_stack) == 1:
                app.switch_mode(mode)  # a key may lead elsewhere (Enter on a record): come back
            await pilot.press(*keys[start : start + 20])
            await app.workers.wait_for_complete()
            assert app.is_running, f"the app stopped after key {start + 20}"
    check = Workspace(deals)
    try:
        assert integrity_problems(check) == []
    finally:
        check.close()
