"""`sfa visit ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import (
    TIMELINE_COLUMNS,
    JsonOpt,
    QuietOpt,
    emit_detail,
    emit_table,
    emit_written,
    message,
    print_json,
    record_json,
    refuse_together,
    require_both,
    timeline_json,
    when,
    workspace,
)
from sfa.domain.dates import local_today, local_zone, parse_date
from sfa.domain.entities import TASK, VISIT
from sfa.domain.errors import UsageError
from sfa.domain.schedule import week_of
from sfa.services import records, visits
from sfa.store.db import Record
from sfa.store.workspace import Workspace

app = typer.Typer(help="Visits: plan the day, drive the route, log the report.", no_args_is_help=True)

Opt = typer.Option
DateOpt = Annotated[str | None, Opt("--date", help="The day: ISO, today, tomorrow, fri, +2d.")]

AGENDA_COLUMNS = [
    ("ref", "Ref"),
    ("day", "Date"),
    ("time", "Time"),
    ("duration", "Min"),
    ("account", "Account"),
    ("purpose", "Purpose"),
    ("status", "Status"),
    ("km", "Km"),
]


def _time(visit: Record) -> str:
    if not visit["fixed_time"]:
        return "any time"
    return str(visit["starts_at"].astimezone(local_zone()).strftime("%H:%M"))


def _day(visit: Record) -> str:
    return str(visit["starts_at"].astimezone(local_zone()).strftime("%a %Y-%m-%d"))


@app.command("plan")
def plan(
    ctx: typer.Context,
    account: Annotated[str, Opt("--account", help="Account ref.")],
    at: Annotated[
        str,
        Opt(
            "--at",
            help="'2026-11-23 10:00', 'tomorrow 10:00', 'fri 14:30'; "
            "a date alone plans a visit with no fixed time.",
        ),
    ],
    contact: Annotated[list[str] | None, Opt("--contact", help="Contact ref (repeatable).")] = None,
    duration: Annotated[str | None, Opt("--duration", help="45m (default), 1h, 1h30m.")] = None,
    purpose: Annotated[str | None, Opt("--purpose")] = None,
    location: Annotated[str | None, Opt("--location", help="Address (default: the account's).")] = None,
    lat: Annotated[str | None, Opt("--lat", help="Latitude (default: the account's).")] = None,
    lon: Annotated[str | None, Opt("--lon", help="Longitude (default: the account's).")] = None,
    notes: Annotated[str | None, Opt("--notes")] = None,
    allow_overlap: Annotated[bool, Opt("--allow-overlap", help="Plan even if it overlaps a visit.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Plan a visit at an account."""
    require_both(("--lat", lat), ("--lon", lon))
    ws = workspace(ctx)
    record = visits.plan_visit(
        ws,
        account_ref=account,
        at=at,
        contact_refs=contact,
        duration=duration,
        purpose=purpose,
        location=location,
        latitude=lat,
        longitude=lon,
        notes=notes,
        allow_overlap=allow_overlap,
    )
    if quiet or as_json:
        emit_written(ws, VISIT, record, "planned", as_json=as_json, quiet=quiet)
        return
    ref = records.short_ref(ws, VISIT, record["id"])
    slot = f"{_day(record)} {_time(record)}"
    print(
        f"visit {ref} planned: {slot}, {record['duration_min']} min, {record.get('location') or ''}".rstrip(
            ", "
        )
    )


