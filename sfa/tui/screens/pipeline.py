"""Pipeline: open opportunities as a board, one column per stage, with count, amount and weighted."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import HorizontalScroll, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from sfa.domain.entities import OPPORTUNITY
from sfa.domain.stages import LOST, WON
from sfa.services import crm, records
from sfa.store.db import Record
from sfa.tui.base import SfaScreen
from sfa.tui.format import short_money
from sfa.tui.forms import ask
from sfa.tui.widgets import Options


def weighted(opp: Record) -> Decimal:
    if opp["amount"] is None:
        return Decimal(0)
    return Decimal(opp["amount"]) * Decimal(opp["probability"] or 0) / 100


def close_label(opp: Record) -> str:
    return f"{opp['close_date']:%d %b}" if opp["close_date"] else "-"


class StageColumn(Vertical):
    DEFAULT_CSS = """
    StageColumn { width: 26; height: 1fr; border-right: tall $panel; }
    StageColumn > .stage-head { height: 2; background: $primary-background; padding: 0 1; }
    StageColumn:focus-within > .stage-head { background: $primary; text-style: bold; }
    StageColumn > Options, StageColumn > Options:focus { height: 1fr; border: none; padding: 0; }
    """

    name_width = 24

    def __init__(self, stage: str, index: int) -> None:
        super().__init__(id=f"col-{index}")
        self.stage = stage

    def compose(self) -> Iterable[Widget]:
        yield Static(Content(self.stage), classes="stage-head")
        yield Options()

    def fill(self, opps: list[Record], accounts: dict[str, str]) -> None:
        count = len(opps)
        total = sum((Decimal(o["amount"]) for o in opps if o["amount"] is not None), Decimal(0))
        weight = sum((weighted(o) for o in opps), Decimal(0))
        head = self.query_one(".stage-head", Static)
        head.update(
            Content(f"{self.stage} ({count})\n{short_money(total) or '0'} · w {short_money(weight) or '0'}")
        )
        options = self.query_one(Options)
        highlighted = options.highlighted_option.id if options.highlighted_option else None
        options.clear_options()
        options.add_options(
            [
                Option(
                    Content.assemble(
                        f"{o['name'][: self.name_width]}\n",
                        (
                            f"{accounts.get(o['account_id'], '')[: self.name_width - 13]:<{self.name_width - 13}} "
                            f"{short_money(o['amount']):>5} {close_label(o)}",
                            "dim",
                        ),
                    ),
                    id=o["id"],
                )
                for o in opps
            ]
        )
        if highlighted and any(o["id"] == highlighted for o in opps):
            options.highlighted = options.get_option_index(highlighted)


class PipelineScreen(SfaScreen):
    MODE = "pipeline"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "column(-1)", "◀ Column", show=False),
        Binding("right,l", "column(1)", "Column ▶", show=False),
        Binding("less_than_sign,shift+left", "move(-1)", "Back", key_display="<", tooltip="Stage back"),
        Binding("greater_than_sign,shift+right", "move(1)", "On", key_display=">", tooltip="Stage on"),
        Binding("w", "won", "Won", tooltip="Mark the deal won"),
        Binding("x", "lost", "Lost", tooltip="Mark the deal lost"),
        Binding("q", "quote", "Quote", tooltip="Open the deal's quote (its draft, or a new one)"),
        Binding("e", "edit", "Edit", tooltip="Edit the opportunity"),
        Binding("g", "first", "Top", show=False),
        Binding("G", "last", "Bottom", show=False),
        Binding("enter", "open", "Account", show=False, tooltip="Open the deal's account"),
    ]

    def body(self) -> Iterable[Widget]:
        yield Static("", id="pipeline-summary", classes="hint")
        with HorizontalScroll(id="board"):
            for index, stage in enumerate(self.open_stages()):
                yield StageColumn(stage, index)

    def open_stages(self) -> list[str]:
        return [s.name for s in self.ws.stages if s.name not in (WON, LOST)]

    def on_resize(self) -> None:
        """Wider terminals show wider columns: names are cut only when they must be."""
        self.reload_widths()

    def reload_widths(self) -> None:
        width = self.size.width
        columns = self.columns()
        if not columns or width <= 0:
            return
        each = max(26, min(40, width // max(1, min(len(columns), 4))))
        for column in columns:
            column.styles.width = each
            column.name_width = each - 2
        if self._loaded:
            self.reload()

    def reload(self) -> None:
        opps = crm.list_opportunities(self.ws, open_only=True)
        accounts = crm.names_of(self.ws, "account", {o["account_id"] for o in opps})
        by_stage: dict[str, list[Record]] = {s: [] for s in self.open_stages()}
        for opp in opps:
            by_stage.setdefault(opp["stage"], []).append(opp)
        for column in self.query(StageColumn):
            column.fill(by_stage.get(column.stage, []), accounts)
        total = sum((Decimal(o["amount"]) for o in opps if o["amount"] is not None), Decimal(0))
        weight = sum((weighted(o) for o in opps), Decimal(0))
        currency = self.ws.setting("currency")
        self.query_one("#pipeline-summary", Static).update(
            Content.assemble(
                f"{len(opps)} open · {short_money(total) or '0'} {currency} · weighted "
                f"{short_money(weight) or '0'} {currency}   ",
                ("←/→ column · </> move stage", "dim"),
            )
        )
        if not isinstance(self.focused, Options):
            self.focus_column(0)

    # -- selection ---------------------------------------------------------------------------
    def columns(self) -> list[StageColumn]:
        return list(self.query(StageColumn))

    def current_column(self) -> int:
        for index, column in enumerate(self.columns()):
            if column.has_focus_within:
                return index
        return 0

    def focus_column(self, index: int) -> None:
        columns = self.columns()
        if not columns:
            return
        column = columns[max(0, min(index, len(columns) - 1))]
        options = column.query_one(Options)
        options.focus()
        if options.highlighted is None and options.option_count:
            options.highlighted = 0
        column.scroll_visible()

    def selected(self) -> Record | None:
        """The deal under the cursor of the focused column; None when no column has the focus
        (a write never acts on a deal the rep is not looking at)."""
        column = next((c for c in self.columns() if c.has_focus_within), None)
        if column is None:
            return None
        option = column.query_one(Options).highlighted_option
        if option is None or option.id is None:
            return None
        return self.attempt(records.get, self.ws, OPPORTUNITY, option.id)

    def select(self, opp_id: str, stage: str) -> None:
        for index, column in enumerate(self.columns()):
            if column.stage == stage:
                options = column.query_one(Options)
                self.focus_column(index)
                options.highlighted = options.get_option_index(opp_id)

    # -- actions -----------------------------------------------------------------------------
    def action_column(self, step: int) -> None:
        self.focus_column(self.current_column() + step)

    def action_move(self, step: int) -> None:
        opp = self.selected()
        if opp is None:
            return
        stages = self.open_stages()
        index = stages.index(opp["stage"]) + step if opp["stage"] in stages else 0
        if not 0 <= index < len(stages):
            self.notify("no stage further that way; use w (won) or x (lost) to close", severity="warning")
            return
        moved = self.attempt(crm.move_stage, self.ws, opp["id"], stages[index])
        if moved is not None:
            self.changed(f"{moved['name']}: {opp['stage']} → {moved['stage']}")
            self.select(moved["id"], moved["stage"])

    def focused_record(self) -> tuple[str, str] | None:
        opp = self.selected()
        return ("opportunity", opp["id"]) if opp is not None else None

    def action_first(self) -> None:
        self._jump(0)

    def action_last(self) -> None:
        self._jump(-1)

    def _jump(self, where: int) -> None:
        column = next((c for c in self.columns() if c.has_focus_within), None)
        if column is not None:
            options = column.query_one(Options)
            if options.option_count:
                options.highlighted = where % options.option_count

    def action_won(self) -> None:
        opp = self.selected()
        if opp is None:
            return
        from sfa.tui.capture import confirm

        def won() -> None:
            moved = self.attempt(crm.move_stage, self.ws, opp["id"], WON)
            if moved is not None:
                self.changed(f"{moved['name']}: won")

        amount = (
            f" ({short_money(opp['amount'])} {opp['currency'] or ''})" if opp["amount"] is not None else ""
        )
        confirm(
            self.app,
            f"Won: {opp['name']}{amount}?",
            "The deal leaves the board as won. `sfa opp edit --stage` reopens it.",
            won,
            yes="Won",
        )

    def action_lost(self) -> None:
        opp = self.selected()
        if opp is None:
            return

        def done(result: dict[str, str] | None) -> None:
            if result:
                moved = self.attempt(crm.move_stage, self.ws, opp["id"], LOST, reason=result["value"].strip())
                if moved is not None:
                    self.changed(f"{moved['name']}: lost ({result['value'].strip()})")

        self.app.push_screen(ask(f"Lost: {opp['name']}", "Why was it lost?", save_label="Mark lost"), done)

    def action_edit(self) -> None:
        """Edit the selected opportunity in place: every field checked as it is typed."""
        from sfa.tui import editing

        opp = self.selected()
        if opp is None:
            return
        form = editing.opportunity_form(self.ws, opp)

        def saved(opp: Record) -> None:
            self.changed(f"{opp['name']} saved")
            if opp["stage"] in self.open_stages():
                self.select(opp["id"], opp["stage"])

        editing.open_form(
            self,
            form,
            lambda values: self.attempt(editing.save_opportunity, self.ws, opp, form, values),
            saved,
        )

    def action_quote(self) -> None:
        """Draft a quote for the selected opportunity and open it in the quote editor."""
        from sfa.services import quotes

        opp = self.selected()
        if opp is None:
            return
        draft = quotes.draft_for_opportunity(self.ws, opp["id"])
        if draft is not None:  # the deal's draft: open it, never a second one
            self.sfa.select_next["quotes"] = draft["id"]
            self.app.switch_mode("quotes")
            self.notify(f"{opp['name']}: its draft {draft['number']} rev {draft['revision']}")
            return
        quote = self.attempt(quotes.new_quote, self.ws, opp_ref=opp["id"])
        if quote is not None:
            self.sfa.select_next["quotes"] = quote["id"]
            self.changed(f"quote {quote['number']} drafted for {opp['name']}; n on its lines adds one")
            self.app.switch_mode("quotes")

    def action_open(self) -> None:
        opp = self.selected()
        if opp is not None:
            from sfa.tui.screens.accounts import AccountView

            self.app.push_screen(AccountView(opp["account_id"]))

    @on(OptionList.OptionSelected)
    def _chosen(self) -> None:
        self.action_open()
