"""Sync: the server, last successful sync, pending changes, rejected changes, and the conflicts with
both values side by side, resolvable with ours / theirs / a new value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from sfa.services import syncing
from sfa.tui.base import SfaScreen
from sfa.tui.forms import FormField, FormScreen
from sfa.tui.widgets import Table


def shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class SyncScreen(SfaScreen):
    MODE = "sync"
    DEFAULT_CSS = """
    SyncScreen #sync-head { height: auto; padding: 0 1; background: $boost; }
    SyncScreen Table { height: auto; max-height: 40%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sync", "Sync now", tooltip="Sync now"),
        Binding("o", "resolve('ours')", "Ours", tooltip="Resolve the conflict: ours (the set-aside value)"),
        Binding(
            "r",
            "resolve('theirs')",
            "Theirs",
            tooltip="Resolve the conflict: theirs (keep the current value)",
        ),
        Binding("e", "new_value", "New value", tooltip="Resolve the conflict with a new value"),
    ]

    def body(self) -> Iterable[Widget]:
        yield Static("", id="sync-head")
        with VerticalScroll():
            yield Static("Conflicts: theirs (kept) and ours (set aside)", classes="section-title")
            yield Table(id="conflicts")
            yield Static("Pending changes (oldest first)", classes="section-title")
            yield Table(id="pending")
            yield Static("Rejected by the server", classes="section-title")
            yield Table(id="rejected")

    def on_mount(self) -> None:
        self.query_one("#conflicts", Table).add_columns(
            "Record", "Field", "Theirs (kept)", "Ours (set aside)", "Kind"
        )
        self.query_one("#pending", Table).add_columns("#", "Type", "Record", "Fields")
        self.query_one("#rejected", Table).add_columns("Type", "Record", "Reason")
        super().on_mount()
        self.query_one("#conflicts", Table).focus()

    def reload(self) -> None:
        view = syncing.overview(self.ws)
        server = view.server or "none (sfa sync login URL)"
        state: list[str | tuple[str, str]] = []  # text, never markup: an error may hold "[/]"
        if view.server and self.sfa.online:
            state = [" · ", ("online", "green")]
        elif view.server and self.sfa.online is False:
            state = [" · ", ("offline", "red"), f": {self.sfa.sync_error}"]
        self.query_one("#sync-head", Static).update(
            Content.assemble(
                f"server {server}",
                *state,
                f"\nuser {view.user or '—'} · last sync {view.last_sync or 'never'} · "
                f"{view.pending} pending · {view.conflicts} open conflicts · {view.rejected} rejected",
            )
        )
        conflicts = self.query_one("#conflicts", Table)
        conflicts.clear()
        for c in syncing.conflicts(self.ws):
            conflicts.add_row(
                f"{c['entity']} {c['title']}"[:24],
                c["field"],
                shown(c["kept"]),
                shown(c["lost"]),
                c["kind"],
                key=c["id"],
            )
        pending = self.query_one("#pending", Table)
        pending.clear()
        for row in syncing.pending(self.ws, limit=30):
            pending.add_row(
                str(row["seq"]),
                row["entity"],
                str(row["title"])[:24],
                _fields(row["fields"]),
                key=str(row["seq"]),
            )
        rejected = self.query_one("#rejected", Table)
        rejected.clear()
        for row in syncing.rejected(self.ws):
            rejected.add_row(row["entity"], str(row["title"])[:24], row["reason"] or "", key=str(row["seq"]))

    def selected_conflict(self) -> str | None:
        key = self.query_one("#conflicts", Table).selected_key()
        if key is None:
            self.notify("no conflict selected", severity="warning")
        return key

    def action_resolve(self, choice: str) -> None:
        key = self.selected_conflict()
        if key is not None and self.attempt(syncing.resolve, self.ws, key, choice) is not None:
            self.changed(f"conflict resolved ({choice}); it reaches the others with the next sync")

    def action_new_value(self) -> None:
        key = self.selected_conflict()
        if key is None:
            return
        conflict = next(c for c in syncing.conflicts(self.ws) if c["id"] == key)
        ws = self.ws
        form = FormScreen(
            f"New value for {conflict['entity']} {conflict['title']}: {conflict['field']}",
            [
                FormField(
                    "value",
                    conflict["field"],
                    lambda text: syncing.check_value(ws, conflict, text),
                    required=True,
                )
            ],
            info=f"theirs (kept): {shown(conflict['kept'])}\nours (set aside): {shown(conflict['lost'])}",
            save_label="Resolve",
        )

        def done(values: dict[str, str] | None) -> None:
            if values and self.attempt(syncing.resolve, self.ws, key, "value", values["value"]) is not None:
                self.changed("conflict resolved with a new value")

        self.app.push_screen(form, done)

    def action_sync(self) -> None:
        self.sfa.sync_soon(force=True)


def _fields(text: Any) -> str:
    import json

    try:
        fields = json.loads(text) if isinstance(text, str) else dict(text)
    except (ValueError, TypeError):
        return str(text)[:40]
    return ", ".join(sorted(fields))[:40]
