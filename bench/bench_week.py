"""The Week screen drawing a week of 40 visits.

    python bench/bench_week.py [--runs 20]

A store with 8 accounts and 40 visits in one week (8 a day, Monday to Friday; half flexible), the
dashboard run headless (Textual's Pilot) at 120x40 with the clock at that Monday. Each run moves
to the next week and back (`.` then `,`). The figure is the time from sending the key to the end
of the last repaint it caused (the screen's compositor has rendered every changed line): reading the
agenda (the km legs), refilling the table, laying out and rendering. Target: at most 100 ms.

Beside it, for comparison, the Pilot's round trip (key to `pilot.pause()` returning) for the same
key and for a key that changes nothing (`j` on the last row): Pilot waits until the process has
been idle for a 20 ms tick after each key and after each pause, so its round trip holds about
60 ms of test-harness waiting whatever the app does. An earlier version of this bench reported
that round trip as the draw time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.screen import Screen

from sfa.services import crm, records, visits
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp

MONDAY = date(2026, 3, 16)


def make_store(home: Path) -> None:
    ws = Workspace(home)
    try:
        with records.all_or_nothing(ws):
            accounts = [
                crm.add_account(
                    ws, {"name": f"Kunde {n}", "latitude": str(48 + n / 10), "longitude": str(11 + n / 10)}
                )
                for n in range(8)
            ]
            for day in range(5):
                for slot in range(8):
                    when = MONDAY + timedelta(days=day)
                    at = f"{when} {8 + slot}:00" if slot % 2 == 0 else when.isoformat()
                    visits.plan_visit(
                        ws,
                        account_ref=accounts[slot]["id"],
                        at=at,
                        purpose=f"visit {slot}",
                        allow_overlap=True,
                    )
    finally:
        ws.close()


REPAINTS: list[tuple[float, float]] = []  # when each repaint ended: (perf_counter, process_time)


def _watch_repaints() -> None:
    refresh = Screen._compositor_refresh

    def timed(self: Screen[object]) -> None:
        refresh(self)
        REPAINTS.append((time.perf_counter(), time.process_time()))

    Screen._compositor_refresh = timed  # type: ignore[method-assign]


async def measure(home: Path, runs: int) -> dict[str, list[float]]:
    """Per run, ms: key to the last repaint (wall and CPU), the Pilot round trip of that key and of
    a key that changes nothing."""
    _watch_repaints()
    app = SfaApp(home, now=datetime(2026, 3, 16, 7, 30, tzinfo=UTC), background_sync=False)
    drawn: list[float] = []
    cpu: list[float] = []
    round_trip: list[float] = []
    idle_key: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        for _ in range(runs):
            await pilot.press("full_stop")  # next week (empty)
            await pilot.pause()
            REPAINTS.clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            await pilot.press("comma")  # back to the week of 40 visits
            await pilot.pause()
            end = time.perf_counter()
            if not REPAINTS:
                raise SystemExit("the key caused no repaint")
            drawn.append((REPAINTS[-1][0] - start) * 1000)
            cpu.append((REPAINTS[-1][1] - start_cpu) * 1000)
            round_trip.append((end - start) * 1000)
        await pilot.press("G")  # the last row: j now changes nothing
        await pilot.pause()
        for _ in range(runs):
            start = time.perf_counter()
            await pilot.press("j")
            await pilot.pause()
            idle_key.append((time.perf_counter() - start) * 1000)
    return {"drawn": drawn, "cpu": cpu, "round_trip": round_trip, "idle_key": idle_key}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        make_store(home)
        ms = asyncio.run(measure(home, args.runs))
    drawn, cpu = ms["drawn"], ms["cpu"]
    print(
        f"Week of 40 visits drawn (key to last repaint): median {statistics.median(drawn):.1f} ms, "
        f"worst {max(drawn):.1f} ms; CPU median {statistics.median(cpu):.1f} ms, worst {max(cpu):.1f} ms "
        f"({args.runs} runs; target <= 100 ms)"
    )
    print(
        "for comparison, Pilot round trip: this key median "
        f"{statistics.median(ms['round_trip']):.1f} ms; a key that changes nothing median "
        f"{statistics.median(ms['idle_key']):.1f} ms"
    )


if __name__ == "__main__":
    main()
