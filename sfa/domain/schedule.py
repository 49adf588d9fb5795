"""When visits and tasks happen: WHEN and duration parsing, day ranges, overlaps, overdue.

A visit's WHEN is a date with a time ("2026-11-23 10:00", "tomorrow 10:00", "fri 14:30"): an
appointment at a fixed time. A date alone ("2026-11-23", "fri") is a flexible visit: some time that
day, which `sfa visit route` may order. A flexible visit is stored at local midnight of its day
with ``fixed_time`` false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sfa.domain.dates import local_zone, parse_date, parse_datetime
from sfa.domain.errors import ValidationError

_CLOCK = re.compile(r"(^|[ T])\d{1,2}:\d{2}")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?:in)?)?$")
DURATION_HELP = "minutes like 45m or 45, hours like 1h or 1h30m"


@dataclass(frozen=True)
class When:
    at: datetime  # UTC
    fixed: bool  # False: a date only, any time that day


def has_time(text: str) -> bool:
    return bool(_CLOCK.search(text.strip()))


def parse_when(text: str, field: str = "at", now: datetime | None = None) -> When:
    """A fixed appointment if a time is given, else a flexible visit on that day."""
    current = now or datetime.now(UTC)
    if has_time(text):
        return When(parse_datetime(text, field, now=current), True)
    day = parse_date(text, field, today=current.astimezone(local_zone()).date())
    return When(local_midnight(day), False)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=local_zone()).astimezone(UTC)


def day_range(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """UTC instants [start of first day, start of the day after last) in the local zone."""
    return local_midnight(first), local_midnight((last or first) + timedelta(days=1))


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday of the week that holds ``day``."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def parse_duration(text: str, field: str = "duration") -> int:
    """Minutes: "45m", "45", "1h", "1h30m", "90min"."""
    word = text.strip().lower().replace(" ", "")
    if len(word) > 12:  # longer than any duration up to 24 hours: no int() of a page of digits
        raise ValidationError(field, f"{text[:29]!r}... is not a duration; expected {DURATION_HELP}")
    if word.isdigit():
        minutes = int(word)
    else:
        match = _DURATION.match(word)
        if not word or not match or not (match.group(1) or match.group(2)):
            raise ValidationError(field, f"{text!r} is not a duration; expected {DURATION_HELP}")
        minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError(field, f"{text!r} must be between 1 minute and 24 hours")
    return minutes


def overlaps(start_a: datetime, minutes_a: int, start_b: datetime, minutes_b: int) -> bool:
    """Half-open intervals: a visit ending at 11:00 does not overlap one starting at 11:00."""
    end_a = start_a + timedelta(minutes=minutes_a)
    end_b = start_b + timedelta(minutes=minutes_b)
    return start_a < end_b and start_b < end_a


def parse_due(text: str, field: str = "due", now: datetime | None = None) -> tuple[date, datetime | None]:
    """A task's due: (local date, UTC instant if a time was given)."""
    current = now or datetime.now(UTC)
    if has_time(text):
        at = parse_datetime(text, field, now=current)
        return at.astimezone(local_zone()).date(), at
    return parse_date(text, field, today=current.astimezone(local_zone()).date()), None


def is_overdue(due_date: date | None, due_at: datetime | None, today: date, now: datetime) -> bool:
    """Overdue: due before today (local), or a due time that has passed."""
    if due_at is not None:
        return due_at < now
    return due_date is not None and due_date < today
