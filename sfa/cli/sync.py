"""`sfa sync [--watch]`, `sfa sync login|status|conflicts|resolve|rejected`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from sfa.cli.common import (
    JsonOpt,
    emit_table,
    message,
    print_json,
    refuse_together,
    require_one,
    workspace,
)
from sfa.domain.errors import UsageError, ValidationError

app = typer.Typer(help="Sync with the central server: push, pull, conflicts.", invoke_without_command=True)


def _interval(text: str) -> float:
    value = text.strip().lower()
    scale = 1.0
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if value.endswith(suffix):
            value, scale = value[: -len(suffix)], factor
            break
    try:
        seconds = float(value) * scale
    except ValueError:
        raise ValidationError("interval", f"{text!r} is not a duration; use e.g. 30s, 5m") from None
    if seconds <= 0:
        raise ValidationError("interval", "must be positive")
    return seconds


@app.callback()
def run(
    ctx: typer.Context,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running; sync whenever possible.")] = False,
    interval: Annotated[
        str, typer.Option("--interval", help="Between rounds with --watch (30s, 5m).")
    ] = "30s",
    as_json: JsonOpt = False,
) -> None:
    """Push local changes, then pull until drained. Exit 3: server unreachable; 4: login needed."""
    if ctx.invoked_subcommand is not None:
        return
    from sfa.services import syncing

    ws = workspace(ctx)
    if watch:
        seconds = _interval(interval)

        def report(outcome: Any) -> None:
            if isinstance(outcome, Exception):
                message(f"sync: {outcome}")
            elif as_json:
                print_json(outcome.as_dict())
                sys.stdout.flush()
            else:
                message(_line(outcome.as_dict()))

        message(f"watching: a sync every {interval} and after local writes (Ctrl-C stops)")
        try:
            syncing.watch(ws, seconds, report)
        except KeyboardInterrupt:
            return
        return
    progress = _progress() if sys.stderr.isatty() and not as_json else None
    try:
        summary = syncing.sync_now(
            ws, progress, on_wait=lambda: message("waiting for another sync to finish")
        )
    finally:
        if progress is not None:
            progress.close()
    result = summary.as_dict()
    if as_json:
        print_json(result)
    else:
        message(_line(result))
    if result["conflicts"]:
        message(f"{result['conflicts']} open conflict(s): see 'sfa sync conflicts'")
    if result["pulled"]:  # a sales policy may have arrived: deals in stages it lacks are told
        from sfa.services import policy

        for stage, count in policy.unknown_stages(ws).items():
            message(
                f"note: {count} deal(s) in the stage {stage!r}, which the sales policy does not have (kept)"
            )


def _line(result: dict[str, Any]) -> str:
    text = f"synced: pushed {result['pushed']}, pulled {result['pulled']}"
    if result["rejected"]:
        text += f", rejected {result['rejected']} (see 'sfa sync rejected')"
    if result["reset"]:
        text += " (the server was reset: pulled everything again"
        text += f", re-sent {result['resent']} record(s) it had lost)" if result.get("resent") else ")"
    return text


class _Bar:
    def __init__(self) -> None:
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.start()
        self.tasks: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)

    def close(self) -> None:
        self.bar.stop()


def _progress() -> _Bar:
    return _Bar()


@app.command("login")
def login(
    ctx: typer.Context,
    url: str,
    token: Annotated[
        str | None, typer.Option("--token", help="The token 'sfa server user add' printed.")
    ] = None,
    adopt: Annotated[
        bool, typer.Option("--adopt", help="This home was another user's: take over its records.")
    ] = False,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="This home was another user's: start an empty one (the old data is kept)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the token against the server and keep it (file readable only by you)."""
    from sfa.domain.errors import SfaError
    from sfa.services import syncing

    refuse_together(("--adopt", adopt), ("--fresh", fresh))
    interactive = sys.stdin.isatty()
    if token is None:
        if interactive:
            import getpass

            token = getpass.getpass("token: ")
        else:
            token = sys.stdin.readline()
    if not token or not token.strip():
        raise UsageError("give the token with --token T (or on standard input)")
    ws = workspace(ctx)
    switch = "adopt" if adopt else "fresh" if fresh else None
    try:
        result = syncing.login(ws, url, token.strip(), switch)
    except SfaError as exc:
        previous = syncing.switch_needed(exc)
        if previous is None or not interactive:
            raise
        answer = typer.prompt(
            f"this data home was {previous}'s: [a]dopt its records, or start [f]resh", default="a"
        )
        choice = {"a": "adopt", "adopt": "adopt", "f": "fresh", "fresh": "fresh"}.get(answer.strip().lower())
        if choice is None:
            raise UsageError("answer a (adopt) or f (fresh)") from None
        result = syncing.login(ws, url, token.strip(), choice)
    if as_json:
        print_json(result)
        return
    message(f"logged in to {result['server']} as {result['user']} ({result['role']}, team {result['team']})")
    if result.get("switched") == "fresh":
        message(f"started a fresh data home; {result['previous']}'s data is kept at {result['kept']}")
    elif result.get("switched") == "adopt":
        message(f"took over {result['previous']}'s data home")
    if result.get("adopted"):
        message(
            f"adopted {result['adopted']} record(s) as {result['user']}; they reach the server with the next sync"
        )


