"""Week: visit planning on screen. The week's visits by day in time order, with account, purpose,
duration, the km leg from the previous visit and each day's total (the figures of `sfa visit list
--week`); plan, reschedule, cancel, log, and the day's route order applied and undone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.coordinate import Coordinate
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sfa.domain.dates import local_today, local_zone
from sfa.domain.entities import VISIT
from sfa.domain.schedule import parse_duration, parse_when, week_of
from sfa.services import crm, events, records, visits
from sfa.store.db import Record
from sfa.tui.base import SfaScreen
from sfa.tui.capture import confirm, log_visit
from sfa.tui.format import local_time
from sfa.tui.forms import FormField, FormScreen, PickScreen, ask
from sfa.tui.widgets import Table

DAY_KEY = "day:"  # the key of a day's head row: day:2026-03-16


def cell(text: str, style: str = "") -> Text:
    """A table cell as a rich Text: shown as typed (no markup read) and not parsed per cell by the
    table, which read each str cell as markup, the larger part of drawing a week (docs/dashboard.md)."""
    return Text(text, style=style, no_wrap=True, end="")


def week_rows(agenda: list[dict[str, Any]], first: date) -> list[tuple[date, list[dict[str, Any]], float]]:
    """The seven days of the week from `first`, each with its visits (agenda rows) and its km (the
    sum of the legs `visits.agenda` computes, as `sfa visit list` shows them)."""
    days: list[tuple[date, list[dict[str, Any]], float]] = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        rows = [r for r in agenda if r["visit"]["starts_at"].astimezone(local_zone()).date() == day]
        km = round(sum(r["km_from_previous"] or 0.0 for r in rows), 1)
        days.append((day, rows, km))
    return days


class WeekScreen(SfaScreen):
    MODE = "week"
    DEFAULT_CSS = """
    WeekScreen #week-table { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "plan_visit", "Plan", tooltip="Plan visit"),
        Binding("e", "edit_time", "Time", tooltip="Change the visit's time or duration"),
        Binding("l", "log_visit", "Log", tooltip="Log visit"),
        Binding("x", "cancel_visit", "Cancel", tooltip="Cancel the visit (asks a reason)"),
        Binding("less_than_sign", "move_day(-1)", "Day", key_display="<", tooltip="Visit a day earlier"),
        Binding(
            "greater_than_sign",
            "move_day(1)",
            "Day",
            key_display=">",
            show=False,
            tooltip="Visit a day later",
        ),
        Binding(
            "minus",
            "move_minutes(-15)",
            "15m",
            key_display="-",
            show=False,
            tooltip="Visit 15 minutes earlier",
        ),
        Binding(
            "plus", "move_minutes(15)", "15m", key_display="+", show=False, tooltip="Visit 15 minutes later"
        ),
        Binding(
            "left_square_bracket",
            "move_minutes(-30)",
            "30m",
            key_display="[",
            show=False,
            tooltip="Visit 30 minutes earlier",
        ),
        Binding(
            "right_square_bracket",
            "move_minutes(30)",
            "30m",
            key_display="]",
            show=False,
            tooltip="Visit 30 minutes later",
        ),
        Binding("r", "route", "Route", tooltip="Put the day's flexible visits in route order"),
        Binding("u", "undo_route", "Undo", show=False, tooltip="Undo the route order"),
        Binding("comma", "week(-1)", "Week", key_display=",", show=False, tooltip="Previous week"),
        Binding("full_stop", "week(1)", "Week", key_display=".", show=False, tooltip="Next week"),
        Binding("enter", "open", "Open", show=False),
    ]

    first: date | None = None  # Monday of the week shown
    _routed: date | None = None  # the day of the last route order applied here, for u

    def body(self) -> Iterable[Widget]:
        yield Static("", id="week-head", classes="hint")
        yield Table(id="week-table")

    def on_mount(self) -> None:
        table = self.query_one("#week-table", Table)
        table.add_column("Time", width=10)
        table.add_column("Account", width=20)
        table.add_column("Purpose")
        table.add_column("Min", width=3)
        table.add_column("Leg", width=8)
        table.add_column("Status", width=9)
        super().on_mount()
        table.focus()

    def today(self) -> date:
        return local_today(self.now())

    def reload(self) -> None:
        if self.first is None:
            self.first = week_of(self.today())[0]
        first, last = self.first, self.first + timedelta(days=6)
        table = self.query_one("#week-table", Table)
        keep = table.selected_key()
        table.clear()
        agenda = visits.agenda(self.ws, first, last)
        purpose_width = self.purpose_width()
        happening = events.day_labels(self.ws, first, last)  # trade shows etc. on the day's row
        total = 0.0
        for day, rows, km in week_rows(agenda, first):
            total += km
            summary = (
                f"{len(rows)} visit{'s' if len(rows) != 1 else ''} · {km:.1f} km" if rows else "no visits"
            )
            table.add_row(
                cell(f"{day:%a %d %b}", "bold"),
                cell(summary, "dim"),
                cell(
                    " · ".join(t for t in ("today" if day == self.today() else "", happening.get(day)) if t),
                    "bold",
                ),
                cell(""),
                cell(""),
                cell(""),
                key=f"{DAY_KEY}{day}",
            )
            for row in rows:
                visit = row["visit"]
                leg = f"{row['km_from_previous']:.1f} km" if row["km_from_previous"] is not None else "start"
                table.add_row(
                    cell(local_time(visit["starts_at"]) if visit["fixed_time"] else "any time"),
                    cell(row["account"]),
                    cell((visit["purpose"] or "")[:purpose_width]),
                    cell(str(visit["duration_min"] or visits.DEFAULT_DURATION)),
                    cell(leg),
                    cell(visit["status"]),
                    key=visit["id"],
                )
        iso = first.isocalendar()
        self.query_one("#week-head", Static).update(
            f"Week {iso.week} · {first:%d %b} – {last:%d %b %Y} · {len(agenda)} visits · {total:.1f} km"
            "  · < > day · - + 15 min"
        )
        if keep is not None and keep in {str(k.value) for k in table.rows}:
            table.move_cursor(row=table.get_row_index(keep))
        elif self.first <= self.today() <= last:
            table.move_cursor(row=table.get_row_index(f"{DAY_KEY}{self.today()}"))

    def purpose_width(self) -> int:
        """What is left for the purpose beside the other columns (wider terminals show more)."""
        return max(8, (self.size.width or 80) - 64)

    def on_resize(self) -> None:
        if self._loaded:
            self.reload()

    # -- the focused row -------------------------------------------------------------------------
    def focused_key(self) -> str | None:
        table = self.query_one("#week-table", Table)
        return table.selected_key() if table.has_focus else None

    def focused_day(self) -> date:
        """The day of the focused row (a day's head or one of its visits)."""
        table = self.query_one("#week-table", Table)
        row = table.cursor_row
        for index in range(row, -1, -1):
            key = str(table.coordinate_to_cell_key(Coordinate(index, 0))[0].value)
            if key.startswith(DAY_KEY):
                return date.fromisoformat(key.removeprefix(DAY_KEY))
        return self.first or self.today()

    def focused_visit(self, quiet: bool = False) -> Record | None:
        key = self.focused_key()
        if key is None or key.startswith(DAY_KEY):
            if not quiet:
                self.notify("move to a visit first (j/k)", severity="warning")
            return None
        return self.attempt(records.get, self.ws, VISIT, key)

    def focused_record(self) -> tuple[str, str] | None:
        visit = self.focused_visit(quiet=True)
        return ("visit", visit["id"]) if visit is not None else None

    # -- actions -------------------------------------------------------------------------------
    def action_week(self, step: int) -> None:
        self.first = (self.first or week_of(self.today())[0]) + timedelta(days=7 * step)
        self.reload()

    @on(DataTable.RowSelected, "#week-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Enter: on a day, plan a visit that day; on a planned visit, log it."""
        key = self.focused_key()
        if key is None:
            return
        if key.startswith(DAY_KEY):
            self.action_plan_visit()
        else:
            self.action_log_visit()

    def action_log_visit(self) -> None:
        visit = self.focused_visit()
        if visit is not None:
            log_visit(self.sfa, visit["id"])

    def action_plan_visit(self) -> None:
        """Plan a visit: pick the account (type to search), then the time (a date alone: any time
        that day), duration and purpose, with the overlap checked as `sfa visit plan` does."""
        day = self.focused_day() if self.query_one("#week-table", Table).row_count else self.today()
        accounts = crm.list_accounts(self.ws, limit=5000)
        choices = [(a["id"], f"{a['name']} · {a['city'] or ''}") for a in accounts]

        def picked(chosen: str | None) -> None:
            if chosen:
                self.app.push_screen(self.plan_form(chosen, day), lambda v: self._plan(chosen, v))

        self.app.push_screen(PickScreen("Plan a visit at which account?", choices), picked)

    def plan_form(self, account_id: str, day: date, visit: Record | None = None) -> FormScreen:
        ws, now = self.ws, self.now()
        name = crm.names_of(ws, "account", {account_id}).get(account_id, "")
        exclude = visit["id"] if visit else None

        def check_at(text: str) -> object:
            return parse_when(text, "at", now=now)

        def overlap(values: dict[str, str]) -> tuple[str, str] | None:
            found = visits.overlap_message(ws, values["at"], values["duration"], exclude_id=exclude, now=now)
            return ("at", found) if found else None

        def preview(values: dict[str, str]) -> Content:
            found = overlap(values)
            if found:
                return Content.styled(found[1], "bold $error")  # it names an account: text, not markup
            when = parse_when(values["at"], "at", now=now)
            shown = when.at.astimezone(local_zone())
            return Content(f"free: {shown:%a %d %b %H:%M}" if when.fixed else f"{shown:%a %d %b}, any time")

        at = f"{day.isoformat()} 09:00"
        duration = str(visits.DEFAULT_DURATION)
        if visit is not None:
            start = visit["starts_at"].astimezone(local_zone())
            at = f"{start:%Y-%m-%d %H:%M}" if visit["fixed_time"] else f"{start:%Y-%m-%d}"
            duration = str(visit["duration_min"] or visits.DEFAULT_DURATION)
        fields = [
            FormField(
                "at", "When", check_at, at, "2026-03-18 10:00, wed 14:30; a date alone: any time", True
            ),
            FormField("duration", "Duration", lambda t: parse_duration(t), duration, "45m, 1h30m"),
        ]
        if visit is None:
            fields.append(FormField("purpose", "Purpose", placeholder="what the visit is for"))
        return FormScreen(
            (f"Plan a visit: {name}" if visit is None else f"Reschedule: {name}"),
            fields,
            preview=preview,
            final_check=overlap,
            save_label="Plan" if visit is None else "Move",
        )

    def _plan(self, account_id: str, values: dict[str, str] | None) -> None:
        if values is None:
            return
        visit = self.attempt(
            visits.plan_visit,
            self.ws,
            account_ref=account_id,
            at=values["at"],
            duration=values["duration"].strip() or None,
            purpose=values["purpose"].strip() or None,
            now=self.now(),
        )
        if visit is not None:
            self.first = week_of(visit["starts_at"].astimezone(local_zone()).date())[0]
            self.changed("visit planned")
            table = self.query_one("#week-table", Table)
            table.move_cursor(row=table.get_row_index(visit["id"]))

    def action_edit_time(self) -> None:
        visit = self.focused_visit()
        if visit is None or not self._planned(visit):
            return
        form = self.plan_form(visit["account_id"], self.focused_day(), visit)

        def done(values: dict[str, str] | None) -> None:
            if values is not None:
                self._moved(
                    self.attempt(
                        visits.reschedule_visit,
                        self.ws,
                        visit["id"],
                        at=values["at"],
                        duration=values["duration"].strip() or None,
                        now=self.now(),
                    )
                )

        self.app.push_screen(form, done)

    def _planned(self, visit: Record) -> bool:
        if visit["status"] != "planned":
            self.notify(
                f"this visit is {visit['status']}; only a planned visit can be changed", severity="warning"
            )
            return False
        return True

    def _moved(self, visit: Record | None) -> None:
        if visit is None:
            return
        start = visit["starts_at"].astimezone(local_zone())
        self.first = week_of(start.date())[0]
        self.changed(
            f"visit moved to {start:%a %d %b}" + (f" {start:%H:%M}" if visit["fixed_time"] else ", any time")
        )
        table = self.query_one("#week-table", Table)
        table.move_cursor(row=table.get_row_index(visit["id"]))

    def action_move_day(self, step: int) -> None:
        visit = self.focused_visit()
        if visit is not None and self._planned(visit):
            moved = visit["starts_at"] + timedelta(days=step)
            self._moved(self.attempt(visits.reschedule_visit, self.ws, visit["id"], start=moved))

    def action_move_minutes(self, minutes: int) -> None:
        visit = self.focused_visit()
        if visit is None or not self._planned(visit):
            return
        if not visit["fixed_time"]:
            self.notify("a flexible visit has no time to move; e gives it one", severity="warning")
            return
        moved = visit["starts_at"] + timedelta(minutes=minutes)
        self._moved(self.attempt(visits.reschedule_visit, self.ws, visit["id"], start=moved))

    def action_cancel_visit(self) -> None:
        visit = self.focused_visit()
        if visit is None or not self._planned(visit):
            return
        name = crm.names_of(self.ws, "account", {visit["account_id"]}).get(visit["account_id"], "")

        def done(values: dict[str, str] | None) -> None:
            if values is None:
                return
            cancelled = self.attempt(
                visits.cancel_visit, self.ws, visit["id"], values["value"].strip() or None
            )
            if cancelled is not None:
                self.changed(f"visit at {name} cancelled")

        self.app.push_screen(
            ask(
                f"Cancel the visit at {name}?",
                "Reason",
                required=False,
                save_label="Cancel visit",
                info="Enter cancels the visit, Escape keeps it.",
            ),
            done,
        )

    def action_route(self) -> None:
        """The focused day's flexible visits in the order `sfa visit route` finds; u undoes it."""
        day = self.focused_day()
        plan = self.attempt(visits.route, self.ws, day)
        if plan is None:
            return
        if len(plan.stops) < 2:
            self.notify(f"{day:%a %d %b}: fewer than two flexible visits with a place; nothing to order")
            return
        order = " → ".join(["home", *(s["account"] for s in plan.stops)])

        def apply() -> None:
            before = self.attempt(visits.apply_route, self.ws, day)
            if before is not None:
                self._routed = day
                self.changed(f"route order applied ({plan.total_km:.1f} km from home); u undoes it")

        confirm(self.app, f"Route {day:%a %d %b}: {plan.total_km:.1f} km", order, apply, yes="Apply")

    def action_undo_route(self) -> None:
        """Undo the route order of the focused day, or else of the day last routed here. What undo
        needs is kept in the store (visits.undo_route), so it works after a restart too, and
        `sfa visit route --undo` does the same."""
        day = self.focused_day()
        if not visits.route_undo_pending(self.ws, day) and self._routed is not None:
            day = self._routed
        if not visits.route_undo_pending(self.ws, day):
            self.notify(f"{day:%a %d %b}: no route order to undo", severity="warning")
            return
        moved = self.attempt(visits.undo_route, self.ws, day)
        if moved is not None:
            self._routed = None
            self.changed(f"route order of {day:%a %d %b} undone ({moved} visits back)")
