"""`sfa demo`"""

from __future__ import annotations

from typing import Annotated

import typer

from sfa.cli.common import JsonOpt, message, print_json, workspace
from sfa.domain import prediction
from sfa.services import demo

# One command, no sub-commands: Typer turns a single-command app into that command (`sfa demo`).
app = typer.Typer(help="Fill an empty store with a realistic demo company.", add_completion=False)


@app.command()
def run(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Add the demo data to a store that is not empty.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same company (dates follow today).")] = (
        demo.DEFAULT_SEED
    ),
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            metavar="SPAN",
            help="Also add this much closed-deal history (e.g. 24m), drawn from known probabilities, "
            "for `sfa forecast backtest`.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create about 50 accounts in Bavaria with contacts, leads, pipeline, visits, tasks and quotes."""
    months = prediction.parse_months(history) if history is not None else 0
    ws = workspace(ctx)
    result = demo.generate(ws, seed=seed, force=force, history_months=months)
    if as_json:
        print_json(demo.summary(result))
        return
    created = ", ".join(f"{n} {demo.plural(name, n)}" for name, n in result.counts.items())
    print(f"demo company created: {created}")
    if result.config_set:
        message("set " + ", ".join(result.config_set) + " (the seller on exported quotes)")
    message("try: sfa opp list --open, sfa quote list, sfa account list")
