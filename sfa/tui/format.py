"""Compact display of money, dates and times for narrow terminals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sfa.domain.dates import local_zone


def short_money(value: Decimal | None) -> str:
    """12,345 -> 12.3k; 2,500,000 -> 2.50M; None -> ''."""
    if value is None:
        return ""
    amount = abs(value)
    sign = "-" if value < 0 else ""
    if amount >= 1_000_000:
        return f"{sign}{amount / 1_000_000:.2f}M"
    if amount >= 10_000:
        return f"{sign}{amount / 1000:.0f}k"
    if amount >= 1000:
        return f"{sign}{amount / 1000:.1f}k"
    return f"{sign}{amount:.0f}"


def day_label(day: date | None, today: date) -> str:
    if day is None:
        return ""
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    if -7 < delta < 0:
        return f"{-delta}d ago"
    return day.isoformat()


def local_time(moment: datetime | None) -> str:
    return moment.astimezone(local_zone()).strftime("%H:%M") if moment else ""


def local_stamp(moment: datetime | None) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if moment else ""


def visit_when(visit: Mapping[str, Any]) -> str:
    """A visit's day and time, "any time" for a flexible one (as the CLI prints it)."""
    stamp = local_stamp(visit["starts_at"])
    return stamp if visit["fixed_time"] else stamp[:10] + " any time"
