"""A small HTTP-aware TCP proxy that injects network faults between the sync client and the server.

It reads one HTTP/1.1 request at a time from the client, applies the first matching rule, and relays
the response. Faults:
- refuse(): the listening socket is closed (connection refused) until accept() is called;
- "cut_before": the connection is closed before the request reaches the server;
- "cut_after": the request is served (the server has committed) and the response is dropped;
- "truncate": half of the response is sent, then the connection is closed;
- "cut_upload": half of the request is forwarded to the server, then both connections are closed (an
  upload cut mid-body: the server holds part of it);
- "delay": the request waits `delay` seconds before it is forwarded;
- latency: every response is delayed by that many seconds.
Each rule applies to requests whose path starts with `path` (and whose method is `method`, when
given), after letting `skip` of them through, `times` times; with `ratio`, each such request is hit
with that probability instead (a seeded generator: the same requests are hit on every run).
Bytes are also counted per path (`up_by_path`, `down_by_path`), so a test can tell whether one
resource was sent twice.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass
class Rule:
    path: str
    action: str
    times: int = 1
    skip: int = 0
    delay: float = 0.0
    method: str = ""
    ratio: float = 0.0


class _Closed(Exception):
    pass


def _read_message(sock: socket.socket, buffer: bytearray) -> bytes:
    """One HTTP message (head + body by Content-Length or chunked) from sock; leftovers stay in buffer."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed()
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:head_end]).decode("latin-1").lower()
    length = 0
    chunked = False
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip() == "content-length":
            length = int(value.strip())
        elif name.strip() == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        while b"\r\n0\r\n\r\n" not in buffer[head_end - 2 :]:
            chunk = sock.recv(65536)
            if not chunk:
                raise _Closed()
            buffer += chunk
        end = buffer.index(b"\r\n0\r\n\r\n", head_end - 2) + 7
    else:
        while len(buffer) < head_end + length:
            chunk = sock.recv(65536)
            if not chunk:
                raise _Closed()
            buffer += chunk
        end = head_end + length
    message = bytes(buffer[:end])
    del buffer[:end]
    return message


class FaultProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.upstream = (host, upstream_port)
        self.rules: list[Rule] = []
        self.latency = 0.0
        self.requests: Counter[str] = Counter()  # path -> requests received
        self.delivered: Counter[str] = Counter()  # path -> responses delivered in full
        self.faults: Counter[str] = Counter()  # action -> times applied
        self.bytes_up = 0  # request bytes forwarded to the server (head + body)
        self.bytes_down = 0  # response bytes delivered to the client
        self.up_by_path: Counter[str] = Counter()  # path -> request bytes forwarded (whole or part)
        self.down_by_path: Counter[str] = Counter()  # path -> response bytes sent to the client
        self.random = random.Random(15)
        # [method, path, fault or "", request bytes forwarded to the server] of every request
        self.log: list[list[Any]] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0  # the kernel's free port, taken when it first listens (no probe another could take)
        self._stopped = False

    # -- control -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        self.accept()
        return self

    def accept(self) -> None:
        """Listen (again, on the same port)."""
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            deadline = time.monotonic() + 10
            while True:
                try:
                    listener.bind((self.host, self.port))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            listener.listen(64)
            self.port = listener.getsockname()[1]
            self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        """Stop listening and drop open connections: clients get 'connection refused'."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections = list(self._connections)
        if listener is not None:
            listener.close()
        for conn in connections:
            _close(conn)

    def stop(self) -> None:
        self._stopped = True
        self.refuse()

    def add(
        self,
        path: str,
        action: str,
        *,
        times: int = 1,
        skip: int = 0,
        delay: float = 0.0,
        method: str = "",
        ratio: float = 0.0,
    ) -> Rule:
        rule = Rule(path, action, times, skip, delay, method, ratio)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.latency = 0.0

    def wait_delivered(self, path: str, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.delivered[path] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path}: {self.delivered[path]} responses delivered, waited for {count}")
            time.sleep(0.02)

    # -- relaying ------------------------------------------------------------------------------
    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    return
                self._connections.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _match(self, path: str, method: str = "") -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.times > 0 and path.startswith(rule.path) and rule.method in ("", method):
                    if rule.ratio and self.random.random() >= rule.ratio:
                        continue
                    if rule.skip > 0:
                        rule.skip -= 1
                        return None
                    rule.times -= 1
                    return rule
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        inbound, outbound = bytearray(), bytearray()
        try:
            while True:
                request = _read_message(client, inbound)
                line = request.split(b"\r\n", 1)[0].decode("latin-1")
                parts = line.split(" ")
                path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
                with self._lock:
                    self.requests[path] += 1
                rule = self._match(path, parts[0])
                action = rule.action if rule else ""
                entry = [parts[0], path, action, 0]
                with self._lock:
                    self.log.append(entry)
                if action:
                    with self._lock:
                        self.faults[action] += 1
                if action == "cut_before":
                    return
                if action == "delay" and rule is not None:
                    time.sleep(rule.delay)
                if upstream is None:
                    upstream = socket.create_connection(self.upstream, timeout=120)
                    with self._lock:
                        self._connections.add(upstream)
                if action == "cut_upload":  # the head and half of the body, then the line is gone
                    body_at = request.find(b"\r\n\r\n") + 4
                    part = request[: body_at + (len(request) - body_at) // 2]
                    upstream.sendall(part)
                    with self._lock:
                        self.bytes_up += len(part)
                        self.up_by_path[path] += len(part)
                        entry[3] = len(part)
                    return
                upstream.sendall(request)
                with self._lock:
                    self.bytes_up += len(request)
                    self.up_by_path[path] += len(request)
                    entry[3] = len(request)
                response = _read_message(upstream, outbound)
                if action == "cut_after":
                    return
                if self.latency:
                    time.sleep(self.latency)
                if action == "truncate":  # the head and half of the body
                    body_at = response.find(b"\r\n\r\n") + 4
                    half = response[: body_at + (len(response) - body_at) // 2]
                    client.sendall(half)
                    with self._lock:
                        self.down_by_path[path] += len(half)
                    return
                client.sendall(response)
                with self._lock:
                    self.delivered[path] += 1
                    self.bytes_down += len(response)
                    self.down_by_path[path] += len(response)
        except (_Closed, OSError):
            return
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _close(sock)
                    with self._lock:
                        self._connections.discard(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
