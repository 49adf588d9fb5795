"""`sfa dashboard`: the full-screen Textual app (textual is imported only here, when it runs)."""

from __future__ import annotations

import typer

from sfa.cli.common import workspace
from sfa.services import records

app = typer.Typer(help="The full-screen dashboard for the rep's day.")


@app.command("dashboard")
def dashboard(ctx: typer.Context) -> None:
    """Open the dashboard: Today, Pipeline, Accounts, Leads (Ctrl+P lists every action)."""
    from sfa.tui import crash

    crash.require_terminal()  # before anything is opened or created (as sfa.cli.launch does)
    ws = workspace(ctx)
    records.open_data(ws)  # opened here, so a bad data file is one line, not a traceback
    crash.run_dashboard(ws)  # a crash: one line naming the crash log, exit 1
