"""Follow-up tasks: add, list by due, done, edit, snooze. The use cases behind `sfa task`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sfa.domain.dates import iso_utc, local_today, local_zone, parse_datetime, utc_now
from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY, TASK, VISIT, Entity
from sfa.domain.errors import StateError, UsageError, ValidationError
from sfa.domain.schedule import is_overdue, parse_due
from sfa.services import records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

LINKS: dict[str, tuple[str, Entity]] = {
    "account": ("account_id", ACCOUNT),
    "contact": ("contact_id", CONTACT),
    "lead": ("lead_id", LEAD),
    "opp": ("opportunity_id", OPPORTUNITY),
    "visit": ("visit_id", VISIT),
}
LIST_MODES = ("open", "overdue", "today", "week", "remind", "done", "all")
# Open tasks by urgency: dated before undated, earlier first, a given time before the day's end,
# then high before normal before low.
URGENCY = (
    "due_date IS NULL, due_date, due_at IS NULL, due_at,"
    " CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END, rid"
)
REMIND_HOUR = time(9, 0)  # a reminder for a date-only due fires at 09:00 local


def _due_values(text: str | None, field: str = "due") -> dict[str, Any]:
    if text is None:
        return {}
    if not text.strip():
        return {"due_date": None, "due_at": None}
    day, at = parse_due(text, field)
    return {"due_date": day, "due_at": at}


def _remind_value(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    if not text.strip():
        return {"remind_at": None}
    return {"remind_at": parse_datetime(text, "remind", default_time=REMIND_HOUR)}


def _links(ws: Workspace, refs: dict[str, str | None]) -> dict[str, Any]:
    """Resolve --account/--contact/--lead/--opp/--visit; fill the account from the linked record."""
    values: dict[str, Any] = {}
    for option, ref in refs.items():
        if ref is None:
            continue
        column, entity = LINKS[option]
        values[column] = ws.store.resolve(entity, ref)["id"] if ref.strip() else None
    if not values.get("account_id"):
        for column, entity in (("visit_id", VISIT), ("opportunity_id", OPPORTUNITY), ("contact_id", CONTACT)):
            if values.get(column):
                account_id = ws.store.get(entity, values[column])["account_id"]
                if account_id:
                    values["account_id"] = account_id
                    break
    return values


def create_task(
    ws: Workspace,
    title: str,
    *,
    due: str | None = None,
    priority: str | None = None,
    remind: str | None = None,
    notes: str | None = None,
    **link_ids: str | None,
) -> Record:
    """Insert a task; link_ids are already resolved ids (account_id=..., visit_id=...)."""
    values = records.clean(ws, TASK, {"title": title, "priority": priority, "notes": notes}, creating=True)
    values.update(_due_values(due))
    values.update(_remind_value(remind))
    values.setdefault("priority", "normal")
    values.update({k: v for k, v in link_ids.items() if v})
    return ws.store.insert(TASK, {**records.scope_defaults(ws), **values, "status": "open"})


def add_task(
    ws: Workspace,
    title: str,
    *,
    due: str | None = None,
    priority: str | None = None,
    remind: str | None = None,
    notes: str | None = None,
    links: dict[str, str | None] | None = None,
) -> Record:
    linked = _links(ws, links or {})
    return create_task(ws, title, due=due, priority=priority, remind=remind, notes=notes, **linked)


def list_tasks(
    ws: Workspace, mode: str = "open", *, limit: int | None = None, now: datetime | None = None
) -> list[Record]:
    where, params, order = task_filter(mode, now or utc_now())
    return ws.store.select(TASK, where, params, order=order, limit=limit)


def count_tasks(ws: Workspace, mode: str, now: datetime | None = None) -> int:
    where, params, _ = task_filter(mode, now or utc_now())
    return ws.store.count(TASK, where, params)


def task_filter(mode: str, now: datetime) -> tuple[str, list[Any], str]:
    """The WHERE clause, parameters and order of a task listing."""
    today = local_today(now)
    day = today.isoformat()
    if mode == "open":
        return "status = 'open'", [], URGENCY
    if mode == "overdue":
        # Served by the (status, due_date) index: the due_at test only looks at rows due today or before.
        return (
            "status = 'open' AND due_date <= ? AND (due_date < ? OR (due_at IS NOT NULL AND due_at < ?))",
            [day, day, iso_utc(now)],
            URGENCY,
        )
    if mode == "due-or-overdue":
        return "status = 'open' AND due_date <= ?", [day], URGENCY
    if mode == "today":
        return "status = 'open' AND due_date = ?", [day], URGENCY
    if mode == "week":
        return (
            "status = 'open' AND due_date >= ? AND due_date <= ?",
            [day, (today + timedelta(days=6)).isoformat()],
            URGENCY,
        )
    if mode == "remind":
        return (
            "status = 'open' AND remind_at IS NOT NULL AND remind_at <= ?",
            [iso_utc(now)],
            "remind_at, rid",
        )
    if mode == "done":
        return "status = 'done'", [], "done_at DESC, rid DESC"
    if mode == "all":
        return "", [], "status = 'done', " + URGENCY
    raise ValidationError("list", f"{mode!r} is not a task listing; use one of {', '.join(LIST_MODES)}")


def complete_task(ws: Workspace, ref: str) -> Record:
    task = ws.store.resolve(TASK, ref)
    if task["status"] == "done":
        raise StateError(f"task {ref} is already done")
    return ws.store.update(TASK, task["id"], {"status": "done", "done_at": utc_now()})


def reopen_task(ws: Workspace, ref: str) -> Record:
    task = ws.store.resolve(TASK, ref)
    if task["status"] == "open":
        raise StateError(f"task {ref} is open")
    return ws.store.update(TASK, task["id"], {"status": "open", "done_at": None})


def edit_task(
    ws: Workspace,
    ref: str,
    *,
    title: str | None = None,
    due: str | None = None,
    priority: str | None = None,
    remind: str | None = None,
    notes: str | None = None,
    links: dict[str, str | None] | None = None,
) -> Record:
    task = ws.store.resolve(TASK, ref)
    values = records.clean(ws, TASK, {"title": title, "priority": priority, "notes": notes}, creating=False)
    values.update(_due_values(due))
    values.update(_remind_value(remind))
    values.update(_links(ws, links or {}))
    if not values:
        raise UsageError("nothing to change; give at least one field to change")
    return ws.store.update(TASK, task["id"], values)


def snooze_task(ws: Workspace, ref: str, until: str) -> Record:
    """Move an open task's due; a reminder, if set, moves to the new due (09:00 for a date)."""
    task = ws.store.resolve(TASK, ref)
    if task["status"] != "open":
        raise StateError(f"task {ref} is done; reopen it to snooze it")
    if not until.strip():
        raise ValidationError("until", "give the new due date, e.g. mon or '+3d 09:00'", asks_for=("until",))
    values = _due_values(until, "until")
    if task["remind_at"] is not None:
        values["remind_at"] = values["due_at"] or datetime.combine(
            values["due_date"], REMIND_HOUR, tzinfo=local_zone()
        ).astimezone(UTC)
    return ws.store.update(TASK, task["id"], values)


