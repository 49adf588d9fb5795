"""A workspace is one data home: its store, its config, and who is working in it."""

from __future__ import annotations

import getpass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sfa.domain import settings
from sfa.domain.stages import Stage, parse_stages
from sfa.store.config import DB_NAME, ConfigFile, data_home
from sfa.store.db import Store

if TYPE_CHECKING:
    from sfa.domain.policy import SalesPolicy


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

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages of the sales policy in force (`policy`)."""
        return self.policy.plain_stages

    @property
    def local_stages(self) -> tuple[Stage, ...]:
        """The stages of this laptop's config: the policy until a synced one arrives."""
        return parse_stages(self.setting("stages"))

    def start_fresh(self, label: str) -> Path:
        """Move this home's data file aside (to `previous/`, named by `label` and the time) and
        start an empty one; the config stays. Returns where the old data went."""
        import time

        self.close()
        self.__dict__.pop("store", None)
        self.__dict__.pop("owner", None)
        keep = self.home / "previous"
        keep.mkdir(mode=0o700, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40] or "previous"
        target = keep / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}.db"
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.db_path) + suffix)
            if source.exists():
                source.rename(Path(str(target) + suffix))
        return target

    @property
    def policy(self) -> SalesPolicy:
        """The sales policy in force here (docs/policy.md): the team's policy record, else the
        company-wide one, else the local one made of the configured stages. Read each time (a small
        table): a sync or an edit in this process changes it."""
        from sfa.domain import policy as sales_policy
        from sfa.domain.errors import ValidationError

        local = sales_policy.from_local(self.local_stages)
        if "store" not in self.__dict__ and not self.db_path.exists():
            return local
        from sfa.domain.entities import POLICY

        team = self.team
        rows = self.store.select(
            POLICY,
            "name = 'sales' AND (team IS NULL OR team = ?)",
            (team or "",),
            order="team IS NULL, id",
        )
        problems: list[str] = []
        for row in rows:
            source = f"team {row['team']}" if row["team"] else "company"
            try:
                found = sales_policy.from_record(row, source)
            except ValidationError as exc:
                problems.append(f"the {source} policy cannot be used ({exc}); the next one applies")
                continue
            return sales_policy.SalesPolicy(**{**found.__dict__, "problems": tuple(problems)})
        if problems:
            return sales_policy.SalesPolicy(**{**local.__dict__, "problems": tuple(problems)})
        return local

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