def agenda_rows(ws: Workspace, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    refs = records.short_refs(ws, VISIT, [i["visit"]["id"] for i in items])
    rows = []
    for item in items:
        visit = item["visit"]
        rows.append(
            {
                "ref": refs[visit["id"]],
                "day": _day(visit),
                "time": _time(visit),
                "duration": visit["duration_min"],
                "account": item["account"],
                "purpose": visit["purpose"],
                "status": visit["status"],
                "km": "" if item["km_from_previous"] is None else f"{item['km_from_previous']:.1f}",
            }
        )
    return rows


def agenda_json(ws: Workspace, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    refs = records.short_refs(ws, VISIT, [i["visit"]["id"] for i in items])
    return [
        {
            **record_json(VISIT, i["visit"], refs[i["visit"]["id"]]),
            "account": i["account"],
            "km_from_previous": i["km_from_previous"],
        }
        for i in items
    ]


@app.command("list")
def list_(
    ctx: typer.Context,
    date: DateOpt = None,
    week: Annotated[bool, Opt("--week", help="The whole week (Monday to Sunday) of --date.")] = False,
    include_cancelled: Annotated[bool, Opt("--all", help="Include cancelled visits.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The agenda in time order, with the km from the previous visit of the day."""
    ws = workspace(ctx)
    day = parse_date(date, "date") if date else local_today()
    first, last = week_of(day) if week else (day, day)
    items = visits.agenda(ws, first, last, include_cancelled=include_cancelled)
    if as_json:
        print_json(agenda_json(ws, items))
        return
    span = f"{first} – {last}" if week else f"{first:%a %Y-%m-%d}"
    emit_table(agenda_rows(ws, items), AGENDA_COLUMNS, title=f"Visits {span}", empty=f"no visits {span}")


@app.command("route")
def route(
    ctx: typer.Context,
    date: DateOpt = None,
    round_trip: Annotated[bool, Opt("--round-trip", help="Also drive back home; optimise for it.")] = False,
    apply: Annotated[
        bool, Opt("--apply", help="Put the visits in this order (the dashboard's Week: r).")
    ] = False,
    undo: Annotated[
        bool, Opt("--undo", help="Undo the order applied to the day (the dashboard's Week: u).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The shortest order for the day's visits with no fixed time, starting from home."""
    refuse_together(("--apply", apply), ("--undo", undo))
    refuse_together(("--undo", undo), ("--round-trip", round_trip))
    ws = workspace(ctx)
    day = parse_date(date, "date") if date else local_today()
    if undo:
        moved = visits.undo_route(ws, day)
        if as_json:
            print_json({"date": day.isoformat(), "undone": True, "moved_back": moved})
        else:
            message(f"route order of {day} undone: {moved} visit{'s' if moved != 1 else ''} back")
        return
    plan = visits.route(ws, day, round_trip=round_trip)
    moved_ids: list[str] = []
    if apply:
        moved_ids = list(visits.apply_route(ws, day, round_trip=round_trip))
    all_ids = [r["visit"]["id"] for r in (*plan.stops, *plan.unrouted, *plan.fixed)]
    refs = records.short_refs(ws, VISIT, all_ids)
    if as_json:
        print_json(
            {
                "date": day.isoformat(),
                "home": {"latitude": plan.home[0], "longitude": plan.home[1]},
                "exact": plan.exact,
                "total_km": plan.total_km,
                "back_home_km": plan.back_home_km,
                "stops": [
                    {
                        **record_json(VISIT, r["visit"], refs[r["visit"]["id"]]),
                        "account": r["account"],
                        "leg_km": r["km"],
                    }
                    for r in plan.stops
                ],
                "unrouted": [refs[r["visit"]["id"]] for r in plan.unrouted],
                "fixed": [refs[r["visit"]["id"]] for r in plan.fixed],
                **({"applied": True, "moved": [refs[i] for i in moved_ids]} if apply else {}),
            }
        )
        return
    if not plan.stops:
        message(f"no flexible visits with coordinates on {day}")
    else:
        rows: list[dict[str, Any]] = []
        previous = "home"
        for number, row in enumerate(plan.stops, start=1):
            rows.append(
                {
                    "n": number,
                    "ref": refs[row["visit"]["id"]],
                    "account": row["account"],
                    "location": row["visit"]["location"],
                    "leg": f"{previous} → {row['account']}",
                    "km": f"{row['km']:.1f}",
                }
            )
            previous = row["account"]
        if plan.back_home_km is not None:
            rows.append(
                {
                    "n": "",
                    "ref": "",
                    "account": "",
                    "location": "",
                    "leg": f"{previous} → home",
                    "km": f"{plan.back_home_km:.1f}",
                }
            )
        method = "shortest (exact)" if plan.exact else "nearest neighbour + 2-opt"
        emit_table(
            rows,
            [("n", "#"), ("ref", "Ref"), ("leg", "Leg"), ("location", "Location"), ("km", "Km")],
            title=f"Route {day} — {method}",
        )
        message(f"total {plan.total_km:.1f} km ({method})")
        if apply:
            message(
                f"route order applied: {len(moved_ids)} visit{'s' if len(moved_ids) != 1 else ''} "
                f"moved; undo: sfa visit route --date {day} --undo"
            )
    for row in plan.unrouted:
        message(f"not routed, no coordinates: visit {refs[row['visit']['id']]} at {row['account']}")
    for row in plan.fixed:
        message(
            f"fixed time, not reordered: visit {refs[row['visit']['id']]} at {row['account']} "
            f"{_time(row['visit'])}"
        )


@app.command("move")
def move(
    ctx: typer.Context,
    ref: str,
    at: Annotated[
        str,
        Opt(
            "--at",
            help="The new time, as `visit plan --at`: '2026-11-23 10:00', 'fri 14:30'; "
            "a date alone makes it a visit with no fixed time.",
        ),
    ],
    duration: Annotated[str | None, Opt("--duration", help="A new duration: 45m, 1h, 1h30m.")] = None,
    allow_overlap: Annotated[bool, Opt("--allow-overlap", help="Move even if it overlaps a visit.")] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Reschedule a planned visit (the dashboard's Week: e, < >, - +, [ ])."""
    ws = workspace(ctx)
    visit = visits.reschedule_visit(ws, ref, at=at, duration=duration, allow_overlap=allow_overlap)
    if quiet or as_json:
        emit_written(ws, VISIT, visit, "moved", as_json=as_json, quiet=quiet)
        return
    ref = records.short_ref(ws, VISIT, visit["id"])
    print(f"visit {ref} moved: {_day(visit)} {_time(visit)}, {visit['duration_min']} min")


@app.command("log")
def log(
    ctx: typer.Context,
    ref: str,
    outcome: Annotated[str, Opt("--outcome", help="What came of it, in a line.")],
    notes: Annotated[str | None, Opt("--notes", help="The visit report.")] = None,
    follow_up: Annotated[
        list[str] | None, Opt("--follow-up", help="Follow-up task title (repeatable).")
    ] = None,
    due: Annotated[list[str] | None, Opt("--due", help="Due of the Nth --follow-up.")] = None,
    no_show: Annotated[bool, Opt("--no-show", help="The customer was not there.")] = False,
    photo: Annotated[
        list[str] | None, Opt("--photo", help="A photo to keep with the visit (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Mark a visit done, write its report to the account's timeline, create follow-up tasks."""
    ws = workspace(ctx)
    if due and not follow_up:
        raise UsageError("--due belongs to a --follow-up; give --follow-up TITLE --due D")
    from sfa.services import documents

    documents.check_files(ws, photo or [], "--photo")  # before anything is written
    visit, created = visits.log_visit(
        ws, ref, outcome=outcome, notes=notes, follow_ups=follow_up or [], dues=due or [], no_show=no_show
    )
    for path in photo or []:
        documents.add(ws, path, "visit", visit["id"], kind="photo")
    if quiet:
        print(visit["id"])
        return
    refs = records.short_refs(ws, VISIT, [visit["id"]])
    task_refs = records.short_refs(ws, TASK, [t["id"] for t in created])
    if as_json:
        data = record_json(VISIT, visit, refs[visit["id"]])
        data["tasks"] = [record_json(TASK, t, task_refs[t["id"]]) for t in created]
        print_json(data)
        return
    print(f"visit {refs[visit['id']]} logged ({visit['status']}): {visit['outcome']}")
    for task in created:
        due_text = f" due {task['due_date']}" if task["due_date"] else ""
        print(f"task {task_refs[task['id']]} added: {task['title']}{due_text}")


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str | None, Opt("--reason")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Cancel a planned visit."""
    ws = workspace(ctx)
    visit = visits.cancel_visit(ws, ref, reason)
    if quiet or as_json:
        emit_written(ws, VISIT, visit, "cancelled", as_json=as_json, quiet=quiet)
        return
    ref = records.short_ref(ws, VISIT, visit["id"])
    print(f"visit {ref} cancelled: {_day(visit)} {_time(visit)}")


@app.command("show")
def show(ctx: typer.Context, ref: str, as_json: JsonOpt = False) -> None:
    """Show a visit: when, where, who, its report and follow-up tasks."""
    ws = workspace(ctx)
    detail = visits.visit_detail(ws, ref)
    visit = detail["visit"]
    task_refs = records.short_refs(ws, TASK, [t["id"] for t in detail["tasks"]])
    if as_json:
        data = record_json(VISIT, visit, records.short_ref(ws, VISIT, visit["id"]))
        data["account"] = detail["account"]["name"]
        data["contacts"] = detail["contacts"]
        data["tasks"] = [record_json(TASK, t, task_refs[t["id"]]) for t in detail["tasks"]]
        data["timeline"] = timeline_json(detail["timeline"])
        print_json(data)
        return
    labels = {
        "account_id": detail["account"]["name"],
        "contact_ids": ", ".join(detail["contacts"]),
        "starts_at": f"{_day(visit)} {_time(visit)}",
        "fixed_time": "yes" if visit["fixed_time"] else "no (flexible)",
    }
    titled = {**visit, "purpose": visit["purpose"] or f"visit at {detail['account']['name']}"}
    emit_detail(
        ws,
        VISIT,
        titled,
        labels=labels,
        sections={
            "follow-up tasks": [
                {"ref": task_refs[t["id"]], "title": t["title"], "due": t["due_date"], "status": t["status"]}
                for t in detail["tasks"]
            ],
            "timeline": [
                {"at": when(t["at"]), "text": t["text"].replace("\n", " — ")} for t in detail["timeline"]
            ],
        },
        section_columns={
            "follow-up tasks": [("ref", "Ref"), ("title", "Title"), ("due", "Due"), ("status", "Status")],
            "timeline": TIMELINE_COLUMNS,
        },
    )
