"""How the dashboard starts and how it ends when something goes wrong, for both entry points
(`sfa/cli/launch.py`, the fast path, and the `sfa dashboard` command in `sfa/cli/dashboard.py`).

- It needs a terminal: with stdin or stdout not one (`sfa dashboard > file`, a pipe, cron) it
  refuses with one line and exit 2 (usage), before it opens or creates anything.
- An exception nobody handled ends the app the way Textual ends it (the terminal is restored: the
  alternate screen left, mouse reporting off, the cursor shown), but instead of Textual's full-screen
  traceback on the terminal, the traceback goes to a crash log in the data home
  (`crash-YYYYmmdd-HHMMSS.log`, UTC; in the temp folder if the home cannot be written) and the
  command prints one line naming it and exits 1.

This module imports no Textual: the refusal costs nothing.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sfa.domain.errors import SfaError, UsageError

if TYPE_CHECKING:
    from sfa.store.workspace import Workspace

MESSAGE_LIMIT = 160  # characters of the exception's own message in the one line


def require_terminal() -> None:
    """The dashboard draws with escape codes and reads keys: it needs a terminal on both ends."""
    for name, stream in (("output", sys.stdout), ("input", sys.stdin)):
        try:
            is_terminal = stream is not None and stream.isatty()
        except (ValueError, OSError):  # a closed stream
            is_terminal = False
        if not is_terminal:
            raise UsageError(
                f"dashboard: the {name} is not a terminal; run `sfa dashboard` in a terminal "
                "(for scripts, every dashboard action is also a command with --json)"
            )


def _cause(error: BaseException) -> BaseException:
    """The exception that matters: a failed worker wraps the one its code raised."""
    inner = getattr(error, "error", None)
    if type(error).__name__ == "WorkerFailed" and isinstance(inner, BaseException):
        return inner
    return error


def summary(error: BaseException) -> str:
    """`KeyError: 'task'`: the exception's type and the first line of its message, shortened."""
    cause = _cause(error)
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else ""
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def write_crash_log(home: Path, error: BaseException, now: datetime | None = None) -> Path | None:
    """Write the traceback (and what helps to read it: versions, time) to a new file in the data
    home, or in the temp folder when the home cannot be written; None if neither can."""
    from sfa import __version__

    moment = now or datetime.now(UTC)
    cause = _cause(error)
    text = "".join(
        [
            f"sfa {__version__} dashboard crash at {moment.isoformat()}\n",
            f"python {platform.python_version()} on {platform.platform()}\n",
            f"textual {_version('textual')}\n\n",
            *traceback.format_exception(type(cause), cause, cause.__traceback__),
        ]
    )
    if cause is not error:
        text += (
            "\n(raised in a worker: "
            + "".join(traceback.format_exception_only(type(error), error)).strip()
            + ")\n"
        )
    stamp = moment.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    for folder in (home, Path(tempfile.gettempdir())):
        for attempt in range(100):
            path = folder / (f"crash-{stamp}.log" if attempt == 0 else f"crash-{stamp}-{attempt}.log")
            try:
                with open(path, "x", encoding="utf-8") as out:  # never overwrite an earlier crash
                    out.write(text)
                return path
            except FileExistsError:
                continue
            except OSError:
                break
    return None


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def crashed(error: BaseException, log: Path | None) -> SfaError:
    """The one line the command ends with after a crash (exit 1)."""
    where = (
        f"the traceback is in {log}" if log else "no crash log could be written (the data home is read-only?)"
    )
    return SfaError(f"the dashboard stopped on an unexpected error ({summary(error)}); {where}")


def run_dashboard(ws: Workspace) -> None:
    """Run the app on the workspace; raises SfaError (exit 1) after a crash, with the log written."""
    from sfa.tui.app import SfaApp

    app = SfaApp(workspace=ws)
    try:
        app.run()
    except Exception as error:  # raised outside Textual's own handling (the driver, start-up)
        raise crashed(error, write_crash_log(ws.home, error)) from None
    if app.crash is not None:
        raise crashed(*app.crash)
    if app.return_code:  # Textual ended it with an error status of its own
        raise SfaError(f"the dashboard ended with status {app.return_code}")
