"""The baseline for bench_tui.py: an empty Textual app that paints one line, started as `sfa dashboard` is."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static


class Empty(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("empty app painted")
        yield Footer()


if __name__ == "__main__":
    Empty().run()
