"""Visits: plan, agenda, route, log with follow-ups, cancel. The use cases behind `sfa visit`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sfa.domain import geo
from sfa.domain.dates import from_iso_utc, iso_utc, local_zone
from sfa.domain.entities import ACCOUNT, CONTACT, TASK, TIMELINE, VISIT
from sfa.domain.errors import ConfigError, StateError, UsageError, ValidationError
from sfa.domain.schedule import day_range, overlaps, parse_duration, parse_when
from sfa.domain.text import check_text
from sfa.services import records, tasks
from sfa.store.db import Record
from sfa.store.workspace import Workspace

DEFAULT_DURATION = 45
BUSY = ("planned", "done")  # visits that occupy their time slot


def _address(account: Record) -> str | None:
    town = " ".join(p for p in (account.get("postcode"), account.get("city")) if p)
    parts = [p for p in (account.get("street"), town, account.get("country")) if p]
    return ", ".join(parts) or None


def plan_visit(
    ws: Workspace,
    *,
    account_ref: str,
    at: str,
    contact_refs: list[str] | None = None,
    duration: str | None = None,
    purpose: str | None = None,
    location: str | None = None,
    latitude: str | None = None,
    longitude: str | None = None,
    notes: str | None = None,
    allow_overlap: bool = False,
    now: datetime | None = None,
) -> Record:
    account = ws.store.resolve(ACCOUNT, account_ref)
    when = parse_when(at, "at", now=now)
    minutes = parse_duration(duration) if duration else DEFAULT_DURATION
    contact_ids: list[str] = []
    for ref in contact_refs or []:
        contact = ws.store.resolve(CONTACT, ref)
        if contact["account_id"] and contact["account_id"] != account["id"]:
            raise ValidationError("contact", f"{contact['name']!r} belongs to another account")
        if contact["id"] not in contact_ids:
            contact_ids.append(contact["id"])
    values = records.clean(
        ws,
        VISIT,
        {
            "purpose": purpose,
            "location": location,
            "latitude": latitude,
            "longitude": longitude,
            "notes": notes,
        },
        creating=False,
    )
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        raise ValidationError(
            "latitude", "give both latitude and longitude, or neither", asks_for=("latitude", "longitude")
        )
    if values.get("latitude") is None:
        values["latitude"], values["longitude"] = account["latitude"], account["longitude"]
    if not values.get("location"):
        values["location"] = _address(account)
    if when.fixed and not allow_overlap:
        check_overlap(ws, when.at, minutes)
    record = {
        **records.scope_defaults(ws),
        **values,
        "account_id": account["id"],
        "contact_ids": contact_ids,
        "starts_at": when.at,
        "duration_min": minutes,
        "fixed_time": when.fixed,
        "status": "planned",
    }
    return ws.store.insert(VISIT, record)


def _first_overlap(
    ws: Workspace, start: datetime, minutes: int, owner: str, exclude_id: str | None = None
) -> Record | None:
    """The first of the owner's appointments that overlaps; a teammate's synced visits do not count
    (nor the visit being moved, `exclude_id`)."""
    window_start = iso_utc(start - timedelta(hours=24))
    window_end = iso_utc(start + timedelta(minutes=minutes))
    candidates = ws.store.select(
        VISIT,
        "starts_at >= ? AND starts_at < ? AND fixed_time = 1 AND status IN (?, ?)"
        " AND coalesce(owner, '') = ?",
        (window_start, window_end, *BUSY, owner),
        order="starts_at",
    )
    for visit in candidates:
        if visit["id"] == exclude_id:
            continue
        if overlaps(start, minutes, visit["starts_at"], visit["duration_min"] or DEFAULT_DURATION):
            return visit
    return None


def check_overlap(ws: Workspace, start: datetime, minutes: int, exclude_id: str | None = None) -> None:
    """Refuse a fixed time that overlaps one of the rep's appointments (the message names it)."""
    clash = _first_overlap(ws, start, minutes, ws.owner, exclude_id)
    if clash is None:
        return
    name = ws.store.titles(ACCOUNT, [clash["account_id"]]).get(clash["account_id"], "")
    ref = ws.store.short_refs(VISIT, [clash["id"]])[clash["id"]]
    begin = clash["starts_at"].astimezone(local_zone())
    end = begin + timedelta(minutes=clash["duration_min"] or DEFAULT_DURATION)
    raise ValidationError(
        "at",
        f"overlaps visit {ref} at {name} ({begin:%Y-%m-%d %H:%M}–{end:%H:%M});"
        " choose another time or allow the overlap",
        asks_for=("allow_overlap",),
    )


