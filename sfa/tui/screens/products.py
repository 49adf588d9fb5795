"""Products: the encyclopedia on screen (issue 17 §1). Search as you type over name, SKU, model,
family and specs; the selected product's specs, successor, accessories, alternatives, options and
documents; compare marked products side by side; add the product to a draft quote (a configurable
one through the configurator dialog)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from sfa.domain.dates import local_today
from sfa.domain.money import format_money
from sfa.services import configurator, documents, encyclopedia, quotes
from sfa.tui.base import SfaScreen
from sfa.tui.forms import FORM_CSS, PickScreen
from sfa.tui.widgets import KeysFooter, Table

LIST_LIMIT = 200


def detail_text(found: encyclopedia.Detail, attributes: int, rules: int) -> Text:
    """The selected product's encyclopedia entry, as the panel under the list shows it."""
    p = found.product
    text = Text()
    text.append(f"{p['sku']} · {p['name']}", style="bold")
    facts = [
        format_money(p["unit_price"], p["currency"] or ""),
        f"model {p['model_number']}" if p["model_number"] else "",
        f"family {p['family']}" if p["family"] else "",
        f"per {p['unit']}" if p["unit"] else "",
        "inactive" if not p["active"] else "",
    ]
    text.append("  " + " · ".join(f for f in facts if f) + "\n")
    if p["description"]:
        text.append(f"{p['description']}\n", style="italic")
    text.append(f"Specs ({len(found.specs)})\n", style="bold")
    for spec in found.specs:
        unit = f" {spec['unit']}" if spec["unit"] else ""
        text.append(f"  {spec['name']:<20} {spec['value']}{unit}\n")
    if not found.specs:
        text.append("  none (sfa product spec set)\n", style="dim")
    if found.successor is not None:
        text.append(f"Successor: {found.successor['sku']} ({found.successor['name']})\n")
    if found.accessories:
        text.append("Accessories: " + ", ".join(f"{a['sku']} {a['name']}" for a in found.accessories) + "\n")
    if found.alternatives:
        text.append(
            "Alternatives: " + ", ".join(f"{a['sku']} {a['name']}" for a in found.alternatives) + "\n"
        )
    if attributes:
        text.append(f"Configurable: {attributes} attributes, {rules} rules (a: configure and add)\n")
    text.append(f"Documents ({len(found.documents)})\n", style="bold")
    for doc in found.documents:
        text.append(f"  {doc['kind'] or '':<10} {doc['title']} ({doc['filename']})\n")
    if not found.documents:
        text.append("  none (sfa product edit --datasheet FILE)\n", style="dim")
    return text


