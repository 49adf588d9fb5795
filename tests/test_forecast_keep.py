"""The kept backtest and the report's kept estimates stay valid exactly while what they read before
their horizon is unchanged (sfa/services/forecast_keep.py; docs/prediction.md): whenever the check
says "still valid", the kept result is the one a fresh computation gives; a change dated before the
horizon (a move synced from another laptop with an old time) invalidates it; and the normal day's
changes (deals moved, created, edited today) do not."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.domain import prediction
from sfa.domain.dates import local_today
from sfa.domain.entities import ACCOUNT, OPPORTUNITY, STAGE_CHANGE, TASK, TIMELINE, VISIT
from sfa.domain.stages import LOST, WON
from sfa.services import crm, demo, forecast_keep, forecasting
from sfa.store.workspace import Workspace
from tests.conftest import run_sfa

BY = "month"
PERIODS = 4
TODAY = local_today()
HORIZON = forecasting.report_rules.period_start(TODAY, BY)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store with a year of simulated history, its results kept."""
    home = tmp_path_factory.mktemp("keep") / "home"
    home.mkdir()
    ws = Workspace(home)
    try:
        for name in ("Acme", "Globex", "Initech"):
            crm.add_account(ws, {"name": name, "industry": "Metal"})
        demo.add_history(ws, 12, seed=3, deals_per_month=10)
        _keep_both(ws)
    finally:
        ws.close()
    return home


def _keep_both(ws: Workspace) -> None:
    forecasting.backtest(ws, PERIODS, BY, TODAY)
    forecasting.predict_current(ws, BY, "history", "EUR", Decimal(0), today=TODAY)


@pytest.fixture
def copy(base: Path, tmp_path: Path) -> Iterator[Workspace]:
    home = Path(shutil.copytree(base, tmp_path / "home"))
    ws = Workspace(home)
    yield ws
    ws.close()


def _kept_file(ws: Workspace, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ws.home / name).read_text(encoding="utf-8"))
    return data


def _fresh_backtest(ws: Workspace) -> prediction.Backtest:
    return prediction.backtest(
        forecasting.histories(ws, context=True), forecasting.stages_for(ws), TODAY, PERIODS, BY
    )


def _fresh_estimates(ws: Workspace) -> Any:
    deals = [d for d in forecasting.histories(ws) if d.currency == "EUR"]
    fitted = prediction.fit_estimates(deals, forecasting.stages_for(ws), TODAY, BY)
    return json.loads(json.dumps(fitted))


def _valid(ws: Workspace) -> tuple[bool, bool]:
    """(is the kept backtest still valid, are the kept estimates), by the check alone."""
    backtest = _kept_file(ws, forecasting.BACKTEST_FILE)
    estimates = _kept_file(ws, forecasting.CACHE_FILE)
    return (
        forecast_keep.unchanged_before(ws, backtest["mark"], forecast_keep.mark(ws, True), HORIZON, True),
        forecast_keep.unchanged_before(ws, estimates["mark"], forecast_keep.mark(ws, False), TODAY, False),
    )


def _check(ws: Workspace) -> tuple[bool, bool]:
    """Where the check says valid, the kept result is the fresh one; the services' figures are the
    fresh ones either way."""
    valid_backtest, valid_estimates = _valid(ws)
    fresh = _fresh_backtest(ws)
    if valid_backtest:
        assert forecasting._backtest_from(_kept_file(ws, forecasting.BACKTEST_FILE)["value"]) == fresh
    fresh_estimates = _fresh_estimates(ws)
    if valid_estimates:
        assert _kept_file(ws, forecasting.CACHE_FILE)["value"] == fresh_estimates
    assert forecasting.backtest(ws, PERIODS, BY, TODAY) == fresh
    forecasting.predict_current(ws, BY, "history", "EUR", Decimal(0), today=TODAY)
    assert _kept_file(ws, forecasting.CACHE_FILE)["value"] == fresh_estimates
    return valid_backtest, valid_estimates


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


