"""The `sfa` entry point. `sfa [--home DIR] dashboard` opens the dashboard without the command
parser: Typer, and the pydantic it imports to parse options, cost 100-190 ms of the dashboard's
first paint (bench/bench_tui.py). Everything else, `sfa dashboard --help` included, goes through
the parser in sfa.cli.main; errors are reported the same way by both (sfa.cli.failure), and both
start and end the dashboard through sfa.tui.crash (a terminal is required; a crash is one line
naming the crash log, exit 1).
"""

from __future__ import annotations

import gc
import sys


def dashboard_home(args: list[str]) -> tuple[bool, str | None]:
    """(True, home) when the arguments are exactly a dashboard start, with or without --home."""
    if args == ["dashboard"]:
        return True, None
    if len(args) == 3 and args[0] == "--home" and args[2] == "dashboard":
        return True, args[1]
    if len(args) == 2 and args[0].startswith("--home=") and args[1] == "dashboard":
        return True, args[0].removeprefix("--home=")
    return False, None


def run() -> None:
    is_dashboard, home = dashboard_home(sys.argv[1:])
    if not is_dashboard:
        # Start-up allocates many objects and frees few: no garbage collection until the command
        # is found (sfa.cli.main turns it back on), a few ms less CPU (docs/performance.md).
        gc.disable()
        from sfa.cli.main import run as run_command

        run_command()
        return
    from sfa.cli.failure import fail, shown
    from sfa.domain.errors import SfaError

    try:
        from sfa.tui import crash

        crash.require_terminal()  # before anything is opened or created
        from sfa.services import records
        from sfa.store.workspace import Workspace

        workspace = Workspace(home)
        try:
            records.open_data(workspace)  # opened here, so a bad data file is one line, not a traceback
            crash.run_dashboard(workspace)  # a crash: one line naming the crash log, exit 1
        finally:
            workspace.close()
    except SfaError as exc:
        fail(shown(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
