"""Quotes: the list, and an editor with lines, discounts, per-rate tax and live totals; send, revise,
accept, reject; export to PDF in a worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sfa.domain import quotes as rules
from sfa.domain.entities import QUOTE
from sfa.domain.errors import SfaError, ValidationError
from sfa.domain.money import format_money, parse_amount
from sfa.services import commission, configurator, crm, products, quote_export, quotes, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.base import SfaScreen
from sfa.tui.capture import confirm
from sfa.tui.format import short_money
from sfa.tui.forms import FormField, FormScreen, PickScreen, ask
from sfa.tui.screens.details import DetailsScreen
from sfa.tui.widgets import Table

LIST_LIMIT = 200


def totals_text(totals: rules.Totals) -> str:
    cur = totals.currency
    lines = [f"Net   {format_money(totals.net, cur):>18}"]
    for band in totals.taxes:
        lines.append(f"Tax {band.rate}% on {format_money(band.base, cur)}: {format_money(band.tax, cur)}")
    lines.append(f"[b]Total {format_money(totals.total, cur):>17}[/b]")
    return "\n".join(lines)


def candidate_line(ws: Workspace, quote: Record, values: dict[str, str]) -> rules.Line:
    """The line the add-line form describes, checked by the quote rules (raises SfaError)."""
    currency = quote["currency"] or ws.setting("currency")
    price: Decimal | None = None
    tax = rules.parse_rate(ws.setting("quote.tax_rate"))
    if values.get("product", "").strip():
        product = products.resolve(ws, values["product"], active_only=True)
        price, tax = product["unit_price"], product["tax_rate"]
    if values.get("price", "").strip():
        price = parse_amount(values["price"], "price")
    if price is None:
        raise ValidationError("price", "give a product or a price")
    if values.get("tax", "").strip():
        tax = rules.parse_rate(values["tax"])
    qty = rules.parse_quantity(values["qty"]) if values.get("qty", "").strip() else Decimal(1)
    percent, amount = (
        rules.parse_discount(values["discount"], currency)
        if values.get("discount", "").strip()
        else (None, None)
    )
    line = rules.Line(qty, price, percent, amount, tax)
    rules.check_line(line, currency)
    return line


def configure_then(
    screen: SfaScreen, sku: str, currency: str, then: Callable[[list[str] | None], None]
) -> None:
    """A product with options opens the configurator first and `then` gets the chosen ATTR=VALUE
    items (nothing when cancelled); any other product goes straight on with None."""
    from sfa.tui.configurator import ConfiguratorScreen

    found = screen.attempt(configurator.product_options, screen.ws, sku)
    if found is None:
        return
    product, options, option_rules = found
    if not options:
        then(None)
        return

    def chosen(items: list[str] | None) -> None:
        if items is not None:
            then(items)

    screen.app.push_screen(
        ConfiguratorScreen(product, options, option_rules, currency=currency or product["currency"] or ""),
        chosen,
    )


class QuotesScreen(SfaScreen):
    MODE = "quotes"
    DEFAULT_CSS = """
    QuotesScreen #quotes-table { height: 2fr; min-height: 3; }
    QuotesScreen #quote-head { height: auto; }
    QuotesScreen #lines-table { height: 3fr; min-height: 3; }
    QuotesScreen #quote-totals { height: auto; padding: 0 1; }
    """
    # The footer shows the keys that apply to the focused list and the selected quote's state
    # (check_action): a draft's keys on a draft, a sent quote's on a sent one.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", tooltip="New quote, or a new line (on the lines)"),
        Binding("e", "edit_header", "Edit", tooltip="Edit the quote header"),
        Binding("d", "delete", "Delete", tooltip="Delete the draft, or the focused line"),
        Binding("s", "send", "Send", tooltip="Send the quote"),
        Binding("v", "revise", "Revise", tooltip="Revise the quote"),
        Binding("w", "accept", "Accept", tooltip="Accept the quote"),
        Binding("x", "reject", "Reject", tooltip="Reject the quote"),
        Binding("p", "export", "Export", tooltip="Export the quote (PDF, Markdown, HTML)"),
        # a key hidden for this quote's state still answers: it says why it does nothing
        *(
            Binding(key, f"explain('{action}')", show=False)
            for key, action in (
                ("e", "edit_header"),
                ("d", "delete"),
                ("s", "send"),
                ("v", "revise"),
                ("w", "accept"),
                ("x", "reject"),
            )
        ),
    ]
    WHEN: ClassVar[dict[str, tuple[str, ...]]] = {  # action -> the quote states it applies to
        "edit_header": ("draft",),
        "delete": ("draft",),
        "send": ("draft",),
        "revise": ("sent", "rejected", "expired"),
        "accept": ("sent",),
        "reject": ("sent",),
    }

    selected_id: str | None = None

    def body(self) -> Iterable[Widget]:
        yield Table(id="quotes-table")
        yield Static("", id="quote-head", classes="section-title")
        yield Table(id="lines-table")
        yield Static("", id="quote-totals")

    def on_mount(self) -> None:
        self.query_one("#quotes-table", Table).add_columns(
            "Number", "Rev", "Account", "Status", "Total", "Valid"
        )
        self.query_one("#lines-table", Table).add_columns(
            "#", "Description", "Qty", "Price", "Disc", "Tax", "Net"
        )
        super().on_mount()
        self.query_one("#quotes-table", Table).focus()

    def reload(self) -> None:
        table = self.query_one("#quotes-table", Table)
        wanted = self.sfa.select_next.pop("quotes", None)  # a quote drafted on the board, or found by search
        keep = wanted or self.selected_id or table.selected_key()
        rows = quotes.list_quotes(self.ws, limit=LIST_LIMIT)
        totals = quotes.totals_by_quote(self.ws, rows)
        names = crm.names_of(self.ws, "account", {q["account_id"] for q in rows})
        table.clear()
        for q in rows:
            table.add_row(
                q["number"],
                str(q["revision"]),
                names.get(q["account_id"], "")[:22],
                quotes.status_of(q, self.today()),
                short_money(totals[q["id"]].total),
                str(q["valid_until"] or ""),
                key=q["id"],
            )
        if keep is not None and any(q["id"] == keep for q in rows):
            table.move_cursor(row=table.get_row_index(keep))
        elif wanted:  # a revision a newer one replaced, or beyond the listed quotes: its fields
            quote = self.attempt(records.get, self.ws, QUOTE, wanted)
            if quote is not None:
                why = "not in the list here: the list shows the latest revision of each quote"
                self.app.push_screen(DetailsScreen(self.ws, QUOTE, quote, why))
        self.show_quote()

    def today(self) -> Any:
        from sfa.domain.dates import local_today

        return local_today(self.now())

    def current(self) -> str | None:
        return self.query_one("#quotes-table", Table).selected_key()

    shown_status: str | None = None  # the selected quote's state, for check_action

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        states = self.WHEN.get(action)
        if states is None or self.shown_status is None:
            return True
        return self.shown_status in states

    def action_explain(self, action: str) -> None:
        what = {
            "edit_header": "only a draft can be changed: v revises it",
            "delete": "only a draft can be deleted: v revises it",
            "send": "only a draft can be sent",
            "revise": "a draft is changed directly; an accepted quote is final",
            "accept": "only a sent quote can be accepted",
            "reject": "only a sent quote can be rejected",
        }[action]
        self.notify(f"this quote is {self.shown_status}; {what}", severity="warning")

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def focused_record(self) -> tuple[str, str] | None:
        key = self.current()
        return ("quote", key) if key is not None else None

    @on(DataTable.RowHighlighted, "#quotes-table")
    def _highlighted(self) -> None:
        self.selected_id = self.current()
        self.show_quote()

    @on(DataTable.RowSelected, "#quotes-table")
    def _open_lines(self) -> None:
        lines = self.query_one("#lines-table", Table)
        lines.focus()

    def show_quote(self) -> None:
        head = self.query_one("#quote-head", Static)
        lines_table = self.query_one("#lines-table", Table)
        totals = self.query_one("#quote-totals", Static)
        lines_table.clear()
        key = self.current()
        if key is None:
            head.update("no quotes yet: n starts one for an opportunity")
            totals.update("")
            self.shown_status = None
            self.refresh_bindings()
            return
        view = quotes.view(self.ws, key)
        q = view.quote
        opp = f" · {view.opportunity['name']}" if view.opportunity else ""
        head.update(  # the state first: it is what the keys depend on, and it is never cut
            Content(
                f"{view.status.upper()} · {q['number']} rev {q['revision']} · {view.account['name']}{opp}"
            )
        )
        self.shown_status = view.status
        self.refresh_bindings()
        cur = view.totals.currency
        for line, net in zip(view.lines, view.totals.line_nets, strict=False):
            discount = (
                f"{line['discount_percent']}%"
                if line["discount_percent"]
                else (format_money(line["discount_amount"], "") if line["discount_amount"] else "")
            )
            lines_table.add_row(
                str(line["position"]),
                line["description"],
                f"{line['quantity']:g}",
                format_money(line["unit_price"], ""),
                discount,
                f"{line['tax_rate']}%",
                format_money(net, cur),
                key=line["id"],
            )
        text = totals_text(view.totals) if view.lines else "no lines yet: n on the lines adds one"
        estimate = commission.quote_estimate_text(self.ws, q["id"]) if view.lines else None
        totals.update(f"{text}\n{Content(estimate).markup}" if estimate else text)

    def act(self, action: Any, *args: Any, message: str, **kwargs: Any) -> Record | None:
        key = self.current()
        if key is None:
            self.notify("no quote selected", severity="warning")
            return None
        result: Record | None = self.attempt(action, self.ws, key, *args, **kwargs)
        if result is not None:
            if "number" in result:
                self.selected_id = result["id"]
            self.changed(message.format(**result))
        return result

    # -- actions -----------------------------------------------------------------------------
    def lines_focused(self) -> bool:
        return self.query_one("#lines-table", Table).has_focus

    def action_new(self) -> None:
        if self.lines_focused():
            self.action_add_line()
        else:
            self.action_new_quote()

    def action_delete(self) -> None:
        if self.lines_focused():
            self.action_remove_line()
        else:
            self.action_delete_draft()

    def action_delete_draft(self) -> None:
        key = self.current()
        if key is None:
            self.notify("no quote selected", severity="warning")
            return
        q = quotes.resolve(self.ws, key)
        if quotes.status_of(q, self.today()) != "draft":
            self.notify(
                f"quote {q['number']} is {quotes.status_of(q, self.today())}; only a draft can be deleted "
                "(v revises it)",
                severity="warning",
            )
            return
        lines = len(quotes.lines_of(self.ws, key))

        def delete() -> None:
            deleted = self.attempt(quotes.delete_draft, self.ws, key)
            if deleted is not None:
                self.selected_id = None
                self.changed(f"draft {deleted['number']} rev {deleted['revision']} deleted")

        confirm(
            self.app,
            f"Delete the draft {q['number']} rev {q['revision']}?",
            f"The draft and its {lines} line(s) are deleted; this cannot be undone.",
            delete,
            yes="Delete",
        )

    def action_new_quote(self) -> None:
        opps = crm.list_opportunities(self.ws, open_only=True, limit=2000)
        names = crm.names_of(self.ws, "account", {o["account_id"] for o in opps})
        choices = [(o["id"], f"{o['name']} — {names.get(o['account_id'], '')} ({o['stage']})") for o in opps]
        self.app.push_screen(PickScreen("New quote for which opportunity?", choices), self.start_quote)

    def start_quote(self, opp_id: str | None) -> None:
        if opp_id is None:
            return
        quote = self.attempt(quotes.new_quote, self.ws, opp_ref=opp_id)
        if quote is not None:
            self.selected_id = quote["id"]
            self.changed(f"quote {quote['number']} drafted; a adds a line")

    def action_edit_header(self) -> None:
        """Valid-until, contact and terms of a draft, in place; sent or decided quotes are revised first."""
        from sfa.tui import editing

        key = self.current()
        if key is None:
            self.notify("no quote selected", severity="warning")
            return
        quote = self.attempt(editing.editable_quote, self.ws, key, self.today())
        if quote is None:
            return
        form = editing.quote_header_form(self.ws, quote, self.today())

        def saved(quote: Record) -> None:
            self.selected_id = quote["id"]
            self.changed(f"quote {quote['number']} rev {quote['revision']}: header saved")

        editing.open_form(
            self,
            form,
            lambda values: self.attempt(editing.save_quote_header, self.ws, quote, form, values),
            saved,
        )

    def action_add_line(self) -> None:
        """A product picker first (type to search SKU, name or price; the first choice is a free
        line), then the line form with the product filled in and live totals."""
        key = self.current()
        if key is None:
            self.notify("no quote selected", severity="warning")
            return
        if quotes.status_of(quotes.resolve(self.ws, key), self.today()) != "draft":
            self.notify("lines are added to a draft; v revises a sent quote", severity="warning")
            return
        choices = [("-", "— no product: a free line (description and price) —")]
        for product in products.list_products(self.ws):
            price = format_money(product["unit_price"], product["currency"] or "")
            choices.append((str(product["sku"]), f"{product['sku']} · {product['name']} · {price}"))

        def picked(sku: str | None) -> None:
            if sku is None:
                return
            if sku == "-":
                self.line_form(key, "")
                return
            quote = quotes.resolve(self.ws, key)
            currency = quote["currency"] or self.ws.setting("currency")
            configure_then(self, sku, currency, lambda chosen: self.line_form(key, sku, chosen))

        self.app.push_screen(PickScreen("Add a line: which product?", choices), picked)

    def line_form(self, key: str, sku: str, options: list[str] | None = None) -> None:
        """The line form; `options`: the configuration chosen in the configurator (its price is the
        line's unless a price is typed)."""
        view = quotes.view(self.ws, key)
        quote = view.quote
        currency = quote["currency"] or self.ws.setting("currency")
        ws = self.ws

        def check(name: str) -> Any:
            def run(text: str) -> object:
                if name == "product":
                    return products.resolve(ws, text, active_only=True)
                if name == "price":
                    return parse_amount(text, "price")
                if name == "qty":
                    return rules.parse_quantity(text)
                if name == "discount":
                    return rules.parse_discount(text, currency)
                return rules.parse_rate(text)

            return run

        configured = configurator.configure_product(ws, sku, options)[1] if options else None

        def preview(values: dict[str, str]) -> str:
            if configured is not None and not values.get("price", "").strip():
                values = {**values, "price": str(configured.unit_price)}
            line = candidate_line(ws, quote, values)
            new = rules.totals([*(quotes.to_line(x) for x in view.lines), line], currency)
            return f"line net {format_money(rules.line_net(line, currency), currency)}\n" + totals_text(new)

        form = FormScreen(
            f"Add a line to {quote['number']} rev {quote['revision']}",
            [
                FormField(
                    "product", "Product (SKU)", check("product"), value=sku, placeholder="empty: a free line"
                ),
                FormField("description", "Description", placeholder="default: the product's name"),
                FormField("price", "Unit price", check("price"), placeholder="default: the product's"),
                FormField("qty", "Quantity", check("qty"), placeholder="1"),
                FormField("discount", "Discount", check("discount"), placeholder="10% or 25.00"),
                FormField("tax", "Tax rate %", check("tax"), placeholder="default: the product's or 19"),
            ],
            save_label="Add line",
            preview=preview,
            info=f"Configuration: {configured.text}" if configured is not None else "",
        )

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            given = {k: (v.strip() or None) for k, v in values.items()}
            line = self.attempt(
                quotes.add_line,
                self.ws,
                quote["id"],
                product_ref=given["product"],
                description=given["description"],
                price=given["price"],
                qty=given["qty"],
                discount=given["discount"],
                tax=given["tax"],
                options=options or (),
            )
            if line is not None:
                self.changed(f"line {line['position']} added: {line['description']}")

        self.app.push_screen(form, done)

    def action_remove_line(self) -> None:
        """Remove the focused line: only when the lines list has the focus, and after a yes."""
        key = self.current()
        lines = self.query_one("#lines-table", Table)
        if key is None or not lines.has_focus:
            self.notify(
                "d on the lines removes the focused line: move to the lines (tab)", severity="warning"
            )
            return
        if lines.row_count == 0:
            self.notify("this quote has no lines", severity="warning")
            return
        row = lines.get_row_at(lines.cursor_row)
        position = int(row[0])

        def remove() -> None:
            if self.attempt(quotes.remove_line, self.ws, key, position) is not None:
                self.changed(f"line {position} removed")
                if lines.row_count:
                    lines.move_cursor(row=min(position - 1, lines.row_count - 1))

        confirm(self.app, f"Remove line {position}?", f"{row[1]} · net {row[6]}", remove, yes="Remove")

    def _confirmed(self, action: Any, title: str, info: str, yes: str, message: str) -> None:
        key = self.current()
        if key is None:
            self.notify("no quote selected", severity="warning")
            return
        q = quotes.resolve(self.ws, key)
        label = f"{q['number']} rev {q['revision']}"
        confirm(self.app, title.format(label=label), info, lambda: self.act(action, message=message), yes=yes)

    def action_send(self) -> None:
        self._confirmed(
            quotes.send,
            "Send {label}?",
            "A sent quote is locked (v revises it); its deal moves to quotation sent.",
            "Send",
            "quote {number} rev {revision} sent",
        )

    def action_revise(self) -> None:
        self.act(quotes.revise, message="revision {revision} of {number} drafted")

    def action_accept(self) -> None:
        self._confirmed(
            quotes.accept,
            "Accept {label}?",
            "The customer accepted: the quote is accepted and its deal won.",
            "Accept",
            "quote {number} accepted",
        )

    def action_reject(self) -> None:
        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self.act(quotes.reject, values["value"].strip() or None, message="quote {number} rejected")

        self.app.push_screen(
            ask(
                "Reject quote",
                "Reason (optional)",
                required=False,
                save_label="Reject",
                info="Enter rejects, Escape cancels; v revises a rejected quote.",
            ),
            done,
        )

    def action_export(self) -> None:
        key = self.current()
        if key is None:
            return
        q = quotes.resolve(self.ws, key)
        default = str(Path.cwd() / f"{q['number']}-rev{q['revision']}.pdf")
        form = FormScreen(
            "Export quote",
            [
                FormField(
                    "path",
                    "File (.pdf .md .html)",
                    lambda text: quote_export.check_output(text),
                    value=default,
                    required=True,
                )
            ],
            save_label="Export",
        )

        def write(path: str) -> None:
            self.notify(f"exporting {q['number']} …")
            self.export_worker(self.ws.home, key, path)

        def done(values: dict[str, str] | None) -> None:
            if not values:
                return
            path, _ = quote_export.check_output(values["path"])
            if path.exists():
                confirm(
                    self.app,
                    f"Overwrite {path.name}?",
                    f"{path} exists; exporting replaces it.",
                    lambda: write(values["path"]),
                    yes="Overwrite",
                )
            else:
                write(values["path"])

        self.app.push_screen(form, done)

    @work(thread=True, exclusive=True, group="export")
    def export_worker(self, home: Path, quote_id: str, path: str) -> None:
        """PDF rendering takes a while: a thread with its own connection; the UI keeps answering."""
        ws = Workspace(home)
        try:
            result = quote_export.export(ws, quote_id, path)
        except SfaError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        finally:
            ws.close()
        text = f"wrote {result.path} ({result.size:,} bytes)" + (f"; {result.note}" if result.note else "")
        self.app.call_from_thread(self.notify, text, timeout=8)
