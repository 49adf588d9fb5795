"""What the Orders and Contracts screens share: a list above, the selected document's head, its
lines and totals below; the keys that apply to the selected document's state only (check_action);
export to a file in a worker thread, asking before an overwrite (docs/dashboard.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sfa.domain import quotes as quote_rules
from sfa.domain.errors import SfaError
from sfa.domain.money import format_money
from sfa.services import quote_export, quotes
from sfa.services.quote_export import ExportResult
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.base import SfaScreen
from sfa.tui.capture import confirm
from sfa.tui.forms import FormField, FormScreen
from sfa.tui.screens.quotes import totals_text
from sfa.tui.widgets import Table

LIST_LIMIT = 200
Exporter = Callable[[Workspace, str, str], ExportResult]


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


class PaperworkScreen(SfaScreen):
    """A list of documents (orders or contracts) and the selected one's lines. Subclasses give the
    columns, `rows()`, `show_selected()`, the states each action applies to (WHEN) and why a key
    does nothing in another state (WHY)."""

    NOUN = "document"
    LIST_COLUMNS: ClassVar[tuple[str, ...]] = ()
    WHEN: ClassVar[dict[str, tuple[str, ...]]] = {}
    WHY: ClassVar[dict[str, str]] = {}
    DEFAULT_CSS = """
    PaperworkScreen #doc-list { height: 2fr; min-height: 3; }
    PaperworkScreen #doc-head { height: auto; }
    PaperworkScreen #doc-lines { height: 3fr; min-height: 3; }
    PaperworkScreen #doc-totals { height: auto; padding: 0 1; }
    """

    selected_id: str | None = None
    shown_status: str | None = None

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

    def current(self) -> str | None:
        return self.query_one("#doc-list", Table).selected_key()

    def lines_focused(self) -> bool:
        return self.query_one("#doc-lines", Table).has_focus

    @on(DataTable.RowHighlighted, "#doc-list")
    def _highlighted(self) -> None:
        self.selected_id = self.current()
        self.show()

    @on(DataTable.RowSelected, "#doc-list")
    def _open_lines(self) -> None:
        self.query_one("#doc-lines", Table).focus()

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def focused_record(self) -> tuple[str, str] | None:
        key = self.current()
        return (self.NOUN, key) if key is not None else None

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

    # -- keys that apply to the state --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        states = self.WHEN.get(action)
        if states is None or self.shown_status is None:
            return True
        return self.shown_status in states

    def action_explain(self, action: str) -> None:
        self.notify(f"this {self.NOUN} is {self.shown_status}; {self.WHY[action]}", severity="warning")

    def selected_or_warn(self) -> str | None:
        key = self.current()
        if key is None:
            self.notify(f"no {self.NOUN} selected", severity="warning")
        return key

    def done(self, result: Record | None, message: str) -> None:
        if result is not None:
            if result.get("id") and self.NOUN in ("order", "contract") and "number" in result:
                self.selected_id = result["id"]
            self.changed(message)

    # -- export ------------------------------------------------------------------------------------
    def export_dialog(self, exporter: Exporter, default_name: str, key: str, label: str) -> None:
        form = FormScreen(
            f"Export {label}",
            [
                FormField(
                    "path",
                    "File (.pdf .md .html)",
                    lambda text: quote_export.check_output(text),
                    value=str(Path.cwd() / default_name),
                    required=True,
                )
            ],
            save_label="Export",
        )

        def write(path: str) -> None:
            self.notify(f"exporting {label} …")
            self.export_worker(exporter, self.ws.home, key, path)

        def answered(values: dict[str, str] | None) -> None:
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

        self.app.push_screen(form, answered)

    @work(thread=True, exclusive=True, group="export")
    def export_worker(self, exporter: Exporter, home: Path, key: str, path: str) -> None:
        """A PDF takes a while: a thread with its own connection; the screen keeps answering."""
        ws = Workspace(home)
        try:
            result = exporter(ws, key, path)
        except SfaError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        finally:
            ws.close()
        text = f"wrote {result.path} ({result.size:,} bytes)" + (f"; {result.note}" if result.note else "")
        self.app.call_from_thread(self.notify, text, timeout=8)
