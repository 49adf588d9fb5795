"""`sfa approval ...`: quotes waiting for a manager's decision (docs/policy.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, print_json, when, workspace
from sfa.domain.entities import APPROVAL
from sfa.services import approvals, records

app = typer.Typer(
    help="Approvals: quotes over the discount limit, decided by managers.", no_args_is_help=True
)

Opt = typer.Option
Ref = Annotated[str, typer.Argument(help="Quote number, quote ref, or approval ref (sfa approval list).")]
Comment = Annotated[str | None, Opt("--comment", help="A word for the rep.")]


@app.command("list")
def list_(
    ctx: typer.Context,
    pending: Annotated[
        bool, Opt("--pending", help="Only those waiting for a decision (or in conflict).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List quotes submitted for approval, newest first, with their state."""
    ws = workspace(ctx)
    rows = approvals.listing(ws, pending_only=pending)
    if as_json:
        print_json(rows)
        return
    refs = records.short_refs(ws, APPROVAL, [r["id"] for r in rows])
    shown = [
        {
            "ref": refs[r["id"]],
            "quote": r["quote"],
            "account": r["account"],
            "discount": f"{r['line_discount']} / {r['quote_discount']} %",
            "by": r["submitted_by"],
            "at": when(r["submitted_at"]),
            "status": r["status"],
            "decided": ", ".join(f"{d['by']}: {d['action']}" for d in r["decisions"]),
        }
        for r in rows
    ]
    columns = [
        ("ref", "Ref"),
        ("quote", "Quote"),
        ("account", "Account"),
        ("discount", "Line / quote disc."),
        ("by", "Submitted by"),
        ("at", "At"),
        ("status", "Status"),
        ("decided", "Decisions"),
    ]
    emit_table(shown, columns, empty="no approvals pending" if pending else "no approvals")


def _decide(ctx: typer.Context, ref: str, action: str, comment: str | None) -> None:
    ws = workspace(ctx)
    _entry, state = approvals.decide(ws, ref, action, comment)
    print(f"quote {state.quote['number']} {approvals.PAST[action]}; approval is now {state.status}")


@app.command("approve")
def approve(ctx: typer.Context, ref: Ref, comment: Comment = None) -> None:
    """Approve a submitted quote (a manager of its team, or an admin)."""
    _decide(ctx, ref, "approve", comment)


@app.command("reject")
def reject(ctx: typer.Context, ref: Ref, comment: Comment = None) -> None:
    """Reject a submitted quote (a manager of its team, or an admin)."""
    _decide(ctx, ref, "reject", comment)
