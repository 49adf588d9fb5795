"""What every command shares: the workspace, option types, and output.

Data goes to stdout, messages to stderr. In a terminal, tables are drawn with rich; otherwise they
are tab-separated with a header line, with no colour and no prompts. ``--json`` prints the records
with the field names documented in docs/json.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sfa.domain.entities import Entity
from sfa.domain.errors import UsageError
from sfa.services import records as record_service
from sfa.store import codec
from sfa.store.db import Record
from sfa.store.workspace import Workspace

if TYPE_CHECKING:  # the export module (and its PDF code) is imported only by the export commands
    from sfa.services.quote_export import ExportResult

# -- flags that contradict each other ------------------------------------------------------------
# One rule for every command: two options that cannot both hold are a usage error (exit 2) naming
# both, raised before anything is read or written (docs/cli.md, "Exit codes").


def _given(value: Any) -> bool:
    """An option counts as given when it is on (a flag) or has any value, even ""."""
    return value is not None and value is not False and value != [] and value != ()


def refuse_together(*options: tuple[str, Any]) -> None:
    """Refuse when two of the (flag, value) pairs are given: "--a and --b cannot be used together"."""
    given = [flag for flag, value in options if _given(value)]
    if len(given) > 1:
        raise UsageError(f"{given[0]} and {given[1]} cannot be used together")


def require_with(option: tuple[str, Any], needed: tuple[str, Any]) -> None:
    """Refuse an option given without the one it belongs to: "--a needs --b"."""
    if _given(option[1]) and not _given(needed[1]):
        raise UsageError(f"{option[0]} needs {needed[0]}")


def require_both(first: tuple[str, Any], second: tuple[str, Any]) -> None:
    """Two options that only mean something together (--lat and --lon): both or neither."""
    require_with(first, second)
    require_with(second, first)


def require_one(*options: tuple[str, Any]) -> None:
    """Exactly one of the options: two are refused by refuse_together, none names them all."""
    refuse_together(*options)
    if not any(_given(value) for _, value in options):
        raise UsageError("give one of " + ", ".join(flag for flag, _ in options))


def _excludes(*others: str) -> Callable[[typer.Context, Any, Any], Any]:
    """A parameter callback refusing the option together with the `others` (checked whichever of
    the two comes last on the command line, so before the command runs)."""

    def check(ctx: typer.Context, param: Any, value: Any) -> Any:
        if _given(value):
            for other in ctx.command.params:
                if set(getattr(other, "opts", ())) & set(others) and _given(ctx.params.get(other.name or "")):
                    refuse_together((_flag(other.opts), True), (_flag(param.opts), True))
        return value

    return check


def _flag(opts: Sequence[str]) -> str:
    """The long form of an option's names (-q/--quiet is named --quiet)."""
    return next((o for o in opts if o.startswith("--")), opts[0])


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON instead of text.", callback=_excludes("-q", "--quiet"))
]
QuietOpt = Annotated[
    bool, typer.Option("-q", "--quiet", help="Print only the id.", callback=_excludes("--json"))
]
LIMIT_CAP = 1_000_000_000


def _cap_limit(value: int | None) -> int | None:
    """A limit beyond any store (10**30, say) means every row: capped, not an overflow in SQL."""
    return None if value is None else min(value, LIMIT_CAP)


LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, callback=_cap_limit, help="At most N rows.")
]
# Options several record types share, declared once.
AllowDuplicateOpt = Annotated[
    bool, typer.Option("--allow-duplicate", help="Add even if it looks like an existing record.")
]
EmailOpt = Annotated[str | None, typer.Option("--email")]
PhoneOpt = Annotated[str | None, typer.Option("--phone")]
NotesOpt = Annotated[str | None, typer.Option("--notes")]
TagsOpt = Annotated[str | None, typer.Option("--tags", help="Comma-separated tags.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owning rep (default: you).")]
CurrencyOpt = Annotated[
    str | None, typer.Option("--currency", help="Three-letter code (default from config).")
]

_workspace: Workspace | None = None


def workspace(ctx: typer.Context) -> Workspace:
    """The workspace for this process, opened on first use."""
    global _workspace
    if _workspace is None:
        root = ctx.find_root()
        home = (root.obj or {}).get("home") if root.obj else None
        _workspace = Workspace(home)
    return _workspace


def close_workspace() -> None:
    global _workspace
    if _workspace is not None:
        _workspace.close()
        _workspace = None


def is_terminal() -> bool:
    return sys.stdout.isatty()


def message(text: str) -> None:
    print(text, file=sys.stderr)


# -- JSON ---------------------------------------------------------------------------------------


def record_json(entity: Entity, record: Record, ref: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": record["id"]}
    if ref is not None:
        data["ref"] = ref
    for field in entity.fields:
        data[field.name] = codec.to_wire(field, record.get(field.name))
    for extra in ("created_at", "updated_at"):
        if extra in record:
            data[extra] = record[extra]
    return data


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=codec.json_default))
    sys.stdout.write("\n")


