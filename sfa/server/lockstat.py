"""How long each push holds the counter row's lock (docs/deploy.md, "The serialisation point").

The push path calls ``held(seconds)`` after its commit. With ``SFA_SERVER_LOCK_LOG=DIR`` in the
server's environment every process appends its hold times (milliseconds, one a line) to
``DIR/lock-<pid>.txt``; the load bench (bench/bench_server_load.py) reads them back for the
median and p99. Off by default: a served deployment reads the histogram on ``/metrics`` instead.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path

# Upper bounds in seconds of the lock-hold histogram on /metrics.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

_lock = threading.Lock()
_pending: list[float] = []
counts = [0] * len(BUCKETS)
total = [0.0, 0]  # seconds, holds
_flushed = [time.monotonic()]


def _path() -> Path | None:
    directory = os.environ.get("SFA_SERVER_LOCK_LOG")
    return Path(directory) / f"lock-{os.getpid()}.txt" if directory else None


def held(seconds: float) -> None:
    """Record one hold of the counter lock."""
    with _lock:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        total[0] += seconds
        total[1] += 1
        if os.environ.get("SFA_SERVER_LOCK_LOG"):
            _pending.append(seconds)
            if len(_pending) >= 200 or time.monotonic() - _flushed[0] > 1.0:
                _flush_locked()


def _flush_locked() -> None:
    path = _path()
    if path is None or not _pending:
        return
    with path.open("a") as handle:
        handle.write("".join(f"{s * 1000:.3f}\n" for s in _pending))
    _pending.clear()
    _flushed[0] = time.monotonic()


def flush() -> None:
    with _lock:
        _flush_locked()


atexit.register(flush)


def render() -> list[str]:
    """The hold-time histogram in Prometheus' text format (for /metrics)."""
    with _lock:
        lines = [
            "# HELP sfa_counter_lock_seconds How long a push held the counter row's lock.",
            "# TYPE sfa_counter_lock_seconds histogram",
        ]
        for bound, n in zip(BUCKETS, counts, strict=True):
            lines.append(f'sfa_counter_lock_seconds_bucket{{le="{bound}"}} {n}')
        lines.append(f'sfa_counter_lock_seconds_bucket{{le="+Inf"}} {total[1]}')
        lines.append(f"sfa_counter_lock_seconds_sum {total[0]:.6f}")
        lines.append(f"sfa_counter_lock_seconds_count {total[1]}")
    return lines
