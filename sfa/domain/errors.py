"""The one error tree of sfa. Exit codes are mapped here and nowhere else."""

from __future__ import annotations


class SfaError(Exception):
    """Base of every error a user can meet; the message is one clear line.

    A message names fields, never a user interface's controls: `asks_for` lists the fields (or
    choices, such as `allow_duplicate`) that the message asks the user to give, and each interface
    shows them its own way: the CLI adds their flags (sfa/cli/failure.py), the dashboard its form's
    field names (docs/architecture.md)."""

    exit_code = 1

    def __init__(self, *args: object, asks_for: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        self.asks_for = asks_for


class ValidationError(SfaError):
    """A value the user gave is not acceptable."""

    def __init__(self, field: str, message: str, *, asks_for: tuple[str, ...] = ()) -> None:
        self.field = field
        super().__init__(f"{field}: {message}", asks_for=asks_for)


class NotFoundError(SfaError):
    pass


class AmbiguousRefError(SfaError):
    def __init__(self, entity: str, ref: str, candidates: list[str]) -> None:
        self.candidates = candidates
        shown = ", ".join(candidates[:10])
        more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(f"{entity} ref {ref!r} is ambiguous: matches {shown}{more}")


class DuplicateError(SfaError):
    def __init__(
        self, message: str, existing: list[dict[str, object]], *, asks_for: tuple[str, ...] = ()
    ) -> None:
        self.existing = existing
        super().__init__(message, asks_for=asks_for)


class NothingImportedError(SfaError):
    """Every row or card of an import was rejected: the summary is shown, and the exit is not 0."""

    def __init__(self, rejected: int, noun: str) -> None:
        super().__init__(f"nothing was imported: all {rejected} {noun} were rejected (the summary says why)")


class StateError(SfaError):
    """The record is in a state that does not allow the operation."""


class NotAllowedError(SfaError):
    """The user's role (cached at `sfa sync login`) does not allow the change; the server would
    reject it (docs/policy.md)."""


class StoreError(SfaError):
    """The data file cannot be used (newer schema, corrupt, locked)."""


class ConfigError(SfaError):
    pass


class UsageError(SfaError):
    exit_code = 2


class SyncError(SfaError):
    """The server refused a sync request (the message says why)."""


class UnreachableError(SyncError):
    """The sync server cannot be reached; local changes stay queued."""

    exit_code = 3


class AuthError(SyncError):
    """The sync server did not accept the token."""

    exit_code = 4
