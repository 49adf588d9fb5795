"""Orders (issue 15 §4): the list, the selected order's lines, totals and ERP answer; new from an
accepted quote, edit, add and remove lines, submit after the pricing check (accepting the differences
or on a manager's approval), approve (manager), cancel, export. Reached from the palette
("Go to Orders") and from an account's 360° view."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Static

from sfa.domain import orders as rules
from sfa.services import crm, order_export, orders, quotes
from sfa.store.db import Record
from sfa.tui.capture import confirm
from sfa.tui.format import short_money
from sfa.tui.forms import FormField, FormScreen, PickScreen, ask
from sfa.tui.screens.paperwork import LIST_LIMIT, PaperworkScreen
from sfa.tui.widgets import Table

_STATE_KEYS = ("edit", "delete", "submit", "approve", "cancel")


class OrdersScreen(PaperworkScreen):
    MODE = "orders"
    NOUN = "order"
    EMPTY = "no orders yet: n makes one from an accepted quote"
    LIST_COLUMNS = ("Number", "Account", "Status", "PO", "ERP ref", "Total", "Submitted")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", tooltip="New order from an accepted quote, or a new line (on the lines)"),
        Binding("e", "edit", "Edit", tooltip="Edit the draft's PO, dates, addresses and terms"),
        Binding("d", "delete", "Remove line", tooltip="Remove the focused line of a draft"),
        Binding("s", "submit", "Submit", tooltip="Submit to the ERP after the pricing check"),
        Binding("a", "approve", "Approve", tooltip="Approve the draft's pricing differences (manager)"),
        Binding("c", "cancel_order", "Cancel order", tooltip="Cancel before the ERP acknowledges it"),
        Binding("p", "export", "Export", tooltip="Export an order confirmation (PDF, Markdown, HTML)"),
        *(
            Binding(key, f"explain('{action}')", show=False)
            for key, action in zip("edsac", _STATE_KEYS, strict=True)
        ),
    ]
    WHEN: ClassVar[dict[str, tuple[str, ...]]] = {
        "edit": (rules.DRAFT,),
        "delete": (rules.DRAFT,),
        "submit": (rules.DRAFT,),
        "approve": (rules.DRAFT,),
        "cancel_order": (rules.DRAFT, rules.SUBMITTED),
    }
    WHY: ClassVar[dict[str, str]] = {
        "edit": "only a draft is edited",
        "delete": "only a draft's lines are removed",
        "submit": "only a draft is submitted",
        "approve": "only a draft's pricing differences are approved",
        "cancel": "only a draft, or a submitted order the ERP has not acknowledged, is cancelled",
    }

    def rows(self) -> list[tuple[str, tuple[str, ...]]]:
        found = orders.list_orders(self.ws, limit=LIST_LIMIT)
        totals = orders.totals_by_order(self.ws, found)
        names = crm.names_of(self.ws, "account", {o["account_id"] for o in found})
        return [
            (
                o["id"],
                (
                    o["number"],
                    names.get(o["account_id"], "")[:22],
                    o["status"],
                    o["customer_po"] or "",
                    o["erp_ref"] or "",
                    short_money(totals[o["id"]].total),
                    str(o["submitted_at"].date()) if o["submitted_at"] else "",
                ),
            )
            for o in found
        ]

    def show_selected(self, key: str, head: Static, lines: Table, totals: Static) -> str:
        view = orders.view(self.ws, key)
        order = view.order
        quote = f" · from {view.quote['number']}" if view.quote else ""
        erp = ""
        if order["erp_ref"] or order["erp_message"]:  # the ERP's answer, on the one line the head has
            ref = f" {order['erp_ref']}" if order["erp_ref"] else ""
            erp = f" · ERP{ref}: {order['erp_message'] or ''}".rstrip(": ")
        head.update(
            Content(f"{order['status'].upper()} · {order['number']}{erp} · {view.account['name']}{quote}")
        )
        self.fill_lines(lines, view.lines, view.totals)
        text = Content.from_markup(self.totals_of(view.lines, view.totals))
        if order["status"] == rules.DRAFT and view.lines:
            findings = orders.pricing_check(self.ws, order, view.lines).lines()
            if findings:  # descriptions are text, never markup
                text = Content.assemble(
                    text, "\n", Content("\n".join(f"pricing: {line}" for line in findings))
                )
        totals.update(text)
        return str(order["status"])

    # -- actions -----------------------------------------------------------------------------------
    def action_new(self) -> None:
        if self.lines_focused():
            self.add_line()
            return
        accepted = [q for q in quotes.list_quotes(self.ws, limit=2000) if quotes.status_of(q) == "accepted"]
        names = crm.names_of(self.ws, "account", {q["account_id"] for q in accepted})
        choices = [
            (q["id"], f"{q['number']} rev {q['revision']} — {names.get(q['account_id'], '')}")
            for q in accepted
        ]
        if not choices:
            self.notify("an order is made from an accepted quote; there is none", severity="warning")
            return

        def picked(quote_id: str | None) -> None:
            if quote_id is not None:
                order = self.attempt(orders.new_from_quote, self.ws, quote_id)
                if order is not None:
                    self.selected_id = order["id"]
                    self.changed(f"order {order['number']} drafted from the quote")

        self.app.push_screen(PickScreen("New order from which accepted quote?", choices), picked)

    def add_line(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        order = orders.resolve(self.ws, key)
        if order["status"] != rules.DRAFT:
            self.notify(
                f"order {order['number']} is {order['status']}; only a draft gets lines", severity="warning"
            )
            return
        form = FormScreen(
            f"Add a line to {order['number']}",
            [
                FormField("product", "Product (SKU)", placeholder="empty: a free line"),
                FormField("description", "Description", placeholder="default: the product's name"),
                FormField("price", "Unit price", placeholder="default: the product's"),
                FormField("qty", "Quantity", placeholder="1"),
                FormField("discount", "Discount", placeholder="10% or 25.00"),
                FormField("tax", "Tax rate %", placeholder="default: the product's"),
            ],
            save_label="Add line",
        )

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            given = {k: (v.strip() or None) for k, v in values.items()}
            line = self.attempt(
                orders.add_line,
                self.ws,
                key,
                product_ref=given["product"],
                description=given["description"],
                price=given["price"],
                qty=given["qty"],
                discount=given["discount"],
                tax=given["tax"],
            )
            if line is not None:
                self.changed(f"line {line['position']} added: {line['description']}")

        self.app.push_screen(form, answered)

    def action_delete(self) -> None:
        key = self.selected_or_warn()
        lines = self.query_one("#doc-lines", Table)
        if key is None:
            return
        if not lines.has_focus or lines.row_count == 0:
            self.notify(
                "d on the lines removes the focused line: move to the lines (tab)", severity="warning"
            )
            return
        row = lines.get_row_at(lines.cursor_row)
        position = int(row[0])

        def remove() -> None:
            if self.attempt(orders.remove_line, self.ws, key, position) is not None:
                self.changed(f"line {position} removed")

        confirm(self.app, f"Remove line {position}?", f"{row[1]} · net {row[6]}", remove, yes="Remove")

    def action_edit(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        order = orders.resolve(self.ws, key)
        fields = [
            ("po", "Customer PO", order["customer_po"]),
            ("requested", "Requested date", order["requested_date"]),
            ("payment_terms", "Payment terms", order["payment_terms"]),
            ("ship_to", "Ship to", order["ship_to"]),
            ("bill_to", "Bill to", order["bill_to"]),
        ]
        form = FormScreen(
            f"Edit order {order['number']}",
            [FormField(name, label, value=str(value or "")) for name, label, value in fields],
        )

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            before = {name: str(value or "") for name, _, value in fields}
            changes = {k: v.strip() for k, v in values.items() if v.strip() != before[k]}
            if not changes:
                self.notify("nothing changed")
                return
            self.done(
                self.attempt(orders.edit_order, self.ws, key, **changes), f"order {order['number']} saved"
            )

        self.app.push_screen(form, answered)

    def action_submit(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        order = orders.resolve(self.ws, key)
        check = self.attempt(orders.check_ref, self.ws, key)
        if check is None:
            return
        findings = "\n".join(check.lines()) or "the pricing check finds nothing: as quoted"
        approval = orders.approval_of(self.ws, order) if check.differs else None
        if check.differs and approval is None:
            title = f"Submit {order['number']} with these differences?"
            info = f"{findings}\n\nSubmitting accepts the differences (or ask a manager: a approves)."
            accept = True
        else:
            title = f"Submit {order['number']}?"
            by = f"\n\nthe differences are approved by {approval['by']}" if approval is not None else ""
            info = f"{findings}{by}\n\nA submitted order is locked and goes to the ERP."
            accept = False

        def run() -> None:
            result = self.attempt(orders.submit, self.ws, key, accept_differences=accept)
            if result is not None:
                self.done(result.order, f"order {order['number']} submitted")

        confirm(self.app, title, info, run, yes="Submit")

    def action_approve(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        order = orders.resolve(self.ws, key)

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            result = self.attempt(orders.approve, self.ws, key, values["value"].strip() or None)
            if result is not None:
                self.changed(f"order {order['number']}: pricing differences approved by {result[0]['by']}")

        self.app.push_screen(
            ask(
                f"Approve the pricing differences of {order['number']}",
                "Comment (optional)",
                required=False,
                save_label="Approve",
                info="The approval covers the lines as they are now; the rep then submits the order.",
            ),
            answered,
        )

    def action_cancel_order(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        order = orders.resolve(self.ws, key)

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                self.done(
                    self.attempt(orders.cancel, self.ws, key, values["value"]),
                    f"order {order['number']} cancelled",
                )

        self.app.push_screen(
            ask(
                f"Cancel order {order['number']}",
                "Reason",
                save_label="Cancel order",
                info="Enter cancels the order, Escape keeps it.",
            ),
            answered,
        )

    def action_export(self) -> None:
        key = self.selected_or_warn()
        if key is not None:
            order: Record = orders.resolve(self.ws, key)
            self.export_dialog(order_export.export, f"{order['number']}.pdf", key, f"order {order['number']}")
