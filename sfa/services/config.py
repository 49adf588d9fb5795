"""`sfa config get|set`: checked values in the TOML file beside the data."""

from __future__ import annotations

from pathlib import Path

from sfa.domain import settings
from sfa.domain.errors import NotFoundError
from sfa.store.workspace import Workspace

# Settings that name a file: `config set` refuses a file that is not there (exit 1, as every missing
# file is). A restored backup keeps such a value even so: the file may come later.
FILE_SETTINGS = ("quote.font",)


def get(ws: Workspace, key: str) -> str:
    setting = settings.lookup(key)
    if key == "owner":
        return ws.owner
    value = ws.config.get(key)
    return setting.default if value is None else value


def set_value(ws: Workspace, key: str, value: str) -> str:
    setting = settings.lookup(key)
    checked = setting.checked(value)
    if key in FILE_SETTINGS and checked and not Path(checked).expanduser().is_file():
        raise NotFoundError(f"{key}: {checked}: no such file")
    ws.config.set(key, checked)
    return checked


def all_values(ws: Workspace) -> dict[str, str]:
    return {key: get(ws, key) for key in sorted(settings.SETTINGS)}
