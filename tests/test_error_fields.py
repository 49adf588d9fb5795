"""Errors name fields; the CLI names their flags (sfa/cli/failure.py, docs/architecture.md).

A message raised below the user interfaces is shown as it is by the dashboard, so it must not name
a command-line flag; what it asks the user to give is listed in the error's `asks_for`, and the CLI
adds the flag of each. These tests hold both ends: no flag in a message raised in sfa/services or
sfa/domain, every field asked for has a real flag, and the CLI shows it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sfa.cli.failure import flag_of, shown
from sfa.domain.errors import DuplicateError, SfaError, UsageError, ValidationError
from sfa.services import leads
from sfa.store.workspace import Workspace
from tests.conftest import Runner, command_tree

PACKAGE = Path(__file__).resolve().parent.parent / "sfa"
FLAG = re.compile(r"(?<![\w-])--[a-z]")


def _raised_texts_and_asks(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    """The string pieces of every `raise` statement of a module (f-string parts included), and
    the `asks_for` tuples given there."""
    texts: list[str] = []
    asks: list[tuple[str, ...]] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        for inner in ast.walk(node.exc):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                texts.append(f"{path.name}:{inner.lineno}: {inner.value}")
            elif isinstance(inner, ast.keyword) and inner.arg == "asks_for":
                asks.append(tuple(ast.literal_eval(inner.value)))
    return texts, asks


def _modules() -> list[Path]:
    return sorted(p for layer in ("services", "domain") for p in (PACKAGE / layer).rglob("*.py"))


def test_no_message_raised_below_the_cli_names_a_flag() -> None:
    offenders = [text for path in _modules() for text in _raised_texts_and_asks(path)[0] if FLAG.search(text)]
    assert offenders == []


def test_the_flag_check_sees_a_flag(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'raise UsageError(f"give --opp {ref}")\nraise E("x", "a-b --c")\nraise E("well-known")\n',
        encoding="utf-8",
    )
    texts, _ = _raised_texts_and_asks(sample)
    assert [t for t in texts if FLAG.search(t)] == [
        f"{sample.name}:1: give --opp ",
        f"{sample.name}:2: a-b --c",
    ]


def test_every_field_asked_for_is_a_flag_of_some_command() -> None:
    asked = {field for path in _modules() for ask in _raised_texts_and_asks(path)[1] for field in ask}
    assert {"account", "allow_duplicate", "output", "type", "latitude"} <= asked  # the scan finds them
    import typer

    from sfa.cli.main import app

    commands = [typer.main.get_command(app), *command_tree().values()]  # the root's own: --home
    flags = {opt for command in commands for param in command.params for opt in param.opts}
    assert sorted(field for field in asked if flag_of(field) not in flags) == []


def test_the_cli_adds_the_flags_of_what_an_error_asks_for() -> None:
    assert flag_of("allow_duplicate") == "--allow-duplicate"
    assert flag_of("latitude") == "--lat" and flag_of("opportunity") == "--opp"
    asking = ValidationError(
        "latitude", "give both latitude and longitude", asks_for=("latitude", "longitude")
    )
    assert str(asking) == "latitude: give both latitude and longitude"  # what the dashboard shows
    assert shown(asking) == "latitude: give both latitude and longitude (--lat, --lon)"
    assert (
        shown(UsageError("give a product", asks_for=("product", "product"))) == "give a product (--product)"
    )
    assert shown(SfaError("plain")) == "plain" and shown(ValueError("other")) == "other"
    duplicate = DuplicateError("looks like a duplicate", [], asks_for=("allow_duplicate",))
    assert shown(duplicate) == "looks like a duplicate (--allow-duplicate)"


def test_a_lead_without_company_asks_for_the_account(ws: Workspace, sfa: Runner) -> None:
    lead = leads.add_lead(ws, {"name": "Hans Solo"})
    with pytest.raises(ValidationError) as refused:
        leads.convert(ws, lead["id"])
    assert str(refused.value) == "company: lead 'Hans Solo' has no company; give the account to link it to"
    assert refused.value.asks_for == ("account",)
    ws.close()
    result = sfa("lead", "convert", lead["id"])
    assert result.code == 1
    assert result.err == (
        "sfa: error: company: lead 'Hans Solo' has no company; give the account to link it to (--account)\n"
    )


def test_opp_stage_lost_names_the_command_that_takes_a_reason(sfa: Runner) -> None:
    account = sfa("account", "add", "Acme", "-q").out.strip()
    opp = sfa("opp", "add", "Deal", "--account", account, "-q").out.strip()
    result = sfa("opp", "stage", opp, "lost")
    assert result.code == 1
    assert f"reason: a lost deal needs a reason; use `sfa opp lost {opp} --reason TEXT`" in result.err
    assert sfa("opp", "lost", opp, "--reason", "price").code == 0
