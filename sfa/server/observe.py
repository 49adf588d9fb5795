"""Running the server as a service: readiness, Prometheus metrics and one JSON log line per request.

An ASGI wrapper around the app from ``create_app`` (docs/deploy.md): it answers ``/v1/ready`` and,
when enabled, ``/metrics`` itself, and times every other request. It reads what it reports from
the request and the response headers the app sets (``x-sfa-user``, ``x-sfa-mutations``), so the sync
endpoints stay free of logging code. Metrics are per process: with several workers, each keeps its
own counters and Prometheus adds them up (scrape every worker, or use the process's
``multiprocess`` setup of a real Prometheus client; docs/deploy.md says which).
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TextIO
from urllib.parse import unquote

from sqlalchemy import Engine

from sfa.server import lockstat, storage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Latency buckets in seconds: sync requests are milliseconds when healthy, seconds when not.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ENDPOINTS = ("/v1/push", "/v1/pull", "/v1/health", "/v1/me", "/v1/ready")


class Metrics:
    """Counters and histograms in Prometheus' text format, thread-safe (handlers run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)
        self.mutations: dict[str, int] = defaultdict(int)  # applied / rejected / conflicted
        self.pull_pages = 0
        self.clients: dict[str, float] = {}  # client id -> last seen (monotonic)

    def observe(self, endpoint: str, status: int, seconds: float, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests[(endpoint, status)] += 1
            counts = self.latency.setdefault(endpoint, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.latency_sum[endpoint] += seconds
            self.latency_count[endpoint] += 1
            for label, outcome in (
                ("applied", "applied"),
                ("rejected", "rejected"),
                ("conflict", "conflicted"),
            ):
                value = headers.get(f"x-sfa-{label}")
                if value and value.isdigit():
                    self.mutations[outcome] += int(value)
            if endpoint == "/v1/pull" and status == 200:
                self.pull_pages += 1
            client = headers.get("x-sfa-client")
            if client:
                self.clients[client] = time.monotonic()

    def render(self, pool: str = "") -> str:
        now = time.monotonic()
        with self._lock:
            lines = [
                "# HELP sfa_requests_total Requests answered, by endpoint and status.",
                "# TYPE sfa_requests_total counter",
            ]
            for (endpoint, status), n in sorted(self.requests.items()):
                lines.append(f'sfa_requests_total{{endpoint="{endpoint}",status="{status}"}} {n}')
            lines += [
                "# HELP sfa_request_seconds Request latency, by endpoint.",
                "# TYPE sfa_request_seconds histogram",
            ]
            for endpoint, counts in sorted(self.latency.items()):
                for bound, n in zip(BUCKETS, counts, strict=True):
                    lines.append(f'sfa_request_seconds_bucket{{endpoint="{endpoint}",le="{bound}"}} {n}')
                total = self.latency_count[endpoint]
                lines.append(f'sfa_request_seconds_bucket{{endpoint="{endpoint}",le="+Inf"}} {total}')
                lines.append(
                    f'sfa_request_seconds_sum{{endpoint="{endpoint}"}} {self.latency_sum[endpoint]:.6f}'
                )
                lines.append(f'sfa_request_seconds_count{{endpoint="{endpoint}"}} {total}')
            lines += [
                "# HELP sfa_mutations_total Pushed mutations, by outcome.",
                "# TYPE sfa_mutations_total counter",
            ]
            for outcome in ("applied", "rejected", "conflicted"):
                lines.append(f'sfa_mutations_total{{outcome="{outcome}"}} {self.mutations[outcome]}')
            active = sum(1 for seen in self.clients.values() if now - seen < 900)
            lines += [
                "# HELP sfa_pull_pages_total Pull pages served.",
                "# TYPE sfa_pull_pages_total counter",
                f"sfa_pull_pages_total {self.pull_pages}",
                "# HELP sfa_active_clients Clients seen in the last 15 minutes (this process).",
                "# TYPE sfa_active_clients gauge",
                f"sfa_active_clients {active}",
            ]
        lines += lockstat.render()
        if pool:
            lines += [
                "# HELP sfa_db_pool_checked_out Database connections in use.",
                "# TYPE sfa_db_pool_checked_out gauge",
                f"sfa_db_pool_checked_out {pool}",
            ]
        return "\n".join(lines) + "\n"


def _pool_in_use(engine: Engine) -> str:
    checked_out = getattr(engine.pool, "checkedout", None)
    return str(checked_out()) if callable(checked_out) else ""


def ready(engine: Engine) -> tuple[int, dict[str, Any]]:
    """Readiness: the database answers and its schema is the one this sfa needs."""
    try:
        with engine.connect() as conn:
            version = storage.schema_version(conn)
            conn.rollback()
    except Exception as exc:  # any driver error means "not ready", never a 500
        return 503, {"ready": False, "error": f"database: {type(exc).__name__}"}
    if version != storage.LATEST:
        return 503, {"ready": False, "error": f"schema {version}, this sfa needs {storage.LATEST}"}
    return 200, {"ready": True, "schema": version}


def wrap(
    app: App,
    engine: Engine,
    *,
    metrics: bool = False,
    log_format: str = "off",
    log: TextIO | None = None,
) -> App:
    """The app with /v1/ready, optional /metrics and optional JSON request logging."""
    stats = Metrics()
    # Request ids: 16 hex digits, a random prefix per process and a counter (uuid4 per request read
    # the OS's random source every time: ~1.5 % of a loaded worker's CPU).
    prefix = uuid.uuid4().hex[:8]
    numbers = itertools.count()
    out = log or sys.stderr

    async def respond(send: Send, status: int, body: bytes, content_type: str) -> None:
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path == "/v1/ready":
            from starlette.concurrency import run_in_threadpool

            status, body = await run_in_threadpool(ready, engine)
            await respond(send, status, json.dumps(body).encode(), "application/json")
            return
        if path == "/metrics" and metrics:
            text = stats.render(_pool_in_use(engine)).encode()
            await respond(send, 200, text, "text/plain; version=0.0.4")
            return
        started = time.perf_counter()
        request_id = f"{prefix}{next(numbers) & 0xFFFFFFFF:08x}"
        seen: dict[str, Any] = {"status": 500, "headers": {}}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])
                }
                seen["headers"] = headers
                message = dict(message)
                message["headers"] = [
                    *(
                        (k, v)
                        for k, v in message.get("headers", [])
                        if not k.decode("latin-1").lower().startswith("x-sfa-")
                    ),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await app(scope, receive, watch)
        finally:
            seconds = time.perf_counter() - started
            endpoint = path if path in ENDPOINTS else "other"
            headers = seen["headers"]
            stats.observe(endpoint, seen["status"], seconds, headers)
            if log_format == "json":
                line = {
                    "ts": storage.utc_iso(),
                    "request_id": request_id,
                    "method": scope.get("method", ""),
                    "endpoint": endpoint,
                    "status": seen["status"],
                    "duration_ms": round(seconds * 1000, 2),
                    "user": unquote(headers["x-sfa-user"]) if "x-sfa-user" in headers else None,
                    "client_id": unquote(headers["x-sfa-client"]) if headers.get("x-sfa-client") else None,
                    "mutations": int(headers.get("x-sfa-mutations", "0") or 0),
                }
                out.write(json.dumps(line) + "\n")
                out.flush()

    return observed