# (kind, which deal, a number): the kinds after HARMLESS may change what the results read.
HARMLESS = ("move", "close", "next_step", "new", "new_moved", "task_today", "note_today", "category")
KINDS = (*HARMLESS, "amount", "owner", "synced", "delete", "task_past", "note_past", "visit_past", "industry")
OFFSETS = (1, 2, 20, 40, 95, 200)  # days before today of a change synced with its old time


def _apply(ws: Workspace, kind: str, pick: int, number: int) -> None:
    opps = ws.store.select(OPPORTUNITY, order="rid")
    open_opps = [o for o in opps if o["stage"] not in (WON, LOST)]
    opp = opps[pick % len(opps)]
    live = open_opps[pick % len(open_opps)] if open_opps else opp
    stages = [s.name for s in forecasting.stages_for(ws) if not s.is_closed]
    past = TODAY - timedelta(days=OFFSETS[number % len(OFFSETS)])
    if kind == "move":
        crm.move_stage(ws, live["id"], [*stages, WON][(stages.index(live["stage"]) + 1) % (len(stages) + 1)])
    elif kind == "close":
        crm.edit_opportunity(
            ws, live["id"], {"close_date": (TODAY + timedelta(days=30 + number)).isoformat()}
        )
    elif kind == "next_step":
        crm.edit_opportunity(ws, opp["id"], {"next_step": f"call {number}"})
    elif kind == "category":
        forecasting.set_category(ws, live["id"], "commit")
    elif kind in ("new", "new_moved"):
        new = crm.add_opportunity(
            ws,
            {
                "name": f"New {number}",
                "account_id": opp["account_id"],
                "amount": "5000",
                "close_date": "2031-01-31",
            },
        )
        if kind == "new_moved":
            crm.move_stage(ws, new["id"], stages[1])
            crm.edit_opportunity(ws, new["id"], {"amount": "7000"})
    elif kind == "amount":
        crm.edit_opportunity(ws, opp["id"], {"amount": str(1000 + number)})
    elif kind == "owner":
        crm.edit_opportunity(ws, opp["id"], {"owner": f"zoe{number}"})
    elif kind == "synced":
        ws.store.insert(
            STAGE_CHANGE,
            {
                "opportunity_id": opp["id"],
                "from_stage": opp["stage"],
                "to_stage": stages[number % len(stages)],
                "at": _at(past),
                "amount": opp["amount"],
                "currency": "EUR",
                "close_date": past + timedelta(days=40),
                "owner": opp["owner"],
            },
        )
    elif kind == "delete":
        ws.store.delete(OPPORTUNITY, opp["id"])
    elif kind in ("task_today", "task_past"):
        done = _at(TODAY if kind == "task_today" else past)
        ws.store.insert(
            TASK,
            {
                "title": "Call",
                "priority": "normal",
                "status": "done",
                "done_at": done,
                "opportunity_id": opp["id"],
                "owner": "rep",
            },
        )
    elif kind in ("note_today", "note_past"):
        ws.store.insert(
            TIMELINE,
            {
                "record_entity": "opportunity",
                "record_id": opp["id"],
                "kind": "note",
                "text": "called",
                "at": _at(TODAY if kind == "note_today" else past),
            },
        )
    elif kind == "visit_past":
        ws.store.insert(
            VISIT,
            {
                "account_id": opp["account_id"],
                "starts_at": _at(past),
                "duration_min": 30,
                "fixed_time": False,
                "status": "done",
                "owner": "rep",
            },
        )
    elif kind == "industry":
        account = ws.store.find(ACCOUNT, opp["account_id"])
        assert account is not None
        ws.store.update(ACCOUNT, account["id"], {"industry": f"Glass {number}"})


