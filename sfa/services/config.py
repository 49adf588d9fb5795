"""`sfa config get|set`: checked values in the TOML file beside the data."""

from __future__ import annotations

from sfa.domain import settings
from sfa.store.workspace import Workspace


def get(ws: Workspace, key: str) -> str:
    setting = settings.lookup(key)
    if key == "owner":
        return ws.owner
    value = ws.config.get(key)
    return setting.default if value is None else value


def set_value(ws: Workspace, key: str, value: str) -> str:
    setting = settings.lookup(key)
    checked = setting.checked(value)
    ws.config.set(key, checked)
    return checked


def all_values(ws: Workspace) -> dict[str, str]:
    return {key: get(ws, key) for key in sorted(settings.SETTINGS)}