@app.command("status")
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Pending changes, last successful sync, server, open conflicts."""
    from sfa.services import syncing

    result = syncing.state(workspace(ctx))
    if as_json:
        print_json(result)
        return
    for key in ("server", "user", "pending", "last_sync", "conflicts", "rejected", "quarantined"):
        value = result.get(key)
        print(f"{key.replace('_', ' ')}: {value if value not in (None, '') else '-'}")


@app.command("conflicts")
def conflicts(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Concurrent edits the server decided, and values set aside for a person to settle."""
    from sfa.services import syncing

    ws = workspace(ctx)
    if as_json:
        print_json(syncing.conflict_records(ws, include_resolved=show_all))
        return
    items = syncing.conflicts(ws, include_resolved=show_all)
    rows = [{**item, "record": f"{item['entity']} {item['title']}"} for item in items]
    emit_table(
        rows,
        [
            ("ref", "Ref"),
            ("record", "Record"),
            ("field", "Field"),
            ("kind", "Kind"),
            ("kept", "Kept (theirs)"),
            ("lost", "Set aside (ours)"),
            ("status", "Status"),
        ],
        empty="no open conflicts",
    )


@app.command("resolve")
def resolve(
    ctx: typer.Context,
    ref: str,
    ours: Annotated[bool, typer.Option("--ours", help="Take the value that was set aside.")] = False,
    theirs: Annotated[bool, typer.Option("--theirs", help="Keep the current value.")] = False,
    value: Annotated[str | None, typer.Option("--value", help="Set a new value.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Settle a conflict everywhere (the resolution syncs)."""
    from sfa.services import syncing

    require_one(("--ours", ours), ("--theirs", theirs), ("--value", value))
    chosen = "ours" if ours else "theirs" if theirs else "value"
    result = syncing.resolve(workspace(ctx), ref, chosen, value)
    if as_json:
        print_json(result)
        return
    message(f"conflict resolved ({chosen}); it reaches the others with the next sync")


@app.command("rejected")
def rejected(
    ctx: typer.Context,
    pulled: Annotated[
        bool,
        typer.Option("--pulled", help="Pulled values this laptop could not store (set aside), instead."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Changes the server refused for good (invalid, or outside your scope)."""
    from sfa.services import syncing

    if pulled:
        aside = syncing.quarantined(workspace(ctx))
        if as_json:
            print_json(aside)
            return
        emit_table(
            [{**i, "value": (i["value"] or "")[:40]} for i in aside],
            [
                ("seq", "Seq"),
                ("entity", "Type"),
                ("record_id", "Record"),
                ("value", "Value"),
                ("reason", "Reason"),
            ],
            empty="no pulled changes set aside",
        )
        return
    items = syncing.rejected_records(workspace(ctx))
    if as_json:
        print_json(items)
        return
    rows = [{**i, "what": ", ".join(f"{k}={v}" for k, v in i["fields"].items())[:60]} for i in items]
    emit_table(
        rows,
        [
            ("seq", "Seq"),
            ("entity", "Type"),
            ("record_id", "Record"),
            ("what", "Change"),
            ("reason", "Reason"),
        ],
        empty="no rejected changes",
    )
