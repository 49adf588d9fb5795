"""Capture from any screen: add a task linked to the focused record, open a task (edit, done,
reopen, snooze), log any planned visit, and the confirmation every irreversible key asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from sfa.domain.dates import local_today
from sfa.domain.entities import TASK, TASK_PRIORITIES
from sfa.domain.errors import SfaError
from sfa.domain.schedule import parse_due
from sfa.services import records, visits
from sfa.services import tasks as task_service
from sfa.store.db import Record
from sfa.tui.format import local_stamp, visit_when
from sfa.tui.forms import FORM_CSS, ConfirmScreen, FormField, FormScreen, PickScreen, ask
from sfa.tui.widgets import KeysFooter

if TYPE_CHECKING:
    from textual.app import App

    from sfa.tui.app import SfaApp

# The record a new task is linked to: the focused record's type -> `sfa task add` option.
TASK_LINKS = {
    "account": "account",
    "contact": "contact",
    "lead": "lead",
    "opportunity": "opp",
    "visit": "visit",
}


def confirm(app: App[Any], title: str, info: str, then: Callable[[], object], yes: str = "Confirm") -> None:
    """Ask before a write: Enter confirms and runs `then`, Escape cancels and nothing is written."""

    def answered(ok: bool | None) -> None:
        if ok:
            then()

    app.push_screen(ConfirmScreen(title, info, yes=yes, no="Cancel"), answered)


def check_due(text: str) -> object:
    return parse_due(text, "due")


def check_priority(ws: Any) -> Callable[[str], object]:
    return lambda text: records.convert(ws, TASK, "priority", text)


def task_form(ws: Any, title: str, task: Record | None = None) -> FormScreen:
    def value(name: str) -> str:
        if task is None or task.get(name) is None:
            return ""
        if name == "due":
            at = task.get("due_at")
            return local_stamp(at) if at else str(task["due_date"])
        return str(task[name])

    due = "" if task is None or task.get("due_date") is None else value("due")
    return FormScreen(
        title,
        [
            FormField("title", "Title", value=value("title"), required=True),
            FormField("due", "Due", check_due, due, placeholder="tomorrow, mon, +3d, 2026-12-01 10:00"),
            FormField(
                "priority",
                "Priority",
                check_priority(ws),
                value("priority") or "normal",
                placeholder=" / ".join(TASK_PRIORITIES),
            ),
            FormField("notes", "Notes", value=value("notes")),
        ],
        save_label="Save task",
    )


def add_task(app: SfaApp, focused: tuple[str, str] | None) -> None:
    """`t`: a task linked to the record the focused row shows (its account, for a task or quote)."""
    ws = app.ws
    links: dict[str, str | None] = {}
    about = ""
    if focused is not None:
        kind, record_id = focused
        option = TASK_LINKS.get(kind)
        if option is not None:
            links[option] = record_id
        else:  # a task, a quote …: linked to its account
            from sfa.domain.entities import ENTITIES

            try:
                record = records.get(ws, ENTITIES[kind], record_id)
            except (SfaError, KeyError):
                record = {}
            if record.get("account_id"):
                links["account"] = str(record["account_id"])
        if links:
            option, ref = next(iter(links.items()))
            about = f" for {option} {_name_of(ws, option, str(ref))}"

    def done(values: dict[str, str] | None) -> None:
        if values is None:
            return
        try:
            task = task_service.add_task(
                ws,
                values["title"],
                due=values["due"].strip() or None,
                priority=values["priority"].strip() or None,
                notes=values["notes"].strip() or None,
                links=links,
            )
        except SfaError as exc:
            app.notify(str(exc), severity="error", timeout=6)
            return
        _written(app, f"task added: {task['title']}")

    app.push_screen(task_form(ws, "New task" + about), done)


def _name_of(ws: Any, option: str, record_id: str) -> str:
    from sfa.services.tasks import LINKS

    _, entity = LINKS[option]
    try:
        return str(records.get(ws, entity, record_id).get(entity.title) or "")
    except SfaError:
        return ""


def _written(app: Any, message: str) -> None:
    """After a write from a dialog: every screen reloads when next shown; the one in view now."""
    app.data_changed()
    screen = app.screen
    reload = getattr(screen, "reload", None)
    if callable(reload):
        reload()
        screen._seen_version = app.data_version
    app.notify(message)


class TaskScreen(ModalScreen[None]):
    """One task: what it is, what it is linked to, and what can be done with it."""

    DEFAULT_CSS = FORM_CSS + "TaskScreen { align: center middle; } TaskScreen > Footer { dock: bottom; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("e", "edit", "Edit"),
        Binding("d", "done", "Done", tooltip="Mark the task done"),
        Binding("o", "reopen", "Reopen", tooltip="Reopen the task"),
        Binding("z", "snooze", "Snooze", tooltip="Snooze the task"),
    ]

    def __init__(self, task_id: str) -> None:
        super().__init__()
        self.task_id = task_id

    @property
    def ws(self) -> Any:
        return self.app.ws  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("", id="task-title", classes="title")
            yield Static("", id="task-info", classes="info")
            with Horizontal(classes="buttons"):
                yield Button("Snooze (z)", id="snooze")
                yield Button("Edit (e)", id="edit")
                yield Button("Done (d)", id="done", variant="primary")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        detail = task_service.task_detail(self.ws, self.task_id)
        task = detail["task"]
        today = local_today(self.app.now())  # type: ignore[attr-defined]
        due = task_service.due_label(task, today, self.app.now()) or "no due date"  # type: ignore[attr-defined]
        linked = " · ".join(f"{k.removesuffix('_id')}: {v}" for k, v in detail["linked"].items())
        lines = [f"{task['status']} · due {due} · priority {task['priority'] or 'normal'}"]
        if linked:
            lines.append(linked)
        if task.get("notes"):
            lines.append(str(task["notes"]))
        self.query_one("#task-title", Label).update(Content(str(task["title"])))
        self.query_one("#task-info", Static).update(Content("\n".join(lines)))
        self.query_one("#done", Button).display = task["status"] == "open"
        self.query_one("#snooze", Button).display = task["status"] == "open"

    def _do(self, action: Callable[..., Record], *args: Any, message: str) -> None:
        try:
            action(self.ws, self.task_id, *args)
        except SfaError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        _written(self.app, message)
        self.show()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_done(self) -> None:
        task = task_service.task_detail(self.ws, self.task_id)["task"]
        if task["status"] != "open":
            self.notify("this task is already done; o reopens it", severity="warning")
            return
        confirm(
            self.app,
            f"Mark done: {task['title']}",
            "o (reopen) undoes it.",
            lambda: self._do(task_service.complete_task, message=f"done: {task['title']}"),
            yes="Done",
        )

    def action_reopen(self) -> None:
        self._do(task_service.reopen_task, message="task reopened")

    def action_snooze(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values:
                self._do(
                    task_service.snooze_task, values["value"], message=f"snoozed until {values['value']}"
                )

        self.app.push_screen(
            ask("Snooze until", "New due", check=check_due, save_label="Snooze", info="tomorrow, mon, +3d …"),
            done,
        )

    def action_edit(self) -> None:
        task = task_service.task_detail(self.ws, self.task_id)["task"]
        form = task_form(self.ws, f"Edit task: {task['title']}", task)

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            changed = form.changed_values(values)
            if not changed:
                self.notify("nothing changed")
                return
            self._do(
                lambda ws, ref: task_service.edit_task(
                    ws,
                    ref,
                    title=changed.get("title"),
                    due=changed.get("due"),
                    priority=changed.get("priority"),
                    notes=changed.get("notes"),
                ),
                message="task saved",
            )

        self.app.push_screen(form, done)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        actions = {"done": self.action_done, "edit": self.action_edit, "snooze": self.action_snooze}
        if event.button.id in actions:
            actions[event.button.id]()


def pick_visit_to_log(app: SfaApp) -> None:
    """ "Log visit" from anywhere: today's planned visits and the past ones never logged."""
    ws = app.ws
    today = local_today(app.now())
    rows = visits.unlogged_before(ws, today) + [
        r for r in visits.agenda(ws, today, today) if r["visit"]["status"] == "planned"
    ]
    if not rows:
        app.notify("no planned visit to log (today's and earlier ones are all logged)", severity="warning")
        return
    choices = [
        (r["visit"]["id"], f"{visit_when(r['visit'])} · {r['account']} · {r['visit']['purpose'] or ''}")
        for r in rows
    ]
    app.push_screen(PickScreen("Log which visit?", choices), lambda key: log_visit(app, key) if key else None)


def log_visit(app: Any, visit_id: str) -> None:
    """The log form for a planned visit; a visit in any other state is refused with its reason."""
    from sfa.tui.screens.today import follow_ups_of, log_visit_form

    ws = app.ws
    try:
        detail = visits.visit_detail(ws, visit_id)
    except SfaError as exc:
        app.notify(str(exc), severity="error", timeout=6)
        return
    visit = detail["visit"]
    if visit["status"] != "planned":
        app.notify(f"this visit is {visit['status']}; only a planned visit can be logged", severity="warning")
        return

    def done(values: dict[str, str] | None) -> None:
        if values is None:
            return
        titles, dues = follow_ups_of(values)
        try:
            _, created = visits.log_visit(
                ws,
                visit_id,
                outcome=values["outcome"],
                notes=values["notes"],
                follow_ups=titles,
                dues=dues or None,
            )
        except SfaError as exc:
            app.notify(str(exc), severity="error", timeout=6)
            return
        _written(app, "visit logged" + (f"; {len(created)} follow-up task(s)" if created else ""))

    app.push_screen(log_visit_form(detail["account"]["name"], visit), done)
