"""The `sfa` command: global options, lazily loaded command groups, and the one error mapping.

Command groups live in their own modules and are imported only when invoked, so that
`sfa lead add` pays for the lead commands and nothing else (tests/test_architecture.py); how they
are built to start fast, and their one help style: sfa/cli/startup.py, docs/performance.md.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from sfa import __version__
from sfa.cli.startup import build, speed_up, write_commands
from sfa.domain.errors import SfaError

# name -> (module, one-line help). A module exposes `app`, a Typer with its commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "lead": ("sfa.cli.lead", "Leads: capture, duplicate check, qualify, convert."),
    "account": ("sfa.cli.account", "Accounts and their 360° view."),
    "contact": ("sfa.cli.contact", "Contacts at accounts."),
    "opp": ("sfa.cli.opp", "Opportunities through stages to won or lost."),
    "note": ("sfa.cli.note", "Notes on accounts, contacts, leads and opportunities."),
    "search": ("sfa.cli.search", "Full-text search over every record type."),
    "config": ("sfa.cli.config", "Read and change settings."),
    "product": ("sfa.cli.product", "The price list: products with SKU, price and tax rate."),
    "quote": ("sfa.cli.quote", "Quotes: exact totals, numbering, send, revise, accept, export."),
    "contract": ("sfa.cli.contract", "Contracts: approval, release, renewal, termination."),
    "doc": ("sfa.cli.doc", "Documents: files kept with records, synced by content."),
    "order": ("sfa.cli.order", "Orders: from an accepted quote to the ERP and back."),
    "demo": ("sfa.cli.demo", "Fill an empty store with a realistic demo company."),
    "import": ("sfa.cli.imports", "Import CSV, vCards, or a full backup."),
    "export": ("sfa.cli.exports", "Export CSV, JSON, vCards, iCalendar, or a full backup."),
    "visit": ("sfa.cli.visit", "Visits: plan the day, drive the route, log the report."),
    "task": ("sfa.cli.task", "Follow-up tasks: due dates, priorities, reminders."),
    "today": ("sfa.cli.today", "Today: visits, tasks due or overdue, quotes expiring this week."),
    "report": ("sfa.cli.report", "Reports: pipeline, forecast, activity, win-loss."),
    "forecast": ("sfa.cli.forecast", "Forecasts: backtest the methods, adjust, take weekly snapshots."),
    "server": ("sfa.cli.server", "The central sync server: init, run, users."),
    "sync": ("sfa.cli.sync", "Sync with the central server: push, pull, conflicts."),
    "dashboard": ("sfa.cli.dashboard", "The full-screen dashboard (Textual)."),
    "dedupe": ("sfa.cli.dedupe", "Find likely duplicates (merge them with `sfa merge`)."),
    "merge": ("sfa.cli.merge", "Merge two duplicates: one survives, children re-pointed."),
    "unmerge": ("sfa.cli.unmerge", "Undo a merge: the merged-away record comes back."),
    "event": ("sfa.cli.event", "Events: trade shows, conferences, webinars; booth capture; reports."),
    "approval": ("sfa.cli.approval", "Approvals: quotes over the discount limit, decided by managers."),
    "policy": ("sfa.cli.policy", "The sales policy: stages, stall days, key fields, approval limits."),
    "playbook": ("sfa.cli.playbook", "Playbooks: the steps and tasks each stage asks for."),
    "territory": (
        "sfa.cli.territory",
        "Territories: rules that place accounts, a tree, preview and activate.",
    ),
    "target": ("sfa.cli.target", "Sales targets per rep or team and period (managers write them)."),
    "review": ("sfa.cli.review", "Performance reviews: the manager writes, shares; the rep acknowledges."),
    "pricelist": ("sfa.cli.pricelist", "Price lists per currency or customer group, with quantity prices."),
    "plan": ("sfa.cli.plan", "Commission plans: rates by attainment, approval, reps and targets."),
    "commission": (
        "sfa.cli.commission",
        "Commission: estimates, statements, runs, approval, payroll export.",
    ),
    "competitor": ("sfa.cli.competitor", "Competitors: the rivals deals meet and are lost to."),
}


class LazyGroup(TyperGroup):
    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)
        speed_up(params)  # options convert without pydantic (sfa/cli/startup.py)
        return params

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            module = importlib.import_module(COMMANDS[cmd_name][0])
            command = build(module.app)
            if not gc.isenabled():
                # sfa.cli.launch paused collection for the start-up, whose objects live as long as
                # the process: out of the collector's way, and collection back on.
                gc.freeze()
                gc.enable()
            command.name = cmd_name
            if not command.help:
                command.help = COMMANDS[cmd_name][1]
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # From COMMANDS: `sfa --help` imports no command module.
        write_commands(formatter, [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])


app = typer.Typer(
    cls=LazyGroup,
    add_completion=False,
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="sfa: offline-first sales-force automation for the terminal.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"sfa {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: str | None = typer.Option(
        None,
        "--home",
        metavar="DIR",
        help="Data directory (default: $SFA_HOME, else the user data dir).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    ctx.obj = {"home": home}
    if ctx.invoked_subcommand is None:
        from sfa.cli.welcome import welcome

        welcome(ctx)


def _click_error(name: str) -> Any:
    # Click's error classes as the installed Typer raises them: Typer (from 0.26) carries its own copy
    # of click in a private module, so they are found from the public typer.BadParameter instead.
    return next(kind for kind in typer.BadParameter.__mro__ if kind.__name__ == name)


_USAGE_ERROR: type[Any] = _click_error("UsageError")
_CLICK_ERROR: type[Any] = _click_error("ClickException")


def run(argv: list[str] | None = None) -> None:
    """Console entry point: run a command and map every error to one line and an exit code."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    code = 0
    try:
        result = command.main(args=args, prog_name="sfa", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except SfaError as exc:
        from sfa.cli.failure import shown

        _fail(shown(exc), exc.exit_code)
    except _USAGE_ERROR as exc:
        hint = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            hint = f" (see '{ctx.command_path} --help')"
        _fail(f"{_usage_message(exc)}{hint}", 2)
    except _CLICK_ERROR as exc:
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (sfa ... | head): not an error of ours.
        sys.stderr.close()
        code = 0
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", 1)
    finally:
        _close_workspace()
    sys.exit(code)


def _usage_message(exc: Any) -> str:
    """A usage error's one line. A group run without its command (Typer's "no args is help") carries
    the whole help page as its message: say what is missing and name the commands instead."""
    if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
        command = exc.ctx.command
        if hasattr(command, "list_commands"):
            return "missing command: " + ", ".join(command.list_commands(exc.ctx))
        return "missing arguments"
    return str(exc.format_message())


def _close_workspace() -> None:
    # A command that opened a workspace imported sfa.cli.common; `sfa --help` and `--version` did
    # not, and do not pay for importing it (and the store) here.
    common = sys.modules.get("sfa.cli.common")
    if common is not None:
        common.close_workspace()


def _fail(message: str, code: int) -> None:
    from sfa.cli.failure import fail

    _close_workspace()
    fail(message, code)
