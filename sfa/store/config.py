"""Where sfa keeps its data, and the TOML configuration file beside it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sfa.domain import private
from sfa.domain.errors import ConfigError, UsageError

DB_NAME = "sfa.db"
CONFIG_NAME = "config.toml"


def data_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--home DIR, else $SFA_HOME, else the platform's user data directory.

    An empty --home (a script's unset variable: `--home "$DIR"`) is refused rather than read as
    "not given", which would quietly write into the user's real data home."""
    if explicit is not None:
        text = os.fspath(explicit)
        if not text.strip():
            raise UsageError("--home: cannot be empty; give a directory, or leave --home out")
        if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise UsageError("--home: holds a control character or bytes that are not UTF-8")
        return Path(text).expanduser()
    env = os.environ.get("SFA_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs  # only on this path: most scripted calls pass --home or SFA_HOME

    return Path(platformdirs.user_data_dir("sfa", appauthor=False))


class ConfigFile:
    """Flat dotted keys ("company.name") stored as TOML tables."""

    def __init__(self, home: Path) -> None:
        self.path = home / CONFIG_NAME
        self._values: dict[str, str] | None = None

    def values(self) -> dict[str, str]:
        if self._values is None:
            self._values = {}
            if self.path.exists():
                import tomllib  # here: a home without a config file never pays for the parser

                try:
                    with self.path.open("rb") as handle:
                        data = tomllib.load(handle)
                except (OSError, tomllib.TOMLDecodeError) as exc:
                    raise ConfigError(f"cannot read {self.path}: {exc}") from None
                self._values = _flatten(data)
        return self._values

    def get(self, key: str) -> str | None:
        return self.values().get(key)

    def set(self, key: str, value: str) -> None:
        self.update({key: value})

    def update(self, changes: dict[str, str]) -> None:
        """Set several keys in one atomic write."""
        import tomli_w

        values = {**self.values(), **changes}
        private.private_dir(self.path.parent)
        tmp = self.path.with_suffix(".toml.tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            tomli_w.dump(_nest(values), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)  # atomic: a crash leaves the old or the new file, never half
        self._values = values


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree
