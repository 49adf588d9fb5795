"""Accounts and contacts: search as you type over every record type, and an account's 360° view."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from sfa.domain.entities import (
    ACCOUNT,
    CONTACT,
    ENTITIES,
    LEAD,
    OPPORTUNITY,
    PRODUCT,
    QUOTE,
    TASK,
    TIMELINE,
    VISIT,
    Entity,
)
from sfa.domain.errors import SfaError
from sfa.domain.money import format_money
from sfa.services import crm, finder, quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.base import SfaScreen
from sfa.tui.format import local_stamp, short_money
from sfa.tui.forms import FormField, FormScreen
from sfa.tui.results import ResultsTable, SearchBox
from sfa.tui.screens.details import DetailsScreen, label_of
from sfa.tui.widgets import KeysFooter, StatusBar, Table

_thread = threading.local()  # the search thread's own workspace (sqlite connections stay in their thread)


def _open_thread_workspace(home: Any) -> None:
    """Open the search thread's workspace before the first keystroke needs it: the first open in
    the process took about 56 ms on the bench store, all of it charged to the first letter typed."""
    if getattr(_thread, "ws", None) is None:
        _thread.ws = Workspace(home)


def _close_thread_workspace() -> None:
    ws = getattr(_thread, "ws", None)
    if ws is not None:
        ws.close()
        _thread.ws = None


LIST_LIMIT = 500  # accounts listed before anything is typed
HOLD_AT_MOST = 0.05  # seconds the typed letter waits for its results before it is drawn alone
SEARCH_LIMIT = 30  # a screenful at 120×40; type more to narrow


def _check(ws: Workspace, entity: Entity, name: str) -> Any:
    return lambda text: records.convert(ws, entity, name, text)


def account_form(ws: Workspace, account: Record | None = None) -> FormScreen:
    def field(name: str, label: str, required: bool = False) -> FormField:
        value = "" if account is None or account.get(name) is None else str(account[name])
        return FormField(name, label, _check(ws, ACCOUNT, name), value, required=required)

    return FormScreen(
        "New account" if account is None else f"Edit {account['name']}",
        [
            field("name", "Name", True),
            field("industry", "Industry"),
            field("phone", "Phone"),
            field("email", "Email"),
            field("website", "Website"),
            field("street", "Street"),
            field("postcode", "Postcode"),
            field("city", "City"),
        ],
    )


def contact_form(ws: Workspace, contact: Record | None = None) -> FormScreen:
    def field(name: str, label: str, required: bool = False) -> FormField:
        value = "" if contact is None or contact.get(name) is None else str(contact[name])
        return FormField(name, label, _check(ws, CONTACT, name), value, required=required)

    return FormScreen(
        "New contact" if contact is None else f"Edit {contact['name']}",
        [
            field("name", "Name", True),
            field("title", "Title"),
            field("email", "Email"),
            field("phone", "Phone"),
            field("mobile", "Mobile"),
        ],
    )


def opportunity_form(ws: Workspace) -> FormScreen:
    def field(name: str, label: str, required: bool = False, placeholder: str = "") -> FormField:
        return FormField(
            name, label, _check(ws, OPPORTUNITY, name), required=required, placeholder=placeholder
        )

    return FormScreen(
        "New opportunity",
        [
            field("name", "Name", True),
            field("amount", "Amount", placeholder="12000, 12k"),
            field("close_date", "Expected close", placeholder="2026-12-31, +2w, fri"),
        ],
    )


def destination(ws: Workspace, entity: Entity, record: Record) -> tuple[str, str]:
    """Where Enter on a search result goes: ("account", id) the 360° view, ("leads", id) or
    ("quotes", id) that screen with the record selected, or ("details", id) a read-only view of
    the record's fields. A lead or a quote opens its own screen; any other record opens the account
    it belongs to, directly (account_id) or through what it is linked to (a task's contact, a note's
    record); a record at no account (a product, a contact or task on its own) shows its details."""
    if entity is ACCOUNT:
        return "account", record["id"]
    if entity is LEAD:
        return "leads", record["id"]
    if entity is QUOTE:
        return "quotes", record["id"]
    if entity is CONTACT:
        return "contact", record["id"]
    if record.get("account_id"):
        return "account", str(record["account_id"])
    links = [(ENTITIES[f.ref], record.get(f.name)) for f in entity.fields if f.kind == "ref" and f.ref]
    if entity is TIMELINE and record.get("record_entity") in ENTITIES:
        links.insert(0, (ENTITIES[record["record_entity"]], record.get("record_id")))
    for linked, linked_id in links:
        if not linked_id or linked is entity:
            continue
        if linked in (LEAD, QUOTE):
            return destination(ws, linked, {"id": linked_id})
        try:
            parent = records.get(ws, linked, str(linked_id))
        except SfaError:  # deleted since, or not synced here yet
            continue
        if linked is ACCOUNT or parent.get("account_id"):
            return "account", str(parent["id"] if linked is ACCOUNT else parent["account_id"])
    return "details", record["id"]


class AccountsScreen(SfaScreen):
    MODE = "accounts"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "find", "Search", key_display="/"),
        Binding("n", "new_account", "New account"),
        Binding("c", "new_contact", "New contact"),
        Binding("e", "edit", "Edit"),
        # not in the footer: at 80 columns it would cut "t Task  ? Keys" (the palette and ? list it)
        Binding("m", "app.switch_mode('duplicates')", "Duplicates", tooltip="Go to Duplicates", show=False),
        Binding("enter", "open", "Open", show=False),
        Binding("escape", "clear", "Clear search", show=False),
    ]

    shown_query: str = ""  # the query whose results are on screen (the bench waits for it)
    _shown_keys: list[str] | None = None  # the records in the table, in order
    _latest = ""
    _executor: ThreadPoolExecutor | None = None

    def body(self) -> Iterable[Widget]:
        yield SearchBox(placeholder="search every record: names, companies, emails, notes …", id="search")
        yield Static("", id="accounts-hint", classes="hint")
        yield ResultsTable(id="results")

    def on_mount(self) -> None:
        table = self.query_one(Table)
        table.add_column("Type", width=7)
        table.add_column("Name", width=30)
        table.add_column("Detail")
        super().on_mount()
        table.focus()
        self._searcher().submit(_open_thread_workspace, self.ws.home)

    def reload(self) -> None:
        self._shown_keys = None  # the records may have changed: draw them again
        self.run_query(self.query_one("#search", Input).value)

    def run_query(self, text: str) -> None:
        if text.strip():
            self._latest = text
            self.search_worker(text, self.ws.home)
        else:
            accounts = crm.list_accounts(self.ws, limit=LIST_LIMIT)
            total = records.count(self.ws, ACCOUNT) if len(accounts) == LIST_LIMIT else len(accounts)
            rows = [(f"account:{a['id']}", "account", a["name"], self._detail(ACCOUNT, a)) for a in accounts]
            more = f" (first {LIST_LIMIT}; type to search)" if total > LIST_LIMIT else ""
            self.show(text, rows, f"{total} accounts{more}")

    _hold: Any = None  # the app's batch_update, entered while a typed letter waits for its results
    _hold_timer: Timer

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self._hold_frames()
        self.run_query(event.value)

    def _hold_frames(self) -> None:
        """Draw the typed letter and its results in one frame, not two: Textual draws at most one
        frame per 1/60 s, so a frame for the letter alone pushed its results to the next frame,
        16.7 ms later (docs/dashboard.md, "Search as you type within a budget"). Repaints wait until
        the results are shown (`show`), a query is skipped for newer typing, or HOLD_AT_MOST has
        passed, whichever is first: a slow query never keeps the letter from the screen longer."""
        if self._hold is None and self.is_current:
            self._hold = self.app.batch_update()
            self._hold.__enter__()
            self._hold_timer = self.set_timer(HOLD_AT_MOST, self._release_frames)

    @property
    def frames_held(self) -> bool:
        """Whether repaints are held for a typed letter's results (tests check none is left)."""
        return self._hold is not None

    def _release_frames(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            self._hold_timer.stop()
            hold.__exit__(None, None, None)
            self.check_idle()  # what was held back is drawn now (the screen draws when idle)

    def on_screen_suspend(self) -> None:
        self._release_frames()

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self.query_one(Table).focus()

    def result_rows(self) -> int:
        """How many results to fetch: the rows the table shows (no more are seen without scrolling,
        and each one costs a read and a rendered line), at least 10 and at most SEARCH_LIMIT."""
        height = self.query_one(Table).size.height - 1  # the header
        return SEARCH_LIMIT if height <= 0 else max(10, min(SEARCH_LIMIT, height))

    @work(exclusive=True, group="search")
    async def search_worker(self, text: str, home: Any) -> None:
        """Full-text search on the search thread (its own connection): the UI keeps answering keys."""
        self._latest = text
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self._searcher(), self._search, home, text, self.result_rows())
        if found is not None:
            self.show(text, *found)
        elif text == self.query_one("#search", Input).value:
            self._release_frames()  # skipped, yet what is typed: nothing newer will show

    def _searcher(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sfa-search")
        return self._executor

    def _search(self, home: Any, text: str, limit: int) -> tuple[list[tuple[str, str, str, str]], str] | None:
        """Runs on the search thread; a query overtaken by newer typing is skipped."""
        if text != self._latest:
            return None
        ws: Workspace | None = getattr(_thread, "ws", None)
        if ws is None:
            ws = _thread.ws = Workspace(home)
        try:
            found = finder.find_as_you_type(ws, text, limit=limit)
        except SfaError:
            return [], "type a word to search"
        rows = [
            (f"{e.name}:{r['id']}", label_of(e), self._title(e, r), self._detail(e, r)) for e, r in found.hits
        ]
        if found.how == "names":
            hint = f"names starting with {text.strip()!r}; full-text search from the second character"
        elif found.how == "unranked":
            hint = f"first {len(rows)} of many matches for {text!r} (unranked); type more to narrow"
        else:
            more = ", best first; type more to narrow" if len(rows) == limit else ""
            hint = f"{len(rows)} found for {text!r}{more}"
        return rows, hint

    def on_unmount(self) -> None:
        self._release_frames()
        if self._executor is not None:
            self._executor.submit(_close_thread_workspace)
            self._executor.shutdown(wait=False)

    @staticmethod
    def _title(entity: Entity, record: Record) -> str:
        """The record's name on one line (a note's first line; a visit without a purpose: its place)."""
        title = record.get(entity.title) or (record.get("location") if entity is VISIT else None) or ""
        lines = str(title).strip().splitlines()
        return lines[0] if lines else ""

    @staticmethod
    def _detail(entity: Entity, record: Record) -> str:
        """A few facts that tell one result from another, per record type."""
        if entity is OPPORTUNITY:
            return f"{record['stage']} · {short_money(record['amount'])}"
        parts: list[Any]
        if entity is TIMELINE:
            parts = [local_stamp(record.get("at")), str(record.get("kind") or "").replace("_", " ")]
        elif entity is VISIT:
            parts = [local_stamp(record.get("starts_at")), record.get("status"), record.get("location")]
        elif entity is TASK:
            due = record.get("due_date")
            parts = [f"due {due}" if due else "", record.get("status"), record.get("priority")]
        elif entity is PRODUCT:
            price = record.get("unit_price")
            parts = [
                record.get("sku"),
                format_money(price, record.get("currency") or "") if price is not None else "",
            ]
        elif entity is QUOTE:
            valid = record.get("valid_until")
            parts = [
                f"rev {record.get('revision') or 1}",
                record.get("status"),
                f"valid until {valid}" if valid else "",
            ]
        else:
            names = ("city", "industry", "phone") if entity is ACCOUNT else entity.search_fields[1:4]
            parts = [record.get(f) for f in names]
        return " · ".join(str(p) for p in parts if p)

    def show(self, text: str, rows: list[tuple[str, str, str, str]], hint: str) -> None:
        if text != self.query_one("#search", Input).value:
            return  # a slower, older search: its results are already out of date
        table = self.query_one(ResultsTable)
        keys = [key for key, *_ in rows]
        # it quotes what was typed: text, never markup; one line of a fixed height: no layout
        self.query_one("#accounts-hint", Static).update(Content(hint), layout=False)
        self.shown_query = text
        if keys != self._shown_keys:  # the next letter often finds the same records: no redraw then
            table.fill(rows)
            self._shown_keys = keys
            hold = self._hold  # released once the rows are measured: one frame, at their widths
            table.when_measured(lambda: self._release_frames() if self._hold is hold else None)
        else:
            self._release_frames()

    # -- actions -----------------------------------------------------------------------------
    def selected(self) -> tuple[str, Record] | None:
        key = self.query_one(Table).selected_key()
        if key is None:
            return None
        kind, _, record_id = key.partition(":")
        record = self.attempt(records.get, self.ws, ENTITIES[kind], record_id)
        return (kind, record) if record is not None else None

    def action_find(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
        self.query_one(Table).focus()

    def action_open(self) -> None:
        """Enter on a result opens where the record is worked on (see `destination`)."""
        chosen = self.selected()
        if chosen is None:
            return
        kind, record = chosen
        where, target_id = destination(self.ws, ENTITIES[kind], record)
        if where == "account":
            self.app.push_screen(AccountView(target_id))
        elif where == "contact":
            from sfa.tui.screens.contacts import ContactView

            self.app.push_screen(ContactView(target_id))
        elif where in ("leads", "quotes"):
            self.sfa.select_next[where] = target_id
            self.app.switch_mode(where)
        else:
            self.app.push_screen(DetailsScreen(self.ws, ENTITIES[kind], record))

    @on(DataTable.RowSelected, "#results")
    def _row_selected(self) -> None:
        self.action_open()

    def action_new_account(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values:
                account = self.attempt(crm.add_account, self.ws, values)
                if account is not None:
                    self.changed(f"account {account['name']} added")

        self.app.push_screen(account_form(self.ws), done)

    def action_new_contact(self) -> None:
        chosen = self.selected()
        account_id = None
        if chosen is not None:
            kind, record = chosen
            account_id = record["id"] if kind == "account" else record.get("account_id")

        def done(values: dict[str, str] | None) -> None:
            if values:
                contact = self.attempt(crm.add_contact, self.ws, {**values, "account_id": account_id})
                if contact is not None:
                    self.changed(f"contact {contact['name']} added")

        self.app.push_screen(contact_form(self.ws), done)

    def action_edit(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        kind, record = chosen
        if kind not in ("account", "contact"):
            self.notify(
                f"a {label_of(ENTITIES[kind])} is edited from its own screen (Enter opens it)",
                severity="warning",
            )
            return
        from sfa.tui import editing

        entity = ACCOUNT if kind == "account" else CONTACT
        form = account_form(self.ws, record) if kind == "account" else contact_form(self.ws, record)
        editing.open_form(
            self,
            form,
            lambda values: self.attempt(
                records.edit, self.ws, entity, record["id"], form.changed_values(values)
            ),
            lambda saved: self.changed(f"{kind} {saved['name']} saved"),
        )


class AccountView(Screen[None]):
    """The 360° view: the account, its contacts, open opportunities, quotes, orders, contracts,
    documents and recent timeline (orders, contracts and documents only when it has some; Enter on an
    order or a contract opens it in its screen)."""

    DEFAULT_CSS = """
    AccountView #account-head { height: auto; padding: 0 1; background: $boost; }
    AccountView Table { height: auto; max-height: 25vh; }
    AccountView #timeline-table { max-height: 100vh; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        Binding("n", "new", "New", tooltip="New contact or opportunity (the focused list's)"),
        Binding("e", "edit_row", "Edit", tooltip="Edit the focused contact or opportunity"),
        Binding("E", "edit", "Account", key_display="E", tooltip="Edit the account"),
        Binding("m", "note", "Note", tooltip="Add a note"),
        Binding("c", "new_contact", show=False),  # the keys of before: n on the list does the same
        Binding("o", "new_opportunity", show=False),
    ]

    def __init__(self, account_id: str, opportunity_id: str | None = None) -> None:
        super().__init__()
        self.account_id = account_id
        self.opportunity_id = opportunity_id  # a deal to open on: the focus starts on it

    @property
    def ws(self) -> Workspace:
        return self.app.ws  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> Iterable[Widget]:
        with Vertical(classes="bottom"):
            yield StatusBar()
            yield KeysFooter()
        yield Static("", id="account-head")
        with VerticalScroll(), Vertical():
            yield Static("Contacts", classes="section-title")
            yield Table(id="contacts-table")
            yield Static("Open opportunities", classes="section-title")
            yield Table(id="opps-table")
            yield Static("Quotes", classes="section-title")
            yield Table(id="quotes-table")
            for name, title in (("orders", "Orders"), ("contracts", "Contracts"), ("documents", "Documents")):
                yield Static(title, id=f"{name}-title", classes="section-title")
                yield Table(id=f"{name}-table")
            yield Static("Timeline", classes="section-title")
            yield Table(id="timeline-table")

    def on_mount(self) -> None:
        self.query_one("#contacts-table", Table).add_columns("Name", "Title", "Email", "Phone")
        self.query_one("#opps-table", Table).add_columns("Name", "Stage", "Amount", "Close")
        self.query_one("#quotes-table", Table).add_columns("Quote", "Rev", "Status", "Total", "Valid until")
        self.query_one("#orders-table", Table).add_columns("Order", "Status", "PO", "ERP ref", "Total")
        self.query_one("#contracts-table", Table).add_columns("Contract", "Rev", "Title", "State", "End")
        self.query_one("#documents-table", Table).add_columns("Document", "Kind", "File", "Size", "Version")
        self.query_one("#timeline-table", Table).add_columns("When", "What")
        self.reload()
        opps = self.query_one("#opps-table", Table)
        if self.opportunity_id is not None and self.opportunity_id in {str(k.value) for k in opps.rows}:
            opps.focus()
            opps.move_cursor(row=opps.get_row_index(self.opportunity_id))
        else:
            self.query_one("#contacts-table", Table).focus()

    def reload(self) -> None:
        view = crm.account_overview(self.ws, self.account_id, timeline_limit=20)
        account = view["account"]
        where = ", ".join(str(account[f]) for f in ("street", "postcode", "city") if account.get(f))
        facts = " · ".join(
            str(account[f]) for f in ("industry", "phone", "email", "website") if account.get(f)
        )
        self.query_one("#account-head", Static).update(
            Content.assemble(  # names are text, never markup
                (str(account["name"]), "bold"),
                "  ",
                (str(account.get("owner") or ""), "dim"),
                f"\n{where or '-'}\n{facts or '-'}",
            )
        )
        contacts = self.query_one("#contacts-table", Table)
        contacts.clear()
        for c in view["contacts"]:
            contacts.add_row(
                c["name"], c["title"] or "", c["email"] or "", c["phone"] or c["mobile"] or "", key=c["id"]
            )
        opps = self.query_one("#opps-table", Table)
        opps.clear()
        for o in view["open_opportunities"]:
            opps.add_row(
                o["name"],
                o["stage"],
                format_money(o["amount"], o["currency"] or ""),
                str(o["close_date"] or ""),
                key=o["id"],
            )
        quote_table = self.query_one("#quotes-table", Table)
        quote_table.clear()
        account_quotes = quotes.list_quotes(self.ws, account_ref=self.account_id, limit=20)
        totals = quotes.totals_by_quote(self.ws, account_quotes)
        for q in account_quotes:
            quote_table.add_row(
                q["number"],
                str(q["revision"]),
                quotes.status_of(q),
                format_money(totals[q["id"]].total, totals[q["id"]].currency),
                str(q["valid_until"] or ""),
                key=q["id"],
            )
        self.paperwork()
        timeline = self.query_one("#timeline-table", Table)
        timeline.clear()
        for t in view["timeline"]:
            timeline.add_row(
                local_stamp(t["at"]), t["text"].splitlines()[0] if t["text"] else "", key=t["id"]
            )

    def paperwork(self) -> None:
        """The account's orders, contracts and documents; each section hidden while empty."""
        from sfa.services import contracts, documents, orders

        order_rows = orders.list_orders(self.ws, account_ref=self.account_id, limit=20)
        order_totals = orders.totals_by_order(self.ws, order_rows)
        table = self.query_one("#orders-table", Table)
        table.clear()
        for o in order_rows:
            total = order_totals[o["id"]]
            table.add_row(
                o["number"],
                o["status"],
                o["customer_po"] or "",
                o["erp_ref"] or "",
                format_money(total.total, total.currency),
                key=o["id"],
            )
        table = self.query_one("#contracts-table", Table)
        table.clear()
        for c, state in contracts.list_contracts(self.ws, account_ref=self.account_id, limit=20):
            table.add_row(
                c["number"],
                str(c["revision"] or 1),
                c["title"] or "",
                state,
                str(c["end_date"] or ""),
                key=c["id"],
            )
        table = self.query_one("#documents-table", Table)
        table.clear()
        for d in documents.list_documents(self.ws, owner="account", ref=self.account_id, limit=20):
            table.add_row(
                d["title"] or d["filename"] or "",
                d["kind"] or "",
                d["filename"] or "",
                f"{(d['size'] or 0) / 1_000_000:.1f} MB"
                if (d["size"] or 0) >= 100_000
                else f"{d['size'] or 0:,} B",
                str(d["version"] or 1),
                key=d["id"],
            )
        for name in ("orders", "contracts", "documents"):
            shown = self.query_one(f"#{name}-table", Table).row_count > 0
            self.query_one(f"#{name}-table", Table).display = shown
            self.query_one(f"#{name}-title", Static).display = shown

    @on(DataTable.RowSelected, "#orders-table")
    def _order_chosen(self) -> None:
        self._open_in("orders", "#orders-table")

    @on(DataTable.RowSelected, "#contracts-table")
    def _contract_chosen(self) -> None:
        self._open_in("contracts", "#contracts-table")

    def _open_in(self, mode: str, table_id: str) -> None:
        key = self.query_one(table_id, Table).selected_key()
        if key is not None:
            self.app.select_next[mode] = key  # type: ignore[attr-defined]
            self.app.pop_screen()
            self.app.switch_mode(mode)

    def attempt(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except SfaError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return None

    def changed(self, message: str) -> None:
        self.app.data_changed()  # type: ignore[attr-defined]
        self.reload()
        self.notify(message)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_edit(self) -> None:
        account = records.get(self.ws, ACCOUNT, self.account_id)
        form = account_form(self.ws, account)

        def done(values: dict[str, str] | None) -> None:
            if values:
                changed = form.changed_values(values)
                if changed and self.attempt(records.edit, self.ws, ACCOUNT, account["id"], changed):
                    self.changed("account saved")

        self.app.push_screen(form, done)

    def focused_record(self) -> tuple[str, str] | None:
        for table_id, kind in (("#contacts-table", "contact"), ("#opps-table", "opportunity")):
            table = self.query_one(table_id, Table)
            if table.has_focus and table.selected_key() is not None:
                return kind, str(table.selected_key())
        return "account", self.account_id

    def action_new(self) -> None:
        """n: a new opportunity when the opportunities list has the focus, else a new contact."""
        if self.query_one("#opps-table", Table).has_focus:
            self.action_new_opportunity()
        else:
            self.action_new_contact()

    def action_edit_row(self) -> None:
        """Edit the focused contact or opportunity; on any other list, say what e edits."""
        if self.query_one("#contacts-table", Table).has_focus:
            self.edit_contact()
        elif self.query_one("#opps-table", Table).has_focus:
            self.action_edit_opportunity()
        else:
            self.notify("e edits the focused contact or opportunity; E edits the account", severity="warning")

    @on(DataTable.RowSelected, "#contacts-table")
    def _contact_chosen(self) -> None:
        """Enter on a contact opens that contact (its own view, where e edits that person)."""
        contact_id = self.query_one("#contacts-table", Table).selected_key()
        if contact_id is not None:
            from sfa.tui.screens.contacts import ContactView

            self.app.push_screen(ContactView(contact_id))

    @on(DataTable.RowSelected, "#opps-table")
    def _opportunity_chosen(self) -> None:
        self.action_edit_opportunity()

    def edit_contact(self) -> None:
        table = self.query_one("#contacts-table", Table)
        contact_id = table.selected_key()
        if contact_id is None:
            self.notify("no contacts here: c adds one", severity="warning")
            return
        contact = self.attempt(records.get, self.ws, CONTACT, contact_id)
        if contact is None:
            return
        from sfa.tui import editing

        form = contact_form(self.ws, contact)

        def saved(contact: Record) -> None:
            self.changed(f"contact {contact['name']} saved")
            table.move_cursor(row=table.get_row_index(contact["id"]))

        editing.open_form(
            self,
            form,
            lambda values: self.attempt(
                records.edit, self.ws, CONTACT, contact["id"], form.changed_values(values)
            ),
            saved,
        )

    def action_edit_opportunity(self) -> None:
        """Edit the open opportunity selected in the list in place."""
        from sfa.tui import editing

        table = self.query_one("#opps-table", Table)
        if table.row_count == 0:
            self.notify("no open opportunities here: o adds one", severity="warning")
            return
        opp_id = table.selected_key()
        opp = self.attempt(records.get, self.ws, OPPORTUNITY, opp_id) if opp_id else None
        if opp is None:
            return
        form = editing.opportunity_form(self.ws, opp)

        def saved(opp: Record) -> None:
            self.changed(f"{opp['name']} saved")
            if table.row_count and opp["id"] in {str(k.value) for k in table.rows}:
                table.move_cursor(row=table.get_row_index(opp["id"]))

        editing.open_form(
            self,
            form,
            lambda values: self.attempt(editing.save_opportunity, self.ws, opp, form, values),
            saved,
        )

    def action_new_contact(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values:
                contact = self.attempt(crm.add_contact, self.ws, {**values, "account_id": self.account_id})
                if contact is not None:
                    self.changed(f"contact {contact['name']} added")

        self.app.push_screen(contact_form(self.ws), done)

    def action_new_opportunity(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values:
                opp = self.attempt(crm.add_opportunity, self.ws, {**values, "account_id": self.account_id})
                if opp is not None:
                    self.changed(f"opportunity {opp['name']} added at {opp['stage']}")

        self.app.push_screen(opportunity_form(self.ws), done)

    def action_note(self) -> None:
        from sfa.tui.forms import ask

        def done(values: dict[str, str] | None) -> None:
            if values and self.attempt(records.add_note, self.ws, ACCOUNT, self.account_id, values["value"]):
                self.changed("note added")

        self.app.push_screen(ask("Note on this account", "Text", save_label="Add note"), done)
