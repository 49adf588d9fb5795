"""`sfa visit move` and `sfa visit route --apply/--undo`: the CLI twins of the dashboard's Week
(reschedule, route order applied and undone), over the same services; and the route's undo kept in
the store, so it works after the dashboard is restarted and from the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from sfa.services import visits
from sfa.store.workspace import Workspace
from sfa.tui.app import SfaApp
from tests.conftest import Runner, store_digest
from tests.test_visit_cli import accounts, plan, ref_of
from tests.tui_support import FROZEN, freeze, load_fixture

__all__ = ["accounts"]  # the fixture, shared with tests/test_visit_cli.py


def agenda(sfa: Runner, day: str) -> list[dict[str, str]]:
    """`sfa visit list --date DAY` as rows (its tab-separated output, headers as keys)."""
    head, *lines = sfa("visit", "list", "--date", day).out.splitlines()
    return [dict(zip(head.split("\t"), line.split("\t"), strict=True)) for line in lines]


def one_line_error(result: Any, field: str) -> None:
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"sfa: error: {field}"), result.err
    assert "Traceback" not in result.err


def test_move_to_a_time_to_a_day_and_a_new_duration(sfa: Runner, accounts: dict[str, str]) -> None:
    ref = ref_of(plan(sfa, "--account", accounts["mueller"], "--at", "2030-05-06 10:00"))
    moved = sfa("visit", "move", ref, "--at", "2030-05-06 14:30", "--json")
    assert moved.code == 0, moved.err
    assert moved.json()["fixed_time"] is True
    [row] = agenda(sfa, "2030-05-06")
    assert (row["time"], row["min"]) == ("14:30", "45")
    text = sfa("visit", "move", ref, "--at", "2030-05-07", "--duration", "1h")
    assert text.code == 0, text.err
    assert f"visit {ref} moved: Tue 2030-05-07 any time, 60 min" in text.out
    [row] = agenda(sfa, "2030-05-07")
    assert (row["time"], row["min"]) == ("any time", "60")
    shown = sfa("visit", "show", ref, "--json").json()
    assert any("Visit moved to 2030-05-07 (any time)" in t["text"] for t in shown["timeline"])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--at", "the 32nd"], "at"),
        (["--at", "2030-05-06 11:30"], "at"),  # overlaps the visit at Schmidt AG
        (["--at", "2030-05-06 15:00", "--duration", "forever"], "duration"),
    ],
)
def test_move_refusals_name_the_field_and_write_nothing(
    sfa: Runner, home: Path, accounts: dict[str, str], args: list[str], field: str
) -> None:
    ref = ref_of(plan(sfa, "--account", accounts["mueller"], "--at", "2030-05-06 10:00"))
    ref_of(plan(sfa, "--account", accounts["schmidt"], "--at", "2030-05-06 11:00"))
    before = store_digest(home)
    one_line_error(sfa("visit", "move", ref, *args), field)
    assert store_digest(home) == before


def test_move_overlap_allowed_when_asked_and_only_planned_visits_move(
    sfa: Runner, home: Path, accounts: dict[str, str]
) -> None:
    ref = ref_of(plan(sfa, "--account", accounts["mueller"], "--at", "2030-05-06 10:00"))
    ref_of(plan(sfa, "--account", accounts["schmidt"], "--at", "2030-05-06 11:00"))
    assert sfa("visit", "move", ref, "--at", "2030-05-06 11:15", "--allow-overlap").code == 0
    assert sfa("visit", "log", ref, "--outcome", "went well").code == 0
    before = store_digest(home)
    done = sfa("visit", "move", ref, "--at", "2030-05-08 09:00")
    assert done.code == 1 and "only a planned visit can be moved" in done.err
    missing = sfa("visit", "move", "nosuchvisit", "--at", "2030-05-08 09:00")
    assert missing.code != 0 and "Traceback" not in missing.err
    assert sfa("visit", "move", ref).code == 2  # --at is required
    assert store_digest(home) == before


def test_route_apply_then_undo_from_the_cli(sfa: Runner, home: Path, accounts: dict[str, str]) -> None:
    assert sfa("config", "set", "home.latitude", "52.40").code == 0
    assert sfa("config", "set", "home.longitude", "13.10").code == 0  # near Potsdam
    for name in ("weber", "mueller", "schmidt"):
        plan(sfa, "--account", accounts[name], "--at", "2030-05-06")
    listed = [r["account"] for r in sfa("visit", "list", "--date", "2030-05-06", "--json").json()]
    route = sfa("visit", "route", "--date", "2030-05-06", "--json").json()
    assert "applied" not in route  # showing the order writes nothing
    order = [s["account"] for s in route["stops"]]
    assert order == ["Schmidt AG", "Müller GmbH", "Weber KG"] != listed

    nothing = store_digest(home)
    refused = sfa("visit", "route", "--date", "2030-05-06", "--undo")  # nothing applied yet
    assert refused.code == 1 and "no route order applied on 2030-05-06" in refused.err
    one_line_error(sfa("visit", "route", "--date", "2030-05-06", "--apply", "--undo"), "--apply")
    one_line_error(sfa("visit", "route", "--date", "2030-05-32", "--apply"), "date")
    assert store_digest(home) == nothing

    applied = sfa("visit", "route", "--date", "2030-05-06", "--apply")
    assert applied.code == 0, applied.err
    assert (
        "route order applied: 2 visits moved; undo: sfa visit route --date 2030-05-06 --undo" in applied.err
    )
    after = [r["account"] for r in sfa("visit", "list", "--date", "2030-05-06", "--json").json()]
    assert after == order
    assert all(r["time"] == "any time" for r in agenda(sfa, "2030-05-06"))
    again = sfa("visit", "route", "--date", "2030-05-06", "--apply", "--json").json()
    assert again["applied"] is True and again["moved"] == []  # already in order

    undone = sfa("visit", "route", "--date", "2030-05-06", "--undo", "--json")
    assert undone.code == 0, undone.err
    assert undone.json() == {"date": "2030-05-06", "undone": True, "moved_back": 2}
    assert [r["account"] for r in sfa("visit", "list", "--date", "2030-05-06", "--json").json()] == listed
    assert sfa("visit", "route", "--date", "2030-05-06", "--undo").code == 1  # once


def test_undo_goes_back_to_the_day_before_the_first_route_order(
    ws: Workspace, accounts: dict[str, str]
) -> None:
    ws.config.set("home.latitude", "52.40")
    ws.config.set("home.longitude", "13.10")
    for name in ("weber", "mueller"):
        visits.plan_visit(ws, account_ref=accounts[name], at="2030-05-06")
    original = {
        r["visit"]["id"]: r["visit"]["starts_at"]
        for r in visits.agenda(ws, date(2030, 5, 6), date(2030, 5, 6))
    }
    visits.apply_route(ws, date(2030, 5, 6))
    visits.plan_visit(ws, account_ref=accounts["schmidt"], at="2030-05-06")  # a third, then route again
    visits.apply_route(ws, date(2030, 5, 6))
    visits.undo_route(ws, date(2030, 5, 6))
    now = {
        r["visit"]["id"]: r["visit"]["starts_at"]
        for r in visits.agenda(ws, date(2030, 5, 6), date(2030, 5, 6))
    }
    assert {k: now[k] for k in original} == original


@pytest.mark.asyncio
async def test_route_undo_survives_a_restart_of_the_dashboard(
    home: Path, monkeypatch: pytest.MonkeyPatch, sfa: Runner
) -> None:
    freeze(monkeypatch)
    load_fixture(home)
    wednesday = date(2026, 3, 18)
    check = Workspace(home)
    try:
        before = [r["account"] for r in visits.agenda(check, wednesday, wednesday)]
        app = SfaApp(home, now=FROZEN, background_sync=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("8")
            await pilot.pause()
            table = app.screen.query_one("#week-table")
            table.focus()
            table.move_cursor(row=table.get_row_index(f"day:{wednesday}"))  # type: ignore[attr-defined]
            await pilot.press("r", "enter")
            await pilot.pause()
        routed = [r["account"] for r in visits.agenda(check, wednesday, wednesday)]
        assert routed != before
        app = SfaApp(home, now=FROZEN, background_sync=False)  # the dashboard started again
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("8")
            await pilot.pause()
            table = app.screen.query_one("#week-table")
            table.focus()
            table.move_cursor(row=table.get_row_index(f"day:{wednesday}"))  # type: ignore[attr-defined]
            await pilot.press("u")
            await pilot.pause()
        assert [r["account"] for r in visits.agenda(check, wednesday, wednesday)] == before
        assert sfa("visit", "route", "--date", wednesday.isoformat(), "--undo").code == 1  # nothing left
    finally:
        check.close()
