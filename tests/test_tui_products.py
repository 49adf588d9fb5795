"""The dashboard parts of issue 17: the Products screen (search over specs, compare, add to a draft
quote), the configurator dialog from the quote editor (greyed values with the reason, live price),
the Duplicates view (side by side, take a field, merge) and events in the Week."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from sfa.domain.entities import CONTACT
from sfa.services import dedupe, events, quotes
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from sfa.tui.configurator import ConfiguratorScreen
from sfa.tui.forms import FormScreen
from sfa.tui.screens.products import CompareScreen
from sfa.tui.widgets import Table
from tests.tui_support import FROZEN, freeze, load_shop, screen_text, shows, until

pytestmark = pytest.mark.asyncio


@pytest.fixture
def shop(home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The shop (tests/tui_support.py load_shop) and a trade show in the Week."""
    freeze(monkeypatch)
    load_shop(home, tmp_path)
    ws = Workspace(home)
    try:
        events.add_event(
            ws,
            {
                "name": "MedTech fair",
                "kind": "trade show",
                "starts_on": "2026-03-18",
                "ends_on": "2026-03-19",
                "booth": "4",
            },
        )
    finally:
        ws.close()
    return home


def draft_lines(home: Path) -> list[dict[str, Any]]:
    ws = Workspace(home)
    try:
        draft = next(q for q in quotes.list_quotes(ws) if q["status"] == "draft")
        return quotes.lines_of(ws, draft["id"])
    finally:
        ws.close()


async def notified(pilot: Any, text: str, tries: int = 100) -> bool:
    """Whether a notification saying `text` was raised once the app caught up (times nothing)."""
    for _ in range(tries):
        await pilot.pause()
        if any(text in str(n.message) for n in pilot.app._notifications):
            return True
    return False


async def gone(pilot: Any, kind: type, tries: int = 100) -> bool:
    """Whether the dialog of type `kind` has closed once the app caught up (times nothing)."""
    for _ in range(tries):
        await pilot.pause()
        if not isinstance(pilot.app.screen, kind):
            return True
    return False


async def pick_the_draft(pilot: Any) -> None:
    await pilot.pause()
    table = pilot.app.screen.query_one("#quotes-table")
    table.move_cursor(row=next(i for i in range(table.row_count) if str(table.get_row_at(i)[3]) == "draft"))
    assert await shows(pilot, "DRAFT")


async def test_products_screen_searches_specs_compares_and_adds_to_a_quote(
    shop: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opened = tmp_path / "opened.txt"
    opener = tmp_path / "opener.sh"
    opener.write_text(f'#!/bin/sh\ncat "$1" > {opened}\n')
    opener.chmod(0o755)
    monkeypatch.setenv("SFA_OPENER", str(opener))
    before = len(draft_lines(shop))
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        app.switch_mode("products")
        assert await shows(pilot, "LA-450")
        await pilot.press("slash", *"600 mm")
        assert await shows(pilot, "Actuator 600")
        text = screen_text(app)
        assert "Actuator 450" not in text  # 600 mm is the LA-600's stroke only
        assert "Stroke" in text and "600 mm" in text and "LA-600 datasheet" in text
        assert "Configurable: 2 attributes, 1 rules" in text
        await pilot.press("enter")  # to the list
        await pilot.pause()
        await pilot.press("o")  # open the datasheet
        assert await notified(pilot, "opened LA-600 datasheet (la600.pdf)")
        app.screen.query_one("#product-search", Input).value = "actuator"
        assert await shows(pilot, "Actuator 450")
        await pilot.press("space", "down", "space", "c")
        assert await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert isinstance(app.screen, CompareScreen)
        assert await shows(pilot, "1 of 2 specs differ")
        await pilot.press("escape")
        await pilot.pause()
        # add the configurable LA-600 to the draft: pick the quote, then the configurator opens
        await pilot.press("up", "a")
        await pilot.pause()
        await pilot.press("enter")  # the first (only) draft
        assert await shows(pilot, "Configure LA-600")
        assert isinstance(app.screen, ConfiguratorScreen)
        assert await shows(pilot, "Housing: is required; choose one of Plastic, Steel")
        await pilot.press("ctrl+s")  # refused: a required attribute has no value
        assert await until(pilot, lambda: isinstance(app.screen, ConfiguratorScreen))
        assert isinstance(app.screen, ConfiguratorScreen)
        await pilot.press("tab", "enter")  # Housing: Plastic
        # now 230V is greyed, with the rule's reason
        assert await shows(pilot, "○ 230V +35.00  — rule 1: mains needs the steel housing")
        await pilot.press("down", "enter")  # Housing: Steel
        assert await shows(pilot, "● Steel +60.00")
        assert "rule 1" not in screen_text(app)
        await pilot.press("shift+tab", "down", "enter")  # Voltage: 230V, allowed now
        assert await shows(pilot, "Unit price 575.00")  # 480 + 35 + 60, live
        assert "Actuator 600 (Voltage=230V, Housing=Steel)" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: not isinstance(app.screen, ConfiguratorScreen))
    for _ in range(100):  # the opener runs in its own process
        if opened.exists() and opened.read_bytes():
            break
        time.sleep(0.05)
    assert opened.read_bytes() == b"%PDF-1.4 sheet"
    lines = draft_lines(shop)
    assert len(lines) == before + 1
    assert lines[-1]["configuration"] == "Voltage=230V, Housing=Steel"
    assert lines[-1]["unit_price"] == Decimal("575")


