"""Search on the dashboard's Accounts screen over a demo store: every record type the search index
holds is listed and opens something (Pilot), and typing common words letter by letter never ends
the app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.domain.entities import ACCOUNT, COMPETITOR, ENTITIES, LEAD, ORDER
from sfa.domain.errors import SfaError
from sfa.services import (
    contracts,
    crm,
    demo,
    documents,
    events,
    finder,
    leads,
    products,
    quotes,
    records,
    tasks,
    visits,
)
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from sfa.tui.screens import accounts as accounts_screen
from sfa.tui.screens.accounts import AccountsScreen, AccountView, destination
from sfa.tui.screens.contacts import ContactView
from sfa.tui.screens.details import DetailsScreen, label_of
from sfa.tui.screens.leads import LeadsScreen
from sfa.tui.screens.quotes import QuotesScreen
from sfa.tui.widgets import Table
from tests.tui_support import screen_text, until

pytestmark = pytest.mark.asyncio

SIZE = (100, 30)


@dataclass(frozen=True)
class Case:
    """A word found in one record only; the record's type label in the list; where Enter goes:
    "account" (the 360° view of `target`), "leads"/"quotes" (that screen, `target` selected) or
    "details" (the record's fields)."""

    word: str
    record: str  # key of the record the word is in
    label: str
    where: str
    target: str  # key of the record Enter should show


# What the demo company has, plus one record of every indexed type with a word of its own, at an
# account and on its own where a record can be, so each way Enter goes is taken.
CASES = [
    Case("quendelhof", "account", "account", "account", "account"),
    Case("quarzberg", "contact", "contact", "contact", "contact"),
    Case("wolpertinger", "lone_contact", "contact", "contact", "lone_contact"),
    Case("zirbelholz", "lead", "lead", "leads", "lead"),
    Case("kuckucksuhr", "disqualified_lead", "lead", "leads", "disqualified_lead"),
    Case("gamsbart", "opportunity", "opp", "account", "account"),
    Case("weisswurst", "account_note", "note", "account", "account"),
    Case("brezentasting", "lead_note", "note", "leads", "lead"),
    Case("maibaum", "visit", "visit", "account", "account"),
    Case("enzian", "lone_task", "task", "details", "lone_task"),
    Case("kachelofen", "lead_task", "task", "leads", "lead"),
    Case("edelweiss", "account_task", "task", "account", "account"),
    Case("lederhosenpresse", "product", "product", "details", "product"),
    Case("kaiserschmarrn", "quote", "quote", "quotes", "quote"),
    Case("kaiserschmarrn", "old_quote", "quote", "details", "old_quote"),
    Case("oktoberfestzelt", "campaign", "campaign", "details", "campaign"),
    Case("schuhplattler", "order", "order", "account", "account"),
    Case("fensterln", "contract", "contract", "account", "account"),
    Case("jodeldiplom", "document", "document", "account", "account"),
    Case("almabtrieb", "competitor", "competitor", "details", "competitor"),
]


def add_one_of_each(ws: Workspace) -> dict[str, tuple[str, str]]:
    """The records of CASES: name -> (record type, id)."""
    made: dict[str, tuple[str, str]] = {}
    account = crm.add_account(ws, {"name": "Quendelhof Brauerei", "city": "Freising"})
    made["account"] = ("account", account["id"])
    contact = crm.add_contact(ws, {"name": "Ottilie Quarzberg", "account_id": account["id"]})
    made["contact"] = ("contact", contact["id"])
    lone = crm.add_contact(ws, {"name": "Hiltrud Wolpertinger", "email": "h@wolpertinger.example"})
    made["lone_contact"] = ("contact", lone["id"])
    lead = leads.add_lead(ws, {"name": "Xaver Zirbelholz", "company": "Zirbelholz Stuben"})
    made["lead"] = ("lead", lead["id"])
    gone = leads.add_lead(ws, {"name": "Vroni Kuckucksuhr", "company": "Uhrenhaus"})
    leads.disqualify(ws, gone["id"], "no budget")
    made["disqualified_lead"] = ("lead", gone["id"])
    opp = crm.add_opportunity(
        ws, {"name": "Gamsbart retrofit", "account_id": account["id"], "amount": "5000"}
    )
    made["opportunity"] = ("opportunity", opp["id"])
    made["account_note"] = (
        "timeline",
        records.add_note(ws, ACCOUNT, account["id"], "Weisswurst breakfast")["id"],
    )
    made["lead_note"] = ("timeline", records.add_note(ws, LEAD, lead["id"], "Brezentasting agreed")["id"])
    visit = visits.plan_visit(
        ws, account_ref=account["id"], at="2030-01-07 09:00", purpose="Maibaum inspection"
    )
    made["visit"] = ("visit", visit["id"])
    made["lone_task"] = ("task", tasks.add_task(ws, "Enzian order")["id"])
    made["lead_task"] = ("task", tasks.add_task(ws, "Kachelofen quote", links={"lead": lead["id"]})["id"])
    made["account_task"] = (
        "task",
        tasks.add_task(ws, "Edelweiss samples", links={"account": account["id"]})["id"],
    )
    product = products.add_product(ws, {"sku": "LHP-1", "name": "Lederhosenpresse", "unit_price": "990"})
    made["product"] = ("product", product["id"])
    first = quotes.new_quote(ws, opp_ref=opp["id"], terms="Kaiserschmarrn included")
    quotes.add_line(ws, first["id"], product_ref="LHP-1", qty="1")
    quotes.send(ws, first["id"])
    made["old_quote"] = ("quote", first["id"])
    made["quote"] = ("quote", quotes.revise(ws, first["id"])["id"])
    fair = events.add_event(ws, {"name": "Oktoberfestzelt", "kind": "other", "starts_on": "2030-09-20"})
    made["campaign"] = ("campaign", fair["id"])
    rival = ws.store.insert(COMPETITOR, {"name": "Almabtrieb Automation", "notes": "met at fairs"})
    made["competitor"] = ("competitor", rival["id"])
    order = ws.store.insert(
        ORDER,
        {
            "number": "O-2030-TEST-0001",
            "account_id": account["id"],
            "customer_po": "Schuhplattler",
            "status": "draft",
        },
    )
    made["order"] = ("order", order["id"])
    made["contract"] = (
        "contract",
        contracts.new_contract(ws, account_ref=account["id"], start="2030-01-01", title="Fensterln service")[
            "id"
        ],
    )
    attachment = ws.home / "jodel.txt"
    attachment.write_text("yodel")
    made["document"] = (
        "document",
        documents.add(ws, str(attachment), "account", account["id"], title="Jodeldiplom")["id"],
    )
    return made


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str]]]:
    """A demo company (`sfa demo`) with one record of every indexed type added; copied per test."""
    home = tmp_path_factory.mktemp("demo") / "home"
    home.mkdir()
    ws = Workspace(home)
    try:
        demo.generate(ws)
        made = add_one_of_each(ws)
    finally:
        ws.close()
    return home, made


