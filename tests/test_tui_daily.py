"""The dashboard as the rep's daily driver (issue 13): confirmations, writes only on the focused
row, forms that move with Enter, one key vocabulary, Today complete, visit planning on the Week
screen, capture from any screen. Every write is checked through a second workspace on the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sfa.domain.entities import LEAD, QUOTE, QUOTE_LINE, TASK
from sfa.services import crm, leads, quotes, tasks, visits
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp, _actions_of
from sfa.tui.widgets import Table
from tests.tui_support import FROZEN, screen_text, shows, until
from tests.tui_support import check as check
from tests.tui_support import filled as filled

pytestmark = pytest.mark.asyncio

SIZE = (80, 24)
WEDNESDAY = date(2026, 3, 18)


def app_on(home: Path) -> SfaApp:
    return SfaApp(home, now=FROZEN, background_sync=False)


def task_named(ws: Workspace, title: str) -> dict[str, Any]:
    return next(t for t in tasks.list_tasks(ws, "all") if t["title"] == title)


def visit_at(ws: Workspace, account: str, day: date | None = None) -> dict[str, Any]:
    rows = visits.agenda(ws, day or FROZEN.date(), day or FROZEN.date(), include_cancelled=True)
    return next(r["visit"] for r in rows if r["account"] == account)


def notes(app: SfaApp) -> list[str]:
    return [n.message for n in app._notifications]


def focus_row(app: SfaApp, table_id: str, column: int, value: str) -> Table:
    table = app.screen.query_one(table_id, Table)
    table.focus()
    table.move_cursor(
        row=next(i for i in range(table.row_count) if str(table.get_row_at(i)[column]) == value)
    )
    return table


# -- no silent damage -------------------------------------------------------------------------------


async def test_d_on_today_acts_only_on_a_focused_task_and_asks_first(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await until(
            pilot, lambda: app.screen.query_one("#visits", Table).has_focus
        )  # a fresh start: the visits
        await pilot.press("d")  # not on a task: nothing is done
        await pilot.pause()
        assert await until(pilot, lambda: any("move to a task" in n for n in notes(app)))
        assert tasks.count_tasks(check, "done") == 0
        focus_row(app, "#tasks", 1, "Call Max about the trial")
        await pilot.press("d")
        await pilot.pause()
        assert await until(pilot, lambda: "Mark done: Call Max about the trial" in screen_text(app))
        await pilot.press("escape")  # Escape writes nothing
        await pilot.pause()
        assert await until(pilot, lambda: task_named(check, "Call Max about the trial")["status"] == "open")
        await pilot.press("d", "enter")
        await pilot.pause()
    assert task_named(check, "Call Max about the trial")["status"] == "done"
    assert task_named(check, "Send Wi-Fi site survey")["status"] == "open"  # the first task: untouched


async def test_delete_on_quotes_never_removes_a_line_from_the_quote_list(
    filled: Path, check: Workspace
) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5", "j")  # the draft, the quote list focused
        await pilot.pause()
        draft = quotes.list_quotes(check, status="draft")[0]
        before = check.store.count(QUOTE_LINE, "quote_id = ?", (draft["id"],))
        await pilot.press("d")  # on the list: delete the draft, asked first
        await pilot.pause()
        assert await until(pilot, lambda: "Delete the draft" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        assert await until(
            pilot, lambda: check.store.count(QUOTE_LINE, "quote_id = ?", (draft["id"],)) == before
        )
        assert check.store.count(QUOTE, "id = ?", (draft["id"],)) == 1
        await pilot.press("tab", "j", "d")  # on the lines: line 2, asked first
        await pilot.pause()
        assert await until(pilot, lambda: "Remove line 2?" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        assert await until(
            pilot, lambda: check.store.count(QUOTE_LINE, "quote_id = ?", (draft["id"],)) == before
        )
        await pilot.press("d", "enter")
        await pilot.pause()
        lines = quotes.lines_of(check, draft["id"])
        assert [line["description"] for line in lines] == ["Wi-Fi 6 access point"]  # line 1 stays
        await pilot.press("shift+tab", "d", "enter")  # the draft itself
        await pilot.pause()
    assert check.store.count(QUOTE, "id = ?", (draft["id"],)) == 0
    assert check.store.count(QUOTE_LINE, "quote_id = ?", (draft["id"],)) == 0


async def test_quote_decisions_ask_and_escape_writes_nothing(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")  # the sent quote
        await pilot.pause()
        for key in ("w", "x"):  # accept asks; reject asks a reason
            await pilot.press(key)
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()
        await pilot.press("j", "s")  # send the draft: asked
        await pilot.pause()
        assert await until(pilot, lambda: "Send Q-" in screen_text(app))
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("k", "d")  # delete is for drafts: on the sent quote it says why
        await pilot.pause()
        assert await until(pilot, lambda: any("only a draft can be deleted" in n for n in notes(app)))
    assert sorted(q["status"] for q in quotes.list_quotes(check)) == ["draft", "sent"]


async def test_pipeline_writes_nothing_without_a_focused_deal(filled: Path, check: Workspace) -> None:
    before = {o["name"]: o["stage"] for o in crm.list_opportunities(check)}
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        app.screen.set_focus(None)  # nothing focused (a click on the summary line, for example)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert await until(pilot, lambda: "Won:" not in screen_text(app))
    assert {o["name"]: o["stage"] for o in crm.list_opportunities(check)} == before


async def test_q_on_a_deal_opens_its_draft_instead_of_a_second_one(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "l")  # identification: Brewery ERP link, no quote yet
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert await until(pilot, lambda: app.current_mode == "quotes")
        await pilot.press("2", "q")  # again: the same draft
        await pilot.pause()
        assert await until(pilot, lambda: app.current_mode == "quotes")
    opp = next(o for o in crm.list_opportunities(check) if o["name"] == "Brewery ERP link")
    assert check.store.count(QUOTE, "opportunity_id = ?", (opp["id"],)) == 1


async def test_enter_in_a_form_moves_to_the_next_field_and_ctrl_s_saves(
    filled: Path, check: Workspace
) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")  # log the first visit (Chiemsee Kliniken 09:00)
        await pilot.pause()
        await pilot.press(*"Pilot agreed", "enter")  # Enter: the next field, nothing saved
        await pilot.pause()
        assert await until(pilot, lambda: visit_at(check, "Chiemsee Kliniken")["status"] == "planned")
        assert app.screen.focused is not None and app.screen.focused.id == "f-notes"
        await pilot.press(*"Lena wants a pilot", "enter", *"Send pilot contract", "enter", *"fri")
        await pilot.press("escape")  # Escape: nothing written
        await pilot.pause()
        assert await until(pilot, lambda: visit_at(check, "Chiemsee Kliniken")["status"] == "planned")
        await pilot.press("l", *"Pilot agreed", "enter", "enter", *"Send contract", "ctrl+s")
        await pilot.pause()
    visit = visit_at(check, "Chiemsee Kliniken")
    assert (visit["status"], visit["outcome"]) == ("done", "Pilot agreed")
    assert task_named(check, "Send contract")["visit_id"] == visit["id"]


async def test_help_toggles_and_escape_closes_it(filled: Path) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert await until(pilot, lambda: app.screen.query("HelpPanel"))
        await pilot.press("question_mark")
        await pilot.pause()
        assert await until(pilot, lambda: not app.screen.query("HelpPanel"))
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert await until(pilot, lambda: not app.screen.query("HelpPanel"))


@pytest.mark.parametrize(
    "mode", ["today", "pipeline", "accounts", "leads", "quotes", "forecast", "sync", "week"]
)
async def test_the_palette_lists_each_action_once_named_for_what_it_does(filled: Path, mode: str) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        app.switch_mode(mode)
        await pilot.pause()
        listed = list(_actions_of(app.screen))
        titles = [title for title, _, _ in listed]
        actions = [action.removeprefix("app.") for _, action, _ in listed]
        assert len(titles) == len(set(titles)) and len(actions) == len(set(actions))
        for wanted in (
            "Plan visit",
            "Log visit",
            "Add task",
            "Add lead",
            "Add contact",
            "New quote",
            "Sync now",
        ):
            assert wanted in titles
        for label in (
            "Today",
            "Week",
            "Pipeline",
            "Accounts",
            "Leads",
            "Quotes",
            "Forecast",
            "Sync",
            "Contacts",
        ):
            assert titles.count(f"Go to {label}") == 1


async def test_a_form_has_its_own_keys_in_the_footer(filled: Path) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5", "e")  # the sent quote: refused; the draft's header form
        await pilot.press("j", "e")
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "Save" in footer and "Cancel" in footer and "Send" not in footer


# -- Today ------------------------------------------------------------------------------------------


async def test_today_lists_every_task_and_opens_one_to_snooze(filled: Path, check: Workspace) -> None:
    for number in range(25):  # more than any screen shows: the list scrolls, the head counts them all
        tasks.add_task(check, f"Call back {number:02d}", due="2026-03-16")
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#tasks", Table)
        assert table.row_count == 28  # 25 + today's, the overdue and the undated one (not tomorrow's)
        assert "28 tasks" in screen_text(app)
        titles = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert titles[-2:] == ["Send Wi-Fi site survey", "Update the fleet contacts"]  # overdue, undated
        assert str(table.get_row_at(titles.index("Send Wi-Fi site survey"))[2]) == "Alpenblick Hotel"
        focus_row(app, "#tasks", 1, "Send Wi-Fi site survey")
        await pilot.press("enter")
        await pilot.pause()
        assert await until(
            pilot,
            lambda: "priority normal" in screen_text(app) and "account: Alpenblick Hotel" in screen_text(app),
        )
        await pilot.press("z", *"someday", "enter")  # refused as typed: nothing written
        await pilot.pause()
        assert await until(
            pilot, lambda: task_named(check, "Send Wi-Fi site survey")["due_date"] == date(2026, 3, 14)
        )
        await pilot.press("ctrl+u", *"2026-03-17", "enter")
        await pilot.pause()
        assert await until(
            pilot, lambda: task_named(check, "Send Wi-Fi site survey")["due_date"] == date(2026, 3, 17)
        )
        await pilot.press("d", "enter")  # done, asked first; o reopens
        await pilot.pause()
        assert await until(pilot, lambda: task_named(check, "Send Wi-Fi site survey")["status"] == "done")
        await pilot.press("o")
        await pilot.pause()
        assert await until(pilot, lambda: task_named(check, "Send Wi-Fi site survey")["status"] == "open")
        await pilot.press("escape")
        await pilot.pause()
        assert await until(
            pilot, lambda: "Send Wi-Fi site survey" not in screen_text(app)
        )  # due tomorrow now


async def test_today_logs_a_visit_of_an_earlier_day(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await until(
            pilot, lambda: "fleet check-in" in screen_text(app) and "1 to log" in screen_text(app)
        )
        app.screen.query_one("#to-log", Table).focus()
        await pilot.press("enter", *"Fleet renewal likely", "ctrl+s")
        await pilot.pause()
        assert await until(
            pilot,
            lambda: "To log: none" in screen_text(app) or "to log" not in screen_text(app).split("\n")[1],
        )
    visit = visit_at(check, "Donau Logistik", date(2026, 3, 13))
    assert (visit["status"], visit["outcome"]) == ("done", "Fleet renewal likely")


async def test_a_flexible_visit_reads_any_time(filled: Path, check: Workspace) -> None:
    visits.plan_visit(
        check, account_ref=crm.list_accounts(check)[0]["id"], at="2026-03-16", purpose="drop by"
    )
    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert await until(pilot, lambda: "any time" in screen_text(app))


async def test_add_task_from_any_screen_links_the_focused_record(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")  # Leads: Nina Vogel focused
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert await until(pilot, lambda: "New task for lead Nina Vogel" in screen_text(app))
        await pilot.press(*"Send brochure", "enter", *"not a day", "ctrl+s")  # refused as typed
        await pilot.pause()
        assert await until(pilot, lambda: check.store.count(TASK, "title = ?", ("Send brochure",)) == 0)
        await pilot.press("ctrl+u", *"2026-03-20", "ctrl+s")
        await pilot.pause()
        await pilot.press("2", "t", *"Chase the PO", "ctrl+s")  # the board: the focused deal
        await pilot.pause()
    lead = next(x for x in leads.list_leads(check) if x["name"] == "Nina Vogel")
    brochure = task_named(check, "Send brochure")
    assert brochure["lead_id"] == lead["id"] and brochure["due_date"] == date(2026, 3, 20)
    chase = task_named(check, "Chase the PO")
    tablets = next(o for o in crm.list_opportunities(check) if o["name"] == "Clinic tablets")
    assert chase["opportunity_id"] == tablets["id"] and chase["account_id"] == tablets["account_id"]


# -- Leads ------------------------------------------------------------------------------------------


async def test_add_a_lead_shows_the_duplicate_check_before_saving(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4", "n", *"Maximilian Huber", "enter", "enter", *"max@huber-bier.example")
        await pilot.pause()
        assert await until(pilot, lambda: "possible duplicate" in screen_text(app))  # as typed, before saving
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Save anyway?" in screen_text(app))
        await pilot.press("escape")  # nothing written
        await pilot.pause()
        assert await until(pilot, lambda: check.store.count(LEAD, "name = ?", ("Maximilian Huber",)) == 0)
        await pilot.press("n", *"Olga Brandt", "enter", *"Brandt Bau", "enter", *"not-an-email", "ctrl+s")
        await pilot.pause()
        assert await until(
            pilot, lambda: check.store.count(LEAD, "name = ?", ("Olga Brandt",)) == 0
        )  # refused
        for _ in "not-an-email":
            await pilot.press("backspace")
        await pilot.press(*"olga@brandt.example", "ctrl+s")
        await pilot.pause()
        await pilot.press("greater_than_sign", "enter")  # the new lead is selected: contacted
        await pilot.pause()
        await pilot.press("e", "enter", "ctrl+u", *"Brandt Hochbau", "ctrl+s")
        await pilot.pause()
    olga = next(x for x in leads.list_leads(check) if x["name"] == "Olga Brandt")
    assert (olga["status"], olga["company"], olga["email"]) == (
        "contacted",
        "Brandt Hochbau",
        "olga@brandt.example",
    )


# -- Week: visit planning ---------------------------------------------------------------------------


async def test_plan_a_visit_refuses_a_bad_date_and_an_overlap(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        assert await until(pilot, lambda: "Week 12" in screen_text(app))
        await pilot.press("n", *"donau", "enter")  # the account picker, searched
        await pilot.pause()
        assert await until(pilot, lambda: "Plan a visit: Donau Logistik" in screen_text(app))
        assert "overlaps visit" in screen_text(app)  # today 09:00 (the default) is taken: said live
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Plan a visit" in screen_text(app))  # refused, the form stays
        await pilot.press("ctrl+u", *"the 32nd", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "Plan a visit" in screen_text(app))
        await pilot.press("ctrl+u", *"2026-03-17 10:00", "enter", "ctrl+u", *"1h", "enter", *"scanner pilot")
        await pilot.press("escape")  # Escape writes nothing
        await pilot.pause()
        assert await until(
            pilot, lambda: len(visits.visits_between(check, date(2026, 3, 17), date(2026, 3, 17))) == 0
        )
        await pilot.press("n", *"donau", "enter", "ctrl+u", *"2026-03-17 10:00", "enter", "ctrl+u", *"1h")
        await pilot.press("enter", *"scanner pilot", "ctrl+s")
        await pilot.pause()
    [visit] = visits.visits_between(check, date(2026, 3, 17), date(2026, 3, 17))
    assert (visit["duration_min"], visit["purpose"], visit["fixed_time"]) == (60, "scanner pilot", True)


async def test_reschedule_by_keys_and_form_checks_overlaps(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        focus_row(app, "#week-table", 1, "Brauerei Huber")  # Mon 11:30
        await pilot.press("plus", "plus", "right_square_bracket")  # +15, +15, +30 min
        # each key writes and redraws; on a loaded machine the last may land a round later
        assert await until(
            pilot, lambda: visit_at(check, "Brauerei Huber")["starts_at"].strftime("%H:%M") == "12:30"
        )
        await pilot.press("greater_than_sign")  # a day later
        await pilot.pause()
        assert await until(
            pilot,
            lambda: (
                visit_at(check, "Brauerei Huber", date(2026, 3, 17))["starts_at"].strftime("%H:%M") == "12:30"
            ),
        )
        await pilot.press("less_than_sign")  # and back
        await pilot.pause()
        focus_row(app, "#week-table", 1, "Brauerei Huber")
        await pilot.press("e", "ctrl+u", *"2026-03-16 09:15", "ctrl+s")  # on Chiemsee's 09:00-09:45
        await pilot.pause()
        assert await until(
            pilot, lambda: "Reschedule: Brauerei Huber" in screen_text(app)
        )  # refused, the form stays
        await pilot.press("escape")
        await pilot.pause()
        focus_row(app, "#week-table", 1, "Chiemsee Kliniken")
        for _ in range(12):  # 45 minutes from 12:00 would run into Brauerei Huber at 12:30: refused
            await pilot.press("plus")
        await pilot.pause()
        assert await until(pilot, lambda: any("overlaps visit" in n for n in notes(app)))
    assert visit_at(check, "Brauerei Huber")["starts_at"].strftime("%H:%M") == "12:30"
    assert visit_at(check, "Chiemsee Kliniken")["starts_at"].strftime("%H:%M") == "11:45"


async def test_cancel_a_visit_asks_a_reason_and_escape_keeps_it(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        focus_row(app, "#week-table", 1, "Alpenblick Hotel")
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"sick", "escape")
        await pilot.pause()
        assert await until(pilot, lambda: visit_at(check, "Alpenblick Hotel")["status"] == "planned")
        await pilot.press("x", *"customer ill", "enter")
        await pilot.pause()
        assert await until(
            pilot, lambda: "cancelled" not in screen_text(app)
        )  # the week shows what is still on
    cancelled = visit_at(check, "Alpenblick Hotel")
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "customer ill")


async def test_route_order_applied_and_undone_with_the_cli_figures(
    filled: Path, check: Workspace, sfa: Any
) -> None:
    cli = sfa("visit", "route", "--date", WEDNESDAY.isoformat(), "--json").json()
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        before = [r["account"] for r in visits.agenda(check, WEDNESDAY, WEDNESDAY)]
        focus_row(app, "#week-table", 0, "Wed 18 Mar")
        await pilot.press("r")
        await pilot.pause()
        assert await until(pilot, lambda: f"{cli['total_km']:.1f} km" in screen_text(app))  # the CLI's total
        await pilot.press("escape")
        await pilot.pause()
        assert await until(
            pilot, lambda: [r["account"] for r in visits.agenda(check, WEDNESDAY, WEDNESDAY)] == before
        )
        await pilot.press("r", "enter")
        await pilot.pause()
        after = [r["account"] for r in visits.agenda(check, WEDNESDAY, WEDNESDAY)]
        assert after == [stop["account"] for stop in cli["stops"]]
        listed = sfa("visit", "list", "--date", WEDNESDAY.isoformat(), "--json").json()
        km = sum(row["km_from_previous"] or 0 for row in listed)
        assert f"{len(after)} visits · {km:.1f} km" in screen_text(app)  # the day's km as the CLI's
        await pilot.press("u")
        await pilot.pause()
    assert [r["account"] for r in visits.agenda(check, WEDNESDAY, WEDNESDAY)] == before


async def test_week_km_agree_with_the_cli(filled: Path, sfa: Any) -> None:
    listed = sfa("visit", "list", "--week", "--date", "2026-03-16", "--json").json()
    total = sum(row["km_from_previous"] or 0 for row in listed)
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        assert await until(pilot, lambda: f"{len(listed)} visits · {total:.1f} km" in screen_text(app))


# -- Sync -------------------------------------------------------------------------------------------


async def test_sync_screen_reloads_after_a_failed_attempt(filled: Path, check: Workspace) -> None:
    from sfa.services import config

    config.set_value(check, "sync.url", "http://127.0.0.1:9")  # nothing listens there
    app = SfaApp(filled, now=FROZEN, background_sync=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7")
        await pilot.pause()
        app.server = "http://127.0.0.1:9"
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        head = screen_text(app).splitlines()[1]
        assert "offline" in head and "online" not in head.replace("offline", "")


# -- Contacts ---------------------------------------------------------------------------------------


async def test_contacts_screen_searches_opens_edits_and_adds(filled: Path, check: Workspace) -> None:
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("9")
        await pilot.pause()
        assert await until(
            pilot, lambda: "Tobias Keller" in screen_text(app) and "5 contacts" in screen_text(app)
        )
        await pilot.press("slash", *"keller", "enter")
        await pilot.pause()
        assert await until(
            pilot, lambda: "1 found for 'keller'" in screen_text(app) and "Lena Wolf" not in screen_text(app)
        )
        await pilot.press("enter")  # opens Tobias Keller: call details, account
        await pilot.pause()
        text = screen_text(app)
        assert "Tobias Keller" in text and "Chiemsee Kliniken" in text and "t.keller@" in text
        await pilot.press("e", "enter", "enter", "ctrl+u", *"not-an-email", "ctrl+s")  # refused
        await pilot.pause()
        await pilot.press("ctrl+u", *"+49 8051 6061", "ctrl+s")
        await pilot.pause()
        assert await until(pilot, lambda: "+49 8051 6061" in screen_text(app))  # the contact's view shows it
        await pilot.press("escape", "escape", "n", *"donau", "enter")  # a new contact at an account
        await pilot.pause()
        await pilot.press(*"Jana Fuchs", "enter", *"Dispatcher", "ctrl+s")
        await pilot.pause()
    tobias = next(c for c in crm.list_contacts(check) if c["name"] == "Tobias Keller")
    assert tobias["email"] == "t.keller@chiemsee-kliniken.example"  # the refused value never written
    jana = next(c for c in crm.list_contacts(check) if c["name"] == "Jana Fuchs")
    donau = next(a for a in crm.list_accounts(check) if a["name"] == "Donau Logistik")
    assert (jana["account_id"], jana["title"]) == (donau["id"], "Dispatcher")


async def test_enter_on_a_contact_in_the_360_view_opens_that_contact(filled: Path) -> None:
    from sfa.tui.screens.contacts import ContactView

    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3", "j", "j", "enter")  # Chiemsee Kliniken: Lena Wolf, Tobias Keller
        await pilot.pause()
        focus_row(app, "#contacts-table", 0, "Tobias Keller")
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, ContactView))
        assert isinstance(app.screen, ContactView)
        assert "Tobias Keller" in screen_text(app).split("\n")[0]


async def test_export_refuses_a_bad_path_as_typed_and_asks_before_overwriting(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "quote.md"
    target.write_text("keep me")
    # Relative paths: the refusal names the path, and a long temporary path (pytest-xdist adds a
    # folder) would push the words checked here past the dialog's width.
    monkeypatch.chdir(tmp_path)
    app = app_on(filled)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5", "p", "ctrl+u", *"nowhere/q.md")
        # (The dialog wraps the refusal to its width: the words checked are ones that stay together.)
        assert await shows(pilot, "directory nowhere does not"), screen_text(app)  # as typed
        await pilot.press("ctrl+u", *"q.doc")
        assert await shows(pilot, "'q.doc' has no known"), screen_text(app)
        await pilot.press("ctrl+u", *"quote.md", "enter")
        assert await shows(pilot, "Overwrite quote.md?")
        await pilot.press("escape")  # nothing written
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(pilot, lambda: target.read_text() == "keep me")
        await pilot.press("p", "ctrl+u", *str(target), "enter")
        assert await shows(pilot, "Overwrite")  # the rep sees the question before answering it
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert "Spa booking licence" in target.read_text()


async def test_g_and_shift_g_move_on_the_board(filled: Path) -> None:
    from sfa.tui.widgets import Options

    app = app_on(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "l", "l")  # qualification: two deals
        await pilot.pause()
        options = next(o for o in app.screen.query(Options) if o.has_focus)
        await pilot.press("G")
        assert options.highlighted == options.option_count - 1 == 1
        await pilot.press("g")
        assert options.highlighted == 0
