"""`sfa account ...`"""

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
    OwnerOpt,
    PhoneOpt,
    QuietOpt,
    TagsOpt,
    emit_detail,
    emit_records,
    emit_written,
    print_json,
    record_json,
    require_both,
    timeline_json,
    timeline_rows,
    workspace,
)
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY
from sfa.domain.money import format_money
from sfa.services import crm, records

app = typer.Typer(help="Accounts and their 360° view.", no_args_is_help=True)

Opt = typer.Option
Industry = Annotated[str | None, Opt("--industry")]
Phone = PhoneOpt
Email = EmailOpt
Website = Annotated[str | None, Opt("--website")]
Street = Annotated[str | None, Opt("--street")]
City = Annotated[str | None, Opt("--city")]
Postcode = Annotated[str | None, Opt("--postcode")]
Country = Annotated[str | None, Opt("--country")]
Lat = Annotated[str | None, Opt("--lat", help="Latitude, -90..90.")]
Lon = Annotated[str | None, Opt("--lon", help="Longitude, -180..180.")]
Owner = OwnerOpt
Tags = TagsOpt
Notes = NotesOpt

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("name", "Name"),
    ("industry", "Industry"),
    ("city", "City"),
    ("phone", "Phone"),
    ("owner", "Owner"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    industry: Industry = None,
    phone: Phone = None,
    email: Email = None,
    website: Website = None,
    street: Street = None,
    city: City = None,
    postcode: Postcode = None,
    country: Country = None,
    lat: Lat = None,
    lon: Lon = None,
    owner: Owner = None,
    tags: Tags = None,
    notes: Notes = None,
    allow_duplicate: AllowDuplicateOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add an account; refused if one of the same name exists (case, accents, legal form aside)."""
    require_both(("--lat", lat), ("--lon", lon))
    ws = workspace(ctx)
    raw = {
        "name": name,
        "industry": industry,
        "phone": phone,
        "email": email,
        "website": website,
        "street": street,
        "city": city,
        "postcode": postcode,
        "country": country,
        "latitude": lat,
        "longitude": lon,
        "owner": owner,
        "tags": tags,
        "notes": notes,
    }
    record = crm.add_account(ws, raw, allow_duplicate=allow_duplicate)
    emit_written(ws, ACCOUNT, record, "added", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    city: Annotated[str | None, Opt("--city")] = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List accounts by name."""
    ws = workspace(ctx)
    rows = crm.list_accounts(ws, limit=limit, city=city)
    emit_records(ws, ACCOUNT, rows, LIST_COLUMNS, as_json=as_json, empty="no accounts")


@app.command("show")
def show(ctx: typer.Context, ref: str, as_json: JsonOpt = False) -> None:
    """The 360° view: the account, its contacts, open opportunities and recent timeline."""
    ws = workspace(ctx)
    view = crm.account_overview(ws, ref)
    account = view["account"]
    contacts, opps = view["contacts"], view["open_opportunities"]
    refs_c = records.short_refs(ws, CONTACT, [c["id"] for c in contacts])
    refs_o = records.short_refs(ws, OPPORTUNITY, [o["id"] for o in opps])
    if as_json:
        data = record_json(ACCOUNT, account, records.short_ref(ws, ACCOUNT, account["id"]))
        data["contacts"] = [record_json(CONTACT, c, refs_c[c["id"]]) for c in contacts]
        data["open_opportunities"] = [record_json(OPPORTUNITY, o, refs_o[o["id"]]) for o in opps]
        data["timeline"] = timeline_json(view["timeline"])
        print_json(data)
        return
    emit_detail(
        ws,
        ACCOUNT,
        account,
        sections={
            "contacts": [{**c, "ref": refs_c[c["id"]]} for c in contacts],
            "open opportunities": [
                {**o, "ref": refs_o[o["id"]], "amount": format_money(o["amount"], o["currency"] or "")}
                for o in opps
            ],
            "timeline": timeline_rows(view["timeline"]),
        },
        section_columns={
            "contacts": [
                ("ref", "Ref"),
                ("name", "Name"),
                ("title", "Title"),
                ("email", "Email"),
                ("phone", "Phone"),
            ],
            "open opportunities": [
                ("ref", "Ref"),
                ("name", "Name"),
                ("stage", "Stage"),
                ("amount", "Amount"),
                ("close_date", "Close"),
            ],
            "timeline": TIMELINE_COLUMNS,
        },
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str,
    name: Annotated[str | None, Opt("--name")] = None,
    industry: Industry = None,
    phone: Phone = None,
    email: Email = None,
    website: Website = None,
    street: Street = None,
    city: City = None,
    postcode: Postcode = None,
    country: Country = None,
    lat: Lat = None,
    lon: Lon = None,
    owner: Owner = None,
    tags: Tags = None,
    notes: Notes = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change an account's fields; an empty value ("") clears a field."""
    require_both(("--lat", lat), ("--lon", lon))
    ws = workspace(ctx)
    raw = {
        "name": name,
        "industry": industry,
        "phone": phone,
        "email": email,
        "website": website,
        "street": street,
        "city": city,
        "postcode": postcode,
        "country": country,
        "latitude": lat,
        "longitude": lon,
        "owner": owner,
        "tags": tags,
        "notes": notes,
    }
    record = records.edit(ws, ACCOUNT, ref, raw)
    emit_written(ws, ACCOUNT, record, "updated", as_json=as_json, quiet=quiet)


@app.command("delete")
def delete(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete an account (refused while it has open opportunities)."""
    ws = workspace(ctx)
    emit_written(ws, ACCOUNT, crm.delete_account(ws, ref), "deleted", as_json=as_json, quiet=quiet)
