"""`sfa doc ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import (
    JsonOpt,
    LimitOpt,
    QuietOpt,
    emit_table,
    print_json,
    record_json,
    require_one,
    workspace,
)
from sfa.domain.entities import DOCUMENT
from sfa.services import documents, records
from sfa.store.db import Record
from sfa.store.workspace import Workspace

app = typer.Typer(
    help="Documents: files kept with accounts, deals, orders, contracts, products.", no_args_is_help=True
)

Opt = typer.Option
DRef = Annotated[str, typer.Argument(metavar="DREF", help="Document ref.")]
File = Annotated[str, typer.Argument(metavar="FILE", help="The file to keep.")]
Account = Annotated[str | None, Opt("--account", help="Account ref.")]
Contact = Annotated[str | None, Opt("--contact", help="Contact ref.")]
Opp = Annotated[str | None, Opt("--opp", help="Opportunity ref.")]
Quote = Annotated[str | None, Opt("--quote", help="Quote ref.")]
Order = Annotated[str | None, Opt("--order", help="Order ref.")]
Contract = Annotated[str | None, Opt("--contract", help="Contract ref.")]
Visit = Annotated[str | None, Opt("--visit", help="Visit ref.")]
Product = Annotated[str | None, Opt("--product", help="Product SKU or ref.")]
Kind = Annotated[str | None, Opt("--kind", help="brochure, datasheet, contract, drawing, photo or other.")]

COLUMNS = [
    ("ref", "Ref"),
    ("title", "Title"),
    ("kind", "Kind"),
    ("belongs_to", "Belongs to"),
    ("version", "Version"),
    ("size", "Size"),
    ("here", "Here"),
]


def _owner(**given: str | None) -> tuple[str, str] | None:
    names = {"opp": "opportunity"}
    chosen = [(names.get(k, k), v) for k, v in given.items() if v is not None]
    return chosen[0] if chosen else None


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _json(ws: Workspace, doc: Record) -> dict[str, object]:
    data = record_json(DOCUMENT, doc, records.short_ref(ws, DOCUMENT, doc["id"]))
    data["content_here"] = documents.has_content(ws, doc)
    return data


@app.command("add")
def add(
    ctx: typer.Context,
    file: File,
    account: Account = None,
    contact: Contact = None,
    opp: Opp = None,
    quote: Quote = None,
    order: Order = None,
    contract: Contract = None,
    visit: Visit = None,
    product: Product = None,
    kind: Kind = None,
    title: Annotated[str | None, Opt("--title", help="Default: the file name.")] = None,
    language: Annotated[str | None, Opt("--language")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Keep a file with a record (stored once by content; synced)."""
    given = {"account": account, "contact": contact, "opp": opp, "quote": quote, "order": order}
    given.update(contract=contract, visit=visit, product=product)
    require_one(*((f"--{k}", v) for k, v in given.items()))
    owner = _owner(**given)
    assert owner is not None
    ws = workspace(ctx)
    doc = documents.add(ws, file, owner[0], owner[1], kind=kind, title=title, language=language)
    _written(ws, doc, "added", as_json=as_json, quiet=quiet)


def _written(ws: Workspace, doc: Record, verb: str, *, as_json: bool, quiet: bool) -> None:
    if quiet:
        print(doc["id"])
    elif as_json:
        print_json(_json(ws, doc))
    else:
        ref = records.short_ref(ws, DOCUMENT, doc["id"])
        print(
            f"document {ref} {verb}: {doc['title']} (v{doc['version']}, {_size(doc['size'])}, sha256 {doc['sha256'][:12]})"
        )


@app.command("version")
def version(
    ctx: typer.Context, dref: DRef, file: File, as_json: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    """Add a new version of a document (a new record; the old one is kept)."""
    ws = workspace(ctx)
    _written(ws, documents.version(ws, dref, file), "versioned", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    account: Account = None,
    contact: Contact = None,
    opp: Opp = None,
    quote: Quote = None,
    order: Order = None,
    contract: Contract = None,
    visit: Visit = None,
    product: Product = None,
    kind: Kind = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List documents (latest versions), newest first; an account's include its records'."""
    given = {"account": account, "contact": contact, "opp": opp, "quote": quote, "order": order}
    given.update(contract=contract, visit=visit, product=product)
    from sfa.cli.common import refuse_together

    refuse_together(*((f"--{k}", v) for k, v in given.items()))
    owner = _owner(**given)
    ws = workspace(ctx)
    rows = documents.list_documents(
        ws, owner=owner[0] if owner else None, ref=owner[1] if owner else None, kind=kind, limit=limit
    )
    if as_json:
        print_json([_json(ws, d) for d in rows])
        return
    refs = records.short_refs(ws, DOCUMENT, [d["id"] for d in rows])
    table = [
        {
            "ref": refs[d["id"]],
            "title": d["title"],
            "kind": d["kind"] or "",
            "belongs_to": d["record_entity"],
            "version": d["version"],
            "size": _size(d["size"]),
            "here": "yes" if documents.has_content(ws, d) else "no",
        }
        for d in rows
    ]
    emit_table(table, COLUMNS, empty="no documents")


@app.command("show")
def show(ctx: typer.Context, dref: DRef, as_json: JsonOpt = False) -> None:
    """Show a document's details."""
    ws = workspace(ctx)
    doc = records.get(ws, DOCUMENT, dref)
    if as_json:
        print_json(_json(ws, doc))
        return
    print(f"document {records.short_ref(ws, DOCUMENT, doc['id'])}  {doc['title']}  (v{doc['version']})")
    for label, value in (
        ("file", doc["filename"]),
        ("kind", doc["kind"]),
        ("media type", doc["media_type"]),
        ("size", _size(doc["size"])),
        ("sha256", doc["sha256"]),
        ("belongs to", f"{doc['record_entity']} {doc['record_id']}"),
        ("language", doc["language"]),
        ("valid until", doc["valid_until"]),
        (
            "content on this laptop",
            "yes" if documents.has_content(ws, doc) else "no (sfa doc get fetches it)",
        ),
    ):
        if value not in (None, ""):
            print(f"  {label}: {value}")
    print(f"  id: {doc['id']}")


@app.command("get")
def get(
    ctx: typer.Context,
    dref: DRef,
    output: Annotated[
        str, Opt("--output", "-o", metavar="FILE", help="Where to write it (a folder keeps the name).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Write a document's content to a file (fetched from the server when not on this laptop)."""
    ws = workspace(ctx)
    written = documents.get(ws, dref, output)
    if as_json:
        print_json({"path": str(written.path), "bytes": written.size})
    else:
        print(written.path)


@app.command("open")
def open_(ctx: typer.Context, dref: DRef) -> None:
    """Open a document with the desktop's program for it."""
    ws = workspace(ctx)
    print(documents.open_document(ws, dref))


@app.command("delete")
def delete(ctx: typer.Context, dref: DRef, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete a document (a tombstone that syncs)."""
    ws = workspace(ctx)
    doc = documents.delete(ws, dref)
    if quiet:
        print(doc["id"])
    elif as_json:
        print_json(record_json(DOCUMENT, doc))
    else:
        print(f"document {doc['title']} deleted")
