"""`sfa opp ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sfa.cli.common import (
    TIMELINE_COLUMNS,
    CurrencyOpt,
    JsonOpt,
    LimitOpt,
    NotesOpt,
    OwnerOpt,
    QuietOpt,
    TagsOpt,
    emit_detail,
    emit_records,
    emit_table,
    emit_written,
    message,
    print_json,
    record_json,
    refuse_together,
    timeline_json,
    timeline_rows,
    workspace,
)
from sfa.domain.entities import ACCOUNT, CONTACT, OPPORTUNITY
from sfa.domain.errors import ValidationError
from sfa.domain.money import format_money
from sfa.domain.stages import LOST, WON, find_stage
from sfa.services import competitors, crm, forecasting, records

app = typer.Typer(help="Opportunities through stages to won or lost.", no_args_is_help=True)

Opt = typer.Option
Amount = Annotated[str | None, Opt("--amount", help="12000, 12,000.50 or 12k.")]
Currency = CurrencyOpt
Stage = Annotated[str | None, Opt("--stage", help="A configured stage (sfa config get stages).")]
CloseDate = Annotated[str | None, Opt("--close-date", help="Expected close: ISO, fri, +2w ...")]
Contact = Annotated[str | None, Opt("--contact", help="Primary contact ref.")]
Probability = Annotated[str | None, Opt("--probability", help="Override the stage's %.")]
NextStep = Annotated[str | None, Opt("--next-step")]
Tags = TagsOpt
Notes = NotesOpt
Owner = OwnerOpt

LIST_COLUMNS = [
    ("ref", "Ref"),
    ("name", "Name"),
    ("account", "Account"),
    ("stage", "Stage"),
    ("probability", "%"),
    ("amount", "Amount"),
    ("close_date", "Close"),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    account: Annotated[str, Opt("--account", help="Account ref.")],
    amount: Amount = None,
    currency: Currency = None,
    stage: Stage = None,
    close_date: CloseDate = None,
    contact: Contact = None,
    probability: Probability = None,
    next_step: NextStep = None,
    owner: Owner = None,
    tags: Tags = None,
    notes: Notes = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Add an opportunity at an account."""
    ws = workspace(ctx)
    raw = {
        "name": name,
        "account_id": account,
        "amount": amount,
        "currency": currency,
        "stage": stage,
        "close_date": close_date,
        "contact_id": contact,
        "probability": probability,
        "next_step": next_step,
        "owner": owner,
        "tags": tags,
        "notes": notes,
    }
    record, found = crm.add_opportunity_guided(ws, raw)
    _checklist(found)
    emit_written(ws, OPPORTUNITY, record, "added", as_json=as_json, quiet=quiet)


