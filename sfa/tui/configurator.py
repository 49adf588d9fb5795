"""The configurator dialog (issue 17 §2): one list per attribute, values an exclude rule forbids
greyed with the rule's reason, the SKU, description and price live as values are chosen.

The dialog checks and prices with the same pure function as `sfa product configure`
(sfa/domain/configure.py); it returns the chosen ATTR=VALUE items, which the caller hands to the
service (`quotes.add_line(..., options=...)`), so the service checks them once more.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option as Choice

from sfa.domain.configure import Configuration, Option, Pair, Rule, configure, key, value_states
from sfa.domain.money import format_money
from sfa.tui.forms import FORM_CSS
from sfa.tui.widgets import KeysFooter, Options


class ConfiguratorScreen(ModalScreen[list[str] | None]):
    """Enter (or a click) on a value chooses it (toggles it in an attribute taking several; on the
    chosen value of an optional attribute, clears it); Ctrl+S adds the configuration when it has no
    errors; Escape cancels."""

    DEFAULT_CSS = (
        FORM_CSS
        + """
    ConfiguratorScreen { align: center middle; }
    ConfiguratorScreen #dialog { width: 90; }
    ConfiguratorScreen #attributes { height: auto; max-height: 24; }
    ConfiguratorScreen .attribute { height: 1; margin-top: 1; text-style: bold; }
    ConfiguratorScreen OptionList { height: auto; max-height: 8; }
    ConfiguratorScreen #config-summary { height: auto; margin-top: 1; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Add", priority=True),
    ]

    def __init__(
        self,
        product: dict[str, object],
        options: Sequence[Option],
        rules: Sequence[Rule],
        *,
        currency: str,
        chosen: Sequence[Pair] = (),
        save_label: str = "Add line",
    ) -> None:
        super().__init__()
        self.sku = str(product["sku"])
        self.product_name = str(product["name"])
        price = product["unit_price"]
        self.base = price if isinstance(price, Decimal) else Decimal(str(price or 0))
        self.options = list(options)
        self.rules = list(rules)
        self.currency = currency
        self.save_label = save_label
        self.config = configure(
            self.sku, self.product_name, self.base, self.options, self.rules, list(chosen)
        )
        # from here on the choice is explicit: the defaults configure() applied are chosen values
        self.chosen: dict[str, list[str]] = {a: list(vs) for a, vs in self.config.chosen}
        self.attributes = list(value_states(self.options, self.rules, self.config))

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Content(f"Configure {self.sku} · {self.product_name}"), classes="title")
            with VerticalScroll(id="attributes", can_focus=False):  # tab goes list to list
                for n in range(len(self.attributes)):
                    yield Static("", id=f"attr-label-{n}", classes="attribute")
                    yield Options(id=f"attr-{n}", compact=True)
            yield Static("", id="config-summary")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.save_label, id="save", variant="primary")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.show()
        if self.attributes:
            self.query_one("#attr-0", OptionList).focus()

    def pairs(self) -> list[Pair]:
        return [(a, v) for a, vs in self.chosen.items() for v in vs]

    def show(self) -> None:
        """Check and price the choice again, and redraw every list and the summary."""
        self.config = configure(
            self.sku, self.product_name, self.base, self.options, self.rules, self.pairs()
        )
        states = value_states(self.options, self.rules, self.config)
        for n, attribute in enumerate(self.attributes):
            required, multiple, values = states[attribute]
            note = " (required)" if required else ""
            note += " · several" if multiple else ""
            self.query_one(f"#attr-label-{n}", Static).update(Content(f"{attribute}{note}"))
            listing = self.query_one(f"#attr-{n}", OptionList)
            where = listing.highlighted
            listing.clear_options()
            for state in values:
                mark = ("[x]" if state.chosen else "[ ]") if multiple else ("●" if state.chosen else "○")
                extra = f" +{format_money(state.extra, '')}" if state.extra else ""
                line = Text(f"{mark} {state.value}{extra}")
                if state.excluded:
                    line = Text(f"{mark} {state.value}{extra}  — {state.excluded}", style="dim")
                elif state.needs:
                    line.append(f"  (then: {state.needs})", style="italic")
                listing.add_option(Choice(line, id=state.value, disabled=bool(state.excluded)))
            if where is None:  # first drawn: the cursor on the chosen value
                where = next((i for i, v in enumerate(values) if v.chosen), 0)
            if listing.option_count:
                listing.highlighted = min(where, listing.option_count - 1)
        self.query_one("#config-summary", Static).update(self.summary(self.config))

    def summary(self, config: Configuration) -> Text:
        text = Text()
        text.append(f"SKU {config.sku}\n")
        text.append(f"{config.description}\n")
        text.append(f"Unit price {format_money(config.unit_price, self.currency)}", style="bold")
        for problem in config.errors:
            text.append(f"\n{problem}", style="red")
        return text

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        widget_id = event.option_list.id or ""
        if not widget_id.startswith("attr-"):
            return
        attribute = self.attributes[int(widget_id.removeprefix("attr-"))]
        value = str(event.option.id)
        states = value_states(self.options, self.rules, self.config)[attribute]
        multiple = states[1]
        current = self.chosen.get(attribute, [])
        if any(key(v) == key(value) for v in current):
            current = [v for v in current if key(v) != key(value)]
        elif multiple:
            current = [*current, value]
        else:
            current = [value]
        self.chosen[attribute] = current
        self.show()

    def action_save(self) -> None:
        if self.config.errors:
            self.notify(str(self.config.errors[0]), severity="error", timeout=6)
            return
        self.dismiss([f"{a}={v}" for a, vs in self.config.chosen for v in vs])

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()
