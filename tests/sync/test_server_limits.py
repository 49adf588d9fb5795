"""Bounds on what one client can make the server do (sfa/server/limits.py): the bytes of a body as
read (chunked or not, before and after gzip), a body that stalls, failed tokens per address."""

from __future__ import annotations

import gzip
import json
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from inprocess import URL, Bridge, InProcessServer
from inprocess import server as server
from synchelp import Server

from sfa.protocol import MAX_BODY
from sfa.server.app import create_app
from sfa.server.limits import TokenThrottle


@pytest.fixture
def real_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("SFA_SERVER_READ_TIMEOUT", "1")
    home = tmp_path / "server"
    home.mkdir()
    srv = Server(home, f"sqlite:///{home / 'server.db'}", "sqlite", None, None)
    srv.init()
    srv.start()
    yield srv
    srv.stop()
    assert "Traceback" not in srv.log.read_text(errors="replace")


def _request_head(server: Server, token: str, extra: str) -> bytes:
    return (
        f"POST /v1/push HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


def _answer(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def test_a_chunked_body_is_cut_at_32_mib_as_read(real_server: Server) -> None:
    token = real_server.add_user("ana")
    chunk = b"x" * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", real_server.port), timeout=60) as sock:
        sock.sendall(_request_head(real_server, token, "Transfer-Encoding: chunked\r\n"))
        try:
            # Up to 1 GiB: a server reading it whole would take it all; this one stops at 32 MiB.
            while sent < 1024**3:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * 1024 * 1024  # the server stopped reading soon after the limit
    assert b"larger than" in answer


def test_a_stalled_body_is_dropped(real_server: Server) -> None:
    token = real_server.add_user("ana")
    with socket.create_connection(("127.0.0.1", real_server.port), timeout=60) as sock:
        sock.sendall(_request_head(real_server, token, "Content-Length: 1000\r\n") + b'{"protocol": 1')
        answer = _answer(sock)  # no more bytes: the server answers 408 and closes
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_gzip_counts_the_inflated_bytes(server: InProcessServer) -> None:
    headers = {"Authorization": f"Bearer {server.add_user('ana')}", "Content-Encoding": "gzip"}
    bomb = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    body = bomb.compress(b"[" + b" " * (MAX_BODY + 10)) + bomb.flush()
    assert len(body) < MAX_BODY // 100
    with httpx.Client(transport=server.transport, base_url=URL) as http:
        reply = http.post("/v1/push", content=body, headers=headers)
        assert reply.status_code == 413 and "uncompressed" in reply.json()["error"]
        small = gzip.compress(json.dumps({"protocol": 1, "client_id": "c", "mutations": []}).encode())
        assert http.post("/v1/push", content=small, headers=headers).status_code == 200


def test_failed_tokens_are_throttled_per_address(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    srv = InProcessServer(tmp_path / "server")
    try:
        good = srv.add_user("ana")
        throttle = TokenThrottle(attempts=5, window=3600)
        bridge = Bridge(create_app(srv.engine, throttle=throttle))
        try:
            with httpx.Client(transport=bridge, base_url=URL) as http:
                assert http.get("/v1/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
                codes = [
                    http.get("/v1/me", headers={"Authorization": f"Bearer wrong{n}"}).status_code
                    for n in range(5)
                ]
                assert codes == [401] * 5
                for token in ("wrong", good):  # locked out: not even a good token is checked
                    reply = http.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
                    assert reply.status_code == 429
                    assert 0 < int(reply.headers["Retry-After"]) <= 3600
            # Another address is not affected.
            assert throttle.retry_after("10.0.0.9") is None
            assert throttle.retry_after("127.0.0.1") is not None
        finally:
            bridge.shutdown()
    finally:
        srv.close()


def test_the_default_throttle_allows_a_few_typos() -> None:
    throttle = TokenThrottle()
    for _ in range(3):
        throttle.failed("1.2.3.4")
    assert throttle.retry_after("1.2.3.4") is None
