"""The configuration keys sfa knows, with their defaults and how a typed value is checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sfa.domain import money, stages
from sfa.domain.errors import ConfigError, ValidationError


@dataclass(frozen=True)
class Setting:
    key: str
    default: str
    doc: str
    check: Callable[[str], str] = lambda value: value.strip()


def _stages(value: str) -> str:
    return stages.format_stages(stages.parse_stages(value))


def _name(value: str) -> str:
    if not value.strip():
        raise ValidationError("value", "must not be empty")
    return value.strip()


SETTINGS: dict[str, Setting] = {}


def register(setting: Setting) -> Setting:
    SETTINGS[setting.key] = setting
    return setting


register(Setting("owner", "", "your user name; new records are owned by it (default: login name)"))
register(Setting("team", "", "your team or territory; new records carry it"))
register(Setting("currency", "EUR", "default currency of new opportunities", money.parse_currency))
register(Setting("stages", stages.format_stages(stages.DEFAULT_STAGES),
                 "opportunity stages in order, NAME:PROBABILITY, comma separated", _stages))  # fmt: skip
register(Setting("company.name", "", "your company's name (quotes and reports)", _name))


def lookup(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(sorted(SETTINGS))
        raise ConfigError(f"unknown config key {key!r}; known keys: {known}") from None


register(Setting("sync.url", "", "the sync server's URL (set by 'sfa sync login')"))
