"""What the Orders and Contracts screens share: a list above, the selected document's head, its
lines and totals below; the keys that apply to the selected document's state only (check_action);
the add-line, remove-line and edit forms; export to a file (sfa/tui/documents.py, docs/dashboard.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sfa.domain import quotes as quote_rules
from sfa.domain.money import format_money
from sfa.services import quotes
from sfa.store.db import Record
from sfa.tui import documents
from sfa.tui.documents import DocumentScreen, Exporter, totals_text
from sfa.tui.forms import FormField, FormScreen
from sfa.tui.widgets import Table

LIST_LIMIT = 200


def line_cells(line: Record, net: Any, currency: str) -> tuple[str, ...]:
    rules_line = quotes.to_line(line)
    return (
        str(line["position"]),
        line["description"],
        quote_rules.plain_number(line["quantity"]),
        format_money(line["unit_price"], ""),
        quote_rules.discount_text(rules_line, currency),
        f"{quote_rules.plain_number(rules_line.tax_rate)}%",
        format_money(net, currency),
    )


class PaperworkScreen(DocumentScreen):
    """A list of documents (orders or contracts) and the selected one's lines. Subclasses give the
    columns, `rows()`, `show_selected()`, the states each action applies to (WHEN) and why a key
    does nothing in another state (WHY)."""

    LIST_ID = "#doc-list"
    LINES_ID = "#doc-lines"
    LIST_COLUMNS: ClassVar[tuple[str, ...]] = ()
    DEFAULT_CSS = """
    PaperworkScreen #doc-list { height: 2fr; min-height: 3; }
    PaperworkScreen #doc-head { height: auto; }
    PaperworkScreen #doc-lines { height: 3fr; min-height: 3; }
    PaperworkScreen #doc-totals { height: auto; padding: 0 1; }
    """

    def body(self) -> Iterable[Widget]:
        yield Table(id="doc-list")
        yield Static("", id="doc-head", classes="section-title")
        yield Table(id="doc-lines")
        yield Static("", id="doc-totals")

    def on_mount(self) -> None:
        self.query_one("#doc-list", Table).add_columns(*self.LIST_COLUMNS)
        self.query_one("#doc-lines", Table).add_columns(
            "#", "Description", "Qty", "Price", "Disc", "Tax", "Net"
        )
        super().on_mount()
        self.query_one("#doc-list", Table).focus()

    # -- the list ----------------------------------------------------------------------------------
    def rows(self) -> list[tuple[str, tuple[str, ...]]]:
        """(id, cells) of the listed documents."""
        return []

    def reload(self) -> None:
        table = self.query_one("#doc-list", Table)
        wanted = self.sfa.select_next.pop(self.MODE, None)  # opened from an account's 360° view
        keep = wanted or self.selected_id or table.selected_key()
        rows = self.rows()
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
        if keep is not None and any(key == keep for key, _ in rows):
            table.move_cursor(row=table.get_row_index(keep))
        self.show()

    @on(DataTable.RowHighlighted, "#doc-list")
    def _highlighted(self) -> None:
        self.selected_id = self.current()
        self.show()

    @on(DataTable.RowSelected, "#doc-list")
    def _open_lines(self) -> None:
        self.query_one("#doc-lines", Table).focus()

    # -- the selected document ---------------------------------------------------------------------
    def show(self) -> None:
        head = self.query_one("#doc-head", Static)
        lines = self.query_one("#doc-lines", Table)
        totals = self.query_one("#doc-totals", Static)
        lines.clear()
        key = self.current()
        if key is None:
            head.update(self.EMPTY)
            totals.update("")
            self.shown_status = None
        else:
            self.shown_status = self.show_selected(key, head, lines, totals)
        self.refresh_bindings()

    EMPTY = "nothing here yet"

    def show_selected(self, key: str, head: Static, lines: Table, totals: Static) -> str:
        """Fill the head, lines and totals; return the state the keys depend on."""
        raise NotImplementedError

    def fill_lines(self, table: Table, records: list[Record], totals: quote_rules.Totals) -> None:
        for line, net in zip(records, totals.line_nets, strict=False):
            table.add_row(*line_cells(line, net, totals.currency), key=line["id"])

    @staticmethod
    def totals_of(records: list[Record], totals: quote_rules.Totals) -> str:
        return totals_text(totals) if records else "no lines"

    # -- after a write -----------------------------------------------------------------------------
    def done(self, result: Record | None, message: str) -> None:
        if result is not None:
            if result.get("id") and self.NOUN in ("order", "contract") and "number" in result:
                self.selected_id = result["id"]
            self.changed(message)

    # -- lines -------------------------------------------------------------------------------------
    def add_line_form(self, title: str, add: Callable[..., Record], key: str) -> None:
        """The add-line form of a draft; `add` is the service that adds the line."""
        form = FormScreen(
            title,
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
        self.app.push_screen(form, lambda values: documents.save_line(self, add, key, values))

    def remove_focused_line(self, remove: Callable[..., Any]) -> None:
        """d: remove the focused line (only when the lines have the focus), after a yes."""
        key = self.selected_or_warn()
        lines = self.query_one("#doc-lines", Table)
        if key is None:
            return
        if not lines.has_focus or lines.row_count == 0:
            self.notify(
                "d on the lines removes the focused line: move to the lines (tab)", severity="warning"
            )
            return
        documents.remove_line(self, remove, key, lines)

    def edit_form(
        self,
        title: str,
        key: str,
        fields: list[tuple[str, str, Any]],
        save: Callable[..., Record],
        message: str,
    ) -> None:
        """A form of (name, label, value) fields; `save` gets only the changed ones."""
        form = FormScreen(
            title, [FormField(name, label, value=str(value or "")) for name, label, value in fields]
        )

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            before = {name: str(value or "") for name, _, value in fields}
            changes = {k: v.strip() for k, v in values.items() if v.strip() != before[k]}
            if not changes:
                self.notify("nothing changed")
                return
            self.done(self.attempt(save, self.ws, key, **changes), message)

        self.app.push_screen(form, answered)

    # -- export ------------------------------------------------------------------------------------
    def export_dialog(self, exporter: Exporter, default_name: str, key: str, label: str) -> None:
        documents.export_dialog(self, exporter, default_name, key, f"Export {label}", label)
