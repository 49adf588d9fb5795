"""The configuration keys sfa knows, with their defaults and how a typed value is checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sfa.domain import money, stages
from sfa.domain.errors import ConfigError, ValidationError
from sfa.domain.text import check_text


@dataclass(frozen=True)
class Setting:
    key: str
    default: str
    doc: str
    check: Callable[[str], str] = lambda value: value.strip()

    def checked(self, value: str) -> str:
        """The value as stored: no control characters (line breaks only in the quote terms), then
        the key's own check."""
        return self.check(check_text("value", value, multiline=self.key in _MULTILINE_KEYS))


_MULTILINE_KEYS = frozenset({"quote.terms"})


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
register(
    Setting(
        "stages",
        stages.format_stages(stages.DEFAULT_STAGES),
        "opportunity stages in order, NAME:PROBABILITY, comma separated",
        _stages,
    )
)
register(Setting("company.name", "", "your company's name (quotes and reports)", _name))


def lookup(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(sorted(SETTINGS))
        raise ConfigError(f"unknown config key {key!r}; known keys: {known}") from None


# Quotes: the seller block of exported quotes, and defaults of new quotes and products.
register(Setting("company.address", "", "your company's postal address; separate lines with ';' (quotes)"))
register(Setting("company.vat_id", "", "your company's VAT id, printed on quotes"))
register(Setting("company.email", "", "contact email printed on quotes"))
register(Setting("company.phone", "", "contact phone printed on quotes"))


def _days(value: str) -> str:
    try:
        days = int(value.strip())
    except ValueError:
        raise ValidationError("value", f"{value!r} is not a whole number of days") from None
    if not 1 <= days <= 3650:
        raise ValidationError("value", f"{days} is outside 1..3650")
    return str(days)


def _megabytes(value: str) -> str:
    try:
        size = int(value.strip())
    except ValueError:
        raise ValidationError("value", f"{value!r} is not a whole number of megabytes") from None
    if not 0 <= size <= 1_000_000:
        raise ValidationError("value", f"{size} is outside 0..1000000")
    return str(size)


def _percent(value: str) -> str:
    from sfa.domain.quotes import parse_rate

    return str(parse_rate(value, "value"))


register(Setting("quote.valid_days", "30", "days a new quote is valid for", _days))
register(
    Setting(
        "files.max_mb",
        "50",
        "largest file `sfa doc add` stores (MB; the server has its own limit)",
        _megabytes,
    )
)
register(
    Setting(
        "files.auto_max_mb", "500", "MB of documents a sync fetches ahead (the rest on demand)", _megabytes
    )
)
register(
    Setting("contract.renewal_lead_days", "90", "days before a contract's end its renewal is due", _days)
)
register(
    Setting("quote.tax_rate", "19", "default tax rate (percent) of new products and free lines", _percent)
)
register(
    Setting(
        "quote.terms", "Payment within 30 days of invoice date, net.", "default terms printed on new quotes"
    )
)
register(Setting("quote.font", "", "a TrueType font file for PDF quotes (default: DejaVu Sans if installed)"))


def _latitude(value: str) -> str:
    return _coordinate(value, 90)


def _longitude(value: str) -> str:
    return _coordinate(value, 180)


def _coordinate(value: str, limit: int) -> str:
    try:
        number = float(value)
    except ValueError:
        raise ValidationError("value", f"{value!r} is not a number") from None
    if not -limit <= number <= limit:
        raise ValidationError("value", f"{number} is outside -{limit}..{limit}")
    return repr(number)


register(Setting("home.latitude", "", "latitude of where your day starts (sfa visit route)", _latitude))
register(Setting("home.longitude", "", "longitude of where your day starts (sfa visit route)", _longitude))
register(Setting("sync.url", "", "the sync server's URL (set by 'sfa sync login')"))
