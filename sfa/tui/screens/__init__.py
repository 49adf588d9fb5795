"""The dashboard's screens, one per mode."""

from __future__ import annotations

from textual.screen import Screen

from sfa.tui.screens.accounts import AccountsScreen
from sfa.tui.screens.leads import LeadsScreen
from sfa.tui.screens.pipeline import PipelineScreen
from sfa.tui.screens.today import TodayScreen

MODES: dict[str, type[Screen[None]]] = {
    "today": TodayScreen,
    "pipeline": PipelineScreen,
    "accounts": AccountsScreen,
    "leads": LeadsScreen,
}
