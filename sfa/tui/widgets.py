"""Small widgets shared by every screen: the navigation bar, the status bar, vi-style tables."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, OptionList, Static
from textual.widgets._footer import FooterKey
from textual.widgets.data_table import RowKey

from sfa.tui.screens import SCREENS as _REGISTRY

# (mode, key, label) of every screen, from the one registry in sfa/tui/screens/__init__.py.
SCREENS: tuple[tuple[str, str, str], ...] = tuple((s.mode, s.key, s.label) for s in _REGISTRY if s.nav)
# ... and of every screen, those left out of the nav bar included (keys, the palette).
ALL_SCREENS: tuple[tuple[str, str, str], ...] = tuple((s.mode, s.key, s.label) for s in _REGISTRY)


class NavBar(Static):
    """One line naming the screens and their keys; the current one highlighted; clickable."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        self.current = current
        super().__init__(self.line(10_000), markup=True)

    def line(self, width: int) -> str:
        """Every screen's key and name; when that is wider than the terminal, the other screens'
        names are shortened (the current one stays whole) until the line fits."""
        for cut in (20, 5, 4, 3, 2, 1, 0):
            parts = []
            for mode, key, label in SCREENS:
                shown = label if mode == self.current else label[:cut]
                text = f" {key} {shown} ".replace("  ", " ") if shown else f" {key} "
                if mode == self.current:
                    parts.append(f"[reverse b]{text}[/]")
                else:
                    parts.append(f"[@click=app.switch_mode('{mode}')]{text}[/]")
            plain = sum(
                len(f" {k} {(lbl if m == self.current else lbl[:cut])} ") + 1 for m, k, lbl in SCREENS
            )
            if plain <= width:
                break
        return " ".join(parts)

    def on_resize(self) -> None:
        self.update(self.line(self.size.width))


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


class KeysFooter(Footer):
    """Textual's footer, rebuilt only when the keys it shows change. Textual's rebuilds its keys on
    every change of the bindings (each move of the focus, each check of an action): new key
    widgets mounted and styled each time, though moving between the fields of a form or the rows
    of a table usually leaves the same keys. That was a tenth of the dashboard's work per key, and
    three rebuilds (~10 ms each) before the first paint of Today (docs/dashboard.md, first paint)."""

    _shown: tuple[object, ...] | None = None

    def _keys(self, screen: Screen[Any]) -> tuple[object, ...]:
        return (
            self.show_command_palette,
            self.compact,
            *(
                (key, binding.action, binding.description, binding.group, enabled, tooltip)
                for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
                if binding.show or key == self.app.COMMAND_PALETTE_BINDING
            ),
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._keys(self.screen)
        for widget in super().compose():
            yield self._settled(widget)

    def _settled(self, widget: Widget) -> Widget:
        """A key made with the compact state it ends up in. Textual's key starts compact and,
        once mounted, takes the footer's state (bound to it) through a class added and removed:
        each restyles the key, two per key before every first paint (about 5 ms on Today, and as
        much per recompose). The command palette's key is not bound and stays compact."""
        if isinstance(widget, FooterKey):
            compact = True if widget.has_class("-command-palette") else self.compact
            widget.set_reactive(FooterKey.compact, compact)
            widget.set_class(compact, "-compact", update=False)
        return widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        unchanged = self._bindings_ready and self.is_attached and screen is self.screen
        if unchanged and self._keys(screen) == self._shown:
            return
        super().bindings_changed(screen)
