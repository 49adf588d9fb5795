"""Import hygiene: the plain CLI stays light; the server shares only domain and protocol code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _modules(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())


def test_plain_commands_do_not_import_sync_or_server_libraries(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = (
        "import sys\nfrom sfa.cli import main\n"
        f"sys.argv = ['sfa', '--home', {str(home)!r}, 'account', 'add', 'Acme', '-q']\n"
        "try:\n    main.run()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code"
    )
    loaded = _modules(code)
    assert "sfa.store.db" in loaded  # the command really ran
    assert not loaded & {"httpx", "fastapi", "uvicorn", "sqlalchemy", "sqlmodel", "sfa.sync.engine"}


def test_sync_status_needs_no_http_client(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom sfa.cli import main\n"
        f"sys.argv = ['sfa', '--home', {str(tmp_path)!r}, 'sync', 'status']\n"
        "try:\n    main.run()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code"
    )
    loaded = _modules(code)
    assert "sfa.store.replica" in loaded
    assert "httpx" not in loaded


def test_server_shares_only_domain_and_protocol() -> None:
    loaded = _modules("import sfa.server.app, sfa.server.admin")
    ours = {m for m in loaded if m.startswith("sfa.")}
    assert ours, "nothing imported"
    assert all(m.startswith(("sfa.server", "sfa.domain")) or m == "sfa.protocol" for m in ours), ours


def test_protocol_module_is_light() -> None:
    """The wire types are on the laptop's sync path: no pydantic, no HTTP client, no server code."""
    loaded = _modules("import sfa.protocol")
    assert not loaded & {"pydantic", "httpx", "fastapi", "sqlalchemy", "sfa.store", "sfa.sync"}, loaded
