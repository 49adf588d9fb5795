"""The server's edges: authentication, malformed input (4xx with a reason, never 500), the CLI."""

from __future__ import annotations

import json
import os
import stat
from typing import Any

import httpx
import pytest
from faultproxy import FaultProxy
from synchelp import Server

CLOCK = "0001763875469123:00000:aaaaaaaaaaaaaaaa"
ID = "01934b7e-0000-7000-8000-000000000001"


def _url(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def test_tokens_roles_and_cli(server: Server) -> None:
    token = server.add_user("ana", "rep", "north")
    url = _url(server)
    assert httpx.get(f"{url}/v1/health").json()["ok"] is True
    assert "/v1/push" in httpx.get(f"{url}/openapi.json").json()["paths"]
    assert httpx.get(f"{url}/v1/me").status_code == 401
    assert httpx.get(f"{url}/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    me = httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"user": "ana", "role": "rep", "team": "north"}
    listed = server.admin("user", "list", "--json").json()
    assert [(u["name"], u["role"], u["team"], u["revoked"]) for u in listed] == [
        ("ana", "rep", "north", False)
    ]
    assert token not in json.dumps(listed)
    stored = server.query("SELECT token_hash FROM app_user")[0][0]
    assert token not in stored and len(stored) == 64
    server.admin("user", "revoke", "ana")
    assert httpx.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# Malformed input (4xx with a reason, never 500) is tested in-process: test_sync_inprocess.py.


@pytest.mark.parametrize("backend", ["sqlite"])
def test_client_exit_codes_and_status(laptop: Any, proxy: FaultProxy, server: Server) -> None:
    ana = laptop("ana", login=False)
    wrong = ana.sfa("sync", "login", proxy.url, "--token", "wrong")
    assert wrong.code == 4 and "token" in wrong.err
    not_logged_in = ana.sfa("sync")
    assert not_logged_in.code == 4 and "login" in not_logged_in.err
    ana.login(server.add_user("ana"))
    mode = stat.S_IMODE(os.stat(ana.home / "sync.token").st_mode)
    assert mode == 0o600
    ana.ok("account", "add", "Acme")
    proxy.refuse()
    down = ana.sfa("sync", env={"SFA_SYNC_RETRIES": "0"})
    assert down.code == 3 and "cannot reach" in down.err
    status = ana.ok("sync", "status", "--json").json()
    assert status["pending"] == 1 and status["last_sync"] is None and status["server"] == proxy.url
    proxy.accept()
    ana.ok("sync")
    status = ana.ok("sync", "status", "--json").json()
    assert status["pending"] == 0 and status["last_sync"] and status["user"] == "ana"
    text = ana.ok("sync", "status").out
    assert "pending: 0" in text
    server.admin("user", "revoke", "ana")
    assert ana.sfa("sync").code == 4


@pytest.mark.parametrize("backend", ["sqlite"])
def test_login_reads_the_token_from_standard_input(server: Server, tmp_path: Any) -> None:
    """The token need never be on the command line (issue 18, item 9; the README shows this)."""
    from tests.conftest import run_sfa

    token = server.add_user("ana")
    home = tmp_path / "ana"
    logged = run_sfa(home, "sync", "login", _url(server), input=token + "\n")
    assert logged.code == 0, logged.err
    assert (home / "sync.token").read_text().strip() == token
    assert run_sfa(home, "sync").code == 0
    empty = run_sfa(tmp_path / "bob", "sync", "login", _url(server), input="\n")
    assert empty.code != 0 and "token" in empty.err
