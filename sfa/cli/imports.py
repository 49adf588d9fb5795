"""`sfa import csv|vcard|all`"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from sfa.cli.common import JsonOpt, message, print_json, workspace
from sfa.domain.errors import NothingImportedError

app = typer.Typer(
    help="Bring records in: CSV from other tools, vCards, a full sfa backup.", no_args_is_help=True
)

Opt = typer.Option
FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="The file to read (- for standard input).")]
DryRun = Annotated[bool, Opt("--dry-run", help="Check and count everything; write nothing.")]
OnDuplicate = Annotated[
    str,
    Opt(
        "--on-duplicate",
        metavar="skip|update|create",
        help="What to do with a row that matches an existing record (default: skip).",
    ),
]
SHOWN_PROBLEMS = 20


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # Redrawn by the import's own calls (every 500 rows), not by rich's refresh thread: the bulk
    # writer forks, and a process with no other thread forks safely.
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        auto_refresh=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, refresh=True)

        yield update


@contextmanager
def _interruptible() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        message(
            "sfa: batches already written are kept; run the same import again to finish it "
            "(rows already imported are skipped as duplicates)"
        )
        raise


def _print_summary(data: dict[str, Any], noun: str) -> None:
    verb = "would be " if data["dry_run"] else ""
    parts = [
        f"{data['created']} {verb}created",
        f"{data['updated']} {verb}updated",
        f"{data['skipped']} skipped",
        f"{data['rejected']} rejected",
    ]
    line = f"{data['rows']} {noun} read: " + ", ".join(parts)
    if data["accounts_created"]:
        line += f"; {data['accounts_created']} new accounts {verb}created"
    print(line)
    if data.get("ignored_columns"):
        print("ignored columns: " + ", ".join(data["ignored_columns"]))
    for kind in ("rejected", "skipped"):
        rows = data[f"{kind}_rows"]
        for row in rows[:SHOWN_PROBLEMS]:
            print(f"  {kind} line {row['line']}: {row['reason']}")
        if len(rows) > SHOWN_PROBLEMS:
            print(f"  ... and {len(rows) - SHOWN_PROBLEMS} more {kind} (see --json)")


def _fail_if_all_rejected(data: dict[str, Any], noun: str) -> None:
    """Some rows rejected is a partial import (exit 0, the summary says which); all of them is a
    failure a script must see."""
    if _all_rejected(data):
        raise NothingImportedError(data["rejected"], noun)


def _all_rejected(data: dict[str, Any]) -> bool:
    return bool(data["rejected"] and not (data["created"] or data["updated"] or data["skipped"]))


@app.command("csv")
def import_csv(
    ctx: typer.Context,
    file: FileArg,
    type_: Annotated[
        str,
        Opt("--type", "-t", metavar="account|contact|lead|product|opp", help="The record type the rows are."),
    ],
    maps: Annotated[
        list[str] | None,
        Opt(
            "--map",
            metavar="COLUMN=FIELD",
            help="Map a column to a field (repeatable); FIELD - ignores the column.",
        ),
    ] = None,
    dry_run: DryRun = False,
    on_duplicate: OnDuplicate = "skip",
    as_json: JsonOpt = False,
) -> None:
    """Import rows of a CSV file (comma, semicolon or tab; a header line names the columns)."""
    from sfa.services.interop.csv_import import import_csv as run

    ws = workspace(ctx)
    with _progress("importing") as progress, _interruptible():
        summary = run(
            ws, file, type_, maps=maps or [], dry_run=dry_run, on_duplicate=on_duplicate, progress=progress
        )
    data = summary.as_dict()
    if as_json:
        print_json(data)
    else:
        # How the file was read goes to stderr; when every row is rejected it is part of the
        # summary on stdout instead, so that stderr holds the one error line (docs/cli.md).
        note = print if _all_rejected(data) else message
        if data.get("header_line", 1) > 1:
            note(f"header: line {data['header_line']} (the lines above it are not rows)")
        if data["mapping"]:
            note("columns: " + ", ".join(f"{c} -> {f}" for c, f in data["mapping"].items()))
        _print_summary(data, "rows")
    _fail_if_all_rejected(data, "rows")


@app.command("vcard")
def import_vcard(
    ctx: typer.Context,
    file: FileArg,
    dry_run: DryRun = False,
    on_duplicate: OnDuplicate = "skip",
    as_json: JsonOpt = False,
) -> None:
    """Import contacts from a vCard file (3.0 or 4.0, any number of cards); ORG is the account."""
    from sfa.services.interop.vcard import import_vcards

    ws = workspace(ctx)
    with _progress("importing") as progress, _interruptible():
        summary = import_vcards(ws, file, on_duplicate=on_duplicate, dry_run=dry_run, progress=progress)
    data = summary.as_dict()
    if as_json:
        print_json(data)
    else:
        _print_summary(data, "cards")
    _fail_if_all_rejected(data, "cards")


@app.command("all")
def import_all(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A directory `sfa export all` wrote.")],
    as_json: JsonOpt = False,
) -> None:
    """Restore a full backup into an empty store, keeping every id."""
    from sfa.services.interop.backup import import_all as restore

    ws = workspace(ctx)
    result = restore(ws, directory)
    if as_json:
        print_json(result)
        return
    total = sum(result["types"].values())
    detail = ", ".join(f"{n} {t}" for t, n in result["types"].items() if n)
    print(f"restored {total} records from {result['directory']}" + (f": {detail}" if detail else ""))
    if result["settings_restored"]:
        print(f"restored settings: {', '.join(result['settings_restored'])}")
    if result["settings_kept"]:
        print(f"kept this home's own settings: {', '.join(result['settings_kept'])}")
