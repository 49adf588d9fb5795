"""A record's fields, read only: what search opens for a record no screen shows (a product, a note
or task at no account, a quote revision that a newer one replaced)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from sfa.domain.entities import Entity
from sfa.services import crm
from sfa.store.db import Record
from sfa.store.workspace import Workspace
from sfa.tui.format import local_stamp
from sfa.tui.forms import FORM_CSS

LABELS = {
    "account": "account",
    "contact": "contact",
    "lead": "lead",
    "opportunity": "opp",
    "timeline": "note",
    "visit": "visit",
    "task": "task",
    "product": "product",
    "quote": "quote",
}


def label_of(entity: Entity) -> str:
    """The short name of a record type in lists (a type added later shows under its own name)."""
    return LABELS.get(entity.name, entity.name)


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return local_stamp(value)
    return str(value)


def field_lines(ws: Workspace, entity: Entity, record: Record) -> list[tuple[str, str]]:
    """(field, value) of every field that holds something; references by the name of what they name."""
    lines = []
    for spec in entity.fields:
        if spec.name == "deleted":
            continue
        value = record.get(spec.name)
        if spec.kind == "ref" and spec.ref and value:
            value = crm.names_of(ws, spec.ref, {str(value)}).get(str(value)) or value
        shown = _shown(value)
        if shown:
            lines.append((spec.name.removesuffix("_id"), shown))
    return lines


class DetailsScreen(ModalScreen[None]):
    DEFAULT_CSS = (
        FORM_CSS
        + """
    DetailsScreen { align: center middle; }
    DetailsScreen #details-fields { height: auto; max-height: 16; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, ws: Workspace, entity: Entity, record: Record, why: str = "") -> None:
        super().__init__()
        self.entity, self.record, self.why = entity, record, why
        self.lines = field_lines(ws, entity, record)

    def compose(self) -> ComposeResult:
        title = self.record.get(self.entity.title) or self.record.get("id")
        first = str(title).splitlines()[0] if str(title).strip() else "?"
        with Vertical(id="dialog"):
            yield Label(Content(f"{label_of(self.entity)}: {first}"[:70]), classes="title")
            width = max((len(name) for name, _ in self.lines), default=0)
            parts: list[str | tuple[str, str]] = []
            for name, value in self.lines:  # values are text, never markup
                parts += ["\n" if parts else "", (name.ljust(width), "bold"), "  ", value]
            with VerticalScroll(id="details-fields"):
                yield Static(Content.assemble(*parts) if parts else "-", classes="info")
            if self.why:
                yield Static(Content.styled(self.why, "dim"), classes="info")
            with Horizontal(classes="buttons"):
                yield Button("Close (esc)", id="close", variant="primary")

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def _pressed(self) -> None:
        self.dismiss(None)
