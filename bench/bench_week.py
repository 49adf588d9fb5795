"""The Week screen drawing a week of 40 visits.

    python bench/bench_week.py [--runs 20]

A store with 8 accounts and 40 visits in one week (8 a day, Monday to Friday; half flexible), the
dashboard run headless (Textual's Pilot) at 120x40 with the clock at that Monday. Each run moves
to the next week and back (`.` then `,`): the time from the key to the screen's next idle moment,
which holds reading the agenda (the km legs), refilling the table and repainting. Target: at most
100 ms.
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


async def measure(home: Path, runs: int) -> list[float]:
    app = SfaApp(home, now=datetime(2026, 3, 16, 7, 30, tzinfo=UTC), background_sync=False)
    times: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        for _ in range(runs):
            await pilot.press("full_stop")  # next week (empty)
            await pilot.pause()
            start = time.perf_counter()
            await pilot.press("comma")  # back to the week of 40 visits
            await pilot.pause()
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        make_store(home)
        times = asyncio.run(measure(home, args.runs))
    print(
        f"Week of 40 visits drawn: median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms "
        f"({args.runs} runs; target <= 100 ms)"
    )


if __name__ == "__main__":
    main()
