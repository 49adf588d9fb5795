"""Dates and times as people type them, parsed in the user's local zone, stored in UTC.

Accepted: ISO dates (2026-11-23), ISO date-times (2026-11-23T10:00, "2026-11-23 10:00"), "today",
"tomorrow", "yesterday", weekday names ("fri", "friday": the next such day after today), and offsets
"+3d", "+2w", "+1m" (months), "-1d". A date may be followed by a time "HH:MM" ("tomorrow 10:00").
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache

from sfa.domain.errors import ValidationError

WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_OFFSET = re.compile(r"^([+-])(\d{1,4})([dwm])$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
DATE_HELP = "ISO date, today, tomorrow, a weekday (fri), or +3d/+2w/+1m"


@cache
def local_zone() -> tzinfo:
    """The user's zone with its daylight-saving rules (not just today's offset).

    $TZ names it (as a zone name); else the system's /etc/localtime; else today's fixed offset.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: a write that stores UTC needs none

    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        zone = datetime.now().astimezone().tzinfo
        assert zone is not None
        return zone


def local_today(now: datetime | None = None) -> date:
    moment = now or datetime.now(UTC)
    return moment.astimezone(local_zone()).date()


def _add_months(day: date, months: int) -> date:
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def parse_date(text: str, field: str = "date", today: date | None = None) -> date:
    word = text.strip().lower()
    base = today or local_today()
    if not word:
        raise ValidationError(field, f"empty; expected {DATE_HELP}")
    if word == "today":
        return base
    if word == "tomorrow":
        return base + timedelta(days=1)
    if word == "yesterday":
        return base - timedelta(days=1)
    if word in WEEKDAYS:
        ahead = (WEEKDAYS[word] - base.weekday()) % 7 or 7
        return base + timedelta(days=ahead)
    match = _OFFSET.match(word)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        count = sign * int(match.group(2))
        unit = match.group(3)
        if unit == "d":
            return base + timedelta(days=count)
        if unit == "w":
            return base + timedelta(weeks=count)
        return _add_months(base, count)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise ValidationError(field, f"{text!r} is not a date; expected {DATE_HELP}") from None


def parse_datetime(
    text: str, field: str = "when", now: datetime | None = None, default_time: time | None = None
) -> datetime:
    """Parse "2026-11-23 10:00", "tomorrow 10:00", "fri 14:30", ISO with offset; returns UTC."""
    raw = text.strip()
    zone = local_zone()
    current = now or datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = None
    if parsed is not None and ("T" in raw or " " in raw or ":" in raw):
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)
    parts = raw.rsplit(" ", 1)
    clock = default_time
    day_text = raw
    if len(parts) == 2 and _TIME.match(parts[1]):
        day_text = parts[0]
        hh, mm = (int(x) for x in parts[1].split(":"))
        if hh > 23 or mm > 59:
            raise ValidationError(field, f"{parts[1]!r} is not a time of day (HH:MM)")
        clock = time(hh, mm)
    if clock is None:
        raise ValidationError(field, f"{text!r} needs a time, e.g. 'tomorrow 10:00' or '2026-11-23 10:00'")
    day = parse_date(day_text, field, today=current.astimezone(zone).date())
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """Stored form of an instant: ISO 8601 in UTC with a Z suffix, millisecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