def task_detail(ws: Workspace, ref: str) -> dict[str, Any]:
    task = ws.store.resolve(TASK, ref)
    linked: dict[str, str] = {}
    for column, entity in (
        ("account_id", ACCOUNT),
        ("contact_id", CONTACT),
        ("lead_id", LEAD),
        ("opportunity_id", OPPORTUNITY),
    ):
        if task[column]:
            linked[column] = str(ws.store.titles(entity, [task[column]]).get(task[column]) or task[column])
    if task["visit_id"]:
        visit = ws.store.find(VISIT, task["visit_id"])
        if visit is not None:
            linked["visit_id"] = visit["starts_at"].astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    return {"task": task, "linked": linked}


def due_label(task: Record, today: date, now: datetime) -> str:
    """How a due reads in a listing: the date (and local time), marked when overdue."""
    if task["due_date"] is None:
        return ""
    text = str(task["due_date"].isoformat())
    if task["due_at"] is not None:
        text = task["due_at"].astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if task["status"] == "open" and is_overdue(task["due_date"], task["due_at"], today, now):
        text += " (overdue)"
    return text


# Within one part of Today's list: timed tasks by time, then the rest; high priority first.
TODAY_ORDER = "due_at IS NULL, due_at, CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END, rid"
# What the list shows of a task (decoding the other fields of 500 tasks, tags and notes among them,
# was a third of the list's time).
TODAY_FIELDS = ("title", "due_date", "due_at", "priority", "status", "account_id", "contact_id", "lead_id")
# Today's three parts, in the order they are listed: due today, overdue (oldest first), undated.
TODAY_PARTS = (
    ("due_date = ?", TODAY_ORDER),
    ("due_date < ?", "due_date, " + TODAY_ORDER),
    ("due_date IS NULL", TODAY_ORDER),
)


def for_today(
    ws: Workspace, now: datetime | None = None, limit: int = 500
) -> tuple[list[dict[str, Any]], int]:
    """The dashboard's Today list: every open task due today, then the overdue ones (oldest first),
    then the undated ones, each with the names of its account and contact; and how many there are
    in all (the list stops at `limit`, the screen says how many more).

    One query per part, each stopping at what is still wanted, and the count from the index alone:
    on a store with 17,000 open tasks due, one query sorting them all (and a count reading every
    row for `deleted`) cost the dashboard's first paint 60 ms (docs/dashboard.md, "first paint")."""
    current = now or utc_now()
    day = local_today(current).isoformat()
    found: list[Record] = []
    for where, order in TODAY_PARTS:
        if len(found) >= limit:
            break
        params = (day,) if "?" in where else ()
        found += ws.store.select(
            TASK,
            f"status = 'open' AND {where}",
            params,
            order=order,
            limit=limit - len(found),
            fields=TODAY_FIELDS,
        )
    if len(found) < limit:
        total = len(found)
    else:  # two index ranges: due by today, and undated
        total = ws.store.count(TASK, "status = 'open' AND due_date <= ?", (day,))
        total += ws.store.count(TASK, "status = 'open' AND due_date IS NULL")
    accounts = ws.store.titles(ACCOUNT, {t["account_id"] for t in found if t["account_id"]})
    contacts = ws.store.titles(CONTACT, {t["contact_id"] for t in found if t["contact_id"]})
    leads = ws.store.titles(LEAD, {t["lead_id"] for t in found if t["lead_id"]})
    rows = []
    for task in found:
        who = [
            accounts.get(task["account_id"], "") if task["account_id"] else "",
            contacts.get(task["contact_id"], "") if task["contact_id"] else "",
        ]
        if not any(who) and task["lead_id"]:
            who = [f"lead {leads.get(task['lead_id'], '')}"]
        rows.append({"task": task, "who": " · ".join(w for w in who if w)})
    return rows, total
