"""A workspace is one data home: its store, its config, and who is working in it."""

from __future__ import annotations

import getpass
from functools import cached_property
from pathlib import Path

from sfa.domain import settings
from sfa.domain.stages import Stage, parse_stages
from sfa.store.config import DB_NAME, ConfigFile, data_home
from sfa.store.db import Store


class Workspace:
    def __init__(self, home: Path | str | None = None) -> None:
        self.home = data_home(home)
        self.config = ConfigFile(self.home)

    @cached_property
    def store(self) -> Store:
        return Store(self.home / DB_NAME)

    def check_without_creating(self) -> None:
        """For a dry run: a home that has no data file yet gets an empty store in memory, so that
        checking against it writes nothing, not even an empty file."""
        if "store" not in self.__dict__ and not self.db_path.exists():
            self.__dict__["store"] = Store(":memory:")

    @property
    def db_path(self) -> Path:
        return self.home / DB_NAME

    def setting(self, key: str) -> str:
        value = self.config.get(key)
        return value if value is not None else settings.lookup(key).default

    @cached_property
    def owner(self) -> str:
        configured = self.setting("owner")
        if configured:
            return configured
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "me"

    @property
    def team(self) -> str | None:
        return self.setting("team") or None

    @cached_property
    def stages(self) -> tuple[Stage, ...]:
        return parse_stages(self.setting("stages"))

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
