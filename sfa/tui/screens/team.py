"""Team: the manager's desk (issue 14 §6): approvals waiting (approve or reject with a comment),
attainment by rep with bars, stalled deals by rep, forecast by rep. A rep sees their own line;
policy edits stay in the CLI (docs/policy.md)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from sfa.services import approvals, team
from sfa.tui.base import SfaScreen
from sfa.tui.format import short_money
from sfa.tui.forms import ask
from sfa.tui.widgets import Table

BAR = 30


def _bar(share: Decimal) -> str:
    width = max(0, min(BAR, round(float(share) * BAR)))
    return "█" * width + "·" * (BAR - width)


class TeamScreen(SfaScreen):
    MODE = "team"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", "Approve", tooltip="Approve the selected quote"),
        Binding("x", "reject", "Reject", tooltip="Reject the selected quote"),
    ]

    def body(self) -> Iterable[Widget]:
        with VerticalScroll():
            yield Static("", id="team-approvals-title", classes="section-title")
            yield Table(id="team-approvals")
            yield Static("", id="team-attainment")
            yield Static("", id="team-stalled")
            yield Static("", id="team-forecast")

    def on_mount(self) -> None:
        self.query_one("#team-approvals", Table).add_columns(
            "Quote", "Account", "Rep", "Line %", "Quote %", "Status", "Decisions"
        )
        super().on_mount()
        self.query_one("#team-approvals", Table).focus()

    def reload(self) -> None:
        view = team.overview(self.ws, self.now())
        whose = f" (yours, {view.only})" if view.only else ""
        table = self.query_one("#team-approvals", Table)
        table.clear()
        for a in view.approvals:
            decided = ", ".join(f"{d['by']}: {d['action']}" for d in a["decisions"])
            table.add_row(
                a["quote"],
                a["account"][:22],
                a["owner"] or "",
                a["line_discount"],
                a["quote_discount"],
                a["status"],
                decided,
                key=a["quote_id"],
            )
        self.query_one("#team-approvals-title", Static).update(
            f"[b]Approvals waiting{whose}[/b] ({len(view.approvals)})  a approve · x reject"
        )
        lines = [f"[b]Attainment {view.period.name}{whose}[/b]"]
        for row in view.attainment:
            percent = row.percent
            shown = f"{percent} %" if percent is not None else "-"
            target = short_money(row.target) if row.currency else str(row.target or "")
            actual = short_money(row.actual) if row.currency else str(row.actual)
            share = (percent or Decimal(0)) / 100
            lines.append(
                f"{row.subject[:12]:<13}{row.metric[:17]:<18}{_bar(share)} {shown:>8}  {actual or '0'} / {target}"
            )
        if not view.attainment:
            lines.append("[dim]no targets for this period (sfa target set)[/]")
        self.query_one("#team-attainment", Static).update("\n".join(lines))
        lines = ["", f"[b]Stalled deals by rep{whose}[/b]"]
        lines += [f"{owner[:14]:<15}{count:>4}" for owner, count in sorted(view.stalled.items())]
        if not view.stalled:
            lines.append("[dim]none[/]")
        self.query_one("#team-stalled", Static).update("\n".join(lines))
        lines = ["", f"[b]Forecast by rep{whose}[/b]  open pipeline, weighted"]
        for f in view.forecast:
            lines.append(
                f"{f.owner[:14]:<15}{f.currency:<4}{f.open_count:>4} open  {short_money(f.pipeline) or '0':>6}"
                f"  w {short_money(f.weighted) or '0':>6}"
            )
        if not view.forecast:
            lines.append("[dim]no open deals[/]")
        self.query_one("#team-forecast", Static).update("\n".join(lines))

    def _decide(self, action: str) -> None:
        key = self.query_one("#team-approvals", Table).selected_key()
        if key is None:
            self.notify("no approval selected", severity="warning")
            return

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            result = self.attempt(approvals.decide, self.ws, key, action, values["value"].strip() or None)
            if result is not None:
                self.changed(
                    f"quote {result[1].quote['number']} {approvals.PAST[action]}: {result[1].status}"
                )

        label = "Approve" if action == "approve" else "Reject"
        self.app.push_screen(
            ask(f"{label} quote", "Comment (optional)", required=False, save_label=label), done
        )

    def action_approve(self) -> None:
        self._decide("approve")

    def action_reject(self) -> None:
        self._decide("reject")
