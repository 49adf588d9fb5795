"""`sfa contact ...`"""

from __future__ import annotations

from typing import Annotated

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
    print_json,
    record_json,
    timeline_json,
    timeline_rows,
    workspace,
)
from sfa.domain.entities import ACCOUNT, CONTACT
from sfa.services import crm, records

app = typer.Typer(help="Contacts at accounts.", no_args_is_help=True)

Opt = typer.Option
Account = Annotated[str | None, Opt("--account", help="Account ref.")]
Email = EmailOpt
Phone = PhoneOpt
Mobile = Annotated[str | None, Opt("--mobile")]
Title = Annotated[str | None, Opt("--title", help="Job title.")]
Tags = TagsOpt
Notes = NotesOpt

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("name", "Name"),
    ("title", "Title"),
    ("account", "Account"),
    ("email", "Email"),
    ("phone", "Phone"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    account: Account = None,
    email: Email = None,
    phone: Phone = None,
    mobile: Mobile = None,
    title: Title = None,
    tags: Tags = None,
    notes: Notes = None,
    allow_duplicate: AllowDuplicateOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a contact; refused if it duplicates a contact or lead (same email, phone, or name at the account)."""
    ws = workspace(ctx)
    raw = {
        "name": name,
        "account_id": account,
        "email": email,
        "phone": phone,
        "mobile": mobile,
        "title": title,
        "tags": tags,
        "notes": notes,
    }
    record = crm.add_contact(ws, raw, allow_duplicate=allow_duplicate)
    emit_written(ws, CONTACT, record, "added", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context, account: Account = None, limit: LimitOpt = None, as_json: JsonOpt = False
) -> None:
    """List contacts by name."""
    ws = workspace(ctx)
    rows = crm.list_contacts(ws, account_ref=account, limit=limit)

    def account_names(batch: list[dict[str, object]]) -> list[dict[str, object]]:
        names = records.titles_of(ws, ACCOUNT, {str(r["account_id"]) for r in batch if r["account_id"]})
        return [{"account": names.get(str(r["account_id"]), "")} for r in batch]

    emit_records(ws, CONTACT, rows, LIST_COLUMNS, as_json=as_json, extra=account_names, empty="no contacts")


@app.command("show")
def show(ctx: typer.Context, ref: str, as_json: JsonOpt = False) -> None:
    """Show a contact with its timeline."""
    ws = workspace(ctx)
    contact = records.get(ws, CONTACT, ref)
    timeline = records.timeline_of(ws, contact["id"])
    if as_json:
        data = record_json(CONTACT, contact, records.short_ref(ws, CONTACT, contact["id"]))
        data["timeline"] = timeline_json(timeline)
        print_json(data)
        return
    labels: dict[str, str] = {}
    if contact["account_id"]:
        titles = records.titles_of(ws, ACCOUNT, [contact["account_id"]])
        labels["account_id"] = titles.get(contact["account_id"]) or str(contact["account_id"])
    emit_detail(
        ws,
        CONTACT,
        contact,
        labels=labels,
        sections={"timeline": timeline_rows(timeline)},
        section_columns={"timeline": TIMELINE_COLUMNS},
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str,
    name: Annotated[str | None, Opt("--name")] = None,
    account: Account = None,
    email: Email = None,
    phone: Phone = None,
    mobile: Mobile = None,
    title: Title = None,
    tags: Tags = None,
    notes: Notes = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change a contact's fields; an empty value ("") clears a field."""
    ws = workspace(ctx)
    raw = {
        "name": name,
        "account_id": account,
        "email": email,
        "phone": phone,
        "mobile": mobile,
        "title": title,
        "tags": tags,
        "notes": notes,
    }
    record = records.edit(ws, CONTACT, ref, raw)
    emit_written(ws, CONTACT, record, "updated", as_json=as_json, quiet=quiet)


@app.command("delete")
def delete(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete a contact."""
    ws = workspace(ctx)
    emit_written(ws, CONTACT, records.delete(ws, CONTACT, ref), "deleted", as_json=as_json, quiet=quiet)
