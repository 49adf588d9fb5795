"""The frame every screen shares: navigation bar, body, status bar, footer; error reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget

from sfa.domain.errors import SfaError
from sfa.store.workspace import Workspace
from sfa.tui.widgets import KeysFooter, NavBar, StatusBar

if TYPE_CHECKING:
    from sfa.tui.app import SfaApp

T = TypeVar("T")


class SfaScreen(Screen[None]):
    """A dashboard screen: subclasses give `MODE`, `body()` and `reload()`."""

    MODE = ""

    @property
    def sfa(self) -> SfaApp:
        return self.app  # type: ignore[return-value]

    @property
    def ws(self) -> Workspace:
        return self.sfa.ws

    def now(self) -> datetime:
        return self.sfa.now()

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        with Vertical(classes="bottom"):
            yield StatusBar()
            yield KeysFooter()
        yield from self.body()

    def body(self) -> Iterable[Widget]:
        return ()

    def reload(self) -> None:
        """Read the screen's data again from the services."""

    _loaded = False

    def on_mount(self) -> None:
        # Textual calls the on_mount of every class in the MRO, and the screens' own on_mount call
        # this one after setting up their tables: read the data once, not twice.
        if self._loaded:
            return
        self._loaded = True
        self.reload()
        self._seen_version = self.sfa.data_version  # just read: no second reload when first shown

    _frame_skipped = False
    _laying_out = False

    def _refresh_layout(self, size: Size | None = None, scroll: bool = False) -> None:
        self._laying_out = True
        try:
            super()._refresh_layout(size, scroll)
        finally:
            self._laying_out = False

    def _compositor_refresh(self) -> None:
        # While the app holds the first frame back (SfaApp._release_first_frame) Textual still
        # renders the screen after each layout and then throws the frame away: four renders of
        # Today before its first frame; and a render asked for while held back came after the
        # release, before the layout still due (the tables' measured rows). They are skipped:
        # the first frame drawn is whole and laid out.
        if self.sfa.first_frame_held or (
            self._frame_skipped and self._layout_required and not self._laying_out
        ):
            self._frame_skipped = True
            return
        if self._frame_skipped:  # the whole screen, once: none of it was drawn yet
            self._frame_skipped = False
            self._repaint_required = False
            self._compositor.update_widgets({self})
        super()._compositor_refresh()

    _resumed = False

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles every widget of a screen each time it resumes, the first time too,
        # though its widgets were styled as they were mounted, a moment before, with the same
        # rules: ~25 ms of the first paint of Today. Textual calls the resume handler of every
        # class of the screen, the screen's own first: the first resume tells Screen's not to
        # restyle. Later resumes (back from a form, after a theme change) restyle as Textual does.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False
        # reload after a write anywhere, or to select a record another screen asked for (search)
        if self.sfa.data_version != getattr(self, "_seen_version", -1) or self.MODE in self.sfa.select_next:
            self.reload()
        self._seen_version = self.sfa.data_version

    def attempt(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Call a service; a refused action becomes a notification, never a crash."""
        try:
            return action(*args, **kwargs)
        except SfaError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return None

    def changed(self, message: str | None = None) -> None:
        """Data was written: reload here, let the other screens know, refresh the status bar."""
        self.sfa.data_changed()
        self._seen_version = self.sfa.data_version
        self.reload()
        # a write confirmed in a dialog reloads while the dialog is closing: draw the whole screen
        # again once it is back on top (tables refilled under a dialog were left blank)
        self.call_after_refresh(self.refresh, layout=True)
        if message:
            self.notify(message)
