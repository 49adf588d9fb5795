"""`sfa event ...`: trade shows, conferences, webinars; booth capture; the event report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sfa.cli.common import (
    JsonOpt,
    LimitOpt,
    QuietOpt,
    emit_detail,
    emit_records,
    emit_table,
    emit_written,
    print_json,
    record_json,
    workspace,
)
from sfa.domain.entities import CAMPAIGN, CAMPAIGN_KINDS, CAMPAIGN_MEMBER, CAMPAIGN_STATUSES, CONTACT, LEAD
from sfa.domain.money import format_money
from sfa.services import events, records

app = typer.Typer(
    help="Events: trade shows, conferences, webinars; booth capture; reports.", no_args_is_help=True
)

Opt = typer.Option
Event = Annotated[str, typer.Argument(metavar="EVENT", help="Event name or short ref.")]
Kind = Annotated[str | None, Opt("--kind", help=", ".join(CAMPAIGN_KINDS))]
From = Annotated[str | None, Opt("--from", help="First day: ISO, fri, +14d ...")]
To = Annotated[str | None, Opt("--to", help="Last day (default: the first).")]
Venue = Annotated[str | None, Opt("--venue")]
Booth = Annotated[str | None, Opt("--booth")]
Budget = Annotated[str | None, Opt("--budget", help="Planned cost.")]
Url = Annotated[str | None, Opt("--url")]
Goals = Annotated[str | None, Opt("--goals")]

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("starts_on", "From"),
    ("ends_on", "To"),
    ("name", "Name"),
    ("kind", "Kind"),
    ("venue", "Venue"),
    ("status", "Status"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Event name.")],
    kind: Annotated[str, Opt("--kind", help=", ".join(CAMPAIGN_KINDS))],
    start: Annotated[str, Opt("--from", help="First day: ISO, fri, +14d ...")],
    end: To = None,
    venue: Venue = None,
    booth: Booth = None,
    budget: Budget = None,
    url: Url = None,
    goals: Goals = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add an event (a campaign) to the calendar."""
    ws = workspace(ctx)
    record = events.add_event(
        ws,
        {
            "name": name,
            "kind": kind,
            "starts_on": start,
            "ends_on": end,
            "venue": venue,
            "booth": booth,
            "budget": budget,
            "url": url,
            "goals": goals,
        },
    )
    emit_written(ws, CAMPAIGN, record, "added", as_json=as_json, quiet=quiet)


