"""Today: the day's visits in time order with travel legs, the earlier visits still to log, quotes
expiring, deals closing, stalled deals, and every open task due today, overdue or undated (in that
order); orders the ERP rejected or has not acknowledged for 2 days and contracts due for renewal,
shown only when there are some (issue 15 §4)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static

from sfa.domain.dates import local_today
from sfa.domain.entities import OPPORTUNITY, TASK
from sfa.services import crm, records, status
from sfa.services import quotes as quote_service
from sfa.services import tasks as task_service
from sfa.services import visits as visit_service
from sfa.store.workspace import Workspace
from sfa.tui.base import SfaScreen
from sfa.tui.format import day_label, local_time, short_money, visit_when
from sfa.tui.results import ResultsTable
from sfa.tui.widgets import Table

if TYPE_CHECKING:
    from sfa.services.stalled import Stalled
    from sfa.tui.forms import FormScreen

FOLLOW_UPS = 3  # follow-up task lines in the log form
CLOSING_DAYS = 7
QUOTE_DAYS = 7  # quotes expiring within this many days, today included
CLOSING_LIMIT = 50  # deals listed under "closing"; the pipeline screen has them all
FIRST_ROWS_AT_LEAST = 24  # rows a section gets before the first paint (or the terminal's height)
TASKS_LISTED = 500  # the task list's length; the title counts them all

Row = tuple[tuple[Any, ...], str]  # a table row's cells and its key
# The sections of the first paint, in order: (id, columns). A section's table is mounted when it
# first has rows (an empty section is its title line, "none"): on the bench store "to log" and
# "quotes" are empty, two tables less to style before the first frame.
SECTIONS = (
    ("visits", ("Time", "Account", "Purpose", "Leg", "Status")),
    ("to-log", ("Planned", "Account", "Purpose")),
    ("quotes", ("Quote", "Account", "Valid until", "Status")),
    ("closing", ("Close", "Deal", "Stage", "Amount")),
    ("tasks", ("Due", "Task", "Account / contact", "Priority")),
)
COLUMNS = dict(SECTIONS)
# Sections known only after the first paint (the stalled deals are computed on a thread; orders and
# renewals, hidden while there are none, most days): (id, title, columns), between "closing" and
# "tasks".
LATE_SECTIONS = (
    ("stalled", "Stalled deals", ("Deal", "Stage", "Amount", "Why")),
    ("orders", "", ("Order", "Account", "Status", "ERP says / since")),
    ("renewals", "", ("Contract", "Title", "Account", "Ends")),
)


class TodayScreen(SfaScreen):
    MODE = "today"
    # The focus goes to the first list with rows (reload), nowhere on an empty store: Textual's
    # first focusable widget there is the demo offer's button (the hidden visits table had it
    # when every table was composed empty), and Enter would load the demo data. ("": none; None
    # is the app's choice.)
    AUTO_FOCUS = ""
    DEFAULT_CSS = """
    TodayScreen #today-body { height: 1fr; }
    TodayScreen Table { height: auto; }
    TodayScreen #visits { max-height: 30%; }
    TodayScreen #to-log, TodayScreen #quotes, TodayScreen #closing, TodayScreen #stalled { max-height: 20%; }
    TodayScreen #orders, TodayScreen #renewals { max-height: 20%; }
    TodayScreen #tasks { height: 1fr; min-height: 4; }
    TodayScreen #empty-offer { height: auto; border: round $warning; padding: 0 1; margin: 1 2; }
    TodayScreen #empty-offer Button { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "log_visit", "Log", tooltip="Log visit"),
        Binding("d", "task_done", "Done", tooltip="Mark the focused task done"),
        Binding("enter", "open", "Open", show=False),
        Binding("D", "load_demo", "Load demo data", show=False),
    ]

    def body(self) -> Iterable[Widget]:
        yield Static("", id="today-head", classes="hint")
        with Vertical(id="today-body"):
            # each title's table is mounted after it once it has rows (_rows_table)
            yield Static("Visits", id="visits-title", classes="section-title")
            yield Static("To log", id="to-log-title", classes="section-title")
            yield Static("Quotes expiring this week", id="quotes-title", classes="section-title")
            yield Static(f"Deals closing in {CLOSING_DAYS} days", id="closing-title", classes="section-title")
            # stalled deals, orders and renewals come here after the first paint (LATE_SECTIONS)
            yield Static("Tasks", id="tasks-title", classes="section-title")

    def _table(self, name: str) -> Table | None:
        """A section's table, if it has been mounted (it is once it has had rows)."""
        found = self.query(f"#{name}")
        return found.first(Table) if found else None

    def _rows_table(self, name: str, rows: int) -> Table | None:
        """The section's table to fill with `rows` rows, mounted after its title if it is not
        yet; None when there are none (a table already mounted is hidden by _section)."""
        table = self._table(name)
        if table is None and rows:
            table = ResultsTable(id=name)
            table.add_columns(*COLUMNS[name])
            self.query_one("#today-body", Vertical).mount(table, after=self.query_one(f"#{name}-title"))
        return table if rows else None

    def on_mount(self) -> None:
        # through the app's queue, as the app's own after-paint work: the screen's own refresh
        # callback ran while Today was still being laid out, before its first frame was written
        self.sfa.after_first_paint(self._after_first_paint)
        super().on_mount()

    _painted: threading.Event
    _rest: list[tuple[Table, list[Row]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._painted = threading.Event()  # set after the first paint: stalled deals wait for it
        self._rest = []  # rows that wait for the first paint: (table, rows)
        self._after_paint: Callable[[], None] | None = None  # a section filled after the first paint
        self._more_tasks: tuple[datetime, int] | None = None  # tasks read after it: (now, listed)

    def _fill(self, table: Table, rows: list[Row]) -> None:
        """Rows into a table. Before the first paint only as many as the terminal has lines (no
        section can show more), the rest right after it: measuring and styling 650 rows (500
        tasks, 100 visits and 50 deals on the bench store) cost the first paint 60-70 ms of CPU."""
        first = len(rows) if self._painted.is_set() else self._first_rows()
        for cells, key in rows[:first]:
            table.add_row(*cells, key=key)
        if len(rows) > first:
            self._rest.append((table, rows[first:]))

    def _first_rows(self) -> int:
        return max(self.app.size.height, FIRST_ROWS_AT_LEAST)

    def _after_first_paint(self) -> None:
        """The rows held back for the first paint go in; the stalled deals may start."""
        if self._painted.is_set():
            return
        self._mount_late_sections()
        self._painted.set()
        if self._after_paint is not None:
            self._after_paint()
            self._after_paint = None
        rest, self._rest = self._rest, []
        for table, rows in rest:
            for cells, key in rows:
                table.add_row(*cells, key=key)
        if self._more_tasks is not None:  # the tasks not read before the first paint
            now, listed = self._more_tasks
            self._more_tasks = None
            found, _ = task_service.for_today(self.ws, now=now, limit=TASKS_LISTED)
            tasks = self.query_one("#tasks", Table)  # mounted: it had rows before the paint
            for cells, key in self._task_rows(found[listed:], local_today(now)):
                tasks.add_row(*cells, key=key)

    def _mount_late_sections(self) -> None:
        """The sections filled after the first paint, mounted then, hidden until they have rows:
        three tables and their titles less to style and lay out before the first frame."""
        widgets: list[Widget] = []
        for name, title, columns in LATE_SECTIONS:
            heading = Static(title, id=f"{name}-title", classes="section-title")
            table = ResultsTable(id=name)
            table.add_columns(*columns)
            heading.display = table.display = False
            widgets += [heading, table]
        self.query_one("#today-body", Vertical).mount(*widgets, before=self.query_one("#tasks-title"))

    def _section(self, name: str, title: str, rows: int, empty: str = "none") -> None:
        """A section's title says how many rows it has; an empty table is hidden (its title says so)."""
        self.query_one(f"#{name}-title", Static).update(f"{title}" + (f" ({rows})" if rows else f": {empty}"))
        table = self._table(name)
        if table is not None:
            table.display = rows > 0

    def reload(self) -> None:
        now = self.now()
        today = local_today(now)
        self.offer_demo(status.is_empty(self.ws))
        mounted = [t for t in (self._table(name) for name, _ in SECTIONS) if t is not None]
        keep = {t.id: t.selected_key() for t in mounted}
        for table in mounted:
            table.clear()
        self._rest = []  # rows of an earlier read still waiting for the first paint
        self._after_paint = None
        # the day's visits as `sfa today` lists them (reports.today's agenda; the rest of that
        # report, the day's events and a second read of the quotes, Today does not show)
        agenda = visit_service.agenda(self.ws, today, today)
        km = 0.0
        shown: list[Row] = []
        for row in agenda:
            visit = row["visit"]
            leg = f"{row['km_from_previous']:.1f} km" if row["km_from_previous"] is not None else "start"
            km += row["km_from_previous"] or 0.0
            cells: tuple[Any, ...] = (
                local_time(visit["starts_at"]) if visit["fixed_time"] else "any time",
                row["account"],
                visit["purpose"] or "",
                leg,
                visit["status"],
            )
            shown.append((cells, visit["id"]))
        if visits := self._rows_table("visits", len(shown)):
            self._fill(visits, shown)
        self._section("visits", "Visits", len(agenda), "none planned today (8: Week, plan one)")
        unlogged = visit_service.unlogged_before(self.ws, today)
        if to_log := self._rows_table("to-log", len(unlogged)):
            for row in unlogged:
                visit = row["visit"]
                to_log.add_row(visit_when(visit), row["account"], visit["purpose"] or "", key=visit["id"])
        self._section("to-log", "To log: planned visits of earlier days, not logged", len(unlogged))
        # before the first paint only the tasks it can show are read (a page: 500 tasks and their
        # names cost it about 10 ms), the rest right after it
        painted = self._painted.is_set()
        rows, total = task_service.for_today(
            self.ws, now=now, limit=TASKS_LISTED if painted else min(TASKS_LISTED, self._first_rows())
        )
        self._more_tasks = None if painted or len(rows) == total else (now, len(rows))
        if tasks := self._rows_table("tasks", len(rows)):
            self._fill(tasks, self._task_rows(rows, today))
        listed = min(total, TASKS_LISTED)
        more = f", first {listed} listed" if total > listed else ""
        self._section("tasks", f"Tasks: today, overdue, undated{more}", total)
        expiring = quote_service.expiring(self.ws, today + timedelta(days=QUOTE_DAYS - 1), today)
        names = crm.names_of(self.ws, "account", {q["account_id"] for q in expiring})
        if quotes := self._rows_table("quotes", len(expiring)):
            for quote in expiring:
                quotes.add_row(
                    quote["number"],
                    names.get(quote["account_id"], ""),
                    day_label(quote["valid_until"], today),
                    quote["status"],
                    key=quote["id"],
                )
        self._section("quotes", "Quotes expiring this week", len(expiring))
        horizon = today + timedelta(days=CLOSING_DAYS)
        shown = []
        for opp in crm.list_opportunities(self.ws, open_only=True, limit=CLOSING_LIMIT):
            if opp["close_date"] is None or opp["close_date"] > horizon:
                break  # listed by close date, undated last
            cells = (
                day_label(opp["close_date"], today),
                opp["name"],
                opp["stage"],
                short_money(opp["amount"]),
            )
            shown.append((cells, opp["id"]))
        if closing := self._rows_table("closing", len(shown)):
            self._fill(closing, shown)
        self._section("closing", f"Deals closing in {CLOSING_DAYS} days", len(shown))
        self.stalled_worker(self.ws.home, today, now)
        if self._painted.is_set():
            self.paperwork(now, today)
        else:  # hidden most days and below the fold: right after the first paint, modules and all
            self._after_paint = partial(self.paperwork, now, today)
        for table in (t for t in (self._table(name) for name, _ in SECTIONS) if t is not None):
            wanted = keep.get(table.id)
            if wanted is not None and wanted in {str(k.value) for k in table.rows}:
                table.move_cursor(row=table.get_row_index(wanted))
        head = f"{today:%A %d %B %Y} · {len(agenda)} visits · {km:.1f} km · {total} tasks" + (
            f" · {len(unlogged)} to log" if unlogged else ""
        )
        self.query_one("#today-head", Static).update(head)
        if self.focused is None:  # a fresh start, or the demo just loaded: the first list with rows
            for name in ("visits", "to-log", "tasks"):
                first = self._table(name)
                if first is not None and first.row_count:
                    first.focus()
                    break

    @staticmethod
    def _task_rows(rows: list[dict[str, Any]], today: date) -> list[Row]:
        shown = []
        for row in rows:
            task = row["task"]
            due: str | Text = day_label(task["due_date"], today) or "no date"
            if task["due_date"] is not None and task["due_date"] < today:
                due = Text(str(due), style="bold red")
            shown.append(((due, task["title"], row["who"], task["priority"] or ""), task["id"]))
        return shown

    @work(thread=True, exclusive=True, group="today-stalled")
    def stalled_worker(self, home: Path, today: date, now: datetime) -> None:
        """Stalled deals (`sfa today`'s section, issue 14) are computed on read from every deal's
        timeline: about 4 s on the 100,000-contact bench store. So on a thread with its own
        connection, after the first paint, and the section fills in when they are known."""
        self._painted.wait(timeout=5)
        from sfa.services import stalled

        ws = Workspace(home)
        try:
            found = stalled.mine(ws, today, now)
        finally:
            ws.close()
        with contextlib.suppress(RuntimeError):  # the dashboard closed meanwhile
            self.app.call_from_thread(self.show_stalled, found, today)

    def show_stalled(self, found: list[Stalled], today: date) -> None:
        table = self.query_one("#stalled", Table)
        keep = table.selected_key()
        table.clear()
        for item in found:
            opp = item.opp
            table.add_row(
                opp["name"],
                opp["stage"],
                short_money(opp["amount"]),
                "; ".join(item.reasons),
                key=opp["id"],
            )
        # shown only when some deal is stalled (a line less for the tasks at 80x24 otherwise)
        self._section("stalled", "Stalled deals", len(found))
        self.query_one("#stalled-title", Static).display = bool(found)
        if keep is not None and keep in {str(k.value) for k in table.rows}:
            table.move_cursor(row=table.get_row_index(keep))

    def paperwork(self, now: Any, today: Any) -> None:
        """ERP rejections and orders waiting over 2 days; contracts due for renewal (issue 15)."""
        from sfa.services import contracts as contract_service
        from sfa.services import orders as order_service

        orders = self.query_one("#orders", Table)
        renewals = self.query_one("#renewals", Table)
        keep = {t.id: t.selected_key() for t in (orders, renewals)}
        orders.clear()
        renewals.clear()
        waiting = order_service.attention(self.ws, now)
        due = [c for c, _ in contract_service.renewals_due(self.ws, today)]
        names = crm.names_of(
            self.ws,
            "account",
            {o["account_id"] for o in waiting["rejected"] + waiting["unacknowledged"]}
            | {c["account_id"] for c in due},
        )
        for order in waiting["rejected"]:
            orders.add_row(
                order["number"],
                names.get(order["account_id"], "")[:22],
                Text("rejected", style="bold red"),
                order["erp_message"] or "",
                key=order["id"],
            )
        for order in waiting["unacknowledged"]:
            orders.add_row(
                order["number"],
                names.get(order["account_id"], "")[:22],
                "not acknowledged",
                f"submitted {day_label(order['submitted_at'].date(), today)}"
                if order["submitted_at"]
                else "",
                key=order["id"],
            )
        for contract in due:
            renewals.add_row(
                contract["number"],
                (contract["title"] or "")[:28],
                names.get(contract["account_id"], "")[:22],
                day_label(contract["end_date"], today) if contract["end_date"] else "",
                key=contract["id"],
            )
        for name, title, table in (
            ("orders", "Orders: rejected by the ERP, or waiting for it", orders),
            ("renewals", "Contracts due for renewal", renewals),
        ):
            self._section(name, title, table.row_count)
            self.query_one(f"#{name}-title", Static).display = table.row_count > 0
            wanted = keep.get(table.id)
            if wanted is not None and wanted in {str(k.value) for k in table.rows}:
                table.move_cursor(row=table.get_row_index(wanted))

    def offer_demo(self, empty: bool) -> None:
        """The empty-store offer, mounted only while the store is empty."""
        offer = self.query("#empty-offer")
        if empty and not offer:
            text = Static(
                "This store is empty. Load the demo data to look around?\n"
                "(a small company with accounts, contacts, leads, a pipeline, visits and quotes; "
                "delete the data home to start over)"
            )
            box = Vertical(
                text, Button("Load demo data (D)", id="load-demo", variant="warning"), id="empty-offer"
            )
            self.query_one("#today-body", Vertical).mount(box, before=0)
        elif not empty and offer:
            offer.remove()

    # -- what the focus is on ------------------------------------------------------------------
    KINDS: ClassVar[dict[str, str]] = {
        "visits": "visit",
        "to-log": "visit",
        "tasks": "task",
        "quotes": "quote",
        "closing": "opportunity",
        "stalled": "opportunity",
        "orders": "order",
        "renewals": "contract",
    }

    def focused_table(self) -> Table | None:
        focused = self.focused
        return focused if isinstance(focused, Table) and focused.id in self.KINDS else None

    def focused_record(self) -> tuple[str, str] | None:
        table = self.focused_table()
        key = table.selected_key() if table is not None else None
        return (self.KINDS[str(table.id)], key) if table is not None and key is not None else None

    # -- actions -----------------------------------------------------------------------------
    def action_load_demo(self) -> None:
        if not status.is_empty(self.ws):
            self.notify(
                "the store already holds data; the demo loads only into an empty store", severity="warning"
            )
            return
        from sfa.tui import sample  # the demo company's modules: not needed before the first paint

        text = self.attempt(sample.load_demo, self.ws, now=self.now())
        if text:
            self.changed(text)

    @on(Button.Pressed, "#load-demo")
    def _demo_pressed(self) -> None:
        self.action_load_demo()

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Enter: a visit is logged, a task opens, a quote opens in Quotes (an order in Orders, a
        contract in Contracts), a deal (closing or stalled) its account with the focus on the deal."""
        found = self.focused_record()
        if found is None:
            return
        kind, key = found
        # the dialogs' modules (forms, capture) are not needed before the first paint
        from sfa.tui.capture import TaskScreen, log_visit

        if kind == "visit":
            log_visit(self.sfa, key)
        elif kind == "task":
            self.app.push_screen(TaskScreen(key))
        elif kind == "quote":
            self.sfa.select_next["quotes"] = key
            self.app.switch_mode("quotes")
        elif kind in ("order", "contract"):
            self.sfa.select_next[f"{kind}s"] = key
            self.app.switch_mode(f"{kind}s")
        else:
            from sfa.tui.screens.accounts import AccountView

            opp = self.attempt(records.get, self.ws, OPPORTUNITY, key)
            if opp is not None:
                self.app.push_screen(AccountView(opp["account_id"], opp["id"]))

    def action_log_visit(self) -> None:
        found = self.focused_record()
        if found is None or found[0] != "visit":
            self.notify("l logs the focused visit: move to a visit (tab) first", severity="warning")
            return
        from sfa.tui.capture import log_visit

        log_visit(self.sfa, found[1])

    def action_task_done(self) -> None:
        found = self.focused_record()
        if found is None or found[0] != "task":
            self.notify("d marks the focused task done: move to a task (tab) first", severity="warning")
            return
        task = self.attempt(records.get, self.ws, TASK, found[1])
        if task is None:
            return
        from sfa.tui.capture import confirm

        def done() -> None:
            if self.attempt(task_service.complete_task, self.ws, task["id"]) is not None:
                self.changed(f"done: {task['title']}")

        confirm(
            self.app,
            f"Mark done: {task['title']}",
            "Enter on it later, then o, reopens it.",
            done,
            yes="Done",
        )


def check_due(text: str) -> object:
    schedule: Any = __import__("sfa.domain.schedule", fromlist=["parse_due"])
    return schedule.parse_due(text, "due")


def log_visit_form(account: str, visit: dict[str, Any]) -> FormScreen:
    from sfa.tui.forms import FormField, FormScreen

    fields = [
        FormField("outcome", "Outcome", required=True, placeholder="what happened"),
        FormField("notes", "Report", placeholder="notes for the timeline"),
    ]
    for index in range(1, FOLLOW_UPS + 1):
        fields.append(FormField(f"follow{index}", f"Follow-up task {index}"))
        fields.append(
            FormField(f"due{index}", f"Due {index}", check_due, placeholder="fri, +3d, 2026-12-01 10:00")
        )
    when = visit_when(visit)
    return FormScreen(
        f"Log visit: {account} {when}", fields, info=visit.get("purpose") or "", save_label="Log"
    )


def follow_ups_of(values: dict[str, str]) -> tuple[list[str], list[str]]:
    """The follow-up titles and their dues; a due without a title is ignored, a title without a due
    gets the form's empty due (no due date) — but the service wants all or none, so fill with ''."""
    titles, dues = [], []
    for index in range(1, FOLLOW_UPS + 1):
        title = values.get(f"follow{index}", "").strip()
        if title:
            titles.append(title)
            dues.append(values.get(f"due{index}", "").strip())
    if not any(dues):
        dues = []
    return titles, dues
