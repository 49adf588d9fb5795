"""The protocol and the client against the server app in-process (tests/sync/inprocess.py): typed
messages, the published schema, malformed input, the retry policy, and regression cases found by the
stateful test (tests/sync/test_sync_stateful.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from inprocess import URL, InProcessServer
from inprocess import http as http
from inprocess import server as server

from sfa.domain.entities import ACCOUNT
from sfa.domain.errors import SyncError, UnreachableError
from sfa.protocol import (
    RETRY,
    Mutation,
    ProtocolError,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    PushResult,
    RetryPolicy,
)
from sfa.store.workspace import Workspace
from sfa.sync import engine

CLOCK = "0001763875469123:00000:aaaaaaaaaaaaaaaa"
ID = "01934b7e-0000-7000-8000-000000000001"


# -- the published schema ------------------------------------------------------------------------


def test_openapi_declares_every_request_and_reply(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    push = doc["paths"]["/v1/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PushRequest"
    }
    mutation = schemas["Mutation"]["properties"]
    assert set(mutation) == {"seq", "entity", "id", "fields", "base", "known"}
    assert schemas["PushResult"]["properties"]["status"]["enum"] == ["applied", "conflict", "rejected"]
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            assert "422" not in responses, path  # the server answers 400, never 422
            content = responses["200"]["content"]
            if "application/octet-stream" in content:  # a blob's bytes (sfa/server/blobs.py)
                assert content["application/octet-stream"]["schema"]["format"] == "binary", path
            else:
                assert "$ref" in content["application/json"]["schema"], path
            if path != "/v1/health":
                assert operation["security"] == [{"bearer": []}]
                assert responses["401"]["content"]["application/json"]["schema"]["$ref"].endswith(
                    "/ErrorReply"
                )
    pull = schemas["PullResponse"]["properties"]["changes"]["items"]
    assert set(schemas[pull["$ref"].rsplit("/", 1)[1]]["properties"]) == {
        "seq",
        "entity",
        "id",
        "fields",
        "remove",
    }
    assert "HTTPValidationError" not in schemas


def test_replies_are_the_declared_messages(server: InProcessServer, http: httpx.Client) -> None:
    token = server.add_user("ana")
    headers = {"Authorization": f"Bearer {token}"}
    fields = {"name": ["Acme", CLOCK], "owner": ["ana", CLOCK]}
    request = PushRequest("c1", [Mutation(1, "account", ID, fields)], now=1)
    reply = http.post("/v1/push", json=request.to_json(), headers=headers)
    parsed = PushResponse.parse(reply.json())
    assert parsed.results == [PushResult(1, "applied")]
    page = PullResponse.parse(http.get("/v1/pull", params=PullRequest().to_params(), headers=headers).json())
    assert [(c["entity"], c["id"], c["fields"]["name"][0]) for c in page.changes] == [("account", ID, "Acme")]
    assert page.cursor == page.head == 1 and page.more is False


# -- malformed input: 4xx with a reason ------------------------------------------------------------

BAD_BODIES: list[tuple[str, Any, str]] = [
    ("not json", b"{nope", "JSON"),
    ("a list", [], "body"),
    ("wrong protocol", {"protocol": 9, "client_id": "c", "mutations": []}, "protocol"),
    ("protocol true", {"protocol": True, "client_id": "c", "mutations": []}, "protocol"),
    ("no client id", {"protocol": 1, "mutations": []}, "client_id"),
    ("client id too long", {"protocol": 1, "client_id": "c" * 65, "mutations": []}, "client_id"),
    ("mutations not a list", {"protocol": 1, "client_id": "c", "mutations": {}}, "mutations"),
    (
        "too many",
        {"protocol": 1, "client_id": "c", "mutations": [{"seq": i + 1} for i in range(501)]},
        "mutations",
    ),
    (
        "seq not increasing",
        {"protocol": 1, "client_id": "c", "mutations": [{"seq": 2}, {"seq": 1}]},
        "mutations[1].seq",
    ),
    ("seq a string", {"protocol": 1, "client_id": "c", "mutations": [{"seq": "1"}]}, "mutations[0].seq"),
    ("mutation not an object", {"protocol": 1, "client_id": "c", "mutations": [7]}, "mutations[0]"),
    ("acked negative", {"protocol": 1, "client_id": "c", "acked": -1, "mutations": []}, "acked"),
    ("acked a bool", {"protocol": 1, "client_id": "c", "acked": True, "mutations": []}, "acked"),
    ("now a string", {"protocol": 1, "client_id": "c", "now": "12", "mutations": []}, "now"),
    ("cursor negative", {"protocol": 1, "client_id": "c", "cursor": -3, "mutations": []}, "cursor"),
    # Protocol fields to their exact ranges: seqs and cursors fit PostgreSQL's int4 columns.
    ("seq 2**31", {"protocol": 1, "client_id": "c", "mutations": [{"seq": 2**31}]}, "mutations[0].seq"),
    ("seq 2**63", {"protocol": 1, "client_id": "c", "mutations": [{"seq": 2**63}]}, "mutations[0].seq"),
    ("acked 2**63", {"protocol": 1, "client_id": "c", "acked": 2**63, "mutations": []}, "acked"),
    ("cursor 2**40", {"protocol": 1, "client_id": "c", "cursor": 2**40, "mutations": []}, "cursor"),
    ("now 10**20", {"protocol": 1, "client_id": "c", "now": 10**20, "mutations": []}, "now"),
    ("client id NUL", {"protocol": 1, "client_id": "a\x00b", "mutations": []}, "client_id"),
    ("client id surrogate", {"protocol": 1, "client_id": "a\ud800", "mutations": []}, "client_id"),
    ("client id space", {"protocol": 1, "client_id": "a b", "mutations": []}, "client_id"),
    ("nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, "nested"),
    ("nested 65 deep", b"[" * 65 + b"]" * 65, "nested"),
]


def test_malformed_requests_get_400_naming_the_field(server: InProcessServer, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {server.add_user('ana')}"}
    for label, body, field in BAD_BODIES:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        reply = http.post("/v1/push", content=content, headers=headers)
        assert reply.status_code == 400, label
        assert field in reply.json()["error"], (label, reply.json())
    reply = http.post(
        "/v1/push", content=b"\x1f\x8bnot gzip", headers={**headers, "Content-Encoding": "gzip"}
    )
    assert reply.status_code == 400 and "gzip" in reply.json()["error"]
    for query in (
        "cursor=-1",
        "cursor=x",
        f"cursor={2**63}",
        f"cursor={2**31}",
        "limit=0",
        "limit=100000",
        "epoch=" + "x" * 100,
        "client_id=a%00b",
        "client_id=a%ED%A0%80",
        "client_id=",
    ):
        reply = http.get(f"/v1/pull?{query}", headers=headers)
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
        {"seq": 8, "entity": 5, "id": ID, "fields": {"name": ["x", CLOCK]}},
        {"seq": 9, "entity": "account", "id": ID, "fields": {"name": ["x"]}},
        {"seq": 10, "entity": "account", "id": ID, "fields": {"name": ["x", CLOCK]}, "base": []},
        {
            "seq": 11,
            "entity": "account",
            "id": ID,
            "fields": {"name": ["Fine", CLOCK], "owner": ["ana", CLOCK]},
        },
    ]
    body = {"protocol": 1, "client_id": "c1", "mutations": mutations}
    reply = http.post(
        "/v1/push",
        content=gzip.compress(json.dumps(body).encode()),
        headers={**headers, "Content-Encoding": "gzip"},
    )
    assert reply.status_code == 200
    results = PushResponse.parse(reply.json()).results
    assert [r.status for r in results] == ["rejected"] * 10 + ["applied"]
    reasons = [r.reason or "" for r in results[:10]]
    assert "spaceship" in reasons[0] and "UUID" in reasons[1] and "colour" in reasons[2]
    assert "clock" in reasons[3] and "name: is required" in reasons[4] and "text" in reasons[5]
    assert "fields" in reasons[6] and "record type" in reasons[7] and "[value, clock]" in reasons[8]
    assert "base" in reasons[9]
    other = server.add_user("bob")
    reply = http.post("/v1/push", json=body, headers={"Authorization": f"Bearer {other}"})
    assert reply.status_code == 403


def test_protocol_messages_round_trip() -> None:
    request = PushRequest(
        "c1",
        [
            Mutation(3, "contact", ID, {"phone": ["1", CLOCK]}, {"phone": CLOCK}),
            Mutation(4, "contact", ID, {"deleted": [True, CLOCK]}, known={}),
        ],
        acked=2,
        now=5,
        cursor=9,
    )
    assert PushRequest.parse(json.loads(json.dumps(request.to_json()))) == request
    response = PushResponse(
        "e", 4, [PushResult(3, "conflict", ["x"]), PushResult(4, "rejected", reason="no")]
    )
    assert PushResponse.parse(json.loads(json.dumps(response.to_json()))) == response
    assert PullRequest.parse({"cursor": "5", "limit": "7", "client_id": "c"}) == PullRequest(5, 7, None, "c")
    for bad in ({"cursor": "-1"}, {"limit": "0"}, {"limit": "5001"}, {"cursor": "١"}, {"epoch": "x" * 65}):
        with pytest.raises(ProtocolError):
            PullRequest.parse(bad)
    with pytest.raises(ProtocolError, match="status"):
        PushResult.parse({"seq": 1, "status": "maybe"})
    with pytest.raises(ProtocolError, match=r"changes\[0\]"):
        PullResponse.parse(
            {"cursor": 1, "changes": [{"seq": 1, "entity": "a", "id": "b", "fields": {"x": 1}}]}
        )


# -- the one retry policy ------------------------------------------------------------------------


def test_retry_policy_is_the_documented_one() -> None:
    assert (RETRY.retries, RETRY.first, RETRY.factor, RETRY.jitter) == (3, 0.5, 2.0, 0.25)
    for retry, base in enumerate((0.5, 1.0, 2.0)):
        assert base * 0.75 <= RETRY.delay(retry) <= base * 1.25
    assert RetryPolicy(first=1.0, cap=5.0, jitter=0).delay(10) == 5.0


@pytest.mark.parametrize("failure", ["transport", "5xx"])
def test_client_retries_by_the_policy_then_gives_up(failure: str) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if failure == "transport":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503, json={"error": "busy"})

    waits: list[float] = []
    policy = RetryPolicy(retries=3, jitter=0)
    conn = engine.Connection(
        URL, "t", retry=policy, transport=httpx.MockTransport(answer), sleep=waits.append
    )
    with pytest.raises(UnreachableError):
        conn.request("GET", "/v1/me")
    assert len(calls) == 4 and waits == [0.5, 1.0, 2.0]


def test_client_recovers_after_a_failure_and_refuses_a_malformed_reply() -> None:
    replies = iter([httpx.Response(502), httpx.Response(200, json={"epoch": "e", "results": "no"})])
    conn = engine.Connection(
        URL, "t", transport=httpx.MockTransport(lambda _r: next(replies)), sleep=lambda _s: None
    )
    with pytest.raises(SyncError, match="malformed push reply"):
        conn.push(PushRequest("c", []))


# -- regressions found by the stateful test -------------------------------------------------------


def _laptop(server: InProcessServer, home: Path, name: str, role: str, team: str) -> tuple[Workspace, Any]:
    ws = Workspace(home / name)
    return ws, server.login(ws, server.add_user(name, role, team))


def test_moving_a_record_out_of_scope_removes_the_movers_copy(
    server: InProcessServer, tmp_path: Path
) -> None:
    sam, sam_conn = _laptop(server, tmp_path, "sam", "manager", "south")
    ana, ana_conn = _laptop(server, tmp_path, "ana", "rep", "north")
    try:
        account = sam.store.insert(ACCOUNT, {"name": "Acme", "owner": "sam", "team": "south"})
        sam.store.update(ACCOUNT, account["id"], {"owner": "ana", "team": "north"})  # handed over
        engine.sync_once(sam, conn=sam_conn)
        engine.sync_once(ana, conn=ana_conn)
        assert ana.store.find(ACCOUNT, account["id"]) is not None
        assert sam.store.find(ACCOUNT, account["id"]) is None  # it used to stay, stale, for good
    finally:
        sam.close(), ana.close()


def test_own_change_after_an_unseen_revert_is_sent_back(server: InProcessServer, tmp_path: Path) -> None:
    ana, ana_conn = _laptop(server, tmp_path, "ana", "rep", "north")
    mia, mia_conn = _laptop(server, tmp_path, "mia", "manager", "north")
    try:
        account = mia.store.insert(ACCOUNT, {"name": "Acme", "owner": "mia", "team": "north"})
        engine.sync_once(mia, conn=mia_conn)
        engine.sync_once(ana, conn=ana_conn)
        # ana (a rep) tries to hand it to another team: rejected, the server logs its values again.
        ana.store.update(ACCOUNT, account["id"], {"owner": "sam", "team": "south"})
        engine.sync_once(ana, conn=ana_conn)
        # mia, who has not pulled that, gives it to ana: applied. Her pull then brings the revert,
        # which is older than her own change; the server must send her change back after it.
        mia.store.update(ACCOUNT, account["id"], {"owner": "ana"})
        engine.sync_once(mia, conn=mia_conn)
        engine.sync_once(ana, conn=ana_conn)
        server_owner = server.query(f"SELECT owner FROM record WHERE id = '{account['id']}'")[0][0]
        assert server_owner == "ana"
        for ws in (mia, ana):
            found = ws.store.find(ACCOUNT, account["id"])
            assert found is not None and found["owner"] == "ana"  # mia used to stay at "mia"
    finally:
        ana.close(), mia.close()
