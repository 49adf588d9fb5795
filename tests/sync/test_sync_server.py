"""The server's edges: authentication, malformed input (4xx with a reason, never 500), the CLI."""

from __future__ import annotations

import gzip
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


BAD_BODIES: list[tuple[str, Any]] = [
    ("not json", b"{nope"),
    ("a list", []),
    ("wrong protocol", {"protocol": 9, "client_id": "c", "mutations": []}),
    ("no client id", {"protocol": 1, "mutations": []}),
    ("mutations not a list", {"protocol": 1, "client_id": "c", "mutations": {}}),
    ("too many", {"protocol": 1, "client_id": "c", "mutations": [{"seq": i + 1} for i in range(501)]}),
    ("seq not increasing", {"protocol": 1, "client_id": "c", "mutations": [{"seq": 2}, {"seq": 1}]}),
    ("seq a string", {"protocol": 1, "client_id": "c", "mutations": [{"seq": "1"}]}),
    ("acked negative", {"protocol": 1, "client_id": "c", "acked": -1, "mutations": []}),
]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_malformed_requests_get_4xx_with_a_reason(server: Server) -> None:
    token = server.add_user("ana")
    headers = {"Authorization": f"Bearer {token}"}
    url = _url(server)
    for label, body in BAD_BODIES:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        reply = httpx.post(f"{url}/v1/push", content=content, headers=headers)
        assert 400 <= reply.status_code < 500, label
        assert reply.json()["error"], label
    reply = httpx.post(f"{url}/v1/push", content=b"\x1f\x8bnot gzip",
                       headers={**headers, "Content-Encoding": "gzip"})  # fmt: skip
    assert reply.status_code == 400 and "gzip" in reply.json()["error"]
    for query in ("cursor=-1", "cursor=x", "limit=0", "limit=100000", "epoch=" + "x" * 100):
        reply = httpx.get(f"{url}/v1/pull?{query}", headers=headers)
        assert reply.status_code == 400, query
        assert reply.json()["error"], query
    # Bad mutations inside a good envelope are rejected one by one, with reasons.
    mutations = [
        {"seq": 1, "entity": "spaceship", "id": ID, "fields": {"name": ["x", CLOCK]}},
        {"seq": 2, "entity": "account", "id": "not-a-uuid", "fields": {"name": ["x", CLOCK]}},
        {"seq": 3, "entity": "account", "id": ID, "fields": {"colour": ["red", CLOCK]}},
        {"seq": 4, "entity": "account", "id": ID, "fields": {"name": ["x", "yesterday"]}},
        {"seq": 5, "entity": "account", "id": ID, "fields": {"city": ["Berlin", CLOCK]}},
        {"seq": 6, "entity": "account", "id": ID, "fields": {"name": [12, CLOCK]}},
        {"seq": 7, "entity": "account", "id": ID, "fields": "name"},
        {"seq": 8, "entity": "account", "id": ID, "fields": {"name": ["Fine", CLOCK]}},
    ]
    body = {"protocol": 1, "client_id": "c1", "mutations": mutations}
    reply = httpx.post(f"{url}/v1/push", content=gzip.compress(json.dumps(body).encode()),
                       headers={**headers, "Content-Encoding": "gzip"})  # fmt: skip
    assert reply.status_code == 200
    results = reply.json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 7 + ["applied"]
    reasons = [r["reason"] for r in results[:7]]
    assert "spaceship" in reasons[0] and "UUID" in reasons[1] and "colour" in reasons[2]
    assert "clock" in reasons[3] and "name: is required" in reasons[4] and "text" in reasons[5]
    other = server.add_user("bob")
    reply = httpx.post(f"{url}/v1/push", json=body, headers={"Authorization": f"Bearer {other}"})
    assert reply.status_code == 403


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
