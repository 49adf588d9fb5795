"""`sfa lead ...`"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from sfa.cli.common import (
    TIMELINE_COLUMNS,
    AllowDuplicateOpt,
    EmailOpt,
    JsonOpt,
    LimitOpt,
    NotesOpt,
    PhoneOpt,
    QuietOpt,
    TagsOpt,
    emit_detail,
    emit_records,
    emit_written,
    message,
    print_json,
    record_json,
    refuse_together,
    require_with,
    timeline_json,
    timeline_rows,
    workspace,
)
from sfa.domain.entities import LEAD
from sfa.domain.errors import UsageError, ValidationError
from sfa.services import leads, records

app = typer.Typer(help="Leads: capture, duplicate check, qualify, convert.", no_args_is_help=True)

Opt = typer.Option
_STATUS_HELP = "new, contacted, qualified, disqualified or converted."
Company = Annotated[str | None, typer.Option("--company", help="Company the lead works for.")]
Email = EmailOpt
Phone = PhoneOpt
Source = Annotated[str | None, typer.Option("--source", help="Where the lead came from.")]
Rating = Annotated[str | None, typer.Option("--rating", help="hot, warm or cold.")]
Notes = NotesOpt
Tags = TagsOpt
AllowDuplicate = AllowDuplicateOpt

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("name", "Name"),
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("status", "Status"),
    ("rating", "Rating"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The lead's name.")] = None,
    company: Company = None,
    email: Email = None,
    phone: Phone = None,
    source: Source = None,
    rating: Rating = None,
    notes: Notes = None,
    tags: Tags = None,
    allow_duplicate: AllowDuplicate = False,
    skip_duplicates: Annotated[
        bool, typer.Option("--skip-duplicates", help="With --from: skip duplicate rows, add the rest.")
    ] = False,
    from_file: Annotated[
        str | None,
        typer.Option("--from", metavar="FILE|-", help="Add many: CSV with a header, or JSON lines."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a lead; refused if it duplicates a lead or contact (same email, phone, or name + company)."""
    raw = {
        "name": name,
        "company": company,
        "email": email,
        "phone": phone,
        "source": source,
        "rating": rating,
        "notes": notes,
        "tags": tags,
    }
    refuse_together(("--allow-duplicate", allow_duplicate), ("--skip-duplicates", skip_duplicates))
    require_with(("--skip-duplicates", skip_duplicates), ("--from", from_file))
    if from_file is not None:
        # The rows carry the fields: a NAME or a field option beside --from would be ignored.
        for field, value in raw.items():
            refuse_together(("NAME" if field == "name" else f"--{field}", value), ("--from", from_file))
        _add_from(workspace(ctx), from_file, allow_duplicate, skip_duplicates, as_json, quiet)
        return
    if name is None:
        raise UsageError("missing argument NAME (or --from FILE)")
    ws = workspace(ctx)
    record = leads.add_lead(ws, raw, allow_duplicate=allow_duplicate)
    emit_written(ws, LEAD, record, "added", as_json=as_json, quiet=quiet)


