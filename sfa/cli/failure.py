"""How a failed command ends: one line on stderr and an exit code (codes are set in sfa.domain.errors).

Errors raised below the CLI name fields, not flags ("company: ... give the account to link one"), so
that the dashboard can show them as they are. What a message asks the user to give (the error's
`asks_for`) is shown here with its flag: the one mapping from field to flag (docs/architecture.md).
"""

from __future__ import annotations

import sys
from typing import NoReturn

# A field whose flag is not `--` + its name with "_" as "-".
_FLAGS = {
    "latitude": "--lat",
    "longitude": "--lon",
    "opportunity": "--opp",
    "account_id": "--account",
    "contact_id": "--contact",
    "lead_id": "--lead",
    "opportunity_id": "--opp",
    "visit_id": "--visit",
}


def flag_of(field: str) -> str:
    """The command-line flag that gives a field (or a choice such as `allow_duplicate`)."""
    return _FLAGS.get(field) or "--" + field.replace("_", "-")


def shown(exc: BaseException) -> str:
    """An error's line on the command line: its message, then the flags of what it asks for."""
    asks_for: tuple[str, ...] = getattr(exc, "asks_for", ())
    if not asks_for:
        return str(exc)
    return f"{exc} ({', '.join(dict.fromkeys(flag_of(f) for f in asks_for))})"


def one_line(message: str) -> str:
    """The message with its control characters escaped (a newline, a NEL or a line separator in a
    value the user gave, such as a path): the error stays one line, and the terminal shows it as
    typed instead of acting on it."""
    if message.isprintable():
        return message
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in message)


def fail(message: str, code: int) -> NoReturn:
    print(f"sfa: error: {one_line(message)}", file=sys.stderr)
    sys.exit(code)
