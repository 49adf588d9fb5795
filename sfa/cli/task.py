"""`sfa task ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import (
    JsonOpt,
    LimitOpt,
    NotesOpt,
    QuietOpt,
    emit_detail,
    emit_table,
    emit_written,
    print_json,
    record_json,
    refuse_together,
    when,
    workspace,
)
from sfa.domain.dates import local_today, utc_now
from sfa.domain.entities import ACCOUNT, TASK
from sfa.domain.errors import UsageError
from sfa.services import records, tasks
from sfa.store.db import Record
from sfa.store.workspace import Workspace

app = typer.Typer(help="Follow-up tasks: due dates, priorities, reminders.", no_args_is_help=True)

Opt = typer.Option
Due = Annotated[
    str | None, Opt("--due", help="A date (fri, +3d, 2026-11-27) or date and time ('fri 10:00').")
]
Priority = Annotated[str | None, Opt("--priority", help="high, normal or low.")]
Remind = Annotated[str | None, Opt("--remind", help="When to remind: 'fri 09:00' (a date alone: 09:00).")]
Notes = NotesOpt
Account = Annotated[str | None, Opt("--account", help="Link to an account.")]
Contact = Annotated[str | None, Opt("--contact", help="Link to a contact.")]
Lead = Annotated[str | None, Opt("--lead", help="Link to a lead.")]
Opp = Annotated[str | None, Opt("--opp", help="Link to an opportunity.")]
Visit = Annotated[str | None, Opt("--visit", help="Link to a visit.")]

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("due", "Due"),
    ("priority", "Prio"),
    ("title", "Title"),
    ("account", "Account"),
    ("status", "Status"),
]


def task_rows(ws: Workspace, batch: list[Record]) -> list[dict[str, Any]]:
    """Display rows for tasks: ref, due (marked overdue), account name."""
    refs = records.short_refs(ws, TASK, [t["id"] for t in batch])
    names = records.titles_of(ws, ACCOUNT, {t["account_id"] for t in batch if t["account_id"]})
    now = utc_now()
    today = local_today(now)
    return [
        {
            "ref": refs[t["id"]],
            "due": tasks.due_label(t, today, now),
            "priority": t["priority"],
            "title": t["title"],
            "account": names.get(t["account_id"] or "", ""),
            "status": t["status"],
        }
        for t in batch
    ]


def tasks_json(ws: Workspace, batch: list[Record]) -> list[dict[str, Any]]:
    refs = records.short_refs(ws, TASK, [t["id"] for t in batch])
    return [record_json(TASK, t, refs[t["id"]]) for t in batch]


@app.command("add")
def add(
    ctx: typer.Context,
    title: str,
    due: Due = None,
    priority: Priority = None,
    remind: Remind = None,
    notes: Notes = None,
    account: Account = None,
    contact: Contact = None,
    lead: Lead = None,
    opp: Opp = None,
    visit: Visit = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a task."""
    ws = workspace(ctx)
    links = {"account": account, "contact": contact, "lead": lead, "opp": opp, "visit": visit}
    record = tasks.add_task(ws, title, due=due, priority=priority, remind=remind, notes=notes, links=links)
    emit_written(ws, TASK, record, "added", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    overdue: Annotated[bool, Opt("--overdue", help="Due before today or past their time.")] = False,
    due: Annotated[str | None, Opt("--due", help="today, or week (today and the next 6 days).")] = None,
    remind: Annotated[bool, Opt("--remind", help="Open tasks whose reminder time has passed.")] = False,
    done: Annotated[bool, Opt("--done", help="Completed tasks, latest first.")] = False,
    all_: Annotated[bool, Opt("--all", help="Open and done tasks.")] = False,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List tasks (default: open tasks, most urgent first)."""
    refuse_together(
        ("--overdue", overdue), ("--due", due), ("--remind", remind), ("--done", done), ("--all", all_)
    )
    if due is not None and due not in ("today", "week"):
        raise UsageError(f"--due takes today or week, not {due!r}")
    modes = [m for m, on in (("overdue", overdue), ("remind", remind), ("done", done), ("all", all_)) if on]
    if due is not None:
        modes.append(due)
    ws = workspace(ctx)
    batch = tasks.list_tasks(ws, modes[0] if modes else "open", limit=limit)
    if as_json:
        print_json(tasks_json(ws, batch))
        return
    emit_table(task_rows(ws, batch), LIST_COLUMNS, empty="no tasks")


@app.command("done")
def done(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Mark a task done."""
    ws = workspace(ctx)
    emit_written(ws, TASK, tasks.complete_task(ws, ref), "done", as_json=as_json, quiet=quiet)


@app.command("reopen")
def reopen(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Open a done task again."""
    ws = workspace(ctx)
    emit_written(ws, TASK, tasks.reopen_task(ws, ref), "reopened", as_json=as_json, quiet=quiet)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str,
    title: Annotated[str | None, Opt("--title")] = None,
    due: Due = None,
    priority: Priority = None,
    remind: Remind = None,
    notes: Notes = None,
    account: Account = None,
    contact: Contact = None,
    lead: Lead = None,
    opp: Opp = None,
    visit: Visit = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a task; an empty value ("") clears a field."""
    ws = workspace(ctx)
    links = {"account": account, "contact": contact, "lead": lead, "opp": opp, "visit": visit}
    record = tasks.edit_task(
        ws, ref, title=title, due=due, priority=priority, remind=remind, notes=notes, links=links
    )
    emit_written(ws, TASK, record, "updated", as_json=as_json, quiet=quiet)


@app.command("snooze")
def snooze(
    ctx: typer.Context,
    ref: str,
    until: Annotated[str, Opt("--until", help="New due: a date, or date and time.")],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Move an open task's due date (and its reminder) later."""
    ws = workspace(ctx)
    record = tasks.snooze_task(ws, ref, until)
    due = when(record["due_at"]) if record["due_at"] else record["due_date"]
    emit_written(ws, TASK, record, f"snoozed until {due}", as_json=as_json, quiet=quiet)


@app.command("show")
def show(ctx: typer.Context, ref: str, as_json: JsonOpt = False) -> None:
    """Show a task and what it is linked to."""
    ws = workspace(ctx)
    detail = tasks.task_detail(ws, ref)
    task = detail["task"]
    if as_json:
        data = tasks_json(ws, [task])[0]
        data["linked"] = {k.removesuffix("_id"): v for k, v in detail["linked"].items()}
        print_json(data)
        return
    now = utc_now()
    labels: dict[str, str] = dict(detail["linked"])
    labels["due_date"] = tasks.due_label(task, local_today(now), now)
    for field in ("due_at", "remind_at", "done_at"):
        if task[field] is not None:
            labels[field] = when(task[field])
    emit_detail(ws, TASK, task, labels=labels)
