"""The search results list of the Accounts screen, and Today's sections: a Table that draws its
plain rows cheaply.

Search as you type redraws the whole list on most keystrokes. A DataTable renders every cell
through Rich (a Padding in a Styled, per cell, after any change), which was the largest part of
a keystroke's time on the main thread. This table keeps the DataTable (its keys, cursor, keys,
mouse, scrolling, column widths: everything the screen and the tests use) and only draws a row
that is neither under the cursor nor under the mouse itself: the cell's text (what the DataTable
would show, read once when the row is added), cut or padded to the column, in the row's style
(docs/dashboard.md, "Search as you type within a budget"). The cursor's row, a hovered row, the
header and anything unusual (a styled cell) are drawn by the DataTable as before, and
tests/test_tui_results.py checks that every line is the one the DataTable draws.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from rich.cells import get_character_cell_size, set_cell_size
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.widgets import Input
from textual.widgets.data_table import RowKey

from sfa.tui.widgets import Table

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _plain(cell: str) -> str | None:
    """The text a DataTable shows for a (markup-escaped) cell on a one-line row, or None when
    the cell has any style of its own."""
    first = cell.split("\n", 1)[0]  # a one-line row shows the first line
    if "[" in first or ":" in first:  # markup or an emoji code: read as the DataTable reads it
        text = Text.from_markup(first, end="")
        if text.spans or text.style:
            return None
        plain = text.plain
    else:
        plain = first
    if _CONTROL.search(plain):
        return None  # tabs and control characters (Rich expands or drops them)
    if max(plain, default=" ") > "\u00ff" and any(
        get_character_cell_size(c) != 1 for c in plain if c > "\u00ff"
    ):
        return None  # wide or combining characters: cut at the column's edge as Rich does
    return plain


class ResultsTable(Table):
    """A row-cursor Table with one-line rows of text, drawn without Rich for most rows."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._texts: list[list[str] | None] = []  # per row: the cells' plain text, None: draw as DataTable
        self._after_measure: Callable[[], None] | None = None
        self._labelled = False
        self._reordered = False
        self._styles: tuple[Style, tuple[Style, Style], Style] | None = None

    def fill(self, rows: Sequence[tuple[str, ...]]) -> None:
        """Replace the rows: each is (key, *cells), cells are text."""
        self.clear()
        for key, *cells in rows:
            self.add_row(*cells, key=key)

    def add_row(
        self, *cells: Any, height: int | None = 1, key: str | None = None, label: Any = None
    ) -> RowKey:
        """As Table.add_row; a row of text cells, one line high, is drawn plainly (a cell given
        as a rich Text, with a style of its own, makes the DataTable draw its row)."""
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._labelled = self._labelled or label is not None  # a label column: the DataTable draws
        plain = [_plain(escape(c)) if isinstance(c, str) else None for c in cells]
        plain_row = height == 1 and not self._reordered and all(p is not None for p in plain)
        self._texts.append([p for p in plain if p is not None] if plain_row else None)
        return row_key

    # Rows removed, sorted or changed in place: the rows' plain texts no longer follow the rows'
    # order, so the DataTable draws every row until the table is cleared (no screen does this).
    def remove_row(self, row_key: RowKey | str) -> None:
        self._reordered = True
        super().remove_row(row_key)

    def sort(
        self, *columns: Any, key: Callable[[Any], Any] | None = None, reverse: bool = False
    ) -> ResultsTable:
        self._reordered = True
        super().sort(*columns, key=key, reverse=reverse)
        return self

    def update_cell(self, *args: Any, **kwargs: Any) -> None:
        self._reordered = True
        super().update_cell(*args, **kwargs)

    def update_cell_at(self, *args: Any, **kwargs: Any) -> None:
        self._reordered = True
        super().update_cell_at(*args, **kwargs)

    def clear(self, columns: bool = False) -> ResultsTable:
        self._texts = []
        self._labelled = False
        self._reordered = False
        super().clear(columns)
        return self

    def when_measured(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the table has measured its new rows (the DataTable does that when
        idle; a frame drawn before it would show the old column widths)."""
        self._after_measure = callback
        self.check_idle()

    def on_idle(self) -> None:
        # Called before the DataTable's own idle handler (the subclass comes first): the callback
        # runs right after this message, so after the DataTable has measured.
        if self._after_measure is not None:
            callback, self._after_measure = self._after_measure, None
            self.call_next(callback)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y - self.header_height + scroll_y if self.show_header else y + scroll_y
        if (
            y < (self.header_height if self.show_header else 0)
            or not 0 <= index < len(self._texts)
            or index == self.cursor_row
            or index == self.hover_row
            or self.fixed_rows
            or self.fixed_columns
            or self._labelled
            or self._reordered
        ):
            return super().render_line(y)
        texts = self._texts[index]
        if texts is None or len(texts) != len(self.ordered_columns):
            return super().render_line(y)
        return self._plain_line(index, texts, scroll_x)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The styles a plain row is drawn in are read once per drawing (reading a widget's style
        # is the slow part of drawing a line), fresh each time (focus and theme change them).
        self._styles = self._line_styles()
        try:
            return super().render_lines(crop)
        finally:
            self._styles = None

    def _line_styles(self) -> tuple[Style, tuple[Style, Style], Style]:
        """The table's style, the even and odd rows' styles, and what the DataTable adds after a
        cell's own style (nothing unless the cursor's colours are set to win)."""
        base = self.rich_style
        if self.zebra_stripes:
            stripes = (
                self.get_component_styles("datatable--even-row").rich_style,
                self.get_component_styles("datatable--odd-row").rich_style,
            )
        else:
            stripes = (base, base)
        post = (
            Style.from_color(color=None) if self.cursor_foreground_priority == "css" else Style.null()
        ) + (Style.from_color(bgcolor=None) if self.cursor_background_priority == "css" else Style.null())
        return base, stripes, post

    def _plain_line(self, index: int, texts: list[str], scroll_x: int) -> Strip:
        base_style, stripes, post = self._styles or self._line_styles()
        row_style = stripes[index % 2]
        width = self.size.width
        padding = " " * self.cell_padding
        segments: list[Segment] = []
        table_width = 0
        for column_index, (column, text) in enumerate(zip(self.ordered_columns, texts, strict=True)):
            cell_width = column.get_render_width(self)
            table_width += cell_width
            style = row_style + Style.from_meta({"row": index, "column": column_index}) + post
            inner = max(0, cell_width - 2 * len(padding))
            segments.append(Segment(padding + set_cell_size(text, inner) + padding, style))
        extend = row_style + Style() + Style.from_meta({"row": index, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * max(0, width - table_width), extend))
        line = Strip(segments).crop(scroll_x, scroll_x + width)
        return line.adjust_cell_length(width, base_style).simplify()


class SearchBox(Input):
    """The search box: an Input whose growing text does not lay the screen out again.

    An Input sets its virtual size (the width of its text) on every keystroke, and a widget's
    virtual size asks for a layout of the whole screen (every widget placed again) before the
    next frame. The box's own size never changes (the whole width, three lines); the text's width
    only decides how far the box scrolls sideways, which the Input reads when it moves the
    cursor. Here the virtual size repaints the box without the layout.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
