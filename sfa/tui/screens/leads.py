"""Leads: an inbox by rating; qualify, disqualify, convert (showing the duplicate check's findings)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from sfa.domain.entities import LEAD, LEAD_RATINGS, OPPORTUNITY
from sfa.domain.errors import SfaError
from sfa.services import leads, records
from sfa.store.db import Record
from sfa.tui.base import SfaScreen
from sfa.tui.capture import confirm
from sfa.tui.forms import ConfirmScreen, FormField, FormScreen, ask
from sfa.tui.screens.details import DetailsScreen
from sfa.tui.widgets import Table

OPEN = ("new", "contacted", "qualified")
LIST_LIMIT = 2000


def inbox_order(lead: Record) -> tuple[int, int]:
    """Hot first, then warm, cold, unrated; newest first within a rating (the list comes newest first)."""
    rating = lead.get("rating")
    return (LEAD_RATINGS.index(rating) if rating in LEAD_RATINGS else len(LEAD_RATINGS), 0)


class LeadsScreen(SfaScreen):
    MODE = "leads"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_lead", "New", tooltip="Add lead"),
        Binding("e", "edit", "Edit", tooltip="Edit the lead"),
        Binding(
            "greater_than_sign",
            "advance",
            "On",
            key_display=">",
            tooltip="Lead on: new → contacted → qualified",
        ),
        Binding("x", "disqualify", "Disqualify", tooltip="Disqualify the lead"),
        Binding("c", "convert", "Convert", tooltip="Convert the lead"),
        Binding("a", "toggle_all", "All/open", tooltip="All leads / open leads"),
    ]

    show_all = False

    def body(self) -> Iterable[Widget]:
        yield Static("", id="leads-hint", classes="hint")
        yield Table(id="leads-table")
        yield Static("", id="lead-detail", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(Table)
        table.add_column("Rating", width=6)
        table.add_column("Name", width=22)
        table.add_column("Company", width=22)
        table.add_column("Status", width=12)
        table.add_column("Source")
        super().on_mount()
        table.focus()

    def reload(self) -> None:
        table = self.query_one(Table)
        wanted = self.sfa.select_next.pop("leads", None)  # a lead chosen in search
        keep = wanted or table.selected_key()
        everything = leads.list_leads(self.ws, limit=LIST_LIMIT)
        if (
            wanted
            and not self.show_all
            and not any(r["id"] == wanted and r["status"] in OPEN for r in everything)
        ):
            self.show_all = True  # a converted or disqualified lead is only in the list of all leads
        rows = everything if self.show_all else [r for r in everything if r["status"] in OPEN]
        rows.sort(key=inbox_order)
        table.clear()
        for lead in rows:
            table.add_row(
                lead["rating"] or "",
                lead["name"],
                lead["company"] or "",
                lead["status"],
                lead["source"] or "",
                key=lead["id"],
            )
        if keep is not None and any(r["id"] == keep for r in rows):
            table.move_cursor(row=table.get_row_index(keep))
        elif wanted:  # beyond the listed leads: its fields, read only
            found = self.attempt(records.get, self.ws, LEAD, wanted)
            if found is not None:
                self.app.push_screen(DetailsScreen(self.ws, LEAD, found, "not among the leads listed here"))
        which = "all leads" if self.show_all else "open leads (new, contacted, qualified)"
        self.query_one("#leads-hint", Static).update(f"{len(rows)} {which}, hottest first")

    def selected(self) -> Record | None:
        key = self.query_one(Table).selected_key()
        return None if key is None else self.attempt(records.get, self.ws, LEAD, key)

    def focused_record(self) -> tuple[str, str] | None:
        key = self.query_one(Table).selected_key()
        return ("lead", key) if key is not None and self.query_one(Table).has_focus else None

    def lead_form(self, lead: Record | None = None) -> FormScreen:
        """Add or edit a lead: each field checked as typed, and the duplicate check's findings
        shown under the form as you type (before saving)."""
        ws = self.ws

        def field(name: str, label: str, required: bool = False, placeholder: str = "") -> FormField:
            value = "" if lead is None or lead.get(name) is None else str(lead[name])
            check = (lambda text: records.convert(ws, LEAD, name, text)) if name not in ("name",) else None
            return FormField(name, label, check, value, placeholder, required)

        def duplicates(values: dict[str, str]) -> Content:
            probe = {k: v.strip() for k, v in values.items() if v.strip()}
            if not probe.get("name"):
                return Content("")
            found = leads.find_duplicates(ws, probe, exclude_id=lead["id"] if lead else None)
            if not found:
                return Content("duplicate check: no matching lead or contact")
            listed = "; ".join(f"{d.entity} {d.name} (same {d.reason})" for d in found)
            return Content.styled(f"possible duplicate: {listed}", "bold $warning")  # names: text

        return FormScreen(
            "New lead" if lead is None else f"Edit lead {lead['name']}",
            [
                field("name", "Name", True),
                field("company", "Company"),
                field("email", "Email"),
                field("phone", "Phone"),
                field("source", "Source", placeholder="website, trade fair, referral …"),
                field("rating", "Rating", placeholder=" / ".join(LEAD_RATINGS)),
            ],
            preview=duplicates,
            save_label="Save lead",
        )

    def _save_lead(self, lead: Record | None, form: FormScreen, values: dict[str, str]) -> None:
        raw = {k: v.strip() or None for k, v in (form.changed_values(values) if lead else values).items()}
        if lead is not None and not raw:
            self.notify("nothing changed")
            return
        probe = {**(lead or {}), **{k: v for k, v in raw.items() if v}}
        found = leads.find_duplicates(self.ws, probe, exclude_id=lead["id"] if lead else None)

        def write(allow: bool) -> None:
            try:
                if lead is None:
                    saved = leads.add_lead(self.ws, raw, allow_duplicate=allow)
                else:
                    saved = leads.edit_lead(self.ws, lead["id"], raw, allow_duplicate=allow)
            except SfaError as exc:
                self.notify(str(exc), severity="error", timeout=6)
                return
            self.sfa.select_next["leads"] = saved["id"]
            self.changed(f"lead {saved['name']} " + ("added" if lead is None else "saved"))

        if found:
            listed = "\n".join(f"• {d.entity} {d.name!r}: same {d.reason}" for d in found)

            def answered(yes: bool | None) -> None:
                if yes:
                    write(True)

            self.app.push_screen(
                ConfirmScreen("Possible duplicate", f"{listed}\n\nSave anyway?", yes="Save", no="Cancel"),
                answered,
            )
        else:
            write(False)

    def action_new_lead(self) -> None:
        form = self.lead_form()
        self.app.push_screen(form, lambda values: self._save_lead(None, form, values) if values else None)

    def action_edit(self) -> None:
        lead = self.selected()
        if lead is None:
            return
        form = self.lead_form(lead)
        self.app.push_screen(form, lambda values: self._save_lead(lead, form, values) if values else None)

    def action_advance(self) -> None:
        """`>`: new → contacted, contacted → qualified; asks first."""
        lead = self.selected()
        if lead is None:
            return
        steps = {"new": ("contacted", leads.set_contacted), "contacted": ("qualified", leads.qualify)}
        if lead["status"] not in steps:
            self.notify(
                f"{lead['name']} is {lead['status']}: c converts a qualified lead, x disqualifies",
                severity="warning",
            )
            return
        status, action = steps[lead["status"]]

        def run() -> None:
            if self.attempt(action, self.ws, lead["id"]) is not None:
                self.changed(f"{lead['name']}: {status}")

        confirm(self.app, f"{lead['name']}: {lead['status']} → {status}?", "", run, yes=status.capitalize())

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.reload()

    def action_disqualify(self) -> None:
        lead = self.selected()
        if lead is None:
            return

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                reason = values["value"].strip() or None
                if self.attempt(leads.disqualify, self.ws, lead["id"], reason) is not None:
                    self.changed(f"{lead['name']} disqualified")

        self.app.push_screen(
            ask(
                f"Disqualify {lead['name']}",
                "Reason (optional)",
                required=False,
                save_label="Disqualify",
                info="Enter disqualifies, Escape cancels.",
            ),
            done,
        )

    def action_convert(self) -> None:
        lead = self.selected()
        if lead is None:
            return
        found = leads.find_duplicates(self.ws, lead, exclude_id=lead["id"])
        if found:
            listed = "\n".join(f"• {d.entity} {d.name!r}: same {d.reason}" for d in found)
            info = f"The duplicate check found:\n{listed}\n\nConvert anyway?"
        else:
            info = "The duplicate check found no matching lead or contact."

        def check_amount(text: str) -> object:
            return records.convert(self.ws, OPPORTUNITY, "amount", text)

        def check_date(text: str) -> object:
            return records.convert(self.ws, OPPORTUNITY, "close_date", text)

        form = FormScreen(
            f"Convert {lead['name']}" + (f" ({lead['company']})" if lead["company"] else ""),
            [
                FormField("opportunity", "Opportunity (empty: none)"),
                FormField("amount", "Amount", check_amount, placeholder="12000, 12k"),
                FormField("close_date", "Expected close", check_date, placeholder="+1m, 2026-12-31"),
            ],
            info=info,
            save_label="Convert",
        )

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            try:
                result = leads.convert(
                    self.ws,
                    lead["id"],
                    opportunity=values["opportunity"].strip() or None,
                    amount=values["amount"].strip() or None,
                    close_date=values["close_date"].strip() or None,
                )
            except SfaError as exc:
                self.notify(str(exc), severity="error", timeout=6)
                return
            parts = [
                ("new" if result["account_created"] else "existing")
                + f" account {result['account']['name']}",
                ("new" if result["contact_created"] else "existing")
                + f" contact {result['contact']['name']}",
            ]
            if result["opportunity"]:
                parts.append(f"opportunity {result['opportunity']['name']}")
            self.changed(f"{lead['name']} converted: " + ", ".join(parts))

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(form, done)

        if found:
            self.app.push_screen(
                ConfirmScreen("Possible duplicate", info, yes="Continue", no="Cancel"), confirmed
            )
        else:
            self.app.push_screen(form, done)