@pytest.fixture
def store(demo_store: tuple[Path, dict[str, tuple[str, str]]], tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    shutil.copytree(demo_store[0], home)
    yield home


def test_the_cases_cover_every_indexed_type(demo_store: tuple[Path, dict[str, tuple[str, str]]]) -> None:
    """If a record type joins the search index, it needs a case here (and a way to open it)."""
    from sfa.services.search import HIDDEN

    indexed = {e.name for e in ENTITIES.values() if e.search_fields and e.name not in HIDDEN}
    assert {demo_store[1][case.record][0] for case in CASES} == indexed


async def go_to_accounts(pilot: Any) -> AccountsScreen:
    """Press the Accounts screen's key and return the screen it shows."""
    await pilot.press("3")
    assert await until(pilot, lambda: isinstance(pilot.app.screen, AccountsScreen))
    screen = pilot.app.screen
    assert isinstance(screen, AccountsScreen)
    return screen


async def search_for(pilot: Any, text: str) -> Table:
    """Go to Accounts, clear the search, type `text`, wait for its results and move to them."""
    app = pilot.app
    while len(app.screen_stack) > 1:
        app.pop_screen()
    screen = await go_to_accounts(pilot)
    await pilot.press("escape", "slash", *text)
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert await until(pilot, lambda: screen.shown_query == text)
    await pilot.press("enter")  # from the search box to the results
    return screen.query_one("#results", Table)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.record}-{c.where}")