@app.command("edit")
def edit(
    ctx: typer.Context,
    event: Event,
    name: Annotated[str | None, Opt("--name")] = None,
    kind: Kind = None,
    start: From = None,
    end: To = None,
    venue: Venue = None,
    booth: Booth = None,
    budget: Budget = None,
    cost: Annotated[str | None, Opt("--cost", help="Actual cost.")] = None,
    url: Url = None,
    goals: Goals = None,
    status: Annotated[str | None, Opt("--status", help=", ".join(CAMPAIGN_STATUSES))] = None,
    report: Annotated[str | None, Opt("--report", help="The event report (text).")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change an event: dates, venue, cost, status, the event report ("" clears)."""
    ws = workspace(ctx)
    record = events.edit_event(
        ws,
        event,
        {
            "name": name,
            "kind": kind,
            "starts_on": start,
            "ends_on": end,
            "venue": venue,
            "booth": booth,
            "budget": budget,
            "actual_cost": cost,
            "url": url,
            "goals": goals,
            "status": status,
            "report": report,
        },
    )
    emit_written(ws, CAMPAIGN, record, "updated", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    upcoming: Annotated[bool, Opt("--upcoming", help="Only events not yet over, soonest first.")] = False,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List events, newest first (or upcoming ones, soonest first)."""
    ws = workspace(ctx)
    rows = events.list_events(ws, upcoming=upcoming, limit=limit)
    emit_records(ws, CAMPAIGN, rows, LIST_COLUMNS, as_json=as_json, empty="no events")


def _people(ws: Any, members: list[dict[str, Any]]) -> dict[str, str]:
    contacts = records.titles_of(ws, CONTACT, [m["contact_id"] for m in members if m["contact_id"]])
    leads = records.titles_of(ws, LEAD, [m["lead_id"] for m in members if m["lead_id"]])
    return {**contacts, **leads}


@app.command("show")
def show(ctx: typer.Context, event: Event, as_json: JsonOpt = False) -> None:
    """Show an event with its members (invited, registered, attended, met)."""
    ws = workspace(ctx)
    record = events.resolve(ws, event)
    members = events.members_of(ws, record["id"])
    names = _people(ws, members)
    if as_json:
        data = record_json(CAMPAIGN, record, records.short_ref(ws, CAMPAIGN, record["id"]))
        data["members"] = [
            {**record_json(CAMPAIGN_MEMBER, m), "name": names.get(m["contact_id"] or m["lead_id"] or "")}
            for m in members
        ]
        print_json(data)
        return
    currency = record["currency"] or ""
    labels = {
        k: format_money(record[k], currency) for k in ("budget", "actual_cost") if record[k] is not None
    }
    rows = [
        {
            "name": names.get(m["contact_id"] or m["lead_id"] or "", ""),
            "what": "contact" if m["contact_id"] else "lead",
            "status": m["status"],
            "rep": m["owner"] or "",
        }
        for m in members
    ]
    emit_detail(
        ws,
        CAMPAIGN,
        record,
        labels=labels,
        sections={"members": rows},
        section_columns={"members": [("name", "Name"), ("what", ""), ("status", "Status"), ("rep", "Rep")]},
    )


@app.command("invite")
def invite(
    ctx: typer.Context,
    event: Event,
    contact: Annotated[list[str] | None, Opt("--contact", help="Contact ref (repeat).")] = None,
    path: Annotated[
        str | None, Opt("--from", metavar="FILE", help="Contact refs or emails, one a line.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Invite contacts to an event (one member row each, status invited)."""
    from sfa.cli.common import require_one

    require_one(("--contact", contact), ("--from", path))
    ws = workspace(ctx)
    result = events.invite(ws, event, contact or (), Path(path) if path else None)
    if as_json:
        print_json(result)
        return
    print(f"{result['invited']} invited ({result['already']} were on the event already)")


@app.command("capture")
def capture(
    ctx: typer.Context,
    event: Event,
    name: Annotated[str | None, typer.Argument(help="The person met.")] = None,
    company: Annotated[str | None, Opt("--company")] = None,
    email: Annotated[str | None, Opt("--email")] = None,
    phone: Annotated[str | None, Opt("--phone")] = None,
    rating: Annotated[str | None, Opt("--rating", help="hot, warm or cold.")] = None,
    notes: Annotated[str | None, Opt("--notes")] = None,
    path: Annotated[
        str | None, Opt("--from", metavar="FILE", help="A badge-scanner export (CSV), instead of NAME.")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Capture a person met at the booth: linked or a new lead, member row, follow-up task."""
    from sfa.cli.common import refuse_together
    from sfa.domain.errors import UsageError

    refuse_together(("NAME", name), ("--from", path))
    if path is not None:
        refuse_together(("--from", path), ("--company", company or email or phone or rating or notes))
    elif name is None:
        raise UsageError("give NAME, or --from FILE")
    ws = workspace(ctx)
    if path is not None:
        done = events.capture_file(ws, event, Path(path))
    else:
        done = [
            events.capture(
                ws, event, name or "", company=company, email=email, phone=phone, rating=rating, notes=notes
            )
        ]
    if quiet:
        for item in done:
            print(item.member["id"])
        return
    if as_json:
        print_json(
            [
                {
                    "member": record_json(CAMPAIGN_MEMBER, c.member),
                    "linked": c.linked,
                    "person": c.person["id"],
                    "task": c.task["id"],
                }
                for c in done
            ]
        )
        return
    for item in done:
        print(
            f"{item.person['name']}: {item.linked}, met at {item.event['name']}; follow-up due {item.task['due_date']}"
        )


@app.command("report")
def report(ctx: typer.Context, event: Event, as_json: JsonOpt = False) -> None:
    """The event report: invited, attended, met; leads, converted; pipeline, won; cost per lead, ROI."""
    ws = workspace(ctx)
    result = events.report(ws, event)
    if as_json:
        print_json(events.report_json(result))
        return
    print_report(result)


def print_report(result: events.Report) -> None:
    currency = result.event["currency"] or ""

    def money(value: Any) -> str:
        return "" if value is None else format_money(value, currency)

    rows = [
        {"what": label, "value": value}
        for label, value in (
            ("invited", str(result.counts["invited"])),
            ("registered", str(result.counts["registered"])),
            ("attended", str(result.counts["attended"])),
            ("no-show", str(result.counts["no-show"])),
            ("met", str(result.counts["met"])),
            ("leads captured", str(result.leads)),
            ("leads converted", str(result.converted)),
            ("opportunities", str(result.opportunities)),
            ("pipeline", money(result.pipeline)),
            ("won", money(result.won)),
            ("cost", money(result.cost)),
            ("cost per lead", money(result.cost_per_lead)),
            ("ROI", "" if result.roi is None else f"{result.roi * 100:.0f} %"),
        )
    ]
    print(f"{result.event['name']} ({result.event['starts_on']})")
    emit_table(rows, [("what", ""), ("value", "")])
