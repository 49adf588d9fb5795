"""How long each push holds the counter row's lock (docs/deploy.md, "The serialisation point").

The push path calls ``held(seconds, how)`` after its commit. ``how`` says how the hold was taken
and measured: ``statement`` — on PostgreSQL, the locked section as one statement, measured inside
PostgreSQL, without the commit (sfa/server/pushwrite.py); ``stale`` — the same, when its check found
the plan stale (nothing written; the push is planned again under the lock); ``python`` — the locked
section run and timed in Python, from the lock statement's answer to the commit's (SQLite, and the
push planned again under the lock). With ``SFA_SERVER_LOCK_LOG=DIR`` in the server's environment
every process appends its hold times (milliseconds and ``how``, one hold a line) to
``DIR/lock-<pid>.txt``; the load bench (bench/bench_server_load.py) reads them back for the
median and p99. Off by default: a served deployment reads the histogram on ``/metrics`` instead.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

# Upper bounds in seconds of the lock-hold histogram on /metrics.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

_lock = threading.Lock()
_pending: list[tuple[float, str]] = []
counts = [0] * len(BUCKETS)
total = [0.0, 0]  # seconds, holds
kinds = {"statement": 0, "stale": 0, "python": 0}  # holds by how they were taken (above)


def _path() -> Path | None:
    directory = os.environ.get("SFA_SERVER_LOCK_LOG")
    return Path(directory) / f"lock-{os.getpid()}.txt" if directory else None


def held(seconds: float, how: str = "python") -> None:
    """Record one hold of the counter lock (`how`: statement, stale or python, above)."""
    with _lock:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        total[0] += seconds
        total[1] += 1
        kinds[how] = kinds.get(how, 0) + 1
        if os.environ.get("SFA_SERVER_LOCK_LOG"):
            # Written at once, after the commit: a server stopped by a signal (no atexit) loses none.
            _pending.append((seconds, how))
            _flush_locked()


_fd: dict[str, int] = {}  # the log file's descriptor, opened once per process (by path)


def _flush_locked() -> None:
    path = _path()
    if path is None or not _pending:
        return
    # One append-mode descriptor per process, one write() a flush: opening the file for every hold
    # cost the server ~1 ms of CPU a push under load, counted in the bench's CPU per mutation.
    fd = _fd.get(str(path))
    if fd is None:
        fd = _fd[str(path)] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, "".join(f"{s * 1000:.3f} {how}\n" for s, how in _pending).encode())
    _pending.clear()


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
        lines.append("# HELP sfa_counter_lock_holds_total Holds of the counter lock by how they were taken.")
        lines.append("# TYPE sfa_counter_lock_holds_total counter")
        lines += [f'sfa_counter_lock_holds_total{{how="{how}"}} {n}' for how, n in kinds.items()]
    return lines
