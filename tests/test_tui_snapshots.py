"""Snapshots of every dashboard screen at 80×24 and 120×40, with a frozen clock and fixed data.

A layout change shows as a diff here; when it is intended, regenerate with
`pytest tests/test_tui_snapshots.py --snapshot-update` and commit the `.raw` files under tests/__snapshots__/ (the text and styles of each
cell, as syrupy stores them), reviewing the diff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sfa.tui.app import SfaApp
from sfa.tui.widgets import Table
from tests.tui_support import FROZEN, freeze, until
from tests.tui_support import filled as filled

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def select_row(table_id: str, column: int, value: str) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        await settle(pilot)
        table = pilot.app.screen.query_one(table_id, Table)
        table.move_cursor(
            row=next(i for i in range(table.row_count) if str(table.get_row_at(i)[column]) == value)
        )
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES)
def test_today_empty_store(snap_compare: Any, home: Path, monkeypatch: pytest.MonkeyPatch, size: Any) -> None:
    freeze(monkeypatch)
    assert snap_compare(SfaApp(home, now=FROZEN), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_today(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_pipeline(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(
        SfaApp(filled, now=FROZEN), press=["2", "l", "j"], terminal_size=size, run_before=settle
    )


@pytest.mark.parametrize("size", SIZES)
def test_accounts(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), press=["3"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_accounts_search(snap_compare: Any, filled: Path, size: Any) -> None:
    app = SfaApp(filled, now=FROZEN)
    assert snap_compare(app, press=["3", "slash", *"huber"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_account_360(snap_compare: Any, filled: Path, size: Any) -> None:
    async def open_account(pilot: Any) -> None:
        await pilot.press("3")
        # the list comes from the search thread: the rows must be there before j moves on them
        assert await until(pilot, lambda: bool(pilot.app.screen.query_one("#results", Table).row_count))
        await pilot.press("j", "j", "enter")  # Chiemsee Kliniken
        await settle(pilot)

    assert snap_compare(SfaApp(filled, now=FROZEN), terminal_size=size, run_before=open_account)


@pytest.mark.parametrize("size", SIZES)
def test_leads(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), press=["4"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_lead_convert_duplicate_warning(snap_compare: Any, filled: Path, size: Any) -> None:
    async def convert_max(pilot: Any) -> None:
        await pilot.press("4")
        await select_row("#leads-table", 1, "Max Huber")(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(SfaApp(filled, now=FROZEN), terminal_size=size, run_before=convert_max)


@pytest.mark.parametrize("size", SIZES)
def test_account_form_with_errors(snap_compare: Any, filled: Path, size: Any) -> None:
    app = SfaApp(filled, now=FROZEN)
    keys = ["3", "n", *"Zugspitz Bahn", "tab", "tab", *"12", "tab", *"nobody@", "tab", *"not a site"]
    assert snap_compare(app, press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_quotes(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), press=["5"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_quote_add_line_live_totals(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["5", "j", "tab", "n", *"AP-6", "enter", "tab", "tab", "tab", *"4", "tab", *"10%"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_forecast(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), press=["6"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_log_visit_form(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["l", *"Pilot agreed", "tab", "tab", *"Send pilot contract", "tab", *"fri"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_opportunity_edit_form(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["2", "l", "e", "tab", "ctrl+u", *"lots", "tab", "tab", "tab", "ctrl+u", *"120"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_quote_header_form(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["5", "j", "e", "ctrl+u", *"2026-01-31", "tab", *"Anna Berger"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_week(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), press=["8"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_week_plan_form(snap_compare: Any, filled: Path, size: Any) -> None:
    # a free time (an overlap's message names the other visit by its random ref: tested in
    # tests/test_tui_daily.py, not drawn here)
    keys = ["8", "n", *"donau", "enter", "ctrl+u", *"2026-03-17 10:00"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_week_route_confirmation(snap_compare: Any, filled: Path, size: Any) -> None:
    async def route(pilot: Any) -> None:
        await pilot.press("8")
        await select_row("#week-table", 0, "Wed 18 Mar")(pilot)
        await pilot.press("r")
        await settle(pilot)

    assert snap_compare(SfaApp(filled, now=FROZEN), terminal_size=size, run_before=route)


@pytest.mark.parametrize("size", SIZES)
def test_task_dialog(snap_compare: Any, filled: Path, size: Any) -> None:
    async def open_task(pilot: Any) -> None:
        await settle(pilot)
        table = pilot.app.screen.query_one("#tasks", Table)
        table.focus()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(SfaApp(filled, now=FROZEN), terminal_size=size, run_before=open_task)


@pytest.mark.parametrize("size", SIZES)
def test_won_confirmation(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["2", "l", "l", "w"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_lead_form_duplicate_as_typed(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["4", "n", *"Max Huber", "enter", *"Brauerei Huber"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_quote_product_picker(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["5", "j", "tab", "n", *"wi"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_contacts(snap_compare: Any, filled: Path, size: Any) -> None:
    assert snap_compare(SfaApp(filled, now=FROZEN), press=["9"], terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_contact_view(snap_compare: Any, filled: Path, size: Any) -> None:
    keys = ["9", "slash", *"keller", "enter", "enter"]
    assert snap_compare(SfaApp(filled, now=FROZEN), press=keys, terminal_size=size, run_before=settle)
