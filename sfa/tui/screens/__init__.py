"""The dashboard's screens, one per mode; each module is imported when its screen is first shown."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from textual.screen import Screen

_WHERE = {
    "today": ("sfa.tui.screens.today", "TodayScreen"),
    "pipeline": ("sfa.tui.screens.pipeline", "PipelineScreen"),
    "accounts": ("sfa.tui.screens.accounts", "AccountsScreen"),
    "leads": ("sfa.tui.screens.leads", "LeadsScreen"),
    "quotes": ("sfa.tui.screens.quotes", "QuotesScreen"),
    "forecast": ("sfa.tui.screens.forecast", "ForecastScreen"),
    "sync": ("sfa.tui.screens.sync", "SyncScreen"),
    "team": ("sfa.tui.screens.team", "TeamScreen"),  # key 8, not in the nav bar (docs/policy.md)
}


def _factory(module: str, name: str) -> Callable[[], Screen[Any]]:
    def make() -> Screen[Any]:
        screen: Screen[Any] = getattr(importlib.import_module(module), name)()
        return screen

    return make


MODES: dict[str, Callable[[], Screen[Any]]] = {mode: _factory(*where) for mode, where in _WHERE.items()}
