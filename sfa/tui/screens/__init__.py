"""The dashboard's screens, one per mode; each module is imported when its screen is first shown.

`SCREENS` is the one registry: the number key, the name in the screen bar and the palette's
"Go to …" entry all come from it. A new screen is one line here (and its module); a screen with
no free number key gives `key=""` and is reached by the palette and the screen bar.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.screen import Screen


@dataclass(frozen=True)
class ScreenSpec:
    mode: str
    key: str  # a number key, or "" for none
    label: str
    module: str
    cls: str
    nav: bool = True  # listed in the nav bar (the Team screen is reached by its key and the palette)


# Number keys are kept as they were when a screen was added (muscle memory beats a tidy order).
SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec("today", "1", "Today", "sfa.tui.screens.today", "TodayScreen"),
    ScreenSpec("pipeline", "2", "Pipeline", "sfa.tui.screens.pipeline", "PipelineScreen"),
    ScreenSpec("accounts", "3", "Accounts", "sfa.tui.screens.accounts", "AccountsScreen"),
    ScreenSpec("leads", "4", "Leads", "sfa.tui.screens.leads", "LeadsScreen"),
    ScreenSpec("quotes", "5", "Quotes", "sfa.tui.screens.quotes", "QuotesScreen"),
    ScreenSpec("forecast", "6", "Forecast", "sfa.tui.screens.forecast", "ForecastScreen"),
    ScreenSpec("sync", "7", "Sync", "sfa.tui.screens.sync", "SyncScreen"),
    ScreenSpec("week", "8", "Week", "sfa.tui.screens.week", "WeekScreen"),
    ScreenSpec("contacts", "9", "Contacts", "sfa.tui.screens.contacts", "ContactsScreen"),
    ScreenSpec("team", "0", "Team", "sfa.tui.screens.team", "TeamScreen", nav=False),
    ScreenSpec("products", "", "Products", "sfa.tui.screens.products", "ProductsScreen", nav=False),
    ScreenSpec("duplicates", "", "Duplicates", "sfa.tui.screens.duplicates", "DuplicatesScreen", nav=False),
    ScreenSpec("orders", "", "Orders", "sfa.tui.screens.orders", "OrdersScreen", nav=False),
    ScreenSpec("contracts", "", "Contracts", "sfa.tui.screens.contracts", "ContractsScreen", nav=False),
)


def _factory(module: str, name: str) -> Callable[[], Screen[Any]]:
    def make() -> Screen[Any]:
        screen: Screen[Any] = getattr(importlib.import_module(module), name)()
        return screen

    return make


MODES: dict[str, Callable[[], Screen[Any]]] = {s.mode: _factory(s.module, s.cls) for s in SCREENS}