def _read_source(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.read()
        with open(source, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except OSError as exc:
        raise ValidationError("--from", f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValidationError("--from", f"{source} is not UTF-8 text") from None


def _add_from(ws: Any, source: str, allow: bool, skip: bool, as_json: bool, quiet: bool) -> None:
    rows = leads.parse_batch(_read_source(source))
    if not rows:
        raise ValidationError("--from", "no leads in the input")
    result = leads.add_leads(ws, rows, allow_duplicate=allow, skip_duplicates=skip)
    if quiet:
        sys.stdout.write("".join(f"{r['id']}\n" for r in result.created))
    elif as_json:
        print_json(
            {
                "created": len(result.created),
                "skipped": result.skipped,
                "ids": [r["id"] for r in result.created],
            }
        )
    else:
        print(
            f"added {len(result.created)} leads"
            + (f", skipped {len(result.skipped)} duplicates" if result.skipped else "")
        )
        for skipped in result.skipped[:20]:
            first = skipped["duplicate_of"][0]
            message(
                f"  line {skipped['line']}: {skipped['name']!r} duplicates "
                f"{first['entity']} {first['name']!r} (same {first['reason']})"
            )


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help=_STATUS_HELP)] = None,
    rating: Rating = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List leads, newest first."""
    ws = workspace(ctx)
    rows = leads.list_leads(ws, status=status, rating=rating, limit=limit)
    emit_records(ws, LEAD, rows, LIST_COLUMNS, as_json=as_json, empty="no leads")


@app.command("show")
def show(ctx: typer.Context, ref: str, as_json: JsonOpt = False) -> None:
    """Show a lead with its timeline."""
    ws = workspace(ctx)
    lead = records.get(ws, LEAD, ref)
    timeline = records.timeline_of(ws, lead["id"])
    if as_json:
        data = record_json(LEAD, lead, records.short_ref(ws, LEAD, lead["id"]))
        data["timeline"] = timeline_json(timeline)
        print_json(data)
        return
    emit_detail(
        ws,
        LEAD,
        lead,
        sections={"timeline": timeline_rows(timeline)},
        section_columns={"timeline": TIMELINE_COLUMNS},
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str,
    name: Annotated[str | None, typer.Option("--name")] = None,
    company: Company = None,
    email: Email = None,
    phone: Phone = None,
    source: Source = None,
    rating: Rating = None,
    notes: Notes = None,
    tags: Tags = None,
    allow_duplicate: AllowDuplicate = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a lead's fields; an empty value ("") clears a field."""
    ws = workspace(ctx)
    raw = {
        "name": name,
        "company": company,
        "email": email,
        "phone": phone,
        "source": source,
        "rating": rating,
        "notes": notes,
        "tags": tags,
    }
    record = leads.edit_lead(ws, ref, raw, allow_duplicate=allow_duplicate)
    emit_written(ws, LEAD, record, "updated", as_json=as_json, quiet=quiet)


@app.command("delete")
def delete(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete a lead (a tombstone that syncs; history keeps what it held)."""
    ws = workspace(ctx)
    record = records.delete(ws, LEAD, ref)
    emit_written(ws, LEAD, record, "deleted", as_json=as_json, quiet=quiet)


@app.command("contacted")
def contacted(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Mark a new lead as contacted."""
    ws = workspace(ctx)
    emit_written(ws, LEAD, leads.set_contacted(ws, ref), "contacted", as_json=as_json, quiet=quiet)


@app.command("qualify")
def qualify(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Mark a lead as qualified."""
    ws = workspace(ctx)
    emit_written(ws, LEAD, leads.qualify(ws, ref), "qualified", as_json=as_json, quiet=quiet)


@app.command("disqualify")
def disqualify(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it is not a fit.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Mark a lead as disqualified."""
    ws = workspace(ctx)
    record = leads.disqualify(ws, ref, reason)
    emit_written(ws, LEAD, record, "disqualified", as_json=as_json, quiet=quiet)


@app.command("convert")
def convert(
    ctx: typer.Context,
    ref: str,
    opportunity: Annotated[str | None, Opt("--opportunity", help="Also open an opportunity.")] = None,
    amount: Annotated[str | None, Opt("--amount", help="Opportunity amount: 12000, 12,000.50, 12k.")] = None,
    close_date: Annotated[str | None, Opt("--close-date", help="Expected close: ISO, fri, +2w ...")] = None,
    account: Annotated[str | None, Opt("--account", help="Link this account.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Convert a lead into an account (found or new), a contact and optionally an opportunity."""
    from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY

    ws = workspace(ctx)
    result = leads.convert(
        ws, ref, opportunity=opportunity, amount=amount, close_date=close_date, account_ref=account
    )
    if quiet:
        print(result["lead"]["id"])
        return
    parts = [
        (ACCOUNT, result["account"], result["account_created"]),
        (CONTACT, result["contact"], result["contact_created"]),
    ]
    if result["opportunity"]:
        parts.append((OPPORTUNITY, result["opportunity"], True))
    if as_json:
        data = {"lead": record_json(LEAD, result["lead"]), "opportunity": None}
        data.update({e.name: {**record_json(e, r), "created": created} for e, r, created in parts})
        print_json(data)
        return
    print(f"lead {result['lead']['name']!r} converted")
    for entity, record, created in parts:
        ref_ = records.short_ref(ws, entity, record["id"])
        print(f"  {entity.name} {ref_} {'created' if created else 'linked'}: {record['name']}")
