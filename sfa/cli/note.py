"""`sfa note add TEXT --account|--contact|--lead|--opp REF`"""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, QuietOpt, emit_written, workspace
from sfa.domain.entities import ACCOUNT, CONTACT, LEAD, OPPORTUNITY, TIMELINE
from sfa.domain.errors import ValidationError
from sfa.services import records

app = typer.Typer(help="Notes on accounts, contacts, leads and opportunities.", no_args_is_help=True)

Opt = typer.Option


@app.command("add")
def add(
    ctx: typer.Context, text: str,
    account: Annotated[str | None, Opt("--account")] = None,
    contact: Annotated[str | None, Opt("--contact")] = None,
    lead: Annotated[str | None, Opt("--lead")] = None,
    opp: Annotated[str | None, Opt("--opp")] = None,
    as_json: JsonOpt = False, quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Add a note to one record's timeline."""
    targets = [(e, r) for e, r in ((ACCOUNT, account), (CONTACT, contact), (LEAD, lead),
                                    (OPPORTUNITY, opp)) if r]  # fmt: skip
    if len(targets) != 1:
        raise ValidationError("record", "give exactly one of --account, --contact, --lead, --opp")
    ws = workspace(ctx)
    entity, ref = targets[0]
    note = records.add_note(ws, entity, ref, text)
    emit_written(ws, TIMELINE, note, "added", as_json=as_json, quiet=quiet)