@app.command("list")
def list_(
    ctx: typer.Context,
    stage: Stage = None,
    open_only: Annotated[bool, Opt("--open", help="Only opportunities not won or lost.")] = False,
    account: Annotated[str | None, Opt("--account", help="Account ref.")] = None,
    limit: LimitOpt = None,
    stalled: Annotated[
        bool, Opt("--stalled", help="Only open deals that are stalled, with why (computed now).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List opportunities by expected close date."""
    ws = workspace(ctx)
    if stalled:
        refuse_together(("--stalled", stalled), ("--stage", stage))
        _list_stalled(ws, account, limit, as_json)
        return
    if open_only and stage:
        closed = find_stage(ws.stages, stage).name
        if closed in (WON, LOST):
            refuse_together(("--open", open_only), (f"--stage {closed}", stage))
    shown = (
        None
        if as_json
        else ("name", "account_id", "stage", "probability", "amount", "currency", "close_date")
    )
    rows = crm.list_opportunities(
        ws, stage=stage, open_only=open_only, limit=limit, account_ref=account, fields=shown
    )

    def display(batch: list[dict[str, object]]) -> list[dict[str, object]]:
        names = records.titles_of(ws, ACCOUNT, {str(r["account_id"]) for r in batch})
        return [
            {
                "account": names.get(str(r["account_id"]), ""),
                "amount": format_money(r["amount"], str(r["currency"] or "")),  # type: ignore[arg-type]
            }
            for r in batch
        ]

    emit_records(
        ws, OPPORTUNITY, rows, LIST_COLUMNS, as_json=as_json, extra=display, empty="no opportunities"
    )


def _list_stalled(ws: Any, account: str | None, limit: int | None, as_json: bool) -> None:
    from sfa.services import stalled as stalled_deals

    found = stalled_deals.stalled(ws)
    if account:
        account_id = records.get(ws, ACCOUNT, account)["id"]
        found = [s for s in found if s.opp["account_id"] == account_id]
    found = found[:limit] if limit is not None else found
    refs = records.short_refs(ws, OPPORTUNITY, [s.opp["id"] for s in found])
    if as_json:
        print_json(
            [{**record_json(OPPORTUNITY, s.opp, refs[s.opp["id"]]), "stalled": s.reasons} for s in found]
        )
        return
    names = records.titles_of(ws, ACCOUNT, {s.opp["account_id"] for s in found})
    rows = [
        {
            "ref": refs[s.opp["id"]],
            "name": s.opp["name"],
            "account": names.get(s.opp["account_id"], ""),
            "stage": s.opp["stage"],
            "owner": s.opp["owner"] or "",
            "why": "; ".join(s.reasons),
        }
        for s in found
    ]
    columns = [
        ("ref", "Ref"),
        ("name", "Name"),
        ("account", "Account"),
        ("stage", "Stage"),
        ("owner", "Owner"),
        ("why", "Why"),
    ]
    emit_table(rows, columns, empty="no stalled deals")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str,
    with_score: Annotated[
        bool,
        Opt("--score", help="Add the deal's chance to win from history and its top factors."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show an opportunity with its timeline."""
    ws = workspace(ctx)
    opp = records.get(ws, OPPORTUNITY, ref)
    timeline = records.timeline_of(ws, opp["id"])
    scored = forecasting.score(ws, opp["id"]) if with_score else None
    if as_json:
        data = record_json(OPPORTUNITY, opp, records.short_ref(ws, OPPORTUNITY, opp["id"]))
        data["weighted_amount"] = (
            str(opp["amount"] * opp["probability"] / 100) if opp["amount"] is not None else None
        )
        data["timeline"] = timeline_json(timeline)
        if with_score:
            data["score"] = (
                None
                if scored is None
                else {
                    "probability": round(scored.probability, 4),
                    "method": scored.method,
                    "factors": [{"effect": round(f.effect, 4), "text": f.text} for f in scored.factors],
                }
            )
        print_json(data)
        return
    if scored is not None:
        top = ", ".join(f"{f.sign} {f.text}" for f in scored.factors[:3])
        message(f"score: {scored.probability:.0%} to win ({scored.method}): {top}")
    elif with_score:
        message("score: none (the deal is closed)")
    labels = {
        "account_id": records.titles_of(ws, ACCOUNT, [opp["account_id"]]).get(opp["account_id"], ""),
        "amount": format_money(opp["amount"], opp["currency"] or ""),
        "probability": f"{opp['probability']} %",
    }
    if opp["competitors"] or opp["lost_to"]:
        met, lost_to = competitors.of_deal(ws, opp)
        labels["competitors"] = ", ".join(met)
        if lost_to:
            labels["lost_to"] = lost_to
    if opp["contact_id"]:
        labels["contact_id"] = records.titles_of(ws, CONTACT, [opp["contact_id"]]).get(opp["contact_id"], "")
    emit_detail(
        ws,
        OPPORTUNITY,
        opp,
        labels=labels,
        sections={"timeline": timeline_rows(timeline)},
        section_columns={"timeline": TIMELINE_COLUMNS},
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: str,
    name: Annotated[str | None, Opt("--name")] = None,
    account: Annotated[str | None, Opt("--account", help="Account ref.")] = None,
    amount: Amount = None,
    currency: Currency = None,
    stage: Stage = None,
    close_date: CloseDate = None,
    contact: Contact = None,
    probability: Probability = None,
    next_step: NextStep = None,
    owner: Owner = None,
    tags: Tags = None,
    notes: Notes = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Change an opportunity's fields; an empty value ("") clears a field."""
    ws = workspace(ctx)
    raw = {
        "name": name,
        "account_id": account,
        "amount": amount,
        "currency": currency,
        "stage": stage,
        "close_date": close_date,
        "contact_id": contact,
        "probability": probability,
        "next_step": next_step,
        "owner": owner,
        "tags": tags,
        "notes": notes,
    }
    record = crm.edit_opportunity(ws, ref, raw)
    emit_written(ws, OPPORTUNITY, record, "updated", as_json=as_json, quiet=quiet)


Force = Annotated[bool, Opt("--force", help="Move even when a strict policy's checks fail.")]


def _guided(ws: Any, ref: str, stage: str, force: bool) -> dict[str, Any]:
    """Move through the playbook (docs/policy.md): warnings and the new stage's checklist go to
    stderr, so what a script reads is unchanged."""
    record, found, warnings = crm.move_stage_guided(ws, ref, stage, force=force)
    for warning in warnings:
        message(f"warning: {warning}")
    _checklist(found, always=True)
    return record


def _checklist(found: Any, always: bool = False) -> None:
    """The tasks a stage's playbook made and its checklist, on stderr. A new deal's (`always`
    False) only when its stage has a playbook: adding a deal stays quiet otherwise."""
    from sfa.services import playbooks

    if not (always or found.steps):
        return
    if found.created:
        message(f"{len(found.created)} task(s) created from the {found.stage} playbook")
    for line in playbooks.lines(found):
        message(line)


@app.command("stage")
def stage(
    ctx: typer.Context,
    ref: str,
    stage: str,
    force: Force = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Move an opportunity to a stage; its probability follows the stage, its playbook makes tasks."""
    ws = workspace(ctx)
    try:
        record = _guided(ws, ref, stage, force)
    except ValidationError as exc:
        if exc.field != "reason":
            raise
        # `opp stage` takes no reason: the command that does is named instead of a flag.
        raise ValidationError(
            "reason", f"a lost deal needs a reason; use `sfa opp lost {ref} --reason TEXT`"
        ) from None
    emit_written(ws, OPPORTUNITY, record, f"moved to {record['stage']}", as_json=as_json, quiet=quiet)


@app.command("won")
def won(
    ctx: typer.Context, ref: str, force: Force = False, as_json: JsonOpt = False, quiet: QuietOpt = False
) -> None:
    """Mark an opportunity as won."""
    ws = workspace(ctx)
    record = _guided(ws, ref, WON, force)
    emit_written(ws, OPPORTUNITY, record, "won", as_json=as_json, quiet=quiet)


@app.command("next")
def next_(ctx: typer.Context, ref: str, as_json: JsonOpt = False) -> None:
    """The stage's guidance: its steps (open or done) and the key fields still empty."""
    from sfa.services import playbooks

    ws = workspace(ctx)
    found = playbooks.next_for(ws, ref)
    if as_json:
        print_json(
            {
                "stage": found.stage,
                "steps": [
                    {
                        "step": step["id"],
                        "title": step["title"],
                        "kind": step["kind"],
                        "required": bool(step["required"]),
                        "guidance": step["notes"],
                        "task": task["id"] if task else None,
                        "done": bool(task and task["status"] == "done"),
                        "due_date": task["due_date"] if task else None,
                    }
                    for step, task in found.steps
                ],
                "missing_key_fields": found.missing,
            }
        )
        return
    print(f"{found.opp['name']}: {found.stage}")
    shown = playbooks.lines(found)
    print("\n".join(shown) if shown else "nothing asked for at this stage")


@app.command("lost")
def lost(
    ctx: typer.Context,
    ref: str,
    reason: Annotated[str, Opt("--reason", help="Why the deal was lost.")],
    to: Annotated[
        str | None, Opt("--to", help="The competitor it was lost to (name or ref; sfa competitor list).")
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Mark an opportunity as lost, with the reason (and the competitor it went to)."""
    ws = workspace(ctx)
    record = competitors.lose(ws, ref, reason, to)
    emit_written(ws, OPPORTUNITY, record, "lost", as_json=as_json, quiet=quiet)


@app.command("category")
def category(
    ctx: typer.Context,
    ref: str,
    value: Annotated[
        str, typer.Argument(help="pipeline, best case, commit or omitted; 'stage' undoes the override.")
    ],
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Override a deal's forecast category (else its stage's, from the sales policy)."""
    ws = workspace(ctx)
    record = forecasting.set_category(ws, ref, value)
    emit_written(ws, OPPORTUNITY, record, "forecast category set", as_json=as_json, quiet=quiet)


@app.command("competitors")
def competitors_(
    ctx: typer.Context,
    ref: str,
    add: Annotated[list[str] | None, Opt("--add", help="A competitor met on the deal (repeatable).")] = None,
    remove: Annotated[
        list[str] | None, Opt("--remove", help="A competitor to take off (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the competitors met on a deal; add or remove some (merged as a set across laptops)."""
    ws = workspace(ctx)
    opp = (
        competitors.set_on_deal(ws, ref, add or [], remove or [])
        if add or remove
        else records.get(ws, OPPORTUNITY, ref)
    )
    met, lost_to = competitors.of_deal(ws, opp)
    if as_json:
        print_json({"opportunity": opp["id"], "competitors": met, "lost_to": lost_to})
        return
    print(f"{opp['name']}: {', '.join(met) if met else 'no competitors'}")
    if lost_to:
        print(f"lost to: {lost_to}")


@app.command("delete")
def delete(ctx: typer.Context, ref: str, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete an opportunity."""
    ws = workspace(ctx)
    record = records.delete(ws, OPPORTUNITY, ref)
    emit_written(ws, OPPORTUNITY, record, "deleted", as_json=as_json, quiet=quiet)
