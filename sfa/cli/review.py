"""`sfa review ...`: performance reviews (docs/policy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, emit_table, print_json, record_json, workspace
from sfa.cli.editor import edit_text
from sfa.domain.entities import REVIEW
from sfa.domain.errors import ValidationError
from sfa.services import records, reviews

app = typer.Typer(
    help="Performance reviews: the manager writes, shares; the rep acknowledges.", no_args_is_help=True
)

Opt = typer.Option
Ref = Annotated[str, typer.Argument(help="Short ref of the review (sfa review list).")]


@app.command("new")
def new(
    ctx: typer.Context,
    rep: Annotated[str, Opt("--rep", help="The rep reviewed.")],
    period: Annotated[str, Opt("--period", help="2026-Q4, 2026-12 or 2026.")],
    team: Annotated[str | None, Opt("--team", help="The rep's team (default: your own).")] = None,
    from_file: Annotated[
        Path | None, Opt("--from", help="Take the review from this TOML file instead of $EDITOR.")
    ] = None,
) -> None:
    """Write (or go on writing) a rep's review for a period in $EDITOR, the period's facts filled in."""
    ws = workspace(ctx)
    if from_file is not None:
        try:
            text = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("from", f"cannot read {from_file}: {exc}") from None
    else:
        text = edit_text(reviews.template(ws, rep, period), ".toml")
    review = reviews.write(ws, rep, period, team, text)
    print(
        f"review {records.short_ref(ws, REVIEW, review['id'])} of {review['rep']} for {review['period']}: {review['status']}"
    )


@app.command("share")
def share(ctx: typer.Context, ref: Ref) -> None:
    """Share a draft review with the rep (the reviewer)."""
    ws = workspace(ctx)
    review = reviews.share(ws, ref)
    print(f"review of {review['rep']} for {review['period']} shared")


@app.command("ack")
def ack(ctx: typer.Context, ref: Ref) -> None:
    """Acknowledge a review shared with you (the rep)."""
    ws = workspace(ctx)
    review = reviews.acknowledge(ws, ref)
    print(f"review of {review['rep']} for {review['period']} acknowledged")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List reviews, newest period first (a rep sees their own once shared)."""
    ws = workspace(ctx)
    rows = reviews.listing(ws)
    refs = records.short_refs(ws, REVIEW, [r["id"] for r in rows])
    if as_json:
        print_json(
            [
                {**record_json(REVIEW, r, refs[r["id"]]), **{"scores": reviews.as_dict(r)["scores"]}}
                for r in rows
            ]
        )
        return
    shown = [
        {
            "ref": refs[r["id"]],
            "rep": r["rep"],
            "period": r["period"],
            "reviewer": r["reviewer"],
            "status": r["status"],
        }
        for r in rows
    ]
    columns = [
        ("ref", "Ref"),
        ("rep", "Rep"),
        ("period", "Period"),
        ("reviewer", "Reviewer"),
        ("status", "Status"),
    ]
    emit_table(shown, columns, empty="no reviews")


@app.command("show")
def show(ctx: typer.Context, ref: Ref, as_json: JsonOpt = False) -> None:
    """Show a review."""
    ws = workspace(ctx)
    review = reviews.get_visible(ws, ref)
    data = reviews.as_dict(review)
    if as_json:
        print_json(
            {
                **record_json(REVIEW, review, records.short_ref(ws, REVIEW, review["id"])),
                "scores": data["scores"],
            }
        )
        return
    print(f"review of {review['rep']} for {review['period']} by {review['reviewer']} ({review['status']})")
    for metric, score in data["scores"].items():
        print(f"  {metric}: {score}/5")
    for name in reviews.TEXTS:
        if review[name]:
            print(f"{name}:")
            for line in str(review[name]).splitlines():
                print(f"  {line}")
