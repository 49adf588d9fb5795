"""Contacts: every contact, searched as you type, and a contact's own view (call details, account,
open tasks, timeline) where `e` edits that person and no other."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from sfa.domain.entities import CONTACT
from sfa.domain.errors import SfaError
from sfa.services import crm, records, search, tasks
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.base import SfaScreen
from sfa.tui.format import local_stamp
from sfa.tui.forms import PickScreen
from sfa.tui.widgets import KeysFooter, StatusBar, Table

LIST_LIMIT = 500  # contacts listed by name before anything is typed


class ContactsScreen(SfaScreen):
    MODE = "contacts"
    DEFAULT_CSS = """
    ContactsScreen #contacts { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "find", "Search", key_display="/"),
        Binding("n", "new_contact", "New", tooltip="Add contact"),
        Binding("e", "edit", "Edit", tooltip="Edit the contact"),
        Binding("m", "app.switch_mode('duplicates')", "Duplicates", tooltip="Go to Duplicates"),
        Binding("enter", "open", "Open", show=False),
        Binding("escape", "clear", "Clear search", show=False),
    ]

    def body(self) -> Iterable[Widget]:
        yield Input(placeholder="search contacts: name, email, phone, company …", id="contact-search")
        yield Static("", id="contacts-hint", classes="hint")
        yield Table(id="contacts")

    def on_mount(self) -> None:
        table = self.query_one("#contacts", Table)
        table.add_column("Name", width=22)
        table.add_column("Account", width=20)
        table.add_column("Title", width=14)
        table.add_column("Phone")
        super().on_mount()
        table.focus()

    def reload(self) -> None:
        text = self.query_one("#contact-search", Input).value.strip()
        table = self.query_one("#contacts", Table)
        keep = self.sfa.select_next.pop("contacts", None) or table.selected_key()
        if len(text) >= 2:
            try:
                found = [r for _, r in search.search(self.ws, text, ["contact"], limit=200)]
            except SfaError:
                found = []
            hint = f"{len(found)} found for {text!r}"
        else:
            found = crm.list_contacts(self.ws, limit=LIST_LIMIT)
            if text:  # one letter: names starting with it
                found = [c for c in found if str(c["name"]).lower().startswith(text.lower())]
            hint = f"{len(found)} contacts" + (f" starting with {text!r}" if text else ", by name")
        names = crm.names_of(self.ws, "account", {c["account_id"] for c in found if c["account_id"]})
        table.clear()
        for contact in found:
            table.add_row(
                contact["name"],
                names.get(contact["account_id"], "") if contact["account_id"] else "",
                contact["title"] or "",
                contact["phone"] or contact["mobile"] or "",
                key=contact["id"],
            )
        if keep is not None and keep in {str(k.value) for k in table.rows}:
            table.move_cursor(row=table.get_row_index(keep))
        self.query_one("#contacts-hint", Static).update(Content(hint))  # quotes what was typed

    @on(Input.Changed, "#contact-search")
    def _typed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#contact-search")
    def _to_list(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#contacts", Table).focus()

    def focused_record(self) -> tuple[str, str] | None:
        table = self.query_one("#contacts", Table)
        key = table.selected_key() if table.has_focus else None
        return ("contact", key) if key is not None else None

    def action_find(self) -> None:
        self.query_one("#contact-search", Input).focus()

    def action_clear(self) -> None:
        search_box = self.query_one("#contact-search", Input)
        if search_box.value:
            search_box.value = ""
        self.query_one("#contacts", Table).focus()

    @on(DataTable.RowSelected, "#contacts")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        found = self.focused_record()
        if found is not None:
            self.app.push_screen(ContactView(found[1]))

    def action_edit(self) -> None:
        found = self.focused_record()
        if found is None:
            self.notify("move to a contact first", severity="warning")
            return
        edit_contact(self, found[1])

    def action_new_contact(self) -> None:
        """n: a new contact at an account (picked, typed to filter), or at none."""
        accounts = crm.list_accounts(self.ws, limit=5000)
        choices = [("-", "— at no account —")] + [
            (a["id"], f"{a['name']} · {a['city'] or ''}") for a in accounts
        ]

        def picked(account_id: str | None) -> None:
            if account_id is not None:
                add_contact(self, None if account_id == "-" else account_id)

        self.app.push_screen(PickScreen("New contact at which account?", choices), picked)


def add_contact(screen: Any, account_id: str | None) -> None:
    from sfa.tui.screens.accounts import contact_form

    ws = screen.app.ws

    def done(values: dict[str, str] | None) -> None:
        if not values:
            return
        try:
            contact = crm.add_contact(ws, {**values, "account_id": account_id})
        except SfaError as exc:
            screen.notify(str(exc), severity="error", timeout=6)
            return
        screen.app.select_next["contacts"] = contact["id"]
        screen.changed(f"contact {contact['name']} added")

    screen.app.push_screen(contact_form(ws), done)


def edit_contact(screen: Any, contact_id: str) -> None:
    from sfa.tui import editing
    from sfa.tui.screens.accounts import contact_form

    ws = screen.app.ws
    try:
        contact = records.get(ws, CONTACT, contact_id)
    except SfaError as exc:
        screen.notify(str(exc), severity="error", timeout=6)
        return
    form = contact_form(ws, contact)
    editing.open_form(
        screen,
        form,
        lambda values: screen.attempt(records.edit, ws, CONTACT, contact["id"], form.changed_values(values)),
        lambda saved: screen.changed(f"contact {saved['name']} saved"),
    )


class ContactView(Screen[None]):
    """One contact: call details, the account, open tasks, the timeline. `e` edits this person."""

    DEFAULT_CSS = """
    ContactView #contact-head { height: auto; padding: 0 1; background: $boost; }
    ContactView Table { height: auto; max-height: 40vh; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        Binding("e", "edit", "Edit", tooltip="Edit the contact"),
        Binding("a", "account", "Account", tooltip="Open the contact's account"),
    ]

    def __init__(self, contact_id: str) -> None:
        super().__init__()
        self.contact_id = contact_id

    @property
    def ws(self) -> Workspace:
        return self.app.ws  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> Iterable[Widget]:
        with Vertical(classes="bottom"):
            yield StatusBar()
            yield KeysFooter()
        yield Static("", id="contact-head")
        yield Static("Open tasks", classes="section-title")
        yield Table(id="contact-tasks")
        yield Static("Timeline", classes="section-title")
        yield Table(id="contact-timeline")

    def on_mount(self) -> None:
        self.query_one("#contact-tasks", Table).add_columns("Due", "Task", "Priority")
        self.query_one("#contact-timeline", Table).add_columns("When", "What")
        self.reload()
        self.query_one("#contact-tasks", Table).focus()

    def reload(self) -> None:
        contact = records.get(self.ws, CONTACT, self.contact_id)
        account = ""
        if contact["account_id"]:
            account = crm.names_of(self.ws, "account", {contact["account_id"]}).get(contact["account_id"], "")
        call = [
            f"{label} {contact[name]}"
            for name, label in (("phone", "phone"), ("mobile", "mobile"), ("email", "email"))
            if contact.get(name)
        ]
        self.query_one("#contact-head", Static).update(
            Content.assemble(  # names are text, never markup
                (str(contact["name"]), "bold"),
                f"  {contact['title'] or ''}",
                f"\n{account or 'at no account'}",
                f"\n{' · '.join(call) or 'no phone or email'}",
            )
        )
        open_tasks = [t for t in tasks.list_tasks(self.ws, "open") if t["contact_id"] == self.contact_id]
        table = self.query_one("#contact-tasks", Table)
        table.clear()
        for task in open_tasks[:50]:
            table.add_row(str(task["due_date"] or ""), task["title"], task["priority"] or "", key=task["id"])
        timeline = self.query_one("#contact-timeline", Table)
        timeline.clear()
        for entry in records.timeline_of(self.ws, self.contact_id, limit=20):
            text = str(entry["text"] or "").splitlines()
            timeline.add_row(local_stamp(entry["at"]), text[0] if text else "", key=entry["id"])

    def focused_record(self) -> tuple[str, str]:
        return "contact", self.contact_id

    def on_screen_resume(self) -> None:
        self.reload()  # back from a dialog (a task done, a contact edited): show what changed

    @on(DataTable.RowSelected, "#contact-tasks")
    def _task_chosen(self, event: DataTable.RowSelected) -> None:
        from sfa.tui.capture import TaskScreen

        event.stop()
        key = self.query_one("#contact-tasks", Table).selected_key()
        if key is not None:
            self.app.push_screen(TaskScreen(key))

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
        edit_contact(self, self.contact_id)

    def action_account(self) -> None:
        contact: Record = records.get(self.ws, CONTACT, self.contact_id)
        if not contact["account_id"]:
            self.notify("this contact is at no account", severity="warning")
            return
        from sfa.tui.screens.accounts import AccountView

        self.app.push_screen(AccountView(str(contact["account_id"])))
