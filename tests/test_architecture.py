"""Layering and import hygiene, enforced.

Imports flow one way: domain <- store <- services <- {cli, tui}. The plain CLI path must not pay for
heavy libraries (sqlalchemy, sqlmodel, textual, httpx, fastapi, uvicorn; for `sfa lead add` also
pydantic and rich, see docs/performance.md).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sfa"
HEAVY = ("sqlalchemy", "sqlmodel", "textual", "httpx", "fastapi", "uvicorn")
# ... nor, for a scripted command, what Typer would load to convert option values (pydantic, about
# 60 ms; sfa/cli/startup.py converts them) or to draw help (rich), nor what a plain write has no use
# for (the zone database, the TOML parser when there is no config file, pickle).
SCRIPTED_HEAVY = ("pydantic", "pydantic_core", "annotated_types", "rich", "zoneinfo", "tomllib", "pickle")

# layer -> packages it must never import (directly, at any depth of the module)
FORBIDDEN = {
    "domain": ("sfa.store", "sfa.services", "sfa.cli", "sfa.tui", "sfa.sync", "sfa.server", "sqlite3"),
    "store": ("sfa.services", "sfa.cli", "sfa.tui", "sfa.sync", "sfa.server"),
    "services": ("sfa.cli", "sfa.tui", "sfa.server"),
    "cli": ("sqlite3", "httpx", "sfa.server.app"),
    "tui": ("sfa.cli", "sqlite3", "httpx"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    violations = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in imported_modules(path):
            for banned in FORBIDDEN[layer]:
                if module == banned or module.startswith(banned + "."):
                    violations.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert violations == []


def test_cli_and_tui_hold_no_sql() -> None:
    """SQL lives in the store (and, as where-clauses, in services); never in the UI layers."""
    offenders = []
    for layer in ("cli", "tui"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for marker in (".execute(", ".conn", "SELECT ", "INSERT INTO", "UPDATE "):
                if marker in text:
                    offenders.append(f"{path.name}: {marker}")
    assert offenders == []


def test_lead_add_imports_no_heavy_library(tmp_path: Path) -> None:
    script = (
        "import sys, json\n"
        "from sfa.cli.main import run\n"
        f"sys.argv = ['sfa', '--home', {str(tmp_path)!r}, 'lead', 'add', 'Hygiene Test', '-q']\n"
        "try:\n    run()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    loaded = [m for m in report["modules"] if m.split(".")[0] in HEAVY + SCRIPTED_HEAVY]
    assert loaded == []
    # the lazy group loads the lead commands and nothing of the other command groups
    cli = {m for m in report["modules"] if m.startswith("sfa.cli.")}
    assert cli == {"sfa.cli.main", "sfa.cli.startup", "sfa.cli.common", "sfa.cli.lead"}
    # and it really ran: the lead is there
    assert len(proc.stdout.strip()) == 36


def _store_privates(path: Path) -> list[str]:
    """`.conn` on anything, `<...>store._name`, and private names imported from sfa.store."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = ast.unparse(node.value)
            if node.attr == "conn":
                found.append(f"{path.name}:{node.lineno}: {owner}.conn")
            elif node.attr.startswith("_") and not node.attr.startswith("__") and owner.endswith("store"):
                found.append(f"{path.name}:{node.lineno}: {owner}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sfa.store"):
            found += [
                f"{path.name}:{node.lineno}: imports {alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    return found


def test_only_the_store_touches_its_connection_and_private_names() -> None:
    """Persistence has one owner: services, sync and the user interfaces ask the store questions
    through its methods, never through its SQLite connection or its private names."""
    offenders = []
    for layer in ("services", "sync", "cli", "tui"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            offenders += _store_privates(path)
    assert offenders == []


def test_the_private_name_check_sees_what_it_bans(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sfa.store.db import _FTS_SLOTS\nws.store.conn.execute('x')\nws.store._depth += 1\n",
        encoding="utf-8",
    )
    assert len(_store_privates(sample)) == 3


def test_change_capture_is_written_in_one_module() -> None:
    """The outbox, history and search index are written by sfa/store/writes.py alone."""
    writers = re.compile(r"INSERT INTO (outbox|history|search_fts)|UPDATE outbox|DELETE FROM search_fts")
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent.name != "server"
        and path.name != "writes.py"
        and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# Modules allowed to read a workspace's store directly: none (the sync commands call the sync
# service since issue 12 was finished); kept so an exception must be named here, with its reason.
STORE_READERS_ALLOWED: frozenset[str] = frozenset()


def _store_reads(path: Path) -> list[str]:
    """Every `X.store` in a module: the user interfaces reach the data through sfa.services only
    (where the CLI's and the dashboard's shared rules live), never through the workspace's store."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]


def test_the_cli_and_the_dashboard_call_services_only() -> None:
    """No `.store` in sfa/cli or sfa/tui: what they read and write goes through sfa.services."""
    offenders = []
    for layer in ("cli", "tui"):
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            if str(path.relative_to(PACKAGE.parent)) not in STORE_READERS_ALLOWED:
                offenders += _store_reads(path)
    assert offenders == []


def test_the_store_read_check_sees_what_it_bans(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sfa.store import codec\n"  # an import is not a read of the attribute
        "ws.store.short_ref(ACCOUNT, '1')\n"
        "workspace(ctx).store\n"
        "refs = self.ws.store.titles(ACCOUNT, ids)\n",
        encoding="utf-8",
    )
    assert sorted(found.split(":")[1] for found in _store_reads(sample)) == ["2", "3", "4"]


def test_the_whitelisted_store_readers_still_read_it() -> None:
    """An entry of STORE_READERS_ALLOWED goes once its module no longer needs it."""
    for allowed in sorted(STORE_READERS_ALLOWED):
        assert _store_reads(PACKAGE.parent / allowed) != [], f"{allowed} no longer reads .store"


def test_the_dashboard_loads_no_service_by_name() -> None:
    """Service modules are imported, so mypy sees them; never loaded by a string name."""
    offenders = []
    for path in sorted((PACKAGE / "tui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and str(node.value).startswith("sfa.services"):
                offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
