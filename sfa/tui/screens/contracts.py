"""Contracts (issue 15 §4): the list with the state computed on read (pending, active, renewal due,
expired, renewed), the selected contract's lines and terms; new (from a quote or for an account),
edit, add and remove lines, submit, release and reject (manager), sign, revise, terminate, renew,
export. Reached from the palette ("Go to Contracts") and from an account's 360° view."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Static

from sfa.domain import contracts as rules
from sfa.services import contract_export, contracts, crm, quotes
from sfa.store.db import Record
from sfa.tui.capture import confirm
from sfa.tui.format import short_money
from sfa.tui.forms import FormField, FormScreen, PickScreen, ask
from sfa.tui.screens.paperwork import LIST_LIMIT, PaperworkScreen
from sfa.tui.widgets import Table

ACTIVATED = (rules.PENDING, rules.ACTIVE, rules.RENEWAL_DUE, rules.EXPIRED, rules.RENEWED)
OPEN = (rules.DRAFT, rules.IN_APPROVAL)
_KEYS = (("e", "edit"), ("d", "delete"), ("s", "submit"), ("r", "release"), ("x", "reject"))
_MORE = (("g", "sign"), ("v", "revise"), ("t", "terminate"), ("w", "renew"))


class ContractsScreen(PaperworkScreen):
    MODE = "contracts"
    NOUN = "contract"
    EMPTY = "no contracts yet: n drafts one from a quote or for an account"
    LIST_COLUMNS = ("Number", "Rev", "Title", "Account", "State", "Start", "End", "Value")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", tooltip="New contract, or a new line (on the lines)"),
        Binding("e", "edit", "Edit", tooltip="Edit the draft"),
        Binding("d", "delete", "Remove line", tooltip="Remove the focused line of a draft"),
        Binding("s", "submit", "Submit", tooltip="Submit the draft for approval"),
        Binding("r", "release", "Release", tooltip="Release the contract (manager)"),
        Binding("x", "reject", "Reject", tooltip="Reject it back to draft with a reason (manager)"),
        Binding("g", "sign", "Sign", tooltip="Record the customer's signature"),
        Binding("v", "revise", "Revise", tooltip="A new revision, keeping the negotiation history"),
        Binding("t", "terminate", "Terminate", tooltip="Terminate an activated contract"),
        Binding("w", "renew", "Renew", tooltip="Renewal draft, opportunity and call task"),
        Binding("p", "export", "Export", tooltip="Export the contract (PDF, Markdown, HTML)"),
        *(Binding(key, f"explain('{action}')", show=False) for key, action in (*_KEYS, *_MORE)),
    ]
    WHEN: ClassVar[dict[str, tuple[str, ...]]] = {
        "edit": (rules.DRAFT,),
        "delete": (rules.DRAFT,),
        "submit": (rules.DRAFT,),
        "release": (rules.IN_APPROVAL,),
        "reject": (rules.IN_APPROVAL,),
        "sign": OPEN,
        "revise": OPEN,
        "terminate": ACTIVATED,
        "renew": (rules.PENDING, rules.ACTIVE, rules.RENEWAL_DUE, rules.EXPIRED),
    }
    WHY: ClassVar[dict[str, str]] = {
        "edit": "only a draft is edited (v revises one in approval)",
        "delete": "only a draft's lines are removed",
        "submit": "only a draft is submitted",
        "release": "only a contract in approval is released",
        "reject": "only a contract in approval is rejected",
        "sign": "it is signed before it is released",
        "revise": "only a draft or one in approval is revised",
        "terminate": "only an activated contract is terminated",
        "renew": "only an activated contract not renewed yet is renewed",
    }

    def rows(self) -> list[tuple[str, tuple[str, ...]]]:
        found = contracts.list_contracts(self.ws, limit=LIST_LIMIT, today=self.today())
        names = crm.names_of(self.ws, "account", {c["account_id"] for c, _ in found})
        return [
            (
                c["id"],
                (
                    c["number"],
                    str(c["revision"] or 1),
                    (c["title"] or "")[:24],
                    names.get(c["account_id"], "")[:18],
                    state,
                    str(c["start_date"] or ""),
                    str(c["end_date"] or ""),
                    short_money(c["value"]) if c["value"] is not None else "",
                ),
            )
            for c, state in found
        ]

    def today(self) -> date:
        from sfa.domain.dates import local_today

        return local_today(self.now())

    def show_selected(self, key: str, head: Static, lines: Table, totals: Static) -> str:
        view = contracts.view(self.ws, key)
        c = view.contract
        state = contracts.state_of(self.ws, c, self.today())
        facts = [
            f"{c['start_date']} → {c['end_date']}",
            f"{c['term_months']} months",
            str(c["billing"] or ""),
        ]
        if c["auto_renew"]:
            facts.append("auto-renew")
        if c["customer_signed_by"]:
            facts.append(f"signed by {c['customer_signed_by']} on {c['customer_signed_on']}")
        if c["reject_reason"] and c["status"] == rules.DRAFT:
            facts.append(f"rejected: {c['reject_reason']}")
        if c["terminated_on"]:
            facts.append(f"terminated on {c['terminated_on']}: {c['termination_reason'] or ''}")
        head.update(
            Content(
                f"{state.upper()} · {c['number']} rev {c['revision']} · {c['title']} · {view.account['name']}"
            )
        )
        self.fill_lines(lines, view.lines, view.totals)
        summary = Content(" · ".join(f for f in facts if f))  # names are text, never markup
        totals.update(
            Content.assemble(summary, "\n", Content.from_markup(self.totals_of(view.lines, view.totals)))
        )
        return state

    # -- actions -----------------------------------------------------------------------------------
    def action_new(self) -> None:
        if self.lines_focused():
            self.add_line()
            return
        found = [
            q for q in quotes.list_quotes(self.ws, limit=2000) if quotes.status_of(q) in ("sent", "accepted")
        ]
        names = crm.names_of(self.ws, "account", {q["account_id"] for q in found})
        choices = [
            (
                f"quote:{q['id']}",
                f"from quote {q['number']} ({quotes.status_of(q)}) — {names.get(q['account_id'], '')}",
            )
            for q in found
        ]
        choices += [
            (f"account:{a['id']}", f"for account {a['name']}") for a in crm.list_accounts(self.ws, limit=2000)
        ]

        def picked(choice: str | None) -> None:
            if choice is not None:
                kind, _, ident = choice.partition(":")
                self.new_form(kind, ident)

        self.app.push_screen(PickScreen("New contract: from a quote, or for an account?", choices), picked)

    def new_form(self, kind: str, ident: str) -> None:
        form = FormScreen(
            "New contract",
            [
                FormField("title", "Title", placeholder="default: Contract with the account"),
                FormField(
                    "start",
                    "Start date",
                    required=kind == "account",
                    placeholder="ISO, +14d, 1st of next month",
                ),
                FormField("term", "Term", placeholder="24m, 2y (default 12m)"),
                FormField("notice", "Notice", placeholder="90d"),
                FormField("billing", "Billing", placeholder="once, monthly, quarterly, yearly"),
            ],
            save_label="Draft",
        )

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            given = {k: (v.strip() or None) for k, v in values.items()}
            contract = self.attempt(
                contracts.new_contract,
                self.ws,
                quote_ref=ident if kind == "quote" else None,
                account_ref=ident if kind == "account" else None,
                **given,
            )
            if contract is not None:
                self.selected_id = contract["id"]
                self.changed(f"contract {contract['number']} drafted")

        self.app.push_screen(form, answered)

    def add_line(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        if self.shown_status != rules.DRAFT:
            self.notify(f"this contract is {self.shown_status}; only a draft gets lines", severity="warning")
            return
        form = FormScreen(
            "Add a line",
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
                contracts.add_line,
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
            if self.attempt(contracts.remove_line, self.ws, key, position) is not None:
                self.changed(f"line {position} removed")

        confirm(self.app, f"Remove line {position}?", f"{row[1]} · net {row[6]}", remove, yes="Remove")

    def action_edit(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        c = contracts.resolve(self.ws, key)
        fields = [
            ("title", "Title", c["title"]),
            ("start", "Start date", c["start_date"]),
            ("term", "Term (months)", f"{c['term_months']}m" if c["term_months"] else ""),
            ("notice", "Notice (days)", f"{c['notice_days']}d" if c["notice_days"] is not None else ""),
            ("value", "Value", c["value"]),
            ("billing", "Billing", c["billing"]),
            ("terms", "Terms", c["terms"]),
        ]
        form = FormScreen(
            f"Edit contract {c['number']} rev {c['revision']}",
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
                self.attempt(contracts.edit_contract, self.ws, key, **changes),
                f"contract {c['number']} saved",
            )

        self.app.push_screen(form, answered)

    def _with_comment(
        self,
        title: str,
        label: str,
        yes: str,
        past: str,
        info: str,
        run: Callable[..., Record],
        required: bool,
    ) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        c = contracts.resolve(self.ws, key)

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                result = self.attempt(run, self.ws, key, values["value"].strip() or None)
                self.done(result, f"contract {c['number']} {past}")

        self.app.push_screen(
            ask(
                f"{title} {c['number']} rev {c['revision']}",
                label,
                required=required,
                save_label=yes,
                info=info,
            ),
            answered,
        )

    def action_submit(self) -> None:
        self._with_comment(
            "Submit",
            "Comment (optional)",
            "Submit",
            "submitted for approval",
            "A manager releases or rejects it.",
            contracts.submit,
            False,
        )

    def action_release(self) -> None:
        self._with_comment(
            "Release",
            "Comment (optional)",
            "Release",
            "released",
            "The contract is activated; afterwards it changes only by termination and renewal.",
            contracts.release,
            False,
        )

    def action_reject(self) -> None:
        self._with_comment(
            "Reject",
            "Reason",
            "Reject",
            "rejected back to draft",
            "The contract goes back to draft with the reason.",
            contracts.reject,
            True,
        )

    def action_sign(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        c = contracts.resolve(self.ws, key)
        form = FormScreen(
            f"Customer signature of {c['number']}",
            [
                FormField("customer", "Signed by (customer)", required=True),
                FormField("on", "Signed on", value="today", required=True),
                FormField("company", "Signed by (us)", placeholder="optional"),
            ],
            save_label="Sign",
        )

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                result = self.attempt(
                    contracts.sign,
                    self.ws,
                    key,
                    values["customer"],
                    values["on"],
                    values["company"].strip() or None,
                )
                self.done(result, f"contract {c['number']} signed by {values['customer'].strip()}")

        self.app.push_screen(form, answered)

    def action_revise(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        c = contracts.resolve(self.ws, key)
        confirm(
            self.app,
            f"Revise {c['number']} rev {c['revision']}?",
            "A new draft revision with the same number and lines; this one is kept as history.",
            lambda: self.done(
                self.attempt(contracts.revise, self.ws, key),
                f"revision {c['revision'] + 1} of {c['number']} drafted",
            ),
            yes="Revise",
        )

    def action_terminate(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        c = contracts.resolve(self.ws, key)
        form = FormScreen(
            f"Terminate {c['number']}",
            [
                FormField("on", "Terminated on", value=str(c["end_date"] or ""), required=True),
                FormField("reason", "Reason", required=True),
            ],
            save_label="Terminate",
            info="A terminated contract is final.",
        )

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                result = self.attempt(contracts.terminate, self.ws, key, values["on"], values["reason"])
                self.done(result, f"contract {c['number']} terminated")

        self.app.push_screen(form, answered)

    def action_renew(self) -> None:
        key = self.selected_or_warn()
        if key is None:
            return
        c = contracts.resolve(self.ws, key)

        def run() -> None:
            renewal = self.attempt(contracts.renew, self.ws, key)
            if renewal is not None:
                self.selected_id = renewal.contract["id"]
                self.changed(
                    f"renewal {renewal.contract['number']} drafted; opportunity {renewal.opportunity['name']!r} "
                    f"and task {renewal.task['title']!r} added"
                )

        confirm(
            self.app,
            f"Renew {c['number']}?",
            "A renewal draft (lines and terms copied, dates shifted), a renewal opportunity and a call task.",
            run,
            yes="Renew",
        )

    def action_export(self) -> None:
        key = self.selected_or_warn()
        if key is not None:
            c = contracts.resolve(self.ws, key)
            self.export_dialog(
                contract_export.export,
                f"{c['number']}-rev{c['revision']}.pdf",
                key,
                f"contract {c['number']}",
            )
