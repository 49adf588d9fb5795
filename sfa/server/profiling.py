"""cProfile of a served worker, for finding where the server's CPU goes (docs/performance.md,
"Server CPU per request").

With ``SFA_SERVER_PROFILE=DIR`` in its environment, each process of ``sfa server run`` profiles its
event loop's thread and every thread it starts (the thread pool that runs the endpoints), and every
few seconds writes the merged statistics to ``DIR/profile-<pid>.prof`` (read it with
``python -m pstats``). Written periodically rather than at exit, as uvicorn's worker processes end
without running exit handlers. Times are each thread's CPU time (`time.thread_time`), not wall
time. Off by default: the profiler costs about as much CPU again.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import threading
import time
from pathlib import Path
from typing import Any

EVERY = 5.0


def start(directory: str) -> None:
    """Profile this thread and every thread started from now on; dump every EVERY seconds."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    path = Path(directory) / f"profile-{os.getpid()}.prof"

    def dump() -> None:
        while True:
            time.sleep(EVERY)
            with lock:
                current = list(profiles)
            stats = pstats.Stats(current[0])
            for profile in current[1:]:
                stats.add(profile)
            stats.dump_stats(path)

    threading.Thread(target=dump, name="sfa-profile-dump", daemon=True).start()

    def in_new_thread(_frame: Any, _event: str, _arg: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the thread

    main = cProfile.Profile(time.thread_time)
    profiles.append(main)
    threading.setprofile(in_new_thread)
    main.enable()
