"""What the screens of priced documents (Quotes, Orders, Contracts) share: the totals text, saving
the add-line form, removing the focused line after a yes, and export to a file in a worker thread,
asking before an overwrite (docs/dashboard.md)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

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