# -- timelines ------------------------------------------------------------------------------------

TIMELINE_COLUMNS: list[tuple[str, str]] = [("at", "When"), ("text", "What")]


def timeline_json(entries: Sequence[Record]) -> list[dict[str, Any]]:
    """A record's timeline in `show --json`: newest first."""
    return [{"at": t["at"], "kind": t["kind"], "text": t["text"]} for t in entries]


def timeline_rows(entries: Sequence[Record]) -> list[dict[str, Any]]:
    """A record's timeline as rows of TIMELINE_COLUMNS, times in the local zone."""
    return [{"at": when(t["at"]), "text": t["text"]} for t in entries]


# -- writes -------------------------------------------------------------------------------------


def emit_written(
    ws: Workspace, entity: Entity, record: Record, verb: str, *, as_json: bool, quiet: bool
) -> None:
    """A write prints the resulting record: its id (-q), JSON (--json), or one line."""
    if quiet:
        print(record["id"])
        return
    ref = record_service.short_ref(ws, entity, record["id"])
    if as_json:
        print_json(record_json(entity, record, ref))
        return
    print(f"{entity.name} {ref} {verb}: {record.get(entity.title)}")


def emit_export(result: ExportResult, *, as_json: bool, quiet: bool, revision: bool = False) -> None:
    """A written document (quote, order, contract): its path, with the export's note on stderr
    unless -q; with --json its facts (`revision` for the records that have one in their output)."""
    if as_json:
        facts: dict[str, Any] = {"path": str(result.path), "format": result.format, "number": result.number}
        if revision:
            facts["revision"] = result.revision
        print_json({**facts, "bytes": result.size})
        return
    print(result.path)
    if result.note and not quiet:
        message(result.note)


# -- tables -------------------------------------------------------------------------------------

Column = tuple[str, str]  # (key in the row dict, header)


def emit_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    if not rows:
        message(empty)
        return
    if not is_terminal():
        lines = ["\t".join(header.lower() for _, header in columns)]
        keys = [key for key, _ in columns]
        lines += ["\t".join(_cell(row.get(key)).replace("\t", " ") for key in keys) for row in rows]
        lines.append("")
        sys.stdout.write("\n".join(lines))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=None, header_style="bold", pad_edge=False)
    for key, header in columns:
        numeric = key in ("amount", "weighted", "probability", "count")
        table.add_column(
            header,
            justify="right" if numeric else "left",
            style="cyan" if key == "ref" else None,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key, _ in columns))
    Console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is int:
        return str(value)
    if kind is date:
        return str(value.isoformat())
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(codec.json_default(value)) if not isinstance(value, str | int | float) else str(value)


def emit_records(
    ws: Workspace,
    entity: Entity,
    records: Sequence[Record],
    columns: Sequence[Column],
    *,
    as_json: bool,
    extra: Callable[[list[Record]], Iterable[dict[str, Any]]] | None = None,
    empty: str = "",
) -> None:
    """A listing: every row carries its short ref; `extra` adds display-only values per row."""
    refs = record_service.short_refs(ws, entity, [r["id"] for r in records])
    if as_json:
        print_json([record_json(entity, r, refs[r["id"]]) for r in records])
        return
    # Only the shown columns are copied: long listings spend their time here.
    keys = [key for key, _ in columns]
    rows = [{key: r.get(key) for key in keys} for r in records]
    for row, record in zip(rows, records, strict=True):
        row["ref"] = refs[record["id"]]
    if extra is not None:
        for row, added in zip(rows, extra(list(records)), strict=True):
            row.update(added)
    emit_table(rows, columns, empty=empty or f"no {entity.name}s")


def emit_detail(
    ws: Workspace,
    entity: Entity,
    record: Record,
    *,
    labels: dict[str, str] | None = None,
    sections: dict[str, list[dict[str, Any]]] | None = None,
    section_columns: dict[str, Sequence[Column]] | None = None,
) -> None:
    """`show` in text form: one field a line, then related sections."""
    ref = record_service.short_ref(ws, entity, record["id"])
    labels = labels or {}
    print(f"{entity.name} {ref}  {record.get(entity.title)}")
    for field in entity.fields:
        value = record.get(field.name)
        if field.name in (entity.title, "deleted") or value in (None, [], ""):
            continue
        shown = labels.get(field.name, _cell(value))
        print(f"  {field.name.replace('_id', '').replace('_', ' ')}: {shown}")
    print(f"  id: {record['id']}")
    for name, rows in (sections or {}).items():
        print()
        print(f"{name} ({len(rows)})")
        if rows:
            emit_table(rows, (section_columns or {}).get(name, [("text", "")]))


def when(value: Any) -> str:
    """A stored UTC instant shown in the local zone, to the minute."""
    from datetime import datetime

    from sfa.domain.dates import from_iso_utc, local_zone

    moment = value if isinstance(value, datetime) else from_iso_utc(str(value))
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
