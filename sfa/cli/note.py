"""`sfa note add TEXT --account|--contact|--lead|--opp REF`"""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import (
    JsonOpt,
    QuietOpt,
    emit_table,
    emit_written,
    print_json,
    require_one,
    when,
    workspace,
)
from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY, TIMELINE, Entity
from sfa.domain.errors import ValidationError
from sfa.services import records

app = typer.Typer(help="Notes on accounts, contacts, leads and opportunities.", no_args_is_help=True)

Opt = typer.Option


def _target(
    account: str | None, contact: str | None, lead: str | None, opp: str | None
) -> tuple[Entity, str]:
    targets = [
        (e, r) for e, r in ((ACCOUNT, account), (CONTACT, contact), (LEAD, lead), (OPPORTUNITY, opp)) if r
    ]
    require_one(("--account", account), ("--contact", contact), ("--lead", lead), ("--opp", opp))
    if not targets:  # given, but empty
        raise ValidationError("record", "give a ref to --account, --contact, --lead or --opp")
    return targets[0]


@app.command("add")
def add(
    ctx: typer.Context,
    text: str,
    account: Annotated[str | None, Opt("--account")] = None,
    contact: Annotated[str | None, Opt("--contact")] = None,
    lead: Annotated[str | None, Opt("--lead")] = None,
    opp: Annotated[str | None, Opt("--opp")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add a note to one record's timeline."""
    entity, ref = _target(account, contact, lead, opp)
    ws = workspace(ctx)
    note = records.add_note(ws, entity, ref, text)
    emit_written(ws, TIMELINE, note, "added", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    account: Annotated[str | None, Opt("--account")] = None,
    contact: Annotated[str | None, Opt("--contact")] = None,
    lead: Annotated[str | None, Opt("--lead")] = None,
    opp: Annotated[str | None, Opt("--opp")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The notes on one record, newest first."""
    entity, ref = _target(account, contact, lead, opp)
    ws = workspace(ctx)
    notes = records.notes_of(ws, entity, ref)
    if as_json:
        print_json([{"id": n["id"], "at": n["at"], "text": n["text"], "owner": n["owner"]} for n in notes])
        return
    emit_table(
        [{"at": when(n["at"]), "text": n["text"]} for n in notes],
        [("at", "When"), ("text", "Note")],
        empty="no notes",
    )
