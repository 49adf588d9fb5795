"""Small widgets shared by every screen: the navigation bar, the status bar, vi-style tables."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.data_table import RowKey

# (mode, key, label): the screens, in the order of their number keys.
SCREENS: tuple[tuple[str, str, str], ...] = (
    ("today", "1", "Today"),
    ("pipeline", "2", "Pipeline"),
    ("accounts", "3", "Accounts"),
    ("leads", "4", "Leads"),
    ("quotes", "5", "Quotes"),
    ("forecast", "6", "Forecast"),
    ("sync", "7", "Sync"),
)


class NavBar(Static):
    """One line naming the screens and their keys; the current one highlighted; clickable."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        parts = []
        for mode, key, label in SCREENS:
            text = f" {key} {label} "
            if mode == current:
                parts.append(f"[reverse b]{text}[/]")
            else:
                parts.append(f"[@click=app.switch_mode('{mode}')]{text}[/]")
        super().__init__(" ".join(parts), markup=True)


class StatusBar(Static):
    """online/offline and the number of changes not yet synced; refreshed by the app."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $boost; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "status_line", self._show)

    def _show(self, text: str) -> None:
        self.update(text)


class Table(DataTable[str]):
    """A row-cursor table that also moves with j/k and jumps with g/G."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]

    def add_row(
        self, *cells: Any, height: int | None = 1, key: str | None = None, label: Any = None
    ) -> RowKey:
        """As DataTable.add_row, with text cells shown as they are: DataTable reads a str cell as
        markup, so a name or note holding "[/x]" stopped the app and "[b]" vanished. A cell that
        wants a style is given as a rich Text."""
        shown = [escape(cell) if isinstance(cell, str) else cell for cell in cells]
        return super().add_row(*shown, height=height, key=key, label=label)

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value


class Options(OptionList):
    """An option list that also moves with j/k."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
