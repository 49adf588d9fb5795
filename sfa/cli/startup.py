"""What the command line does to start fast, with Typer as its one parser (docs/performance.md).

1. Option values without pydantic. Typer (0.29) converts each option and argument through a pydantic
   ``TypeAdapter``, built when the command line is parsed, for every parameter of the command that
   runs, given or not. Importing pydantic and building those adapters is most of the CPU time of a
   short command such as ``sfa lead add`` (about 90 ms of 190 ms). Typer still declares the options,
   parses the command line, writes the help and the usage errors; only the last step, turning an
   already parsed string into the annotated type, is done here for the plain annotations sfa's
   commands use (``str``, ``int`` with ``min``/``max``, ``bool``, ``Path``, ``list[str]``). This
   conversion only ever *accepts*: a value it is not certain about (a malformed number, a number out
   of range, a path that fails a check, any other annotation) is handed to Typer's own conversion,
   which gives exactly the result and the error message it always gave.
2. A command module's group builds a command when it is asked for, not all of them up front.
3. One help style: every group and command is built with plain (click-layout) help, without Typer's
   shell-completion options, and command lists wrap their summaries instead of cutting them.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
import typer.main
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

_INT = re.compile(r"[+-]?[0-9]{1,18}")
_SLOW = object()  # "not sure: ask Typer"


def _one(annotation: Any, info: Any, value: Any) -> Any:
    """The converted value, or _SLOW."""
    if annotation is str:
        return value if type(value) is str else _SLOW
    if annotation is bool:
        return value if type(value) is bool else _SLOW
    if annotation is int:
        if type(value) is int:
            number = value
        elif type(value) is str and _INT.fullmatch(value):
            number = int(value)
        else:
            return _SLOW
        if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
            return _SLOW
        return number
    if annotation is Path:
        return _path(info, value)
    return _SLOW


def _path(info: Any, value: Any) -> Any:
    if type(value) is not str or info.path_type is not None or info.resolve_path:
        return _SLOW
    if info.allow_dash or info.writable:
        return _SLOW
    try:
        mode = os.stat(value).st_mode
    except OSError:
        return _SLOW if info.exists else Path(value)
    except ValueError:  # a NUL in the name: whatever Typer makes of it
        return _SLOW
    import stat

    if (not info.file_okay and stat.S_ISREG(mode)) or (not info.dir_okay and stat.S_ISDIR(mode)):
        return _SLOW
    if info.readable and not os.access(value, os.R_OK):
        return _SLOW
    return Path(value)


class _Conversion:
    """Duck-types Typer's runtime conversion (``coerce``); builds Typer's own only when needed."""

    def __init__(self, param: Any, typer_conversion: Any) -> None:
        self._typer_conversion = typer_conversion
        descriptor = param.type_descriptor
        self._info = descriptor.parameter_info
        annotation = descriptor.annotation
        self._multi = param.multiple or param.nargs == -1
        self._item: Any = None  # the annotation converted here, None: always Typer's conversion
        if self._info.parser is not None:
            pass
        elif self._multi:
            if get_origin(annotation) is list and len(get_args(annotation)) == 1:
                self._item = get_args(annotation)[0]
        elif param.nargs == 1:
            self._item = annotation

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if self._multi else None
        item = self._item
        if item is not None:
            if not self._multi:
                converted = _one(item, self._info, value)
                if converted is not _SLOW:
                    return converted
            elif isinstance(value, list | tuple):
                items = [_one(item, self._info, v) for v in value]
                if _SLOW not in items:
                    return items
        return self._typer_conversion().coerce(value, param=param, ctx=ctx)


def _get_runtime_param(self: Any) -> Any:
    """Typer's hook for a parameter's conversion: ours, with Typer's own (built lazily) behind it."""
    conversion = self.__dict__.get("_sfa_conversion")
    if conversion is None:
        typer_get = super(type(self), self).get_runtime_param  # FastOption's or FastArgument's base
        conversion = self.__dict__["_sfa_conversion"] = _Conversion(self, typer_get)
    return conversion


# Subclasses that only replace that hook, so a parameter Typer built can take the class in place.
class FastOption(TyperOption):
    get_runtime_param = _get_runtime_param


class FastArgument(TyperArgument):
    get_runtime_param = _get_runtime_param


def speed_up(params: Iterable[Any]) -> None:
    """Give Typer's parameters the fast conversion (same instances, same attributes)."""
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = FastOption
        elif type(param) is TyperArgument:
            param.__class__ = FastArgument


def _get_params(self: Any, ctx: Any) -> Any:
    """Click's list of a command's parameters, with the help option it adds: all sped up."""
    params = super(type(self), self).get_params(ctx)
    speed_up(params)
    return params


class FastCommand(TyperCommand):
    get_params = _get_params


def write_commands(formatter: Any, rows: list[tuple[str, str]]) -> None:
    """The "Commands" section of a group's help: each command's first sentence, wrapped, never cut."""
    if rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class FastGroup(TyperGroup):
    """A command group whose commands Typer builds when first asked for, not all up front.

    Typer builds a command by reading its function's signature and resolving its annotations
    (``typing.get_type_hints``): about 2 ms a command, 20-40 ms for a group, of which a run uses one.
    """

    get_params = _get_params

    def _sfa_build(self, name: str) -> Any:
        pending: dict[str, Any] = self.__dict__.get("_sfa_pending", {})
        info = pending.pop(name, None)
        if info is not None:
            built = typer.main.get_command_from_info(
                info, pretty_exceptions_short=self.__dict__["_sfa_short"], rich_markup_mode=None
            )
            self.commands[name] = speed_up_command(built)
        return self.commands.get(name)

    def list_commands(self, ctx: Any) -> list[str]:
        order: list[str] = self.__dict__.get("_sfa_order", [])
        return order + [name for name in self.commands if name not in order]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self._sfa_build(cmd_name)
        if command is None:
            # An unknown name: build the rest, so that "did you mean" knows every command.
            for name in list(self.__dict__.get("_sfa_pending", {})):
                self._sfa_build(name)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        write_commands(formatter, rows)


def speed_up_command(command: Any) -> Any:
    """A command, or a group and its commands, whose parameters convert without pydantic."""
    if type(command) is TyperCommand:
        command.__class__ = FastCommand
    elif type(command) is TyperGroup:
        command.__class__ = FastGroup
    for sub in getattr(command, "commands", {}).values():
        speed_up_command(sub)
    return command


def build(app: typer.Typer) -> Any:
    """What ``typer.main.get_command(app)`` gives, built for sfa: its parameters convert without
    pydantic, a group builds a command only when it is asked for, the help is plain (click's
    layout, no rich panels) and no command gets Typer's shell-completion options."""
    is_group = bool(app.registered_callback or app.info.callback or app.registered_groups)
    if not is_group and len(app.registered_commands) == 1:
        single = typer.main.get_command_from_info(
            app.registered_commands[0],
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=None,
        )
        return speed_up_command(single)
    shell = copy.copy(app)
    shell.registered_commands = []  # the group with its own options and sub-groups, no commands yet
    shell.rich_markup_mode = None
    group = speed_up_command(typer.main.get_group(shell))
    pending = {_name(info): info for info in app.registered_commands}
    group.__dict__.update(
        _sfa_pending=pending, _sfa_order=list(pending), _sfa_short=app.pretty_exceptions_short
    )
    return group


def _name(info: Any) -> str:
    return str(info.name or typer.main.get_command_name(info.callback.__name__))
