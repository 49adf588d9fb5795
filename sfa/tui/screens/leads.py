"""Leads: an inbox by rating; qualify, disqualify, convert (showing the duplicate check's findings)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from sfa.domain.entities import LEAD, LEAD_RATINGS, OPPORTUNITY
from sfa.domain.errors import SfaError
from sfa.services import leads, records
from sfa.store.db import Record
from sfa.tui.base import SfaScreen
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
        Binding("q", "qualify", "Qualify"),
        Binding("x", "disqualify", "Disqualify"),
        Binding("c", "convert", "Convert"),
        Binding("a", "toggle_all", "All/open"),
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

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.reload()

    def action_qualify(self) -> None:
        lead = self.selected()
        if lead is not None and self.attempt(leads.qualify, self.ws, lead["id"]) is not None:
            self.changed(f"{lead['name']} qualified")

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
            ask(f"Disqualify {lead['name']}", "Reason (optional)", required=False, save_label="Disqualify"),
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