class CompareScreen(ModalScreen[None]):
    """Specs side by side; a row whose values differ is marked ≠ and bold. Escape closes."""

    DEFAULT_CSS = (
        FORM_CSS
        + """
    CompareScreen { align: center middle; }
    CompareScreen #dialog { width: 110; }
    CompareScreen DataTable { height: auto; max-height: 24; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, comparison: encyclopedia.Comparison) -> None:
        super().__init__()
        self.comparison = comparison

    def compose(self) -> ComposeResult:
        skus = " · ".join(p["sku"] for p in self.comparison.products)
        differ = sum(1 for _, _, d in self.comparison.rows if d)
        with Vertical(id="dialog"):
            yield Label(Content(f"Compare {skus}: {differ} of {len(self.comparison.rows)} specs differ"))
            yield Table(id="compare-table")
        yield KeysFooter()

    def on_mount(self) -> None:
        table = self.query_one("#compare-table", Table)
        table.add_columns("", "Spec", *(p["sku"] for p in self.comparison.products))
        for name, values, differ in self.comparison.rows:
            style = "bold" if differ else ""
            table.add_row(
                "≠" if differ else "", Text(name, style=style), *(Text(v, style=style) for v in values)
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ProductsScreen(SfaScreen):
    MODE = "products"
    DEFAULT_CSS = """
    ProductsScreen #product-search { height: 1; margin: 0 1; }
    ProductsScreen #products-table { height: 1fr; min-height: 4; }
    ProductsScreen #product-detail-box { height: 1fr; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", key_display="/"),
        Binding("space", "mark", "Mark", tooltip="Mark the product for compare"),
        Binding("c", "compare", "Compare", tooltip="Compare the marked products' specs"),
        Binding("a", "add_to_quote", "Add to quote", tooltip="Add the product to a draft quote"),
        Binding("o", "open_document", "Open sheet", tooltip="Open the product's (first) datasheet"),
    ]

    marked: list[str]

    def body(self) -> Iterable[Widget]:
        self.marked = []
        yield Input(placeholder="/ search name, SKU, specs", id="product-search", compact=True)
        yield Table(id="products-table")
        with VerticalScroll(id="product-detail-box"):
            yield Static("", id="product-detail")

    def on_mount(self) -> None:
        self.query_one("#products-table", Table).add_columns("", "SKU", "Name", "Family", "Price", "Unit")
        super().on_mount()
        self.query_one("#products-table", Table).focus()

    def reload(self) -> None:
        table = self.query_one("#products-table", Table)
        keep = table.selected_key()
        text = self.query_one("#product-search", Input).value
        rows = self.attempt(encyclopedia.browse, self.ws, text, LIST_LIMIT) or []
        table.clear()
        for p in rows:
            table.add_row(
                "✓" if p["id"] in self.marked else "",
                p["sku"],
                p["name"][:36],
                (p["family"] or "")[:16],
                format_money(p["unit_price"], p["currency"] or ""),
                p["unit"] or "",
                key=p["id"],
            )
        if keep is not None and any(p["id"] == keep for p in rows):
            table.move_cursor(row=table.get_row_index(keep))
        self.show_product()

    def show_product(self) -> None:
        panel = self.query_one("#product-detail", Static)
        key = self.query_one("#products-table", Table).selected_key()
        if key is None:
            typed = self.query_one("#product-search", Input).value.strip()
            panel.update(Content(f"no product matches {typed!r}" if typed else "no products yet"))
            return
        found = self.attempt(encyclopedia.detail, self.ws, key)
        if found is None:
            return
        options, option_rules = configurator.options_and_rules(self.ws, key)
        attributes = len({o.attribute.casefold() for o in options})
        panel.update(detail_text(found, attributes, len(option_rules)))

    def focused_record(self) -> tuple[str, str] | None:
        key = self.query_one("#products-table", Table).selected_key()
        return ("product", key) if key is not None else None

    @on(Input.Changed, "#product-search")
    def _typed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#product-search")
    def _to_list(self) -> None:
        self.query_one("#products-table", Table).focus()

    @on(DataTable.RowHighlighted, "#products-table")
    def _highlighted(self) -> None:
        self.show_product()

    def on_key(self, event: Any) -> None:
        if event.key == "down" and self.query_one("#product-search", Input).has_focus:
            self.query_one("#products-table", Table).focus()
            event.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # typing into the search: the letters are the search's, the footer shows no list keys
        typing = self.query_one("#product-search", Input).has_focus
        return not (typing and action in ("mark", "compare", "add_to_quote", "search", "open_document"))

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    # -- actions -------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#product-search", Input).focus()

    def action_mark(self) -> None:
        key = self.query_one("#products-table", Table).selected_key()
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked.append(key)
        self.reload()
        self.notify(f"{len(self.marked)} marked for compare (c compares)")

    def action_compare(self) -> None:
        refs = list(self.marked)
        key = self.query_one("#products-table", Table).selected_key()
        if len(refs) < 2 and key is not None and key not in refs:
            refs.append(key)
        if len(refs) < 2:
            self.notify("mark two or more products with space, then c compares them", severity="warning")
            return
        comparison = self.attempt(encyclopedia.compare, self.ws, refs)
        if comparison is not None:
            self.app.push_screen(CompareScreen(comparison))

    def action_add_to_quote(self) -> None:
        """Pick a draft quote, configure the product when it has options, add the line."""
        key = self.query_one("#products-table", Table).selected_key()
        if key is None:
            self.notify("no product selected", severity="warning")
            return
        today = local_today(self.now())
        drafts = [q for q in quotes.list_quotes(self.ws, limit=500) if quotes.status_of(q, today) == "draft"]
        if not drafts:
            self.notify("no draft quote: start one on the Quotes screen (5, then n)", severity="warning")
            return
        from sfa.services import crm

        names = crm.names_of(self.ws, "account", {q["account_id"] for q in drafts})
        choices = [
            (q["id"], f"{q['number']} rev {q['revision']} · {names.get(q['account_id'], '')}") for q in drafts
        ]

        def picked(quote_id: str | None) -> None:
            if quote_id is not None:
                self.add_line(quote_id, key)

        self.app.push_screen(PickScreen("Add to which draft quote?", choices), picked)

    def add_line(self, quote_id: str, product_id: str) -> None:
        from sfa.tui.screens.quotes import configure_then

        quote = quotes.resolve(self.ws, quote_id)
        product = encyclopedia.detail(self.ws, product_id).product

        def add(options: list[str] | None) -> None:
            line = self.attempt(
                quotes.add_line, self.ws, quote_id, product_ref=product["sku"], options=options or ()
            )
            if line is not None:
                self.changed(f"{quote['number']}: line {line['position']} added: {line['description']}")

        configure_then(self, product["sku"], quote["currency"] or "", add)

    def action_open_document(self) -> None:
        """Open the product's first document (datasheets come first) with the desktop's opener."""
        key = self.query_one("#products-table", Table).selected_key()
        found = self.attempt(encyclopedia.detail, self.ws, key) if key is not None else None
        if found is None:
            return
        if not found.documents:
            self.notify(f"{found.product['sku']} has no documents", severity="warning")
            return
        doc = found.documents[0]
        path = self.attempt(documents.open_document, self.ws, doc["id"])
        if path is not None:
            self.notify(f"opened {doc['title']} ({path.name})")
