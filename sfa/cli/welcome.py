"""`sfa` with no command: offer the demo company on first run, then point at what to do next."""

from __future__ import annotations

import sys

import typer

from sfa.cli.common import message, workspace
from sfa.services import demo


def welcome(ctx: typer.Context) -> None:
    ws = workspace(ctx)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    held = demo.existing_records(ws)
    if not held:
        if not interactive:
            message(f"sfa: the store at {ws.db_path} is empty; `sfa demo` loads a demo company")
            print(ctx.get_help())
            return
        question = f"Your sfa store ({ws.db_path}) is empty. Load a demo company to look around?"
        if typer.confirm(question, default=True):
            result = demo.generate(ws)
            created = ", ".join(f"{n} {demo.plural(name, n)}" for name, n in result.counts.items())
            print(f"demo company created: {created}")
            held = demo.existing_records(ws)
    if not interactive:
        print(ctx.get_help())
        return
    if held:
        counts = ", ".join(f"{n} {demo.plural(name, n)}" for name, n in held.items())
        print(f"sfa store {ws.db_path}: {counts}")
    print("next: sfa dashboard | sfa today | sfa lead list | sfa search TEXT | sfa --help")