def overlap_message(
    ws: Workspace,
    at: str,
    duration: str | None = None,
    *,
    exclude_id: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """What `sfa visit plan` would say about this time as it is typed: None when it is free (or
    flexible); raises ValidationError when the text is not a time or a duration."""
    when = parse_when(at, "at", now=now)
    minutes = parse_duration(duration) if duration and duration.strip() else DEFAULT_DURATION
    if not when.fixed:
        return None
    try:
        check_overlap(ws, when.at, minutes, exclude_id)
    except ValidationError as exc:
        return str(exc)
    return None


def reschedule_visit(
    ws: Workspace,
    ref: str,
    *,
    at: str | None = None,
    start: datetime | None = None,
    duration: str | None = None,
    allow_overlap: bool = False,
    now: datetime | None = None,
) -> Record:
    """Move a planned visit: to the time `at` (text as `sfa visit plan --at`: a date alone makes it
    flexible) or to the instant `start` (keeping fixed/flexible), optionally with a new duration.
    A fixed time is checked for overlaps as planning is, the visit itself excluded."""
    visit = ws.store.resolve(VISIT, ref)
    if visit["status"] != "planned":
        raise StateError(f"visit {ref} is {visit['status']}; only a planned visit can be moved")
    minutes = parse_duration(duration) if duration and duration.strip() else visit["duration_min"]
    minutes = minutes or DEFAULT_DURATION
    if at is not None:
        when = parse_when(at, "at", now=now)
        moved, fixed = when.at, when.fixed
    elif start is not None:
        moved, fixed = start, bool(visit["fixed_time"])
    else:
        raise ValidationError("at", "give the new time")
    if fixed and not allow_overlap:
        check_overlap(ws, moved, minutes, visit["id"])
    with ws.store.transaction():
        updated = ws.store.update(
            VISIT, visit["id"], {"starts_at": moved, "duration_min": minutes, "fixed_time": fixed}
        )
        shown = moved.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M" if fixed else "%Y-%m-%d (any time)")
        records.add_timeline(
            ws, VISIT, updated, "visit_moved", f"Visit moved to {shown}", visit["account_id"]
        )
    return updated


def unlogged_before(ws: Workspace, day: date, limit: int = 50) -> list[dict[str, Any]]:
    """Planned visits of days before `day` that were never logged (nor cancelled), oldest first,
    with their account's name: Today's "to log" list."""
    start, _ = day_range(day)
    found = ws.store.select(
        VISIT,
        "status = 'planned' AND starts_at < ? AND coalesce(owner, '') = ?",
        (iso_utc(start), ws.owner),
        order="starts_at, rid",
        limit=limit,
    )
    names = ws.store.titles(ACCOUNT, {v["account_id"] for v in found})
    return [{"visit": v, "account": names.get(v["account_id"], "")} for v in found]


ROUTE_UNDO = "route.undo."  # + the day (ISO): the local store's meta key of that day's undo


def apply_route(ws: Workspace, day: date, *, round_trip: bool = False) -> dict[str, datetime]:
    """Put the day's flexible visits in the order `route` finds (`sfa visit route`): they keep no
    clock time ("any time"), so the order is kept as one minute apart after local midnight. Returns
    each moved visit's start before.

    What undo needs (each moved visit's start before) is kept in the store with the moves, in the
    same transaction, under the day: `undo_route` restores it after a restart of the dashboard or
    from the CLI. Applying again the same day adds to it and keeps the oldest start of each visit,
    so undo goes back to the day as it was before the first route order."""
    plan = route(ws, day, round_trip=round_trip)
    midnight, _ = day_range(day)
    before: dict[str, datetime] = {}
    with ws.store.transaction():
        for index, stop in enumerate(plan.stops):
            visit = stop["visit"]
            wanted = midnight + timedelta(minutes=index)
            if visit["starts_at"] != wanted:
                before[visit["id"]] = visit["starts_at"]
                ws.store.update(VISIT, visit["id"], {"starts_at": wanted})
        if before:
            kept = {**before, **route_undo_pending(ws, day)}
            ws.store.set_meta(
                f"{ROUTE_UNDO}{day.isoformat()}", json.dumps({k: iso_utc(v) for k, v in kept.items()})
            )
    return before


def route_undo_pending(ws: Workspace, day: date) -> dict[str, datetime]:
    """The starts `undo_route` would restore for the day: empty when no route order applied that
    day is waiting to be undone."""
    saved = ws.store.meta(f"{ROUTE_UNDO}{day.isoformat()}")
    if not saved:
        return {}
    return {k: from_iso_utc(v) for k, v in json.loads(saved).items()}


def undo_route(ws: Workspace, day: date) -> int:
    """Undo the route order applied to the day (`apply_route`), also after a restart: each visit
    the route moved goes back to its start before (visits logged or cancelled since stay as they
    are). Returns how many visits moved back. Refused when no route order of that day waits."""
    starts = route_undo_pending(ws, day)
    if not starts:
        raise StateError(f"no route order applied on {day.isoformat()} waits to be undone")
    with ws.store.transaction():
        moved = restore_starts(ws, starts)
        ws.store.set_meta(f"{ROUTE_UNDO}{day.isoformat()}", "")
    return moved


def restore_starts(ws: Workspace, starts: dict[str, datetime]) -> int:
    """Each visit back to its start (visits logged or cancelled since stay)."""
    moved = 0
    with ws.store.transaction():
        for visit_id, start in starts.items():
            visit = ws.store.find(VISIT, visit_id)
            if visit is not None and visit["status"] == "planned":
                ws.store.update(VISIT, visit_id, {"starts_at": start})
                moved += 1
    return moved


def visits_between(
    ws: Workspace, first: date, last: date, *, include_cancelled: bool = False
) -> list[Record]:
    start, end = day_range(first, last)
    where = "starts_at >= ? AND starts_at < ?"
    params: list[Any] = [iso_utc(start), iso_utc(end)]
    if not include_cancelled:
        where += " AND status != 'cancelled'"
    return ws.store.select(VISIT, where, params, order="starts_at, rid")


def point_of(visit: Record) -> geo.Point | None:
    if visit.get("latitude") is None or visit.get("longitude") is None:
        return None
    return (float(visit["latitude"]), float(visit["longitude"]))


def agenda(
    ws: Workspace, first: date, last: date, *, include_cancelled: bool = False
) -> list[dict[str, Any]]:
    """Visits in time order, each with the km from the previous visit of the same day."""
    visits = visits_between(ws, first, last, include_cancelled=include_cancelled)
    names = ws.store.titles(ACCOUNT, {v["account_id"] for v in visits})
    rows: list[dict[str, Any]] = []
    previous: Record | None = None
    for visit in visits:
        day = visit["starts_at"].astimezone(local_zone()).date()
        km: float | None = None
        if previous is not None and previous["starts_at"].astimezone(local_zone()).date() == day:
            here, there = point_of(previous), point_of(visit)
            if here is not None and there is not None:
                km = round(geo.haversine_km(here, there), 1)
        rows.append({"visit": visit, "account": names.get(visit["account_id"], ""), "km_from_previous": km})
        previous = visit
    return rows


def home_point(ws: Workspace) -> geo.Point:
    lat, lon = ws.setting("home.latitude"), ws.setting("home.longitude")
    if not lat or not lon:
        raise ConfigError(
            "no home location; set it with `sfa config set home.latitude 52.52` and "
            "`sfa config set home.longitude 13.40`"
        )
    return (float(lat), float(lon))


@dataclass
class RoutePlan:
    day: date
    home: geo.Point
    stops: list[dict[str, Any]]  # {"visit", "account", "km"} in driving order
    back_home_km: float | None
    total_km: float
    exact: bool
    unrouted: list[dict[str, Any]]  # flexible visits without coordinates
    fixed: list[dict[str, Any]]  # appointments, left where they are


def route(ws: Workspace, day: date, *, round_trip: bool = False) -> RoutePlan:
    """The shortest order for the day's flexible visits, starting at home."""
    home = home_point(ws)
    visits = [v for v in visits_between(ws, day, day) if v["status"] == "planned"]
    names = ws.store.titles(ACCOUNT, {v["account_id"] for v in visits})

    def row(visit: Record, km: float | None = None) -> dict[str, Any]:
        return {"visit": visit, "account": names.get(visit["account_id"], ""), "km": km}

    flexible = [v for v in visits if not v["fixed_time"]]
    located = [v for v in flexible if point_of(v) is not None]
    points = [p for p in (point_of(v) for v in located) if p is not None]
    plan = geo.plan_route(home, points, round_trip=round_trip)
    stops = [row(located[i], round(km, 1)) for i, km in zip(plan.order, plan.legs, strict=False)]
    back = round(plan.legs[-1], 1) if round_trip and plan.legs else None
    return RoutePlan(
        day,
        home,
        stops,
        back,
        round(plan.total_km, 1),
        plan.exact,
        [row(v) for v in flexible if point_of(v) is None],
        [row(v) for v in visits if v["fixed_time"]],
    )


def log_visit(
    ws: Workspace,
    ref: str,
    *,
    outcome: str,
    notes: str | None = None,
    follow_ups: list[str] | None = None,
    dues: list[str] | None = None,
    no_show: bool = False,
) -> tuple[Record, list[Record]]:
    """Mark a visit done (or no-show), write its report to the account's timeline, create follow-ups.

    Everything happens in one transaction: a bad --due leaves nothing written.
    """
    follow_ups, dues = follow_ups or [], dues or []
    if dues and len(dues) != len(follow_ups):
        raise UsageError(
            f"{len(follow_ups)} follow-ups but {len(dues)} due dates; give one due date per follow-up "
            "(in the same order), or none",
            asks_for=("follow_up", "due"),
        )
    visit = ws.store.resolve(VISIT, ref)
    if visit["status"] != "planned":
        raise StateError(f"visit {ref} is {visit['status']}; only a planned visit can be logged")
    if not outcome.strip():
        raise ValidationError("outcome", "describe the outcome of the visit")
    outcome = check_text("outcome", outcome)
    report = check_text("notes", (notes or "").strip()) or None
    status = "no-show" if no_show else "done"
    with ws.store.transaction():
        visit = ws.store.update(
            VISIT, visit["id"], {"status": status, "outcome": outcome.strip(), "report": report}
        )
        text = f"Visit ({status}): {outcome.strip()}"
        if visit.get("purpose"):
            text = f"Visit ({status}) — {visit['purpose']}: {outcome.strip()}"
        if report:
            text += f" — {report}"
        records.add_timeline(ws, VISIT, visit, "visit_report", text, visit["account_id"])
        created = []
        contact_id = visit["contact_ids"][0] if visit["contact_ids"] else None
        for index, title in enumerate(follow_ups):
            created.append(
                tasks.create_task(
                    ws,
                    title,
                    due=dues[index] if dues else None,
                    account_id=visit["account_id"],
                    contact_id=contact_id,
                    visit_id=visit["id"],
                )
            )
    return visit, created


def cancel_visit(ws: Workspace, ref: str, reason: str | None = None) -> Record:
    visit = ws.store.resolve(VISIT, ref)
    if visit["status"] != "planned":
        raise StateError(f"visit {ref} is {visit['status']}; only a planned visit can be cancelled")
    with ws.store.transaction():
        visit = ws.store.update(
            VISIT,
            visit["id"],
            {"status": "cancelled", "cancel_reason": check_text("reason", (reason or "").strip()) or None},
        )
        text = "Visit cancelled" + (f": {reason.strip()}" if reason and reason.strip() else "")
        records.add_timeline(ws, VISIT, visit, "visit_cancelled", text, visit["account_id"])
    return visit


def visit_detail(ws: Workspace, ref: str) -> dict[str, Any]:
    visit = ws.store.resolve(VISIT, ref)
    account = ws.store.get(ACCOUNT, visit["account_id"], include_deleted=True)
    contacts = ws.store.titles(CONTACT, visit["contact_ids"])
    follow_ups = ws.store.select(
        TASK, "visit_id = ?", (visit["id"],), order="due_date IS NULL, due_date, rid"
    )
    timeline = ws.store.select(TIMELINE, "record_id = ?", (visit["id"],), order="at, rid")
    return {
        "visit": visit,
        "account": account,
        "contacts": [contacts.get(c, c) for c in visit["contact_ids"]],
        "tasks": follow_ups,
        "timeline": timeline,
    }
