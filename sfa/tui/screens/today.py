"""Today: visits in time order with travel legs, tasks due and overdue, quotes expiring, deals closing.

Visits and tasks come from the rep's-day services (sfa.services.reports/visits/tasks) when this
build has them; until then the screen shows what the CRM services give (deals closing this week).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, DataTable, Static

from sfa.domain.dates import local_today
from sfa.domain.errors import SfaError
from sfa.services import crm, reports, status
from sfa.services import quotes as quote_service
from sfa.services import tasks as task_service
from sfa.services import visits as visit_service
from sfa.tui import sample
from sfa.tui.base import SfaScreen
from sfa.tui.format import day_label, local_time, short_money
from sfa.tui.forms import FormField, FormScreen
from sfa.tui.widgets import Table

FOLLOW_UPS = 3  # follow-up task lines in the log form
CLOSING_DAYS = 7
QUOTE_DAYS = 7  # quotes expiring within this many days, today included
CLOSING_LIMIT = 50  # deals listed under "closing"; the pipeline screen has them all


class TodayScreen(SfaScreen):
    MODE = "today"
    DEFAULT_CSS = """
    TodayScreen Table { height: auto; max-height: 9; }
    TodayScreen #empty-offer { height: auto; border: round $warning; padding: 0 1; margin: 1 2; }
    TodayScreen #empty-offer Button { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "log_visit", "Log visit"),
        Binding("x", "task_done", "Task done"),
        Binding("D", "load_demo", "Load demo data", show=False),
    ]

    def body(self) -> Iterable[Widget]:
        yield Static("", id="today-head", classes="hint")
        with VerticalScroll():
            yield Static("Visits", classes="section-title")
            yield Table(id="visits")
            yield Static("Tasks due and overdue", classes="section-title")
            yield Table(id="tasks")
            yield Static("Quotes expiring this week", classes="section-title")
            yield Table(id="quotes")
            yield Static(f"Deals closing in {CLOSING_DAYS} days", classes="section-title")
            yield Table(id="closing")

    def on_mount(self) -> None:
        self.query_one("#visits", Table).add_columns("Time", "Account", "Purpose", "Leg", "Status")
        self.query_one("#tasks", Table).add_columns("Due", "Task", "Priority")
        self.query_one("#quotes", Table).add_columns("Quote", "Account", "Valid until", "Status")
        self.query_one("#closing", Table).add_columns("Close", "Deal", "Stage", "Amount")
        super().on_mount()
        self.query_one("#visits", Table).focus()

    def reload(self) -> None:
        now = self.now()
        today = local_today(now)
        self.offer_demo(status.is_empty(self.ws))
        visits = self.query_one("#visits", Table)
        tasks = self.query_one("#tasks", Table)
        quotes = self.query_one("#quotes", Table)
        for table in (visits, tasks, quotes):
            table.clear()
        head = f"{today:%A %d %B %Y}"
        day = reports.today(self.ws, now=now)
        km = 0.0
        for row in day["visits"]:
            visit = row["visit"]
            leg = f"{row['km_from_previous']:.1f} km" if row["km_from_previous"] is not None else "start"
            km += row["km_from_previous"] or 0.0
            visits.add_row(
                local_time(visit["starts_at"]),
                row["account"],
                visit["purpose"] or "",
                leg,
                visit["status"],
                key=visit["id"],
            )
        for task in day["tasks"]:
            due: str | Text = day_label(task["due_date"], today)
            if task["due_date"] is not None and task["due_date"] < today:
                due = Text(str(due), style="bold red")
            tasks.add_row(due, task["title"], task["priority"] or "", key=task["id"])
        head += f" · {len(day['visits'])} visits · {km:.1f} km · {day['tasks_total']} tasks due"
        expiring = quote_service.expiring(self.ws, today + timedelta(days=QUOTE_DAYS - 1), today)
        names = crm.names_of(self.ws, "account", {q["account_id"] for q in expiring})
        for quote in expiring:
            quotes.add_row(
                quote["number"],
                names.get(quote["account_id"], ""),
                day_label(quote["valid_until"], today),
                quote["status"],
                key=quote["id"],
            )
        closing = self.query_one("#closing", Table)
        closing.clear()
        horizon = today + timedelta(days=CLOSING_DAYS)
        for opp in crm.list_opportunities(self.ws, open_only=True, limit=CLOSING_LIMIT):
            if opp["close_date"] is None or opp["close_date"] > horizon:
                break  # listed by close date, undated last
            closing.add_row(
                day_label(opp["close_date"], today),
                opp["name"],
                opp["stage"],
                short_money(opp["amount"]),
                key=opp["id"],
            )
        self.query_one("#today-head", Static).update(head)

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
            scroll = self.query_one(VerticalScroll)
            scroll.mount(box, before=0)
        elif not empty and offer:
            offer.remove()

    # -- actions -----------------------------------------------------------------------------
    def action_load_demo(self) -> None:
        if not status.is_empty(self.ws):
            self.notify(
                "the store already holds data; the demo loads only into an empty store", severity="warning"
            )
            return
        text = self.attempt(sample.load_demo, self.ws, now=self.now())
        if text:
            self.changed(text)

    @on(Button.Pressed, "#load-demo")
    def _demo_pressed(self) -> None:
        self.action_load_demo()

    @on(DataTable.RowSelected, "#visits")
    def _visit_chosen(self) -> None:
        self.action_log_visit()

    def action_log_visit(self) -> None:
        key = self.query_one("#visits", Table).selected_key()
        if key is None:
            self.notify("no visit selected", severity="warning")
            return
        detail = self.attempt(visit_service.visit_detail, self.ws, key)
        if detail is None:
            return
        visit = detail["visit"]
        if visit["status"] != "planned":
            self.notify(
                f"this visit is {visit['status']}; only a planned visit can be logged", severity="warning"
            )
            return
        self.app.push_screen(log_visit_form(detail["account"]["name"], visit), lambda v: self._log(key, v))

    def _log(self, visit_id: str, values: dict[str, str] | None) -> None:
        if values is None:
            return
        titles, dues = follow_ups_of(values)
        try:
            _, created = visit_service.log_visit(
                self.ws,
                visit_id,
                outcome=values["outcome"],
                notes=values["notes"],
                follow_ups=titles,
                dues=dues or None,
            )
        except SfaError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        self.changed("visit logged" + (f"; {len(created)} follow-up task(s)" if created else ""))

    def action_task_done(self) -> None:
        key = self.query_one("#tasks", Table).selected_key()
        if key is None:
            self.notify("no task selected", severity="warning")
            return
        task = self.attempt(task_service.complete_task, self.ws, key)
        if task is not None:
            self.changed(f"done: {task['title']}")


def check_due(text: str) -> object:
    schedule: Any = __import__("sfa.domain.schedule", fromlist=["parse_due"])
    return schedule.parse_due(text, "due")


def log_visit_form(account: str, visit: dict[str, Any]) -> FormScreen:
    fields = [
        FormField("outcome", "Outcome", required=True, placeholder="what happened"),
        FormField("notes", "Report", placeholder="notes for the timeline"),
    ]
    for index in range(1, FOLLOW_UPS + 1):
        fields.append(FormField(f"follow{index}", f"Follow-up task {index}"))
        fields.append(
            FormField(f"due{index}", f"Due {index}", check_due, placeholder="fri, +3d, 2026-12-01 10:00")
        )
    when = local_time(visit["starts_at"])
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
