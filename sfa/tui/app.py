"""`sfa dashboard`: the Textual app. Screens are modes (1-4 switch between them)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.actions import SkipAction
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from sfa.domain.errors import SfaError
from sfa.services import status
from sfa.store.workspace import Workspace
from sfa.tui.screens import MODES
from sfa.tui.widgets import ALL_SCREENS

STATUS_EVERY = 5.0  # seconds between status bar refreshes
SYNC_EVERY = 60.0  # seconds between background syncs while online
RETRY_EVERY = 15.0  # seconds between attempts while offline (connectivity may have returned)
IDLE_GC_EVERY = 2.0  # seconds between checks for a quiet moment to collect garbage
IDLE_BEFORE_GC = 1.0  # seconds without a key or click that count as quiet
GC_AT_LEAST_EVERY = 30.0  # seconds: a full collection even while someone types without a pause


# Actions the palette offers on every screen, named for what they do: (title, app action, key).
GLOBAL_ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Add task", "app.add_task", "t"),
    ("Plan visit", "app.plan_visit", ""),
    ("Log visit", "app.log_visit", ""),
    ("Add lead", "app.add_lead", ""),
    ("Add contact", "app.add_contact", ""),
    ("New quote", "app.new_quote", ""),
    ("Sync now", "app.sync_now", ""),
)


def _actions_of(screen: Screen[Any]) -> Iterator[tuple[str, str, str]]:
    """(title, action, key) of every action the screen offers, each once: the screen's bindings
    with a description, then the app's actions, then one "Go to …" per screen. An action met
    twice (by its action or by its title) is listed the first time only."""
    seen: set[str] = set()
    titles: set[str] = set()

    def fresh(title: str, action: str) -> bool:
        bare = action.removeprefix("app.")
        if bare in seen or title in titles:
            return False
        seen.add(bare)
        titles.add(title)
        return True

    for item in screen.BINDINGS:
        if not isinstance(item, Binding) or not item.description:
            continue
        title = item.tooltip or item.description
        if fresh(title, item.action):
            yield title, item.action, item.key_display or item.key
    for title, action, key in GLOBAL_ACTIONS:
        if fresh(title, action):
            yield title, action, key
    for mode, key, label in ALL_SCREENS:
        action = f"app.switch_mode('{mode}')"
        if fresh(f"Go to {label}", action):
            yield f"Go to {label}", action, key
    for item in screen.app.BINDINGS:
        if not isinstance(item, Binding) or not item.description or "switch_mode" in item.action:
            continue
        if item.action in ("quit", "help"):  # Textual's own commands list these ("Quit", "Keys")
            continue
        title = item.tooltip or item.description
        if fresh(title, "app." + item.action):
            yield title, "app." + item.action, item.key_display or item.key


class ActionsProvider(Provider):
    """The command palette reaches every action of the current screen, and every screen, by name."""

    def _commands(self) -> list[tuple[str, Any, str]]:
        screen = self.screen
        commands = []
        for title, action, key in _actions_of(screen):
            target = screen.app if action.startswith("app.") else screen
            name = action.removeprefix("app.")
            commands.append((title, partial(target.run_action, name), f"key: {key}" if key else ""))
        return commands

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class SfaApp(App[None]):
    TITLE = "sfa"
    CSS_PATH = "sfa.tcss"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = dict(MODES)
    # The first screen is Today's mode itself, made when the app is composed. Switching to it from
    # Textual's empty default screen in on_mount held every paint back for 50 ms (switch_mode
    # delays updates to hide the change) and drew the default screen first (docs/dashboard.md).
    DEFAULT_MODE: ClassVar[str] = "today"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(key, f"switch_mode('{mode}')", label, show=False)
            for mode, key, label in ALL_SCREENS
            if key
        ),
        Binding("t", "add_task", "Task", tooltip="Add task"),
        Binding("ctrl+r", "refresh", "Reload", show=False, tooltip="Reload the screen"),
        Binding("question_mark", "help", "Keys", key_display="?", tooltip="Show or hide the keys"),
        Binding("escape", "close_help", "Close help", show=False, priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    status_line: reactive[str] = reactive("[b]offline[/b] · counting pending changes …")
    data_version: int = 0

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        now: datetime | None = None,
        workspace: Workspace | None = None,
        start: str = "today",
        background_sync: bool = True,
    ) -> None:
        super().__init__()
        self.ws = workspace or Workspace(home)
        self._frozen = now
        self._start = start
        self.background_sync = background_sync
        self.select_next: dict[str, str] = {}  # mode -> record id to select when it shows next
        # No frame is drawn until the first screen is composed, filled and laid out: see
        # _release_first_frame.
        self.first_frame_held = True
        self._after_paint: list[Callable[[], None]] = []
        self._begin_batch()

    _css_refreshed: tuple[int, dict[str, str]] | None = None

    def refresh_css(self, animate: bool = True) -> None:
        """Textual re-parses every rule of every stylesheet, from scratch, and restyles every widget
        whenever a screen first shows (twice: once when its mode starts, once when it is switched
        to), though nothing changed since the last time: the screen's own CSS, if it has any, was
        parsed when it was loaded. That was ~0.1 s of CPU per screen's first visit, the first paint
        included. So the work is done only when the theme's variables or Textual's count of CSS
        changes (a theme switched) moved since the last refresh."""
        variables = self.get_css_variables()
        if self._css_refreshed == (self._css_update_count, variables):
            for screen in self.screen_stack:
                screen._css_update_count = self._css_update_count
            return
        super().refresh_css(animate)
        self._css_refreshed = (self._css_update_count, variables)

    # -- time: frozen in tests, the wall clock otherwise ------------------------------------
    def now(self) -> datetime:
        return self._frozen or datetime.now(UTC)

    def on_mount(self) -> None:
        if self.current_mode != self._start:  # a test, or a start on another screen
            self.switch_mode(self._start)
        self.after_first_paint(self._after_first_paint)
        self.call_after_refresh(self._release_first_frame)

    def after_first_paint(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the first frame is on the terminal (right away after that)."""
        if self.first_frame_held:
            self._after_paint.append(callback)
        else:
            self.call_after_refresh(callback)

    def _release_first_frame(self) -> None:
        """Draw the first frame now. Until here the app held every frame back (Textual's batch
        update, begun in __init__): Textual drew the first screen three times before it was
        complete — the screen bar and footer, then the tables' scroll bars over an empty body,
        then Today — laying it out each time (docs/dashboard.md, first paint). This runs after
        the screen's mount (Today read its data then) when the app is idle. The work meant for
        after the first paint is asked for only now: callbacks asked for while frames are held
        back run at the next idle moment, not after a frame."""
        if not self.first_frame_held:
            return
        self.first_frame_held = False
        self._end_batch()
        self.screen.refresh()  # one whole frame (SfaScreen._compositor_refresh)
        for callback in self._after_paint:
            self.call_after_refresh(callback)
        self._after_paint = []

    def _after_first_paint(self) -> None:
        """What the first screen does not need: counting the outbox (a thread that would compete
        with the first paint for the CPU; the status bar says it is counting meanwhile), the
        periodic status and sync checks, the collector settings."""
        self.refresh_status()
        self.set_interval(STATUS_EVERY, self._status_tick)
        self.set_interval(RETRY_EVERY, self._sync_tick)
        self._settle_heap()

    # -- garbage collection off the keystroke path ---------------------------------------------
    _gc_thresholds: tuple[int, int, int] | None = None
    _gc_was_enabled = False

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """As App.run, with the collector paused until the first paint: starting up makes many
        objects that all stay alive (styles, widgets, the first screen's rows); walking them again
        and again took 12-22 ms between the start of the app and its first paint (measured with
        gc.callbacks on the bench store), and none is garbage worth collecting."""
        self._gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return super().run(*args, **kwargs)  # what the app exited with (snapshots use it)
        finally:
            if self._gc_was_enabled:
                gc.enable()

    _last_input = 0.0
    _last_collect = 0.0

    def _settle_heap(self) -> None:
        """Keep the collector's full passes (50-100 ms on a large store, measured by the bench) from
        landing between a key and its results: what is alive after the first paint (modules, styles,
        the first screen) is frozen out of the collector's walk, automatic full passes are off, and
        `_collect_when_idle` makes them while no key has come for a while. Young generations are
        still collected automatically (a few ms each)."""
        gc.freeze()
        if self._gc_was_enabled:
            gc.enable()  # paused by run() until now
        self._gc_thresholds = gc.get_threshold()
        gen0, gen1, _ = self._gc_thresholds
        gc.set_threshold(gen0, gen1, 1_000_000)
        self.set_interval(IDLE_GC_EVERY, self._collect_when_idle)

    def _collect_when_idle(self) -> None:
        now = time.monotonic()
        if now - self._last_input >= IDLE_BEFORE_GC or now - self._last_collect >= GC_AT_LEAST_EVERY:
            gc.collect()
            self._last_collect = time.monotonic()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_input = time.monotonic()
        await super().on_event(event)

    # -- background sync ---------------------------------------------------------------------
    server: str | None = None
    online: bool | None = None  # None: not tried yet (or no server)
    sync_error = ""
    _last_sync = 0.0
    _dirty = False  # local writes since the last sync

    def _sync_tick(self) -> None:
        if not self.server or not self.background_sync:
            return
        due = RETRY_EVERY if (self.online is False or self._dirty) else SYNC_EVERY
        if time.monotonic() - self._last_sync >= due:
            self.sync_soon()

    def sync_soon(self, force: bool = False) -> None:
        """Start a sync round in a worker, if a server is configured and the sync service is there."""
        if not self.server:
            if force:
                self.notify("no sync server configured (sfa sync login URL)", severity="warning")
            return
        self._last_sync = time.monotonic()
        self.sync_worker(self.ws.home, force)

    @work(thread=True, exclusive=True, group="sync")
    def sync_worker(self, home: Path, force: bool) -> None:
        """One push/pull round on its own connection; the UI keeps answering meanwhile. The sync
        modules (the protocol's classes, the replica) are imported here, after the first paint."""
        from sfa.services import syncing

        ws = Workspace(home)
        summary, error = None, ""
        try:
            summary = syncing.sync_now(ws)
        except SfaError as exc:
            error = str(exc)
        except OSError as exc:
            error = str(exc) or type(exc).__name__
        finally:
            ws.close()
        self.call_from_thread(self._synced, summary, error, force)

    def _synced(self, summary: Any, error: str, force: bool) -> None:
        self.online, self.sync_error = not error, error
        if not error:
            self._dirty = False
        pulled = summary is not None and (summary.pulled or summary.new_conflicts or summary.reset)
        if pulled:
            self.data_version += 1
        # the screen in view reloads when data came in; the Sync screen after every attempt (its
        # pending count, last sync and online/offline are what the attempt changed)
        if pulled or getattr(self.screen, "MODE", "") == "sync":
            reload = getattr(self.screen, "reload", None)
            if callable(reload):
                reload()
        self.refresh_status()
        if force:
            if error:
                self.notify(f"sync failed: {error}", severity="error", timeout=8)
            elif summary is not None:
                self.notify(
                    f"synced: {summary.pushed} pushed, {summary.pulled} pulled, "
                    f"{summary.conflicts} open conflicts"
                )

    def on_unmount(self) -> None:
        self.ws.close()
        if self._gc_thresholds is not None:  # as it was (tests run many apps in one process)
            gc.set_threshold(*self._gc_thresholds)
            gc.unfreeze()

    def data_changed(self) -> None:
        self.data_version += 1
        self._dirty = True
        self.refresh_status()

    def _status_tick(self) -> None:
        """The periodic recount (for changes other programs wrote) waits for a pause in typing: it
        is a thread with its own connection, but it takes a core for about 160 ms on a big store."""
        if time.monotonic() - self._last_input >= IDLE_BEFORE_GC:
            self.refresh_status()

    def refresh_status(self) -> None:
        self.status_worker(self.ws.home)

    @work(thread=True, exclusive=True, group="status")
    def status_worker(self, home: Path) -> None:
        """Counting the outbox takes a while on a large store: it runs in a thread, on its own connection."""
        ws = Workspace(home)
        try:
            state = status.sync_state(ws)
        finally:
            ws.close()
        self.call_from_thread(self.show_status, state)

    def show_status(self, state: status.SyncState) -> None:
        first = self.server is None and state.server is not None
        self.server = state.server
        if not state.server:
            self.status_line = f"[b]offline[/b] · {state.pending} pending · no server configured"
            return
        if self.online:
            online = "[b green]online[/]"
        elif self.online is None:
            online = "[b]connecting …[/]"
        else:
            online = "[b red]offline[/]"  # the reason is on the Sync screen
        self.status_line = f"{online} · {state.pending} pending · server {state.server}"
        if first and self.background_sync:
            self.sync_soon()

    def action_refresh(self) -> None:
        self.data_changed()
        screen = self.screen
        reload = getattr(screen, "reload", None)
        if callable(reload):
            reload()

    def action_help(self) -> None:
        """`?` shows the keys of what has focus, and hides them again."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_close_help(self) -> None:
        """Escape closes the help panel when it is open; otherwise it goes on to what has focus."""
        if not self.screen.query("HelpPanel"):
            raise SkipAction()
        self.action_hide_help_panel()

    # -- actions offered on every screen (the palette names them) -------------------------------
    def _on_screen(self, mode: str, action: str) -> None:
        """Switch to a screen and run one of its actions once it is shown."""

        def run() -> None:
            method = getattr(self.screen, f"action_{action}", None)
            if callable(method):
                method()

        if self.current_mode == mode and not isinstance(self.screen, ModalScreen):
            run()
            return
        self.switch_mode(mode)
        self.call_after_refresh(run)

    def focused_record(self) -> tuple[str, str] | None:
        """(entity name, id) of the record the focused row shows, if the screen says."""
        method = getattr(self.screen, "focused_record", None)
        found = method() if callable(method) else None
        return found if isinstance(found, tuple) else None

    def action_add_task(self) -> None:
        from sfa.tui import capture

        capture.add_task(self, self.focused_record())

    def action_plan_visit(self) -> None:
        self._on_screen("week", "plan_visit")

    def action_log_visit(self) -> None:
        from sfa.tui import capture

        capture.pick_visit_to_log(self)

    def action_add_lead(self) -> None:
        self._on_screen("leads", "new_lead")

    def action_add_contact(self) -> None:
        self._on_screen("contacts", "new_contact")

    def action_new_quote(self) -> None:
        self._on_screen("quotes", "new_quote")

    def action_sync_now(self) -> None:
        self.sync_soon(force=True)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications are text, never markup: they quote names and values people typed (an
        account named "[/x]" made the "added" message stop the app)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- an error nobody handled -------------------------------------------------------------
    crash: tuple[BaseException, Path | None] | None = None  # the first one, and its crash log

    def _handle_exception(self, error: Exception) -> None:
        """Textual calls this for every exception it catches in the app (a handler, a worker, the
        CSS at start-up) and then ends the app, restoring the terminal. Textual would print a
        full-screen traceback on the way out; the traceback goes to a crash log in the data home
        instead, and the entry point (sfa.tui.crash.run_dashboard) prints one line naming it
        and exits 1. Under Pilot the exception is still raised to the test, as Textual does."""
        if self.crash is None:
            from sfa.tui import crash

            try:
                log = crash.write_crash_log(self.ws.home, error)
            except Exception:  # reporting a crash must not raise one of its own
                log = None
            self.crash = (error, log)
        super()._handle_exception(error)
        self._exit_renderables.clear()  # the traceback is in the log; the terminal gets one line
