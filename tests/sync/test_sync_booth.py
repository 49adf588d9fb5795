"""Issue 17's booth scenario on the real server process, SQLite and PostgreSQL, through the fault
proxy: two reps capture the same 50 people at one event offline (different spellings, same emails),
sync; the manager's `dedupe scan` finds the 50 pairs, merges them, syncs everywhere: one lead each,
every member row and follow-up task kept and pointing at a live lead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faultproxy import FaultProxy
from synchelp import Laptop, Server

from sfa.domain.entities import CAMPAIGN_MEMBER, LEAD, TASK
from sfa.services import dedupe

PEOPLE = [(f"Person{n:02d}", f"Visitor {n:02d}", f"person{n:02d}@fair.example") for n in range(50)]


def _badges(path: Path, spelled: Any) -> Path:
    lines = ["First Name,Last Name,E-Mail,Company"]
    for first, last, email in PEOPLE:
        lines.append(f"{spelled(first)},{spelled(last)},{spelled(email)},Fair Visitors")
    path.write_text("\n".join(lines) + "\n")
    return path


def _state(lap: Laptop) -> tuple[int, int, int, set[str], set[str]]:
    ws = lap.workspace()
    try:
        leads = {r["id"] for r in ws.store.select(LEAD)}
        members = ws.store.select(CAMPAIGN_MEMBER)
        tasks = ws.store.select(TASK)
        return (
            len(leads),
            len(members),
            len(tasks),
            {m["lead_id"] for m in members} - leads,
            {t["lead_id"] for t in tasks} - leads,
        )
    finally:
        ws.close()


def test_two_reps_capture_the_same_fifty_then_a_manager_merges(
    laptop: Any, proxy: FaultProxy, server: Server, tmp_path: Path
) -> None:
    mia = laptop("mia", "manager")
    ana, bob = laptop("ana"), laptop("bob")
    mia.ok("event", "add", "Fair", "--kind", "trade-show", "--from", "2026-12-01", "--to", "2026-12-02")
    mia.synced(), ana.synced(), bob.synced()
    # Offline at the booth: the same people, spelled differently.
    ana.ok("event", "capture", "Fair", "--from", str(_badges(tmp_path / "a.csv", lambda s: s)))
    bob.ok("event", "capture", "Fair", "--from", str(_badges(tmp_path / "b.csv", str.upper)))
    proxy.add("/v1/push", "cut_after")  # ana's first push is applied, its answer lost
    ana.sync()
    ana.synced(), bob.synced(), mia.synced()

    ws = mia.workspace()
    try:
        groups = dedupe.scan(ws, ["lead"])
        assert len(groups) == 50
        assert all(len(g.records) == 2 and "email" in g.reasons for g in groups)
        for group in groups:
            (keep, _), (other, _) = group.records
            dedupe.merge(ws, "lead", keep, other)
    finally:
        ws.close()
    proxy.add("/v1/pull", "truncate")
    mia.sync()
    for lap in (mia, ana, bob, mia, ana, bob):
        lap.synced()
    for lap in (mia, ana, bob):
        leads, members, tasks, orphan_members, orphan_tasks = _state(lap)
        assert (leads, members, tasks) == (50, 100, 100)
        assert orphan_members == set() and orphan_tasks == set()
    live = [row for row in server.query("SELECT deleted FROM record WHERE entity = 'lead'") if not row[0]]
    assert len(live) == 50
