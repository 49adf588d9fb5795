"""The search results table (sfa/tui/results.py) draws its plain rows itself, for speed: every line
it draws must be the line the DataTable draws for the same rows (text, colours and the row and
column a click lands on), whatever the names hold, wherever the cursor and the scroll are."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.strip import Strip
from textual.widgets import Input

from sfa.tui.results import ResultsTable, SearchBox
from sfa.tui.widgets import Table

# Names as they come: umlauts, wide and combining characters, emoji codes (which Rich turns into
# emoji), markup-like brackets, backslashes, newlines (a one-line row shows the first line).
PIECES = [*"aZüß ·-,.:[]/\\\n\t", "漢", "字", "e\u0301", ":smile:", "[b]", "[/]", "€"]
CELL = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
ROWS = st.lists(st.tuples(st.sampled_from(["account", "contact", "task", "visit"]), CELL, CELL), max_size=30)

# no shrinking: a failure names the rows already, and shrinking lists of row lists takes minutes
FEW_UNSHRUNK = settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Results(App[None]):
    def __init__(self, zebra: bool) -> None:
        super().__init__()
        self.zebra = zebra

    def compose(self) -> ComposeResult:
        yield ResultsTable(id="results")

    def on_mount(self) -> None:
        table = self.query_one(ResultsTable)
        table.zebra_stripes = self.zebra
        table.add_column("Type", width=7)
        table.add_column("Name", width=30)
        table.add_column("Detail")


def drawn(table: ResultsTable) -> list[tuple[Strip, Strip]]:
    """Each line of the table as it draws it, and as the DataTable draws it."""
    return [(table.render_line(y), Table.render_line(table, y)) for y in range(table.size.height)]


async def check(row_sets: list[list[tuple[str, str, str]]], zebra: bool, width: int) -> None:
    app = Results(zebra)
    async with app.run_test(size=(width, 12)) as pilot:
        table = app.query_one(ResultsTable)
        for rows in row_sets:  # one app, many fills: as typing refills the same table
            table.focus()
            table.fill([(f"k{i}", *row) for i, row in enumerate(rows)])
            await pilot.pause()
            for cursor, scroll in ((0, 0), (len(rows) // 2, 0), (max(0, len(rows) - 1), 0), (0, 3), (2, 1)):
                table.move_cursor(row=cursor, animate=False, scroll=False)
                table.scroll_to(x=scroll, y=scroll, animate=False)
                await pilot.pause()
                for y, (fast, slow) in enumerate(drawn(table)):
                    assert fast == slow, (y, cursor, scroll, rows)
            table.blur()  # the cursor's row unfocused, the rest as before
            await pilot.pause()
            for fast, slow in drawn(table):
                assert fast == slow, rows


@FEW_UNSHRUNK
@given(
    row_sets=st.lists(ROWS, min_size=1, max_size=25),
    zebra=st.booleans(),
    width=st.sampled_from([40, 80, 120]),
)
def test_every_line_is_the_line_the_datatable_draws(row_sets: Any, zebra: bool, width: int) -> None:
    asyncio.run(check(row_sets, zebra, width))


async def check_added(rows: list[tuple[str, str, str]], styled: list[bool], change: str) -> None:
    """Rows added one by one (as Today fills its sections), some with a styled cell (drawn by the
    DataTable), then the table changed in place: every line is still the DataTable's."""
    app = Results(True)
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(ResultsTable)
        table.focus()
        for i, (kind, name, detail) in enumerate(rows):
            bold = i < len(styled) and styled[i]
            table.add_row(kind, Text(name, style="bold red") if bold else name, detail, key=f"k{i}")
        await pilot.pause()
        if rows and change == "sort":
            table.sort(table.ordered_columns[0].key, reverse=True)
        elif rows and change == "remove":
            table.remove_row("k0")
        elif rows and change == "update":
            table.update_cell_at(Coordinate(len(rows) - 1, 2), "changed")
        await pilot.pause()
        for cursor in (0, table.row_count // 2, max(0, table.row_count - 1)):
            table.move_cursor(row=cursor, animate=False, scroll=False)
            await pilot.pause()
            for y, (fast, slow) in enumerate(drawn(table)):
                assert fast == slow, (y, cursor, change, rows)


@FEW_UNSHRUNK
@given(
    rows=ROWS,
    styled=st.lists(st.booleans(), max_size=30),
    change=st.sampled_from(["none", "sort", "remove", "update"]),
)
def test_rows_added_one_by_one_and_changed_draw_as_the_datatable(
    rows: Any, styled: list[bool], change: str
) -> None:
    asyncio.run(check_added(rows, styled, change))


def test_the_lines_drawn_are_the_rows_text() -> None:
    """Not vacuous: a row's own drawing shows its cells (the fast path is taken for it)."""

    async def run() -> None:
        app = Results(True)
        async with app.run_test(size=(80, 12)) as pilot:
            table = app.query_one(ResultsTable)
            table.fill(
                [("a", "account", "Brauerei [Huber] :smile:", "München"), ("b", "contact", "Eva", "x")]
            )
            await pilot.pause()
            drawn_here: list[int] = []
            plain_line = table._plain_line
            table._plain_line = lambda index, *rest: drawn_here.append(index) or plain_line(index, *rest)  # type: ignore[method-assign]
            line = table.render_line(2)  # the header, the cursor's row, then this one
            assert drawn_here == [1]  # drawn by the table itself, not handed to the DataTable
            assert line.text.startswith(" contact  Eva ")
            first = Table.render_line(table, 1).text
            assert "Brauerei [Huber] 😄" in first and "München" in first

    asyncio.run(run())


def test_the_search_box_scrolls_as_an_input_does() -> None:
    """The search box skips the layout an Input asks for on every keystroke: it must still show
    the end of a text wider than itself, the start after Home, and follow backspace."""

    class Box(App[None]):
        def __init__(self, box: type[Input]) -> None:
            super().__init__()
            self.box = box

        def compose(self) -> ComposeResult:
            yield self.box(id="box")

    async def seen(box: type[Input]) -> list[str]:
        app = Box(box)
        shown = []
        async with app.run_test(size=(30, 5)) as pilot:
            for keys in (list("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"), ["home"], ["end", "backspace"]):
                await pilot.press(*keys)
                await pilot.pause()
                shown.append(Strip.join(app.screen._compositor.render_strips()[1:2]).text)
        return shown

    as_input, as_box = asyncio.run(seen(Input)), asyncio.run(seen(SearchBox))
    assert "ABCDEFG" in as_box[0] and "abcdef" in as_box[1] and "ABCDEF" in as_box[2]
    assert as_box == as_input