async def test_every_record_type_is_listed_and_opens(
    store: Path, demo_store: tuple[Path, dict[str, tuple[str, str]]], case: Case
) -> None:
    made = demo_store[1]
    kind, record_id = made[case.record]
    app = SfaApp(store, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        table = await search_for(pilot, case.word)
        keys = [str(key.value) for key in table.rows]
        assert f"{kind}:{record_id}" in keys, screen_text(app)
        row = keys.index(f"{kind}:{record_id}")
        assert table.get_row_at(row)[0] == case.label
        table.move_cursor(row=row)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        target_kind, target_id = made[case.target]
        screen = app.screen
        if case.where == "account":
            assert isinstance(screen, AccountView) and screen.account_id == target_id
            assert "Quendelhof Brauerei" in screen_text(app)
        elif case.where == "contact":
            assert isinstance(screen, ContactView) and screen.contact_id == target_id
            await pilot.press("escape")
            await pilot.pause()
        elif case.where == "leads":
            assert isinstance(screen, LeadsScreen)
            assert screen.query_one(Table).selected_key() == target_id
        elif case.where == "quotes":
            assert isinstance(screen, QuotesScreen) and screen.current() == target_id
        else:
            assert isinstance(screen, DetailsScreen) and screen.record["id"] == target_id
            assert screen.entity.name == target_kind
            await pilot.press("escape")
            await pilot.pause()
            assert await until(pilot, lambda: not isinstance(app.screen, DetailsScreen))
        # and back to the search, which still answers
        table = await search_for(pilot, "quendelhof")
        assert table.row_count >= 1


async def test_a_quote_revision_found_again_is_selected_on_a_visited_quotes_screen(
    store: Path, demo_store: tuple[Path, dict[str, tuple[str, str]]]
) -> None:
    """A screen already shown reloads to select what search chose, even with no write in between."""
    made = demo_store[1]
    app = SfaApp(store, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.pause()
        for _ in range(2):
            table = await search_for(pilot, "kaiserschmarrn")
            keys = [str(key.value) for key in table.rows]
            table.move_cursor(row=keys.index(f"quote:{made['quote'][1]}"))
            await pilot.press("enter")
            assert await until(
                pilot,
                lambda: isinstance(app.screen, QuotesScreen) and app.screen.current() == made["quote"][1],
            )
            app.screen.query_one("#quotes-table", Table).move_cursor(row=0)  # elsewhere, then again


async def test_names_and_notes_are_shown_as_typed_not_read_as_markup(store: Path) -> None:
    """A name or note holding markup-like text ("[/x]", "[b]") is shown as it is, and searching
    for it (the hint quotes the query) does not end the app."""
    ws = Workspace(store)
    try:
        account = crm.add_account(ws, {"name": "Klammer [/x] [b]Bau[/b] [GmbH]"})
        records.add_note(ws, ACCOUNT, account["id"], "Klammer [/] [i]x[/i]")
    finally:
        ws.close()
    app = SfaApp(store, background_sync=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        table = await search_for(pilot, "klammer [/")
        await pilot.press("backspace", "backspace")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "Klammer [/x] [b]Bau[/b] [GmbH]" in text
        assert "Klammer [/] [i]x[/i]" in text
        keys = [str(key.value) for key in table.rows]
        table.move_cursor(row=keys.index(f"account:{account['id']}"))
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, AccountView))
        assert isinstance(app.screen, AccountView)
        assert "Klammer [/x] [b]Bau[/b] [GmbH]" in screen_text(app)
        # a form's title quoting a name, a field's message quoting what was typed, a notification
        await pilot.press("E")  # E: the account (e edits the focused contact or opportunity)
        await pilot.pause()
        assert await until(pilot, lambda: "Edit Klammer [/x] [b]Bau[/b] [GmbH]" in screen_text(app))
        await pilot.press("escape", "escape", "n", *"Neu [/x] [GmbH]", "tab", "tab", "tab", *"[/x]")
        await pilot.pause()
        assert await until(pilot, lambda: "email: '[/x]'" in screen_text(app))
        await pilot.press("ctrl+u", "ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await until(
            pilot, lambda: any(n.message == "account Neu [/x] [GmbH] added" for n in app._notifications)
        )
        assert "account Neu [/x] [GmbH] added" in screen_text(app)  # the toast, drawn


# Words a rep types on the demo company: surnames, towns, what tasks, visits, deals and products say.
WORDS = [
    "müller",
    "schmid",
    "huber",
    "maier",
    "bauer",
    "wagner",
    "gruber",
    "fischer",
    "weber",
    "augsburg",
    "münchen",
    "nürnberg",
    "regensburg",
    "freising",
    "rosenheim",
    "passau",
    "send",
    "call",
    "prepare",
    "check",
    "quote",
    "maintenance",
    "review",
    "survey",
    "retrofit",
    "conveyor",
    "gurtförderer",
    "alpen",
    "logistik",
    "gmbh",
]


async def test_typing_every_prefix_of_common_words_keeps_the_app_alive(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(WORDS) == 30
    # Repaints are held from a keystroke until its results are shown; with the hold's time limit
    # out of reach, only the results shown can end it: none may be left held (a frozen screen).
    monkeypatch.setattr(accounts_screen, "HOLD_AT_MOST", 60.0)
    app = SfaApp(store, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_to_accounts(pilot)
        table = screen.query_one("#results", Table)
        for word in WORDS:
            await pilot.press("escape", "slash")
            for end in range(1, len(word) + 1):
                await pilot.press(word[end - 1])
                await app.workers.wait_for_complete()
                await pilot.pause()
                assert app.is_running and app._exception is None, f"ended at {word[:end]!r}"
                assert screen.shown_query == word[:end]  # the results of this prefix are on screen
                assert not screen.frames_held, f"repaints still held after {word[:end]!r}"
            assert table.row_count > 0, f"nothing found for {word!r}"
            assert "found for" in screen_text(app) or "matches for" in screen_text(app)


async def test_fast_typing_shows_the_last_text_and_holds_no_repaint(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Letters typed faster than the searches answer: searches overtaken are skipped or cancelled,
    the last text's results are shown, and the repaints held for the letters are all let go."""
    monkeypatch.setattr(accounts_screen, "HOLD_AT_MOST", 60.0)
    app = SfaApp(store, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go_to_accounts(pilot)
        for word in ("müller", "send", "augsburg", "quendelhof"):
            await pilot.press("escape", "slash", *word)  # no wait between the letters
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen.shown_query == word
            assert not screen.frames_held, word
            assert repr(word) in screen_text(app)  # the hint names the last text


# What a person may type into the search box: letters, umlauts, digits, and the characters the
# full-text query language gives a meaning to (quotes, *, -, :, parentheses, ^, NEAR, AND …).
TYPED = st.text(alphabet=st.sampled_from(list("aeimnorsuüßäöAEZ019 \"'*-:()^+.,@[]/\\{}%_")), max_size=12) | (
    st.sampled_from(["NEAR", "AND", "OR", "NOT", "müller", "send", "gmbh", "augsburg"])
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TYPED)
def test_any_typed_text_finds_rows_the_screen_can_show_and_open(
    demo_store: tuple[Path, dict[str, tuple[str, str]]], text: str
) -> None:
    """The search service under the screen, with what the screen does to each hit (its type label,
    title, detail, where Enter goes): a refusal is a SfaError (shown as a hint), nothing else."""
    ws = Workspace(demo_store[0])
    try:
        try:
            found = finder.find_as_you_type(ws, text, limit=30)
        except SfaError:
            return
        for entity, record in found.hits:
            assert label_of(entity)
            AccountsScreen._title(entity, record)
            AccountsScreen._detail(entity, record)
            where, target = destination(ws, entity, record)
            assert where in ("account", "contact", "leads", "quotes", "details") and target
    finally:
        ws.close()
