"""What the screens of priced documents (Quotes, Orders, Contracts) share: the selected document
and the keys that apply to its state (DocumentScreen); the totals text, saving the add-line form, removing the focused line after a yes, and export to a file in a worker thread,
asking before an overwrite (docs/dashboard.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from sfa.domain import quotes as rules
from sfa.domain.errors import SfaError
from sfa.domain.money import format_money
from sfa.services import quote_export
from sfa.services.quote_export import ExportResult
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.base import SfaScreen
from sfa.tui.capture import confirm
from sfa.tui.forms import FormField, FormScreen
from sfa.tui.widgets import Table

Exporter = Callable[[Workspace, str, str], ExportResult]


class DocumentScreen(SfaScreen):
    """A list of documents above and the selected one's lines below (widgets LIST_ID, LINES_ID);
    the footer shows the keys that apply to the selected document's state (WHEN: action -> the
    states it applies to); a hidden key still answers with why it does nothing (WHY)."""

    NOUN = "document"
    LIST_ID = ""
    LINES_ID = ""
    WHEN: ClassVar[dict[str, tuple[str, ...]]] = {}
    WHY: ClassVar[dict[str, str]] = {}

    selected_id: str | None = None
    shown_status: str | None = None  # the selected document's state, for check_action

    def current(self) -> str | None:
        return self.query_one(self.LIST_ID, Table).selected_key()

    def lines_focused(self) -> bool:
        return self.query_one(self.LINES_ID, Table).has_focus

    def today(self) -> date:
        from sfa.domain.dates import local_today

        return local_today(self.now())

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def focused_record(self) -> tuple[str, str] | None:
        key = self.current()
        return (self.NOUN, key) if key is not None else None

    def selected_or_warn(self) -> str | None:
        key = self.current()
        if key is None:
            self.notify(f"no {self.NOUN} selected", severity="warning")
        return key

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        states = self.WHEN.get(action)
        if states is None or self.shown_status is None:
            return True
        return self.shown_status in states

    def action_explain(self, action: str) -> None:
        self.notify(f"this {self.NOUN} is {self.shown_status}; {self.WHY[action]}", severity="warning")


def totals_text(totals: rules.Totals) -> str:
    cur = totals.currency
    lines = [f"Net   {format_money(totals.net, cur):>18}"]
    for band in totals.taxes:
        lines.append(f"Tax {band.rate}% on {format_money(band.base, cur)}: {format_money(band.tax, cur)}")
    lines.append(f"[b]Total {format_money(totals.total, cur):>17}[/b]")
    return "\n".join(lines)


def save_line(
    screen: SfaScreen, add: Callable[..., Record], key: str, values: dict[str, str] | None, **extra: Any
) -> None:
    """The add-line form's answer: the service adds the line (empty fields are its defaults)."""
    if values is None:
        return
    given = {k: (v.strip() or None) for k, v in values.items()}
    line = screen.attempt(
        add,
        screen.ws,
        key,
        product_ref=given["product"],
        description=given["description"],
        price=given["price"],
        qty=given["qty"],
        discount=given["discount"],
        tax=given["tax"],
        **extra,
    )
    if line is not None:
        screen.changed(f"line {line['position']} added: {line['description']}")


def remove_line(
    screen: SfaScreen,
    remove: Callable[..., Any],
    key: str,
    lines: Table,
    after: Callable[[int], None] | None = None,
) -> None:
    """Remove the focused line of `lines` after a yes; `after` gets its position once it is gone."""
    row = lines.get_row_at(lines.cursor_row)
    position = int(row[0])

    def run() -> None:
        if screen.attempt(remove, screen.ws, key, position) is not None:
            screen.changed(f"line {position} removed")
            if after is not None:
                after(position)

    confirm(screen.app, f"Remove line {position}?", f"{row[1]} · net {row[6]}", run, yes="Remove")


def export_dialog(
    screen: SfaScreen, exporter: Exporter, default_name: str, key: str, title: str, label: str
) -> None:
    """Ask for the file (default: `default_name` in the working folder), confirm an overwrite, then
    export in a worker thread; `label` names the document in the notice."""
    form = FormScreen(
        title,
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
        screen.notify(f"exporting {label} …")
        screen.run_worker(
            partial(_export, screen, exporter, screen.ws.home, key, path),
            name="export_worker",
            group="export",
            exclusive=True,
            thread=True,
        )

    def answered(values: dict[str, str] | None) -> None:
        if not values:
            return
        path, _ = quote_export.check_output(values["path"])
        if path.exists():
            confirm(
                screen.app,
                f"Overwrite {path.name}?",
                f"{path} exists; exporting replaces it.",
                lambda: write(values["path"]),
                yes="Overwrite",
            )
        else:
            write(values["path"])

    screen.app.push_screen(form, answered)


def _export(screen: SfaScreen, exporter: Exporter, home: Path, key: str, path: str) -> None:
    """A PDF takes a while: a thread with its own connection; the screen keeps answering."""
    ws = Workspace(home)
    try:
        result = exporter(ws, key, path)
    except SfaError as exc:
        screen.app.call_from_thread(screen.notify, str(exc), severity="error", timeout=8)
        return
    finally:
        ws.close()
    text = f"wrote {result.path} ({result.size:,} bytes)" + (f"; {result.note}" if result.note else "")
    screen.app.call_from_thread(screen.notify, text, timeout=8)
