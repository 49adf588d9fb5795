"""The dashboard driven by Textual's Pilot: every screen, and the flows across services."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY
from sfa.services import crm, leads
from sfa.store.workspace import Workspace
from sfa.tui import sample
from sfa.tui.app import SfaApp
from sfa.tui.widgets import Options, Table
from tests.tui_support import FROZEN, freeze, screen_text, until
from tests.tui_support import check as check
from tests.tui_support import filled as filled

pytestmark = pytest.mark.asyncio

SIZE = (80, 24)


def opp_named(ws: Workspace, name: str) -> dict[str, object]:
    return next(o for o in crm.list_opportunities(ws) if o["name"] == name)


async def test_empty_store_offers_the_demo_data(home: Path, check: Workspace) -> None:
    app = SfaApp(home, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await until(pilot, lambda: "This store is empty" in screen_text(app))
        await pilot.click("#load-demo")
        await pilot.pause()
        assert await until(pilot, lambda: "This store is empty" not in screen_text(app))
    assert check.store.count(ACCOUNT) > 0
    assert check.store.count(OPPORTUNITY) > 0


async def test_demo_key_refuses_a_store_with_data(filled: Path, check: Workspace) -> None:
    before = check.store.count(ACCOUNT)
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")
        await pilot.pause()
        assert await until(pilot, lambda: any("already holds data" in n.message for n in app._notifications))
    assert check.store.count(ACCOUNT) == before


async def test_today_lists_deals_closing_and_status_bar_counts_pending(
    filled: Path, check: Workspace
) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "Monday 16 March 2026" in text
        assert "Patient portal" in text  # closes in 3 days
        assert "Fleet telematics" not in text  # closes in 12 days
        from sfa.services import status

        pending = status.pending_changes(check)
        assert pending > 0
        assert f"offline · {pending} pending" in text


async def test_number_keys_switch_screens_and_every_screen_paints(filled: Path) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        for key, marker in (
            ("2", "qualification (2)"),
            ("3", "Alpenblick Hotel"),
            ("4", "Nina Vogel"),
            ("1", "Deals closing"),
        ):
            await pilot.press(key)
            await pilot.pause()
            assert marker in screen_text(app), key


async def test_pipeline_moves_with_keys_and_closes_won_or_lost(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        # first column: initiation, holding "Clinic tablets"
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert await until(pilot, lambda: opp_named(check, "Clinic tablets")["stage"] == "identification")
        assert "identification (2)" in screen_text(app)
        # the moved deal stays selected in its new column: move it back
        await pilot.press("less_than_sign")
        await pilot.pause()
        assert await until(pilot, lambda: opp_named(check, "Clinic tablets")["stage"] == "initiation")
        # l/right: next column (identification: Brewery ERP link); x: lost, with a reason
        await pilot.press("l", "x")
        await pilot.pause()
        await pilot.press(*"no budget", "enter")
        await pilot.pause()
        lost = opp_named(check, "Brewery ERP link")
        assert (lost["stage"], lost["lost_reason"]) == ("lost", "no budget")
        # j moves down the list; w asks, Escape writes nothing, Enter marks won
        await pilot.press("l", "j", "w")
        await pilot.pause()
        assert await until(pilot, lambda: "Won: Warehouse scanners" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        assert await until(pilot, lambda: opp_named(check, "Warehouse scanners")["stage"] == "qualification")
        await pilot.press("w", "enter")
        await pilot.pause()
        assert await until(pilot, lambda: opp_named(check, "Warehouse scanners")["stage"] == "won")
        assert "Warehouse scanners" not in screen_text(app)


async def test_lost_needs_a_reason(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "x")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert await until(pilot, lambda: "required" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
    assert opp_named(check, "Clinic tablets")["stage"] == "initiation"


async def test_accounts_search_as_you_type_and_360_view(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash", *"huber")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "Brauerei Huber" in text and "Max Huber" in text  # an account, a contact, a lead
        assert "Alpenblick" not in text
        table = app.screen.query_one("#results", Table)
        assert table.row_count >= 3
        # Enter on the account row opens the 360° view
        await pilot.press("enter")  # from the search box to the results
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        index = next(i for i, row in enumerate(rows) if row[0] == "account")
        table.move_cursor(row=index)
        await pilot.press("enter")
        await pilot.pause()
        text = screen_text(app)
        assert "Contacts" in text and "Max Huber" in text and "Bottling line sensors" in text
        # add a contact in place
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*"Eva Huber", "tab", *"Brewer", "tab", *"not-an-email")
        await pilot.pause()
        assert await until(pilot, lambda: "email" in screen_text(app))  # checked as typed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(
            pilot, lambda: check.store.count(CONTACT, "name = ?", ("Eva Huber",)) == 0
        )  # refused
        for _ in "not-an-email":
            await pilot.press("backspace")
        await pilot.press(*"eva@huber-bier.example", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Eva Huber" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        assert await until(pilot, lambda: app.screen.query("#results"))
    contact = next(c for c in crm.list_contacts(check) if c["name"] == "Eva Huber")
    assert contact["email"] == "eva@huber-bier.example"


async def test_new_account_and_edit_in_place(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "n")
        await pilot.pause()
        await pilot.press(*"Zugspitz Bahn", "enter", *"tourism", "enter")  # Enter: the next field
        await pilot.pause()
        assert await until(
            pilot, lambda: check.store.count(ACCOUNT, "name = ?", ("Zugspitz Bahn",)) == 0
        )  # not saved by Enter
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Zugspitz Bahn" in screen_text(app))
        await pilot.press("G", "e")  # last row, edit
        await pilot.pause()
        await pilot.press("tab", "ctrl+u", *"transport", "ctrl+s")
        await pilot.pause()
    account = next(a for a in crm.list_accounts(check) if a["name"] == "Zugspitz Bahn")
    assert account["industry"] == "transport"


async def test_leads_qualify_and_disqualify(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("greater_than_sign")  # Nina Vogel: hot, newest; new → contacted, asked
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert await until(
            pilot,
            lambda: next(x for x in leads.list_leads(check) if x["name"] == "Nina Vogel")["status"] == "new",
        )
        await pilot.press("greater_than_sign", "enter", "greater_than_sign", "enter")  # → qualified
        await pilot.pause()
        await pilot.press("j", "x")  # Jonas Maier
        await pilot.pause()
        await pilot.press(*"no project", "enter")
        await pilot.pause()
        assert await until(pilot, lambda: "Jonas Maier" not in screen_text(app))  # the inbox shows open leads
        await pilot.press("a")
        await pilot.pause()
        assert await until(pilot, lambda: "Jonas Maier" in screen_text(app))
    by_name = {lead["name"]: lead for lead in leads.list_leads(check)}
    assert by_name["Nina Vogel"]["status"] == "qualified"
    assert (by_name["Jonas Maier"]["status"], by_name["Jonas Maier"]["disqualify_reason"]) == (
        "disqualified",
        "no project",
    )


async def test_convert_a_lead_shows_the_duplicate_check(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.query_one(Table)
        index = next(i for i in range(table.row_count) if table.get_row_at(i)[1] == "Max Huber")
        table.move_cursor(row=index)
        await pilot.press("c")
        await pilot.pause()
        text = screen_text(app)
        assert "Possible duplicate" in text and "contact 'Max Huber': same email" in text
        await pilot.press("y")
        await pilot.pause()
        await pilot.press(*"Cold room monitoring", "tab", *"23k", "tab", *"2026-06-30", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Max Huber" not in screen_text(app))
    lead = next(x for x in leads.list_leads(check) if x["name"] == "Max Huber")
    assert lead["status"] == "converted"
    account = check.store.get(ACCOUNT, lead["account_id"])
    assert account["name"] == "Brauerei Huber"  # the existing account, not a second one
    assert check.store.count(ACCOUNT, "name = ?", ("Brauerei Huber",)) == 1
    opp = check.store.get(OPPORTUNITY, lead["opportunity_id"])
    assert (opp["name"], str(opp["amount"]), str(opp["close_date"])) == (
        "Cold room monitoring",
        "23000.00",
        "2026-06-30",
    )


async def test_convert_without_duplicates_asks_nothing_first(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "c")  # Nina Vogel
        await pilot.pause()
        text = screen_text(app)
        assert "no matching lead or contact" in text
        await pilot.press("ctrl+s")  # no opportunity
        await pilot.pause()
    lead = next(x for x in leads.list_leads(check) if x["name"] == "Nina Vogel")
    assert lead["status"] == "converted" and lead["opportunity_id"] is None
    assert check.store.get(LEAD, lead["id"])["account_id"]


async def test_command_palette_reaches_actions_by_name(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go to pipeline")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert await until(pilot, lambda: app.current_mode == "pipeline")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"stage on")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
    assert opp_named(check, "Clinic tablets")["stage"] == "identification"


async def test_j_and_k_move_in_lists(filled: Path) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.query_one(Table)
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("2", "j")
        options = app.screen.query(Options)
        assert any(o.has_focus for o in options)


async def test_search_with_only_punctuation_shows_nothing_and_keeps_going(filled: Path) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash", "*", "?")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: "type a word to search" in screen_text(app))
        for _ in range(2):
            await pilot.press("backspace")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: "4 accounts" in screen_text(app))


def test_sample_is_fixed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    freeze(monkeypatch)
    ws = Workspace(home)
    try:
        counts = sample.load(ws, today=FROZEN.date())
        names = [a["name"] for a in crm.list_accounts(ws)]
    finally:
        ws.close()
    assert counts["accounts"] == 4 and counts["opportunities"] == 8
    assert names == ["Alpenblick Hotel", "Brauerei Huber", "Chiemsee Kliniken", "Donau Logistik"]


async def test_build_and_send_a_quote_moves_the_opportunity(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "l", "l")  # qualification: Guest Wi-Fi refresh
        await pilot.pause()
        await pilot.press("q")  # its draft (the sample has one), opened in the editor: no second one
        await pilot.pause()
        assert await until(pilot, lambda: app.current_mode == "quotes")
        assert any("its draft Q-" in n.message for n in app._notifications)
        assert "DRAFT · " in screen_text(app) and "Guest Wi-Fi refresh" in screen_text(app)
        await pilot.press("tab", "n")  # on the lines: a new line, the product picker first
        await pilot.pause()
        await pilot.press(*"AP-6", "enter")
        await pilot.pause()
        await pilot.press("tab", "tab", "tab", *"10", "tab", *"10%")
        await pilot.pause()
        text = screen_text(app)
        assert "line net 3,141.00 EUR" in text  # 10 × 349 − 10 %, live as typed
        assert "Total     10,804.72 EUR" in text  # the draft's lines and this one, + 19 % tax
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Wi-Fi 6 access point" in screen_text(app))
        await pilot.press("s")  # asks first
        await pilot.pause()
        assert await until(pilot, lambda: "Send Q-" in screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        assert await until(pilot, lambda: "SENT · " in screen_text(app))
        await pilot.press("2")
        await pilot.pause()
        from sfa.tui.screens.pipeline import StageColumn

        column = next(c for c in app.screen.query(StageColumn) if c.stage == "quotation sent")
        assert column.query_one(Options).option_count == 3  # the board shows it moved
    assert opp_named(check, "Guest Wi-Fi refresh")["stage"] == "quotation sent"


async def test_quote_editor_refuses_bad_lines_and_decides(filled: Path, check: Workspace) -> None:
    from sfa.services import quotes

    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.pause()
        text = screen_text(app)
        assert "Tax 7% on 360.00 EUR: 25.20 EUR" in text  # the sent quote: two tax rates
        await pilot.press("tab", "n")  # a sent quote is locked
        await pilot.pause()
        assert await until(
            pilot, lambda: any("lines are added to a draft" in n.message for n in app._notifications)
        )
        await pilot.press("shift+tab", "j", "tab", "n", "enter")  # the draft; a free line
        await pilot.pause()
        await pilot.press(*"x", "tab", *"y", "tab", *"-5", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "price" in screen_text(app))  # refused as typed, the form stays
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("shift+tab", "k", "w")  # accept the sent quote: asked first
        await pilot.pause()
        await pilot.press("enter")  # its opportunity is won
        await pilot.pause()
        await pilot.press("j", "s", "enter")  # send the draft (Guest Wi-Fi refresh)
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"too dear", "enter")
        await pilot.pause()
    by_opp = {q["opportunity_id"]: q for q in quotes.list_quotes(check)}
    spa, wifi = opp_named(check, "Spa booking system"), opp_named(check, "Guest Wi-Fi refresh")
    assert by_opp[spa["id"]]["status"] == "accepted" and spa["stage"] == "won"
    assert by_opp[wifi["id"]]["status"] == "rejected" and by_opp[wifi["id"]]["reject_reason"] == "too dear"


async def test_quote_revise_and_export_in_a_worker(filled: Path, check: Workspace, tmp_path: Path) -> None:
    from sfa.services import quotes

    target = tmp_path / "quote.md"
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5", "v")  # revise the sent quote: a new draft revision
        await pilot.pause()
        assert await until(pilot, lambda: "rev 2" in screen_text(app))
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("ctrl+u", *str(target), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: any("wrote" in n.message for n in app._notifications))
    assert "LIC-SPA" in target.read_text() or "Spa booking licence" in target.read_text()
    assert max(q["revision"] for q in quotes.list_quotes(check, all_revisions=True)) == 2


async def test_forecast_charts_by_month_and_quarter(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("sfa.services.reports")
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await pilot.pause()
        text = screen_text(app)
        assert "Forecast by month" in text and "2026-03" in text and "▓" in text
        assert "final stage" in text  # the pipeline chart
        await pilot.press("b")
        await pilot.pause()
        text = screen_text(app)
        assert "Forecast by quarter" in text and "2026-Q1" in text


async def test_log_a_visit_from_today_and_see_its_follow_up(filled: Path, check: Workspace) -> None:
    pytest.importorskip("sfa.services.visits")
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await until(pilot, lambda: "demo the patient portal" in screen_text(app))
        await pilot.press("l")  # the first visit of the day
        await pilot.pause()
        await pilot.press(*"Pilot agreed", "tab", *"Lena wants a pilot", "tab", *"Send pilot contract")
        await pilot.press("tab", *"2026-03-1")
        await pilot.pause()
        assert await until(
            pilot, lambda: "not a date" in screen_text(app) or "due" in screen_text(app)
        )  # checked as typed
        await pilot.press(*"6", "ctrl+s")  # due today (the frozen 2026-03-16)
        await pilot.pause()
        text = screen_text(app)
        assert "Send pilot contract" in text  # the follow-up task shows under Tasks due
        assert "done" in text  # the visit is logged


async def test_mouse_clicks_the_screen_bar_and_rows(filled: Path) -> None:
    from sfa.tui.widgets import NavBar

    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click(NavBar, offset=(13, 0))  # " 2 Pipeline "
        await pilot.pause()
        assert await until(pilot, lambda: app.current_mode == "pipeline")
        await pilot.click(NavBar, offset=(33, 0))  # " 4 Leads "
        await pilot.pause()
        assert await until(pilot, lambda: app.current_mode == "leads")
        await pilot.click("#leads-table", offset=(10, 3))  # the third lead
        await pilot.pause()
        assert await until(pilot, lambda: app.screen.query_one(Table).cursor_row == 2)


async def test_360_view_lists_the_accounts_quotes(filled: Path) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "enter")  # Alpenblick Hotel
        await pilot.pause()
        text = screen_text(app)
        assert "Quotes" in text and "sent" in text and "draft" in text and "6,097.20 EUR" in text


async def test_long_lists_scroll_inside_the_screen(home: Path, check: Workspace) -> None:
    """Many rows scroll in their table; the screen bar, the search box and the hint stay in view."""
    for number in range(60):
        crm.add_account(check, {"name": f"Musterfirma {number:02d}"})
    app = SfaApp(home, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash", "m", "u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "1 Tod" in text and "found for 'mu'" in text and "Musterfirma 00" in text
        await pilot.press("tab", "G")  # to the table, last row
        await pilot.pause()
        text = screen_text(app)
        assert "1 Tod" in text and "found for 'mu'" in text


async def test_pipeline_edits_an_opportunity_in_place(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "e")  # first column: Clinic tablets (15k)
        await pilot.pause()
        assert await until(pilot, lambda: "Edit opportunity Clinic tablets" in screen_text(app))
        # amount: a bad value is refused as typed and on save; nothing is written
        await pilot.press("tab", "ctrl+u", *"lots")
        await pilot.pause()
        assert await until(pilot, lambda: "amount" in screen_text(app) and "'lots'" in screen_text(app))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(
            pilot, lambda: "Edit opportunity Clinic tablets" in screen_text(app)
        )  # the form stays
        assert opp_named(check, "Clinic tablets")["amount"] == 15000
        # a good amount and a next step: saved through the service, shown on the board
        await pilot.press(
            "ctrl+u", *"18.5k", "tab", "tab", "tab", "tab", "tab", "tab", *"call Lena", "ctrl+s"
        )
        await pilot.pause()
        assert await until(pilot, lambda: "Edit opportunity" not in screen_text(app))
        assert "Chiemsee Klinik   18k 15 May" in screen_text(app)  # was 15k
    opp = opp_named(check, "Clinic tablets")
    assert (opp["amount"], opp["next_step"], opp["stage"]) == (18500, "call Lena", "initiation")


async def test_opportunity_form_checks_stage_probability_and_contact(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "e")
        await pilot.pause()
        await pilot.press("tab", "tab", "tab", "ctrl+u", *"nowhere")  # stage
        await pilot.pause()
        assert await until(pilot, lambda: "is not a stage" in screen_text(app))
        await pilot.press("ctrl+u", *"lost")
        await pilot.pause()
        assert await until(pilot, lambda: "needs a reason" in screen_text(app))
        await pilot.press("ctrl+u", *"identification", "tab", "ctrl+u", *"120")  # probability
        await pilot.pause()
        assert await until(pilot, lambda: "outside 0..100" in screen_text(app))
        await pilot.press("ctrl+u", *"35", "tab", "tab", *"Max Huber")  # a contact at another account
        await pilot.pause()
        assert await until(pilot, lambda: "no contact named 'Max Huber'" in screen_text(app))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(
            pilot, lambda: opp_named(check, "Clinic tablets")["stage"] == "initiation"
        )  # nothing written
        await pilot.press("ctrl+u", *"lena wolf", "ctrl+s")  # a contact here, by name
        await pilot.pause()
        assert await until(pilot, lambda: "identification (2)" in screen_text(app))
    opp = opp_named(check, "Clinic tablets")
    lena = next(c for c in crm.list_contacts(check) if c["name"] == "Lena Wolf")
    # as `sfa opp edit --stage identification --probability 35`: the typed probability is kept
    assert (opp["stage"], opp["probability"], opp["contact_id"]) == ("identification", 35, lena["id"])


async def test_360_view_edits_an_opportunity_in_place(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3", "j", "j", "enter")  # Chiemsee Kliniken
        await pilot.pause()
        assert await until(pilot, lambda: "Patient portal" in screen_text(app))
        opps = app.screen.query_one("#opps-table", Table)
        opps.focus()
        opps.move_cursor(
            row=next(i for i in range(opps.row_count) if opps.get_row_at(i)[0] == "Clinic tablets")
        )
        await pilot.press("e")
        await pilot.pause()
        assert await until(pilot, lambda: "Edit opportunity Clinic tablets" in screen_text(app))
        for _ in range(5):
            await pilot.press("tab")
        await pilot.press("ctrl+u", *"someday")  # close date
        await pilot.pause()
        assert await until(pilot, lambda: "close_date" in screen_text(app))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(
            pilot, lambda: str(opp_named(check, "Clinic tablets")["close_date"]) == "2026-05-15"
        )  # unchanged
        await pilot.press("ctrl+u", *"2026-06-30", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "2026-06-30" in screen_text(app))
        assert "Contacts" in screen_text(app)  # back on the 360° view
    assert str(opp_named(check, "Clinic tablets")["close_date"]) == "2026-06-30"


async def test_quote_header_edit_in_place_only_for_drafts(filled: Path, check: Workspace) -> None:
    from sfa.services import quotes

    def wifi_quote() -> dict[str, object]:
        wifi = opp_named(check, "Guest Wi-Fi refresh")
        return next(q for q in quotes.list_quotes(check) if q["opportunity_id"] == wifi["id"])

    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5", "e")  # the sent quote: locked
        await pilot.pause()
        assert await until(
            pilot, lambda: any("only a draft can be changed" in n.message for n in app._notifications)
        )
        assert "header" not in screen_text(app)
        await pilot.press("j", "e")  # the draft
        await pilot.pause()
        assert await until(pilot, lambda: ": header" in screen_text(app))
        await pilot.press("ctrl+u", *"2026-01-31")  # valid until, in the past
        await pilot.pause()
        assert await until(pilot, lambda: "in the past" in screen_text(app))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: str(wifi_quote()["valid_until"]) == "2026-04-15")  # nothing written
        await pilot.press("ctrl+u", *"2026-04-30", "tab", *"Anna Berger", "tab", *"net 30 days", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: ": header" not in screen_text(app))
        assert "2026-04-30" in screen_text(app)
    quote = wifi_quote()
    anna = next(c for c in crm.list_contacts(check) if c["name"] == "Anna Berger")
    assert (str(quote["valid_until"]), quote["contact_id"], quote["terms"]) == (
        "2026-04-30",
        anna["id"],
        "net 30 days",
    )


async def test_command_palette_reaches_the_edit_forms(filled: Path) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        for mode, name, title in (
            ("2", "edit the opportunity", "Edit opportunity"),
            ("5", "edit the quote header", ": header"),
        ):
            await pilot.press(mode)
            await pilot.pause()
            if mode == "5":
                await pilot.press("j")
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*name)
            await pilot.pause(0.3)
            await pilot.press("enter")
            await pilot.pause()
            assert title in screen_text(app), name
            await pilot.press("escape")
            await pilot.pause()


async def test_360_view_edits_a_contact_in_place(filled: Path, check: Workspace) -> None:
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3", "j", "j", "enter")  # Chiemsee Kliniken: contacts Lena Wolf, Tobias Keller
        await pilot.pause()
        await pilot.press("j", "e")  # e edits the focused contact (Enter opens its own view)
        await pilot.pause()
        assert await until(pilot, lambda: "Edit Tobias Keller" in screen_text(app))
        await pilot.press("tab", "tab", "ctrl+u", *"tobias@")  # email
        await pilot.pause()
        assert await until(pilot, lambda: "email" in screen_text(app))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Edit Tobias Keller" in screen_text(app))  # refused, the form stays
        await pilot.press("ctrl+u", *"tobias.keller@chiemsee-kliniken.example", "ctrl+s")
        await pilot.pause()
        assert await until(
            pilot,
            lambda: "Edit Tobias Keller" not in screen_text(app) and "tobias.keller@" in screen_text(app),
        )
    tobias = next(c for c in crm.list_contacts(check) if c["name"] == "Tobias Keller")
    assert tobias["email"] == "tobias.keller@chiemsee-kliniken.example"


async def test_search_results_show_an_edit_made_in_place(filled: Path, check: Workspace) -> None:
    """The same records found again after a write are drawn again (not skipped as unchanged)."""
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash", *"huber")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#results", Table)
        table.focus()
        table.move_cursor(row=next(i for i in range(table.row_count) if table.get_row_at(i)[0] == "account"))
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+u", *"Brauerei Huber AG", "ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: "Brauerei Huber AG" in screen_text(app))
    assert any(a["name"] == "Brauerei Huber AG" for a in crm.list_accounts(check))


async def test_search_fetches_the_rows_the_table_shows(home: Path, check: Workspace) -> None:
    for number in range(60):
        crm.add_account(check, {"name": f"Musterfirma {number:02d}"})
    app = SfaApp(home, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash", "m", "u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#results", Table)
        visible = table.size.height - 1  # below the header
        assert 10 <= table.row_count == visible < 30
        assert f"{visible} found for 'mu', best first; type more to narrow" in screen_text(app)


async def test_each_screen_reads_its_data_once_when_first_shown(
    filled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfa.tui.screens.accounts import AccountsScreen
    from sfa.tui.screens.today import TodayScreen

    calls: list[str] = []
    for screen in (TodayScreen, AccountsScreen):
        original = screen.reload

        def counted(self: object, original: object = original, name: str = screen.__name__) -> None:
            calls.append(name)
            original(self)  # type: ignore[operator]

        monkeypatch.setattr(screen, "reload", counted)
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert calls == ["TodayScreen", "AccountsScreen"]


async def test_collector_settings_are_put_back_when_the_app_ends(filled: Path) -> None:
    import gc

    before = gc.get_threshold()
    app = SfaApp(filled, now=FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await until(
            pilot, lambda: gc.get_threshold()[2] > before[2]
        )  # full passes only when idle while it runs
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_a_crash_under_pilot_writes_the_log_and_still_reaches_the_test(filled: Path) -> None:
    """The crash log is written by the app itself (whatever runs it), and Textual still hands the
    exception to a test driving the app, so a crash never passes a Pilot test unnoticed."""
    import sqlite3

    with sqlite3.connect(filled / "sfa.db") as db:
        db.execute("DROP TABLE quote_line")
    app = SfaApp(filled, now=FROZEN)
    with pytest.raises(sqlite3.OperationalError, match="quote_line"):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            await pilot.pause()
    assert app.crash is not None and app.return_code == 1
    _, log = app.crash
    assert log is not None and log.parent == filled and "no such table: quote_line" in log.read_text()


def test_crash_log_falls_back_to_the_temp_folder_and_never_overwrites(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from textual.worker import WorkerFailed

    from sfa.tui import crash

    try:
        {}["task"]
    except KeyError as exc:
        error: BaseException = WorkerFailed(exc)  # as Textual reports an error in a worker
    assert crash.summary(error) == "KeyError: 'task'"
    moment = datetime(2026, 11, 29, 4, 5, 6, tzinfo=UTC)
    first = crash.write_crash_log(tmp_path, error, now=moment)
    second = crash.write_crash_log(tmp_path, error, now=moment)
    assert first == tmp_path / "crash-20261129-040506.log"
    assert second == tmp_path / "crash-20261129-040506-1.log"
    text = first.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'task'" in text
    assert "raised in a worker" in text
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    elsewhere = crash.write_crash_log(not_a_folder, ValueError("x\ny"), now=moment)
    assert elsewhere is not None and elsewhere.parent != not_a_folder
    elsewhere.unlink()
    assert crash.summary(ValueError("first line\nsecond")) == "ValueError: first line"
    assert crash.summary(ValueError("z" * 500)).endswith("…")
    line = str(crash.crashed(ValueError("x"), None))
    assert "\n" not in line and "no crash log could be written" in line
