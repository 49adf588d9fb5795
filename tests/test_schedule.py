"""WHEN, duration and due parsing; overlaps; overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from sfa.domain.dates import local_zone
from sfa.domain.errors import ValidationError
from sfa.domain.schedule import (
    day_range,
    is_overdue,
    overlaps,
    parse_due,
    parse_duration,
    parse_when,
    week_of,
)

# Monday 2026-11-23, 08:00 local.
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=local_zone()).astimezone(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


@pytest.mark.parametrize(
    ("text", "day", "clock"),
    [
        ("2026-11-23 10:00", date(2026, 11, 23), time(10, 0)),
        ("2026-11-23T10:00", date(2026, 11, 23), time(10, 0)),
        ("tomorrow 10:00", date(2026, 11, 24), time(10, 0)),
        ("fri 14:30", date(2026, 11, 27), time(14, 30)),
        ("friday 9:05", date(2026, 11, 27), time(9, 5)),
        ("mon 08:00", date(2026, 11, 30), time(8, 0)),  # the next Monday, not today
        ("+2d 16:00", date(2026, 11, 25), time(16, 0)),
    ],
)
def test_when_with_a_time_is_a_fixed_appointment(text: str, day: date, clock: time) -> None:
    when = parse_when(text, now=NOW)
    assert when.fixed
    assert local(when.at).date() == day
    assert local(when.at).time() == clock
    assert when.at.tzinfo is not None and when.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "day"),
    [("2026-11-25", date(2026, 11, 25)), ("tomorrow", date(2026, 11, 24)), ("fri", date(2026, 11, 27))],
)
def test_when_with_a_date_only_is_flexible_at_local_midnight(text: str, day: date) -> None:
    when = parse_when(text, now=NOW)
    assert not when.fixed
    assert local(when.at) == datetime.combine(day, time(0, 0), tzinfo=local_zone())


@pytest.mark.parametrize("text", ["", "someday", "tomorrow 25:00", "2026-13-01 10:00", "fri 10:61"])
def test_bad_when_names_the_field(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^at: "):
        parse_when(text, "at", now=NOW)


@pytest.mark.parametrize(
    ("text", "minutes"), [("45m", 45), ("45", 45), ("1h", 60), ("1h30m", 90), ("90min", 90), ("2H", 120)]
)
def test_durations(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "abc", "0", "1d", "25h", "m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValidationError, match=r"^duration: "):
        parse_duration(text)


def test_overlaps_are_half_open() -> None:
    ten = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert overlaps(ten, 45, ten + timedelta(minutes=30), 45)
    assert overlaps(ten + timedelta(minutes=10), 10, ten, 60)  # contained
    assert not overlaps(ten, 60, ten + timedelta(minutes=60), 30)  # back to back
    assert not overlaps(ten + timedelta(minutes=60), 30, ten, 60)


def test_due_with_and_without_time() -> None:
    assert parse_due("fri", now=NOW) == (date(2026, 11, 27), None)
    day, at = parse_due("fri 10:00", now=NOW)
    assert day == date(2026, 11, 27)
    assert at is not None and local(at).time() == time(10, 0)
    with pytest.raises(ValidationError, match=r"^due: "):
        parse_due("nope", now=NOW)


def test_overdue_rules() -> None:
    today = date(2026, 11, 23)
    assert is_overdue(date(2026, 11, 22), None, today, NOW)
    assert not is_overdue(date(2026, 11, 23), None, today, NOW)  # due today is not overdue
    assert not is_overdue(None, None, today, NOW)
    assert is_overdue(today, NOW - timedelta(minutes=1), today, NOW)  # a time that has passed
    assert not is_overdue(today, NOW + timedelta(minutes=1), today, NOW)


def test_day_range_and_week() -> None:
    start, end = day_range(date(2026, 11, 23))
    assert local(start) == datetime(2026, 11, 23, tzinfo=local_zone())
    assert end - start in (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))
    assert week_of(date(2026, 11, 26)) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week_of(date(2026, 11, 23)) == (date(2026, 11, 23), date(2026, 11, 29))