async def test_the_quote_editor_opens_the_configurator_for_a_configurable_product(shop: Path) -> None:
    before = len(draft_lines(shop))
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pick_the_draft(pilot)
        app.screen.action_add_line()  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press(*"LA-600", "enter")
        assert await shows(pilot, "Configure LA-600")
        await pilot.press("tab", "down", "enter")  # Housing: Steel (Voltage keeps its default, 24V)
        assert await shows(pilot, "Unit price 540.00")
        await pilot.press("ctrl+s")
        # the line form, with the configuration and its price in the live totals
        assert await shows(pilot, "Configuration: Voltage=24V, Housing=Steel")
        assert "line net 540.00" in screen_text(app)
        await pilot.press("ctrl+s")
        assert await gone(pilot, FormScreen)
    lines = draft_lines(shop)
    assert len(lines) == before + 1
    assert (lines[-1]["configuration"], lines[-1]["unit_price"]) == (
        "Voltage=24V, Housing=Steel",
        Decimal("540"),
    )


async def test_a_product_without_options_goes_straight_to_the_line_form(shop: Path) -> None:
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await pick_the_draft(pilot)
        app.screen.action_add_line()  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press(*"LA-450", "enter")
        assert await shows(pilot, "Add a line to")
        assert not isinstance(app.screen, ConfiguratorScreen)


async def test_duplicates_view_shows_the_pair_side_by_side_and_merges(shop: Path) -> None:
    ws = Workspace(shop)
    try:  # the order the scan gives the pair (oldest first: ids made in one millisecond may tie)
        [group] = dedupe.scan(ws, ["contact"])
        first, second = (title for _, title in group.records)
    finally:
        ws.close()
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        app.switch_mode("duplicates")
        assert await shows(pilot, "Duplicates among contacts: 1 group")
        text = screen_text(app)
        assert f"{first} / {second}" in text and "email" in text
        assert f"Keep {first!r}, merge {second!r} into it" in text
        await pilot.press("s")  # keep the other one instead
        assert await shows(pilot, f"Keep {second!r}, merge {first!r} into it")
        await pilot.press("tab")  # to the fields: take the name from the other
        table = app.screen.query_one("#dup-fields", Table)
        table.move_cursor(
            row=next(i for i in range(table.row_count) if str(table.get_row_at(i)[1]) == "name")
        )
        await pilot.press("f")
        assert await shows(pilot, "← take")
        await pilot.press("m")
        assert await shows(pilot, f"Merge {first!r} into {second!r}?")
        await pilot.press("enter")
        assert await shows(pilot, "Duplicates among contacts: 0 groups")
        await pilot.press("t")
        assert await shows(pilot, "Duplicates among leads")
        await pilot.press("t")
        assert await shows(pilot, "Duplicates among accounts")
    ws = Workspace(shop)
    try:
        alive = ws.store.select(CONTACT, "email = ?", ("jane@dupes.example",))
        # the survivor took the name from the other; its empty phone (if any) was filled
        assert [(c["name"], c["phone"]) for c in alive] == [(first, "+49 30 1111")]
    finally:
        ws.close()


async def test_a_late_highlight_of_the_same_group_keeps_the_swap_and_the_fields_taken(shop: Path) -> None:
    """The groups table announces its row again after the view has loaded (a rep who presses s at
    once, or a reload); that must not undo a swap or a field taken on the group shown."""
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        app.switch_mode("duplicates")
        assert await shows(pilot, "Duplicates among contacts: 1 group")
        before = screen_text(app)
        await pilot.press("s")
        await pilot.pause()
        swapped = screen_text(app)
        assert swapped != before and "Keep " in swapped
        await pilot.press("tab", "f")
        assert await shows(pilot, "← take")
        groups = app.screen.query_one("#dup-groups", Table)
        row_key = next(iter(groups.rows))
        groups.post_message(DataTable.RowHighlighted(groups, 0, row_key))
        await pilot.pause()
        after = screen_text(app)
        assert "← take" in after and after.split("Keep ")[1][:60] == swapped.split("Keep ")[1][:60]


@pytest.mark.parametrize("screen_key", ["3", "9"], ids=["accounts", "contacts"])
async def test_m_on_accounts_and_contacts_opens_the_duplicates_view(shop: Path, screen_key: str) -> None:
    """The issue's "Duplicates view (on Accounts or Contacts)": `m` there, as `m` merges in it."""
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(screen_key)
        await pilot.pause()
        app.screen.query_one(Table).focus()  # a list has the focus, not the search box
        await pilot.press("m")
        assert await shows(pilot, "Duplicates among contacts: 1 group")


async def test_the_week_shows_the_events_of_its_days(shop: Path) -> None:
    app = SfaApp(shop, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        assert await shows(pilot, "event: MedTech fair (booth 4)")
        text = screen_text(app)
        assert text.count("event: MedTech fair") == 2  # Wednesday and Thursday
