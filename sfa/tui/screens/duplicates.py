"""Duplicates (issue 17 §4): the likely duplicates `sfa dedupe scan` finds, one group per row; the
selected group's first two records side by side; merge them, choosing which one is kept and which
fields the survivor takes from the other (`sfa merge ... --take FIELD=OTHER`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sfa.domain.entities import MERGEABLE
from sfa.services import dedupe
from sfa.tui.base import SfaScreen
from sfa.tui.capture import confirm
from sfa.tui.widgets import Table


class DuplicatesScreen(SfaScreen):
    MODE = "duplicates"
    DEFAULT_CSS = """
    DuplicatesScreen #dup-groups { height: 1fr; min-height: 4; }
    DuplicatesScreen #dup-pair { height: auto; }
    DuplicatesScreen #dup-fields { height: 2fr; min-height: 4; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "next_type", "Type", tooltip="Contacts, accounts or leads"),
        Binding("s", "swap", "Swap", tooltip="Keep the other record instead"),
        Binding("f", "take", "Take field", tooltip="The survivor takes the focused field from the other"),
        Binding("m", "merge", "Merge", tooltip="Merge the pair (asks first)"),
    ]

    entity_name = "contact"
    groups: list[dedupe.Group]
    swapped = False
    taken: set[str]
    shown_group: tuple[str, ...] | None = None  # the records of the group whose pair is shown

    def body(self) -> Iterable[Widget]:
        self.groups, self.taken = [], set()
        yield Static("", id="dup-head", classes="section-title")
        yield Table(id="dup-groups")
        yield Static("", id="dup-pair", classes="section-title")
        yield Table(id="dup-fields")

    def on_mount(self) -> None:
        self.query_one("#dup-groups", Table).add_columns("Records", "Shared", "Count")
        self.query_one("#dup-fields", Table).add_columns("", "Field", "Keep", "Other")
        super().on_mount()
        self.query_one("#dup-groups", Table).focus()

    def reload(self) -> None:
        table = self.query_one("#dup-groups", Table)
        keep = table.selected_key()
        self.groups = self.attempt(dedupe.scan, self.ws, [self.entity_name]) or []
        table.clear()
        for n, group in enumerate(self.groups):
            names = " / ".join(title for _, title in group.records)
            table.add_row(names[:70], ", ".join(group.reasons), str(len(group.records)), key=str(n))
        if keep is not None and int(keep) < len(self.groups):
            table.move_cursor(row=int(keep))
        plural = {"contact": "contacts", "account": "accounts", "lead": "leads"}[self.entity_name]
        self.query_one("#dup-head", Static).update(
            Content(
                f"Duplicates among {plural}: {len(self.groups)} group{'s' if len(self.groups) != 1 else ''}"
                "  · t type · s swap · f take field · m merge"
            )
        )
        self.show_pair()

    def pair(self) -> tuple[str, str] | None:
        key = self.query_one("#dup-groups", Table).selected_key()
        if key is None or int(key) >= len(self.groups):
            return None
        (a, _), (b, _) = self.groups[int(key)].records[:2]
        return (b, a) if self.swapped else (a, b)

    def show_pair(self) -> None:
        fields = self.query_one("#dup-fields", Table)
        head = self.query_one("#dup-pair", Static)
        fields.clear()
        # the group shown, so that the table announcing it again (late) does not reset the view
        self.shown_group = self.selected_group()
        pair = self.pair()
        if pair is None:
            head.update(Content(f"no likely duplicates among the {self.entity_name}s on this laptop"))
            return
        view = self.attempt(dedupe.side_by_side, self.ws, self.entity_name, *pair)
        if view is None:
            return
        title = view.entity.title
        head.update(
            Content(f"Keep {view.keep[title]!r}, merge {view.other[title]!r} into it").stylize("bold")
        )
        for name, mine, theirs, differ in view.rows:
            taken = name in self.taken
            style = "bold" if differ else "dim"
            fields.add_row(
                "← take" if taken else ("≠" if differ else ""),
                Text(name, style=style),
                Text(mine, style="strike" if taken else style),
                Text(theirs, style=style),
                key=name,
            )

    def focused_record(self) -> tuple[str, str] | None:
        pair = self.pair()
        return (self.entity_name, pair[0]) if pair is not None else None

    @on(DataTable.RowHighlighted, "#dup-groups")
    def _highlighted(self) -> None:
        """Another group: its pair, as the scan gives it, nothing taken. The table also announces
        the row it already had (after a reload, or late after a fast key): a swap or a field taken
        on the group shown stays."""
        if self.selected_group() == self.shown_group:
            return
        self.swapped = False
        self.taken = set()
        self.show_pair()

    def selected_group(self) -> tuple[str, ...] | None:
        key = self.query_one("#dup-groups", Table).selected_key()
        if key is None or int(key) >= len(self.groups):
            return None
        return tuple(record_id for record_id, _ in self.groups[int(key)].records)

    @on(DataTable.RowSelected, "#dup-groups")
    def _to_fields(self) -> None:
        self.query_one("#dup-fields", Table).focus()

    # -- actions -------------------------------------------------------------------------------
    def action_next_type(self) -> None:
        self.entity_name = MERGEABLE[(MERGEABLE.index(self.entity_name) + 1) % len(MERGEABLE)]
        self.swapped, self.taken = False, set()
        self.query_one("#dup-groups", Table).move_cursor(row=0)
        self.reload()

    def action_swap(self) -> None:
        self.swapped = not self.swapped
        self.taken = set()
        self.show_pair()

    def action_take(self) -> None:
        fields = self.query_one("#dup-fields", Table)
        if not fields.has_focus:
            self.notify("f on the fields (tab to them) takes the focused field", severity="warning")
            return
        name = fields.selected_key()
        if name is None:
            return
        self.taken ^= {name}
        row = fields.cursor_row
        self.show_pair()
        fields.move_cursor(row=row)

    def action_merge(self) -> None:
        pair = self.pair()
        if pair is None:
            self.notify("no pair selected", severity="warning")
            return
        view = self.attempt(dedupe.side_by_side, self.ws, self.entity_name, *pair)
        if view is None:
            return
        title = view.entity.title
        takes = f" It takes {', '.join(sorted(self.taken))} from the other." if self.taken else ""
        take = [f"{name}=other" for name in sorted(self.taken)]

        def merge() -> None:
            result = self.attempt(dedupe.merge, self.ws, self.entity_name, pair[0], pair[1], take)
            if result is not None:
                self.swapped, self.taken = False, set()
                self.changed(
                    f"{view.other[title]!r} merged into {result.keep[title]!r}; "
                    f"{result.children} linked record(s) moved (sfa unmerge brings it back)"
                )

        confirm(
            self.app,
            f"Merge {view.other[title]!r} into {view.keep[title]!r}?",
            f"The other record's links move to the one kept, its empty fields are filled from the "
            f"other, and the other is marked merged and deleted.{takes}",
            merge,
            yes="Merge",
        )
