"""The service files in deploy/ use only options the CLI has (parsed by the real command tree)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from sfa.cli import main

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def _sfa_commands() -> list[list[str]]:
    commands = []
    unit = (DEPLOY / "sfa-server.service").read_text()
    for line in re.findall(r"^Exec\w*=(?:-)?(\S*sfa .*)$", unit, re.M):
        commands.append(shlex.split(line)[1:])
    container = (DEPLOY / "Containerfile").read_text()
    cmd = re.search(r"^CMD (.*)$", container, re.M)
    assert cmd is not None
    for part in cmd.group(1).split("&&"):
        words = shlex.split(part.replace('"$WORKERS"', "2"))
        if words and words[0] == "exec":
            words = words[1:]
        assert words[0] == "sfa"
        commands.append(words[1:])
    return commands


def test_the_service_files_name_commands_that_exist() -> None:
    commands = _sfa_commands()
    assert len(commands) == 4  # unit: init + run; container: init + run
    root = typer.main.get_command(main.app)
    for args in commands:
        # make_context parses and type-checks every option without running the command.
        context = root.make_context("sfa", list(args))
        group: typer.core.TyperGroup | typer.core.TyperCommand = root
        while isinstance(group, typer.core.TyperGroup):
            # A group keeps its sub-command's name apart from the arguments after it.
            rest = [*getattr(context, "_protected_args", []), *context.args]
            assert rest, f"{args}: names a group, not a command"
            command = group.get_command(context, rest[0])
            assert command is not None, f"no command {rest[0]!r} in {args}"
            context = command.make_context(rest[0], rest[1:], parent=context)
            group = command


@pytest.mark.parametrize("name", ["sfa-server.service", "Containerfile", "Caddyfile"])
def test_service_files_exist_and_point_at_the_docs(name: str) -> None:
    assert "docs/deploy.md" in (DEPLOY / name).read_text()