RISKY = tuple(k for k in KINDS if k not in HARMLESS)
step = st.tuples(st.integers(0, 10_000), st.integers(0, 50))
# A day's harmless changes with at most one that may matter, anywhere among them: a sequence with
# several risky changes would mostly be judged invalid for the first and test little.
changes = st.tuples(
    st.lists(st.tuples(st.sampled_from(HARMLESS), step), max_size=3),
    st.none() | st.tuples(st.sampled_from(RISKY), step),
    st.integers(0, 3),
).map(lambda t: [(k, p, n) for k, (p, n) in (t[0][: t[2]] + ([t[1]] if t[1] else []) + t[0][t[2] :])])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes)
def test_a_kept_result_judged_valid_is_the_fresh_one(base: Path, steps: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(shutil.copytree(base, Path(folder) / "home"))
        ws = Workspace(home)
        try:
            for kind, pick, number in steps:
                _apply(ws, kind, pick, number)
            valid = _check(ws)
            if all(kind in HARMLESS for kind, _, _ in steps):
                assert valid == (True, True)  # the normal day's changes keep both
        finally:
            ws.close()


def test_a_move_today_keeps_both_and_a_synced_old_move_does_not(copy: Workspace) -> None:
    _apply(copy, "move", 3, 0)
    assert _check(copy) == (True, True)
    # Another laptop moved an open deal yesterday; the move arrives today with its own time.
    deal = next(d for d in forecasting.histories(copy, open_only=True) if d.created < HORIZON)
    stages = [s.name for s in forecasting.stages_for(copy) if not s.is_closed]
    yesterday = TODAY - timedelta(days=1)
    copy.store.insert(
        STAGE_CHANGE,
        {
            "opportunity_id": deal.id,
            "from_stage": deal.stage,
            "to_stage": stages[(stages.index(deal.stage) + 1) % len(stages)],
            "at": _at(yesterday),
            "amount": deal.amount,
            "currency": "EUR",
            "close_date": deal.close_date,
            "owner": deal.owner,
        },
    )
    valid_backtest, valid_estimates = _check(copy)
    assert not valid_estimates  # fitted on what was known at the start of today
    assert valid_backtest == (yesterday >= HORIZON)  # the backtest: at the start of this month


def test_a_closed_deal_reopened_today_invalidates_both(copy: Workspace) -> None:
    """The results read the deals' outcomes: a deal won before the horizon and moved back today is
    not a harmless move of today."""
    won = next(d for d in forecasting.histories(copy) if d.stage == WON and d.steps[-1].at < HORIZON)
    crm.move_stage(copy, won.id, "qualification")
    assert _check(copy) == (False, False)


def test_a_change_dated_before_the_backtest_horizon_is_seen_after_a_valid_check(copy: Workspace) -> None:
    """A check that found the changes harmless keeps the result with the new mark; a later change
    is judged from there."""
    _apply(copy, "move", 5, 0)
    assert _check(copy) == (True, True)
    _apply(copy, "synced", 5, 4)  # 95 days ago
    assert _check(copy) == (False, False)


def test_an_edited_amount_of_a_known_deal_invalidates(copy: Workspace) -> None:
    _apply(copy, "amount", 0, 7)
    assert _check(copy) == (False, False)


def test_a_replaced_store_is_not_taken_for_the_kept_one(copy: Workspace, tmp_path: Path) -> None:
    """Another database (a restore) under the kept files: the marks' last rows differ."""
    kept = _kept_file(copy, forecasting.BACKTEST_FILE)
    other = tmp_path / "other"
    other.mkdir()
    ws = Workspace(other)
    try:
        crm.add_account(ws, {"name": "Elsewhere"})
        demo.add_history(ws, 12, seed=4, deals_per_month=10)
        assert not forecast_keep.unchanged_before(
            ws, kept["mark"], forecast_keep.mark(ws, True), HORIZON, True
        )
    finally:
        ws.close()


def test_report_range_after_a_move_today_is_the_fresh_one(base: Path, tmp_path: Path) -> None:
    home = Path(shutil.copytree(base, tmp_path / "home"))
    args = ("report", "forecast", "--by", "quarter", "--range", "--json")
    assert run_sfa(home, *args).code == 0
    kept = _kept_file_at(home)
    opp = next(o for o in run_sfa(home, "opp", "list", "--open", "--json").json())
    assert run_sfa(home, "opp", "edit", opp["id"], "--close-date", "2031-01-31").code == 0
    after = run_sfa(home, *args).json()
    assert _kept_file_at(home)["value"] == kept["value"]  # still valid: the estimates were kept
    (home / forecasting.CACHE_FILE).unlink()
    assert run_sfa(home, *args).json() == after  # the same as fresh


def _kept_file_at(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / forecasting.CACHE_FILE).read_text(encoding="utf-8"))
    return data
