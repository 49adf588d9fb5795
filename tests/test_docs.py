"""Documentation that scripts rely on stays in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

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
