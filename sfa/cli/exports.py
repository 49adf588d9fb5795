"""`sfa export csv|json|vcard|ics|all`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, message, print_json, require_with, workspace
from sfa.domain.errors import UsageError

app = typer.Typer(help="Write records out: CSV, JSON, vCard, iCalendar, a full backup.", no_args_is_help=True)

Opt = typer.Option
Output = Annotated[
    Path | None, Opt("--output", "-o", metavar="FILE", help="Write to FILE (default: standard output).")
]
_TYPES = "account, contact, lead, opp, timeline, visit, task, product, quote, quote_line."
_VDIR_HELP = (
    "Write one <id>.vcf a contact into the --output directory, created if missing (khard, vdirsyncer)."
)
TypeOpt = Annotated[str, Opt("--type", "-t", metavar="TYPE", help=_TYPES)]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _deliver(text: str, output: Path | None, what: str, data: dict[str, object], as_json: bool) -> None:
    """The data to the file (whole or not at all) or to stdout; what was written as a message."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        message(f"exported {what}")
        return
    from sfa.services.interop.backup import write_file_atomic

    write_file_atomic(output, text)
    if as_json:
        print_json({"file": str(output), **data})
    else:
        print(f"exported {what} to {output}")


def _records(ctx: typer.Context, type_: str, fmt: str, output: Path | None, as_json: bool) -> None:
    from sfa.services.interop.backup import export_entity, export_records, render

    entity = export_entity(type_)
    ws = workspace(ctx)
    rows = export_records(ws, entity)
    what = f"{len(rows)} {entity.name} record" + ("" if len(rows) == 1 else "s")
    _deliver(render(entity, rows, fmt), output, what, {"type": entity.name, "count": len(rows)}, as_json)


@app.command("csv")
def export_csv(ctx: typer.Context, type_: TypeOpt, output: Output = None, as_json: JsonOpt = False) -> None:
    """Records of one type as CSV, with the field names of --json (deleted records left out)."""
    _records(ctx, type_, "csv", output, as_json)


@app.command("json")
def export_json(ctx: typer.Context, type_: TypeOpt, output: Output = None, as_json: JsonOpt = False) -> None:
    """Records of one type as a JSON array, as --json prints them (deleted records left out)."""
    _records(ctx, type_, "json", output, as_json)


@app.command("vcard")
def export_vcard(
    ctx: typer.Context,
    account: Annotated[str | None, Opt("--account", help="Only this account's contacts.")] = None,
    output: Output = None,
    vdir: Annotated[bool, Opt("--vdir", help=_VDIR_HELP)] = False,
    as_json: JsonOpt = False,
) -> None:
    """Contacts as vCard 3.0, for khard, Thunderbird and phones."""
    from sfa.services.interop.vcard import export_vcards, export_vdir

    if vdir:
        require_with(("--vdir", vdir), ("--output DIR", output))
        if str(output) == "-":
            raise UsageError("--vdir writes files into a directory: give --output DIR, not -")
        assert output is not None
        count = export_vdir(workspace(ctx), output, account_ref=account)
        if as_json:
            print_json({"directory": str(output), "contacts": count})
        else:
            print(f"exported {_count(count, 'contact')} to {output}")
        return
    text, count = export_vcards(workspace(ctx), account_ref=account)
    _deliver(text, output, _count(count, "contact"), {"contacts": count}, as_json)


@app.command("ics")
def export_ics(
    ctx: typer.Context,
    start: Annotated[str | None, Opt("--from", metavar="DATE", help="First day (ISO, today, -2w).")] = None,
    end: Annotated[str | None, Opt("--to", metavar="DATE", help="Last day, included.")] = None,
    output: Output = None,
    as_json: JsonOpt = False,
) -> None:
    """Visits as events and open tasks as to-dos, in one iCalendar file with stable UIDs."""
    from sfa.services.interop.ics import export_ics as build

    text, visits, tasks = build(workspace(ctx), start, end)
    _deliver(
        text,
        output,
        f"{_count(visits, 'visit')} and {_count(tasks, 'task')}",
        {"visits": visits, "tasks": tasks},
        as_json,
    )


@app.command("all")
def export_all(
    ctx: typer.Context,
    output: Annotated[Path, Opt("--output", "-o", metavar="DIR", help="A new (or empty) directory.")],
    as_json: JsonOpt = False,
) -> None:
    """Every record of every type, deleted ones too, with ids: a backup `sfa import all` restores."""
    from sfa.services.interop.backup import export_all as backup

    result = backup(workspace(ctx), output)
    if as_json:
        print_json(result)
        return
    total = sum(result["types"].values())
    print(f"exported {total} records to {result['directory']}")
