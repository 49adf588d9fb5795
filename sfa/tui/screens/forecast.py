"""Forecast: the forecast (by month or quarter), the current period's range (P10-P90 band) against the
target with the attainment, and the open pipeline by stage, drawn as bar charts."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from sfa.domain.dates import local_today
from sfa.services import outlook, reports
from sfa.tui.base import SfaScreen
from sfa.tui.format import short_money

BAR = 36  # characters of the longest bar
WON, WEIGHTED, OPEN = "█", "▓", "░"


def bar(parts: list[tuple[Decimal, str, str]], scale: Decimal) -> str:
    """Stacked bar: (amount, glyph, style) parts scaled so that `scale` fills BAR characters."""
    if scale <= 0:
        return ""
    text, used = "", 0
    for amount, glyph, style in parts:
        width = max(0, min(BAR - used, round(float(amount / scale) * BAR)))
        if width:
            text += f"[{style}]{glyph * width}[/]"
            used += width
    return text + " " * (BAR - used)


BAND, TARGET, MEDIAN = "▒", "┃", "│"


def band(found: outlook.Outlook) -> str:
    """One BAR-wide line: won so far, the P10-P90 band with the P50, and the target line."""
    if found.p10 is None or found.p90 is None:
        return ""
    top = max(found.p90, found.target or Decimal(0), found.won)
    if top <= 0:
        return ""

    def at(value: Decimal) -> int:
        return max(0, min(BAR - 1, round(float(value / top) * (BAR - 1))))

    cells = [("·", "dim")] * BAR
    for i in range(at(found.won) + 1 if found.won > 0 else 0):
        cells[i] = (WON, "green")
    for i in range(at(found.p10), at(found.p90) + 1):
        cells[i] = (BAND, "cyan")
    if found.p50 is not None:
        cells[at(found.p50)] = (MEDIAN, "b cyan")
    if found.target:
        cells[at(found.target)] = (TARGET, "b red")
    return "".join(f"[{style}]{glyph}[/]" for glyph, style in cells)


def outlook_lines(found: outlook.Outlook) -> list[str]:
    def money(value: Decimal | None) -> str:
        return short_money(value) or "0"

    lines = [
        "",
        f"[b]{found.period} outlook[/b] ({found.method}, {found.currency})  [green]{WON}[/] won  "
        f"[cyan]{BAND}[/] P10-P90  [b cyan]{MEDIAN}[/] P50  [b red]{TARGET}[/] target",
    ]
    if found.p10 is None:
        lines.append("[dim]no range: nothing open or won in the period[/]")
        return lines
    lines.append(f"{'range':<9}{band(found)}")
    lines.append(
        f"{'':<9}won {money(found.won)} · P10 {money(found.p10)} · P50 {money(found.p50)} · P90 {money(found.p90)}"
    )
    if found.target is None:
        lines.append(f"{'':<9}[dim]no won-amount target for {found.period} (sfa target set)[/]")
        return lines
    reach = "" if found.p_target is None else f" · P(≥ target) {found.p_target:.0%}"
    lines.append(
        f"{'':<9}target {money(found.target)} ({found.target_of}) · attainment {found.attainment()} % "
        f"· at P50 {found.attainment(found.p50)} %{reach}"
    )
    return lines


class ForecastScreen(SfaScreen):
    MODE = "forecast"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "toggle_period", "Month/quarter", tooltip="Forecast by month or by quarter"),
    ]

    by = "month"

    def body(self) -> Iterable[Widget]:
        with VerticalScroll():
            yield Static("", id="forecast-chart")
            yield Static("", id="outlook-chart")
            yield Static("", id="pipeline-chart")

    def reload(self) -> None:
        chart = self.query_one("#forecast-chart", Static)
        stages = self.query_one("#pipeline-chart", Static)
        rows = reports.forecast(self.ws, self.by)
        scale = max((r.best_case for r in rows), default=Decimal(0))
        lines = [
            f"[b]Forecast by {self.by}[/b]  [green]{WON}[/] won  [blue]{WEIGHTED}[/] weighted  "
            f"[dim]{OPEN}[/] rest of pipeline   (b: by {'quarter' if self.by == 'month' else 'month'})"
        ]
        for r in rows:
            rest = max(Decimal(0), r.pipeline - r.weighted)
            drawn = bar([(r.won, WON, "green"), (r.weighted, WEIGHTED, "blue"), (rest, OPEN, "dim")], scale)
            lines.append(
                f"{r.period:<9}{drawn} w {short_money(r.weighted) or '0':>5} "
                f"won {short_money(r.won) or '0':>5} best {short_money(r.best_case) or '0':>5}"
            )
        if not rows:
            lines.append("[dim]no open or won opportunities with a close date[/]")
        currencies = sorted({r.currency for r in rows})
        if len(currencies) > 1:
            lines.append(f"[yellow]amounts in {', '.join(currencies)} are added as they are[/]")
        chart.update("\n".join(lines))
        pipe = reports.pipeline(self.ws)
        scale = max((s.amount for s in pipe), default=Decimal(0))
        lines = ["", f"[b]Open pipeline by stage[/b]  [blue]{WEIGHTED}[/] weighted  [dim]{OPEN}[/] rest"]
        for s in pipe:
            drawn = bar(
                [(s.weighted, WEIGHTED, "blue"), (max(Decimal(0), s.amount - s.weighted), OPEN, "dim")], scale
            )
            lines.append(
                f"{s.stage[:14]:<15}{drawn} {s.count:>3} · {short_money(s.amount) or '0':>5} "
                f"w {short_money(s.weighted) or '0':>5}"
            )
        stages.update("\n".join(lines))
        self.query_one("#outlook-chart", Static).update(
            "\n".join(outlook_lines(outlook.outlook(self.ws, self.by, local_today(self.now()))))
        )

    def action_toggle_period(self) -> None:
        self.by = "quarter" if self.by == "month" else "month"
        self.reload()
