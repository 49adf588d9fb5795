"""Documentation that scripts rely on stays in step with the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sfa.domain.entities import ENTITIES

ROOT = Path(__file__).resolve().parent.parent


def test_json_doc_lists_every_field() -> None:
    text = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    for entity in ENTITIES.values():
        section = re.search(rf"^## {entity.name}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        assert section is not None, f"docs/json.md has no section for {entity.name}"
        for field in entity.fields:
            assert f"`{field.name}`" in section.group(1), f"{entity.name}.{field.name} undocumented"


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    head = text[:1500]
    assert "<!-- run-command -->" in head and "<!-- test-command -->" in head
    assert head.index("<!-- run-command -->") < head.index("<!-- test-command -->")


CLI_DOC = ROOT / "docs" / "cli.md"


def _section(title: str) -> str:
    text = CLI_DOC.read_text(encoding="utf-8")
    found = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert found is not None, f"docs/cli.md has no section {title!r}"
    return found.group(1)


def _leaf_commands() -> set[str]:
    import typer

    from sfa.cli import main

    root = typer.main.get_command(main.app)
    found: set[str] = set()

    def walk(group: Any, context: Any, prefix: list[str]) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            if hasattr(command, "list_commands"):
                walk(command, typer.Context(command, parent=context, info_name=name), [*prefix, name])
            else:
                found.add(" ".join(["sfa", *prefix, name]))

    walk(root, typer.Context(root, info_name="sfa"), [])
    return found


def test_the_command_list_is_the_real_command_tree() -> None:
    listed = set(re.findall(r"^\| `(sfa [^`]*)` \|", _section("Commands"), re.M))
    assert listed == _leaf_commands()


def test_every_setting_is_documented_with_its_default() -> None:
    from sfa.domain.settings import SETTINGS

    rows = dict(re.findall(r"^\| `([^`]+)` \| ([^|]*) \|", _section("Settings"), re.M))
    assert set(rows) == set(SETTINGS)
    for key, setting in SETTINGS.items():
        if setting.default and len(setting.default) <= 40:
            assert f"`{setting.default}`" in rows[key], key


def test_every_exit_code_is_documented() -> None:
    from sfa.domain import errors

    codes = {0, 2, 130} | {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.SfaError)
    }
    text = CLI_DOC.read_text(encoding="utf-8")
    bullet = text[text.index("- **Exit codes**") :].split("\n- **", 1)[0]
    for code in sorted(codes):
        assert re.search(rf"(^|\D){code}(\D|$)", bullet), f"exit code {code} is not in docs/cli.md"
