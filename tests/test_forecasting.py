"""Deal history in the store (issue 16 §1): stage_change rows written with every move, filled by the
migration for deals moved before it, and read back as the prediction methods' DealHistory."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfa.domain import prediction
from sfa.domain.dates import local_today
from sfa.domain.entities import FORECAST_SNAPSHOT, OPPORTUNITY, STAGE_CHANGE
from sfa.domain.errors import ValidationError
from sfa.domain.prediction import DealHistory
from sfa.services import crm, forecast_keep, forecasting
from sfa.store.migrations import MIGRATIONS, execute_script
from sfa.store.workspace import Workspace
from tests.conftest import run_sfa, store_digest


def _deal(ws: Any) -> dict[str, Any]:
    account = crm.add_account(ws, {"name": "Acme"})
    return crm.add_opportunity(
        ws,
        {"name": "Line 3", "account_id": account["id"], "amount": "1000", "close_date": "2027-01-31"},
    )


def _rows(ws: Any, opp_id: str) -> list[tuple[Any, ...]]:
    rows = ws.store.select(STAGE_CHANGE, "opportunity_id = ?", (opp_id,), order="at, rid")
    return [(r["from_stage"], r["to_stage"], r["amount"], r["close_date"]) for r in rows]


def test_every_move_writes_a_stage_change(ws: Any) -> None:
    opp = _deal(ws)
    crm.edit_opportunity(ws, opp["id"], {"close_date": "2027-03-31"})
    crm.edit_opportunity(ws, opp["id"], {"next_step": "call"})  # not a move: no row
    crm.move_stage(ws, opp["id"], "qualification")
    crm.edit_opportunity(ws, opp["id"], {"amount": "1500", "stage": "quotation sent"})
    crm.move_stage(ws, opp["id"], "lost", reason="price")
    assert _rows(ws, opp["id"]) == [
        (None, "initiation", Decimal("1000.00"), date(2027, 1, 31)),
        ("initiation", "initiation", Decimal("1000.00"), date(2027, 3, 31)),
        ("initiation", "qualification", Decimal("1000.00"), date(2027, 3, 31)),
        ("qualification", "quotation sent", Decimal("1500.00"), date(2027, 3, 31)),
        ("quotation sent", "lost", Decimal("1500.00"), date(2027, 3, 31)),
    ]
    # insert-only: the store refuses an edit, whoever asks
    row = ws.store.select(STAGE_CHANGE, "opportunity_id = ?", (opp["id"],))[0]
    with pytest.raises(ValidationError, match="insert-only"):
        ws.store.update(STAGE_CHANGE, row["id"], {"to_stage": "won"})


def test_histories_read_back_steps_and_close_dates(ws: Any) -> None:
    opp = _deal(ws)
    crm.edit_opportunity(ws, opp["id"], {"close_date": "2027-03-31"})
    crm.move_stage(ws, opp["id"], "qualification")
    crm.move_stage(ws, opp["id"], "won")
    (deal,) = forecasting.histories(ws)
    assert deal.id == opp["id"]
    assert [s.stage for s in deal.steps] == ["initiation", "qualification", "won"]
    assert [c[1] for c in deal.close_dates] == [date(2027, 1, 31), date(2027, 3, 31)]
    assert deal.pushes == 1
    assert deal.amount == Decimal("1000.00")
    assert deal.outcome is not None and deal.outcome[0] == "won"


def test_migration_fills_stage_changes_from_timeline_and_history(home: Path) -> None:
    """Deals moved before stage_change existed: the migration rebuilds the same path from the
    history table, and the opening from the timeline."""
    script = next(m for m in MIGRATIONS if "CREATE TABLE stage_change" in m)
    ws = Workspace(home)
    try:
        opp = _deal(ws)
        crm.edit_opportunity(ws, opp["id"], {"close_date": "2027-03-31"})
        crm.move_stage(ws, opp["id"], "qualification")
        crm.edit_opportunity(ws, opp["id"], {"amount": "2000"})
        crm.move_stage(ws, opp["id"], "lost", reason="price")
        live = _rows(ws, opp["id"])
        with ws.store.transaction():
            ws.store.conn.execute("DROP TABLE stage_change")
            execute_script(ws.store.conn, script)
        assert _rows(ws, opp["id"]) == live
        ids = [r["id"] for r in ws.store.select(STAGE_CHANGE)]
        assert len(set(ids)) == len(ids) == 5
        assert all(ws.store.resolve(STAGE_CHANGE, i)["id"] == i for i in ids)
    finally:
        ws.close()


def _shape(deal: DealHistory) -> tuple[Any, ...]:
    return (deal.created, deal.amount, deal.owner, deal.steps, deal.close_dates)


def test_demo_history_is_the_simulated_history(sfa: Any, home: Path) -> None:
    """`sfa demo --history` stores exactly the deals the simulator drew: what the domain tests
    measure on simulate() is what the demo store holds."""
    result = sfa("demo", "--history", "3m", "--seed", "4", "--json")
    assert result.code == 0, result.err
    ws = Workspace(home)
    try:
        today = local_today()
        start, span = prediction.history_window(today, 3)
        drawn = prediction.simulate(ws.stages, start, span, seed=4, until=today)
        stored = [d for d in forecasting.histories(ws) if d.owner in {x.owner for x in drawn}]
        assert sorted(map(_shape, stored), key=repr) == sorted(map(_shape, drawn), key=repr)
        assert result.json()["created"]["stage_change"] >= 2 * len(drawn)
        assert min(d.created for d in stored) == start
    finally:
        ws.close()


@pytest.mark.parametrize("span", ["0m", "x", "121m", "11y", "-3"])
def test_demo_history_refuses_a_bad_span(sfa: Any, span: str) -> None:
    result = sfa("demo", "--history", span)
    assert result.code != 0
    assert result.err.startswith("sfa: error: history: ")
    assert sfa("opp", "list", "--json").json() == []


# -- the commands ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("history")
    assert run_sfa(home, "demo", "--history", "24m", "--seed", "1").code == 0
    return home


def test_forecast_backtest_json_is_the_issue_shape(history_home: Path) -> None:
    result = run_sfa(history_home, "forecast", "backtest", "--periods", "8", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert set(data) == {"periods", "methods", "best"}
    assert data["periods"] == 8
    assert set(data["methods"]) == {"weighted", "history", "model"}
    for name, figures in data["methods"].items():
        assert (
            {"wmape", "bias", "coverage", "brier", "auc"}
            <= set(figures)
            <= {
                "wmape",
                "bias",
                "coverage",
                "brier",
                "auc",
                "note",
            }
        )
        assert 0 <= figures["brier"] <= 1 and 0 <= figures["auc"] <= 1
        if name != "weighted":
            assert 0 <= figures["coverage"] <= 1
    assert data["methods"]["weighted"]["coverage"] is None
    assert data["best"] in data["methods"] and "note" not in data["methods"][data["best"]]
    # The demo's history is the simulated one: the goal holds on the store too.
    assert data["methods"][data["best"]]["wmape"] <= 0.7 * data["methods"]["weighted"]["wmape"]


def test_forecast_backtest_table_and_detail(history_home: Path) -> None:
    result = run_sfa(history_home, "forecast", "backtest", "--periods", "2", "--by", "month", "--detail")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split("\t")[:3] == ["method", "wmape", "bias"]
    assert sum(1 for line in lines if line.startswith("history\t")) == 3  # score + 2 periods
    assert "best: " in result.err


@pytest.mark.parametrize(
    "args,field",
    [
        (["--periods", "0"], "periods"),
        (["--periods", "41"], "periods"),
        (["--by", "week"], "by"),
    ],
)
def test_forecast_backtest_refuses_bad_input(history_home: Path, args: list[str], field: str) -> None:
    result = run_sfa(history_home, "forecast", "backtest", *args)
    assert result.code != 0 and result.out == ""
    assert result.err.startswith(f"sfa: error: {field}: ")


def test_report_forecast_range_and_target(history_home: Path) -> None:
    plain = run_sfa(history_home, "report", "forecast", "--by", "quarter", "--json").json()
    assert all("commit" in row and "p50" not in row for row in plain)
    result = run_sfa(
        history_home, "report", "forecast", "--by", "quarter", "--range", "--target", "100000000", "--json"
    )
    assert result.code == 0, result.err
    rows = result.json()
    current = [r for r in rows if r["method"] is not None]
    assert len(current) == 1
    row = current[0]
    assert row["method"] == "history"
    assert Decimal(row["won"]) <= Decimal(row["p10"]) <= Decimal(row["p50"]) <= Decimal(row["p90"])
    assert row["p_target"] == 0.0  # 100 million is out of reach
    for other in rows:
        assert Decimal(other["won"]) <= Decimal(other["commit"]) <= Decimal(other["best_case"])
    low = run_sfa(history_home, "report", "forecast", "--by", "quarter", "--target", "0", "--json").json()
    assert [r["p_target"] for r in low if r["method"]] == [1.0]


@pytest.mark.parametrize(
    "args,field",
    [
        (["--method", "magic"], "method"),
        (["--method", "weighted", "--range"], "method"),
        (["--target", "lots"], "target"),
        (["--target", "-5"], "target"),
    ],
)
def test_report_forecast_refuses_bad_input(history_home: Path, args: list[str], field: str) -> None:
    result = run_sfa(history_home, "report", "forecast", *args)
    assert result.code != 0 and result.out == ""
    assert result.err.startswith(f"sfa: error: {field}: ")


def test_report_funnel_shows_configured_beside_observed(history_home: Path) -> None:
    rows = run_sfa(history_home, "report", "funnel", "--json").json()
    assert [r["stage"] for r in rows][:2] == ["initiation", "identification"]
    final = next(r for r in rows if r["stage"] == "final stage")
    assert final["configured"] == 90 and final["reached"] >= 100
    assert (
        abs(final["observed"] - prediction.simulation_truth(prediction_stages()).reach["final stage"]) <= 0.05
    )
    table = run_sfa(history_home, "report", "funnel")
    assert table.code == 0 and "90 %" in table.out


def prediction_stages() -> Any:
    from sfa.domain.stages import DEFAULT_STAGES

    return DEFAULT_STAGES


def test_report_flow_and_removed(history_home: Path, home: Path) -> None:
    result = run_sfa(history_home, "report", "flow", "--from", "-90d", "--to", "today", "--json")
    assert result.code == 0, result.err
    kinds = {r["change"]: r for r in result.json()}
    assert list(kinds) == ["new", "pushed out", "pulled in", "won", "lost", "removed"]
    assert kinds["new"]["count"] > 0 and kinds["won"]["count"] > 0
    bad = run_sfa(history_home, "report", "flow", "--from", "2026-10-01", "--to", "2026-09-01")
    assert bad.code != 0 and bad.err.startswith("sfa: error: to: ")
    # removed: a deal deleted today
    ws = Workspace(home)
    try:
        opp = _deal(ws)
        ws.store.delete(OPPORTUNITY, opp["id"])
    finally:
        ws.close()
    removed = run_sfa(home, "report", "flow", "--from", "today", "--to", "today", "--json").json()
    assert {r["change"]: r["count"] for r in removed}["removed"] == 1


def test_opp_show_score_with_top_factors(history_home: Path) -> None:
    opps = run_sfa(history_home, "opp", "list", "--json").json()
    open_one = next(o for o in opps if o["stage"] not in ("won", "lost") and o["owner"] == "ana")
    won_one = next(o for o in opps if o["stage"] == "won")
    data = run_sfa(history_home, "opp", "show", open_one["id"], "--score", "--json").json()
    scored = data["score"]
    assert scored["method"] == "history" and 0 < scored["probability"] < 1
    effects = [abs(f["effect"]) for f in scored["factors"]]
    assert effects == sorted(effects, reverse=True)
    assert any(f["text"].startswith(f"stage {open_one['stage']}: ") for f in scored["factors"])
    assert run_sfa(history_home, "opp", "show", won_one["id"], "--score", "--json").json()["score"] is None
    plain = run_sfa(history_home, "opp", "show", open_one["id"], "--json").json()
    assert "score" not in plain
    text = run_sfa(history_home, "opp", "show", open_one["id"], "--score")
    assert text.code == 0 and "score: " in text.err and "to win (history)" in text.err


# -- adjustments and snapshots -----------------------------------------------------------------------


def test_forecast_adjust_latest_counts(sfa: Any) -> None:
    first = sfa(
        "forecast",
        "adjust",
        "--period",
        "2026-q4",
        "--owner",
        "ana",
        "--category",
        "commit",
        "--amount",
        "500000",
        "--json",
    )
    assert first.code == 0, first.err
    assert first.json()["period"] == "2026-Q4" and first.json()["amount"] == "500000.00"
    sfa(
        "forecast",
        "adjust",
        "--period",
        "2026-Q4",
        "--owner",
        "ana",
        "--category",
        "commit",
        "--amount",
        "450000",
    )
    sfa(
        "forecast",
        "adjust",
        "--period",
        "2026-Q4",
        "--owner",
        "ana",
        "--category",
        "best-case",
        "--amount",
        "9",
    )
    sfa(
        "forecast",
        "adjust",
        "--period",
        "2026-11",
        "--team",
        "south",
        "--category",
        "pipeline",
        "--amount",
        "7",
    )
    rows = sfa("forecast", "adjustments", "--period", "2026-Q4", "--json").json()
    assert [(r["category"], r["amount"]) for r in rows] == [("best case", "9.00"), ("commit", "450000.00")]
    assert len(sfa("forecast", "adjustments", "--json").json()) == 3


@pytest.mark.parametrize(
    "args,field",
    [
        (["--period", "2026-13", "--owner", "a", "--category", "commit", "--amount", "1"], "period"),
        (["--period", "2026-Q5", "--owner", "a", "--category", "commit", "--amount", "1"], "period"),
        (["--period", "2026-12", "--category", "commit", "--amount", "1"], "owner"),
        (
            ["--period", "2026-12", "--owner", "a", "--team", "t", "--category", "commit", "--amount", "1"],
            "owner",
        ),
        (["--period", "2026-12", "--owner", "a", "--category", "maybe", "--amount", "1"], "category"),
        (["--period", "2026-12", "--owner", "a", "--category", "commit", "--amount", "x"], "amount"),
        (["--period", "2026-12", "--owner", "a", "--category", "commit", "--amount", "-1"], "amount"),
    ],
)
def test_forecast_adjust_refuses_bad_input(sfa: Any, args: list[str], field: str) -> None:
    result = sfa("forecast", "adjust", *args)
    assert result.code != 0 and result.err.startswith(f"sfa: error: {field}: ")
    assert sfa("forecast", "adjustments", "--json").json() == []


def test_forecast_snapshot_one_per_week_matching_the_report(history_home: Path) -> None:
    first = run_sfa(history_home, "forecast", "snapshot", "--json").json()
    again = run_sfa(history_home, "forecast", "snapshot", "--json").json()
    assert first["id"] == again["id"] == forecasting.snapshot_id("all", "all", first["period"], first["week"])
    report = run_sfa(history_home, "report", "forecast", "--by", "quarter", "--json").json()
    row = next(r for r in report if r["period"] == first["period"])
    assert (first["open_count"], first["pipeline"], first["weighted"], first["won"]) == (
        row["count"],
        row["pipeline"],
        row["weighted"],
        row["won"],
    )
    assert first["commit_amount"] == row["commit"] and first["best_case"] == row["best_case"]
    ana = run_sfa(history_home, "forecast", "snapshot", "--owner", "ana", "--json").json()
    assert ana["id"] != first["id"] and Decimal(ana["pipeline"]) <= Decimal(first["pipeline"])
    ws = Workspace(history_home)
    try:
        assert ws.store.count(FORECAST_SNAPSHOT) == 2
    finally:
        ws.close()


def test_report_range_keeps_estimates_until_what_they_read_changes(sfa: Any, home: Path) -> None:
    """The estimates read what was known at the start of today: a close date moved today keeps them
    (tests/test_forecast_keep.py checks kept against fresh); a known deal's new amount does not."""
    assert sfa("demo", "--history", "6m", "--seed", "2").code == 0
    args = ("report", "forecast", "--by", "quarter", "--range", "--json")
    first = sfa(*args).json()
    cache = home / forecasting.CACHE_FILE
    kept = json.loads(cache.read_text())
    assert sfa(*args).json() == first  # from the kept estimates: the same figures
    opp = next(o for o in sfa("opp", "list", "--open", "--json").json())
    assert sfa("opp", "edit", opp["id"], "--close-date", "2031-01-31").code == 0
    sfa(*args)
    again = json.loads(cache.read_text())
    assert (again["key"], again["value"]) == (kept["key"], kept["value"]) and again["mark"] != kept["mark"]
    assert sfa("opp", "edit", opp["id"], "--amount", "123456").code == 0
    ws = Workspace(home)
    try:
        now = forecast_keep.mark(ws, False)
        assert not forecast_keep.unchanged_before(ws, again["mark"], now, local_today(), False)
    finally:
        ws.close()
    cache.write_text("not json")
    assert sfa(*args).code == 0  # a broken cache is recomputed


def test_open_only_histories_are_the_open_deals(history_home: Path) -> None:
    ws = Workspace(history_home)
    try:
        every = forecasting.histories(ws)
        assert forecasting.histories(ws, open_only=True) == [d for d in every if d.outcome is None]
    finally:
        ws.close()


def test_server_scopes_stage_changes_by_their_deal() -> None:
    """A stage change has no team of its own: the server gives it its opportunity's scope, so a rep
    of another team does not see another team's deal moves and amounts."""
    from sfa.server import merge

    state = {"opportunity_id": ["0193d1a0-0000-7000-8000-000000000001", "c"], "owner": ["ana", "c"]}
    assert merge.own_scope("stage_change", state) is None
    assert merge.parent_of("stage_change", state) == "0193d1a0-0000-7000-8000-000000000001"
    snapshot = {"owner": ["ana", "c"], "team": ["north", "c"]}
    assert merge.own_scope("forecast_snapshot", snapshot) == ("ana", "north")
    assert merge.own_scope("forecast_adjustment", snapshot) == ("ana", "north")


def test_backtest_is_kept_until_a_deal_changes(history_home: Path, tmp_path: Path) -> None:
    """The kept backtest is the computed one, field for field; a change of what it reads (here only a
    deal's owner: no stage change) recomputes it."""
    history_home = Path(shutil.copytree(history_home, tmp_path / "home"))
    ws = Workspace(history_home)
    try:
        first = forecasting.backtest(ws, 4)
        cache = history_home / forecasting.BACKTEST_FILE
        kept = json.loads(cache.read_text())
        assert forecasting.backtest(ws, 4) == first
        assert first == prediction.backtest(
            forecasting.histories(ws, context=True), forecasting.stages_for(ws), local_today(), 4, "quarter"
        )
        horizon = forecasting.report_rules.period_start(local_today(), "quarter")
        # open at the start of this quarter: the backtest read it (a deal opened since, it did not)
        known = next(d for d in forecasting.histories(ws, open_only=True) if d.created < horizon)
    finally:
        ws.close()
    assert run_sfa(history_home, "opp", "edit", known.id, "--owner", "zoe").code == 0
    ws = Workspace(history_home)
    try:
        now = forecast_keep.mark(ws, True)
        assert not forecast_keep.unchanged_before(ws, kept["mark"], now, horizon, True)
    finally:
        ws.close()
    assert run_sfa(history_home, "forecast", "backtest", "--periods", "4").code == 0
    assert json.loads(cache.read_text())["mark"] != kept["mark"]
    cache.write_text('{"key": "x", "value": []}')
    assert run_sfa(history_home, "forecast", "backtest", "--periods", "4").code == 0  # recomputed


def test_range_follows_the_owner_the_rows_are_narrowed_to(history_home: Path) -> None:
    """`report forecast --range --owner U`: the current period's range is of that rep's deals, not
    of everyone's beside that rep's rows."""
    args = ("report", "forecast", "--by", "quarter", "--range", "--json")
    every = run_sfa(history_home, *args).json()
    ana = run_sfa(history_home, *args, "--owner", "ana").json()
    [all_row] = [r for r in every if r["p50"] is not None]
    [ana_row] = [r for r in ana if r["p50"] is not None]
    assert ana_row["period"] == all_row["period"]
    assert Decimal(ana_row["p10"]) <= Decimal(ana_row["p50"]) <= Decimal(ana_row["p90"])
    assert Decimal(ana_row["p50"]) < Decimal(all_row["p50"])
    assert Decimal(ana_row["won"]) <= Decimal(all_row["won"])


def test_demo_history_meets_competitors_and_win_loss_explains_it(history_home: Path) -> None:
    """`sfa demo --history` deals meet the demo's competitors; those lost "went with competitor" are
    lost to one; win-loss by stage lists the stages in the pipeline's order."""
    by_competitor = run_sfa(history_home, "report", "win-loss", "--by", "competitor", "--json").json()
    names = [g["competitor"] for g in by_competitor["groups"]]
    assert {"Kessler Automation", "Nordline Systems"} <= set(names)
    opps = run_sfa(history_home, "opp", "list", "--json").json()  # listed once, read twice below
    lost = [o for o in opps if o["stage"] == "lost"]
    simulated = [o for o in lost if any(t.startswith("source:") for t in o["tags"])]  # the history's
    went = [o for o in simulated if o["lost_reason"] == "went with competitor"]
    assert went and all(o["lost_to"] in o["competitors"] for o in went)
    assert all(o["lost_to"] is None for o in lost if o not in went)
    by_stage = run_sfa(history_home, "report", "win-loss", "--by", "stage", "--json").json()["groups"]
    stages = [g["stage"] for g in by_stage if g["stage"] != "(unknown)"]
    configured = [
        s.strip().split(":")[0] for s in run_sfa(history_home, "config", "get", "stages").out.split(",")
    ]
    assert stages == [s for s in configured if s in stages]
    assert sum(g["deals"] for g in by_stage) == len(lost) + sum(1 for o in opps if o["stage"] == "won")


def test_report_forecast_shows_the_latest_adjustment(sfa: Any) -> None:
    """`forecast adjust` counts in `report forecast` narrowed to its subject: the latest adjustment
    of the period replaces the commit (or best-case) column, marked, with the note in --json."""
    account = sfa("account", "add", "Acme", "--json").json()
    quarter = forecasting.report_rules.period_of(local_today(), "quarter")
    close = local_today().isoformat()
    assert (
        sfa(
            "opp", "add", "Line 3", "--account", account["id"], "--amount", "1000", "--close-date", close
        ).code
        == 0
    )
    owner = sfa("opp", "list", "--json").json()[0]["owner"]
    args = ("report", "forecast", "--by", "quarter", "--owner", owner, "--json")
    before = next(r for r in sfa(*args).json() if r["period"] == quarter)
    assert "adjusted" not in before
    for amount, note in (("500", "first call"), ("750", "Acme signs early")):
        result = sfa(
            "forecast",
            "adjust",
            "--period",
            quarter,
            "--owner",
            owner,
            "--category",
            "commit",
            "--amount",
            amount,
            "--note",
            note,
        )
        assert result.code == 0, result.err
    row = next(r for r in sfa(*args).json() if r["period"] == quarter)
    assert row["commit"] == "750.00" and row["adjusted"] == "commit*"
    detail = row["adjustments"]["commit"]
    assert detail["note"] == "Acme signs early" and detail["computed"] == before["commit"]
    assert row["best_case"] == before["best_case"]  # not adjusted
    # another rep's, a month's, or the unnarrowed report: not this subject's quarter
    assert "adjusted" not in next(
        r for r in sfa("report", "forecast", "--by", "quarter", "--json").json() if r["period"] == quarter
    )
    other = sfa("report", "forecast", "--by", "quarter", "--owner", "someone-else", "--json").json()
    assert all("adjusted" not in r for r in other)
    table = sfa("report", "forecast", "--by", "quarter", "--owner", owner)
    assert table.code == 0 and "commit*" in table.out and "750.00" in table.out


def _logged_in(home: Path, role: str, user: str, team: str) -> None:
    ws = Workspace(home)
    try:
        ws.config.set("sync.url", "http://127.0.0.1:9")
        with ws.store.transaction():
            ws.store.set_meta("sync.role", role)
            ws.store.set_meta("sync.user", user)
            ws.store.set_meta("sync.team", team)
    finally:
        ws.close()


def _adjust(sfa: Any, *subject: str) -> Any:
    return sfa(
        "forecast", "adjust", "--period", "2026-Q4", *subject, "--category", "commit", "--amount", "10"
    )


def test_a_rep_adjusts_only_their_own_forecast(sfa: Any, home: Path) -> None:
    """The CLI refuses early what the server rejects (tests/sync/test_sync_forecast_adjust.py)."""
    _logged_in(home, "rep", "ana", "north")
    before = store_digest(home)
    team = _adjust(sfa, "--team", "north")
    assert team.code != 0 and team.err.startswith("sfa: error: team: only the team's manager"), team.err
    other = _adjust(sfa, "--owner", "bob")
    assert other.code != 0 and "a rep adjusts only their own forecast (ana)" in other.err
    assert store_digest(home) == before
    mine = _adjust(sfa, "--owner", "ana")
    assert mine.code == 0, mine.err
    (row,) = sfa("forecast", "adjustments", "--json").json()
    assert (row["owner"], row["team"], row["subject"]) == ("ana", "north", "ana")


def test_a_manager_adjusts_their_own_teams_forecast(sfa: Any, home: Path) -> None:
    _logged_in(home, "manager", "max", "north")
    south = _adjust(sfa, "--team", "south")
    assert south.code != 0 and "only the manager of team 'south'" in south.err
    assert _adjust(sfa, "--team", "north").code == 0
    assert _adjust(sfa, "--owner", "ana").code == 0
    rows = sfa("forecast", "adjustments", "--json").json()
    assert {(r["subject_kind"], r["subject"], r["owner"]) for r in rows} == {
        ("team", "north", "max"),
        ("owner", "ana", "max"),
    }


def test_histories_carry_the_deals_context(sfa: Any, home: Path) -> None:
    """The model's context features read from the store (forecasting.deal_context): the account's
    industry, the deal's done tasks, notes and done visits at its account, and its contacts."""
    account = sfa("account", "add", "Acme", "--industry", "Food", "-q").out.strip()
    eva = sfa("contact", "add", "Eva", "--account", account, "-q").out.strip()
    tom = sfa("contact", "add", "Tom", "--account", account, "-q").out.strip()
    opp = sfa("opp", "add", "Line 3", "--account", account, "--contact", eva, "--amount", "10", "-q")
    opp_id = opp.out.strip()
    task = sfa("task", "add", "Call Tom", "--opp", opp_id, "--contact", tom, "-q").out.strip()
    assert sfa("task", "done", task).code == 0
    assert sfa("task", "add", "Still open", "--opp", opp_id).code == 0  # not done: no activity
    assert sfa("note", "add", "Budget confirmed", "--opp", opp_id).code == 0
    today = local_today()
    visit = sfa(
        "visit", "plan", "--account", account, "--at", f"{today.isoformat()} 12:00", "--contact", tom, "-q"
    )
    assert sfa("visit", "log", visit.out.strip(), "--outcome", "demo given").code == 0
    ws = Workspace(home)
    try:
        (plain,) = forecasting.histories(ws)
        assert (plain.industry, plain.activities, plain.contacts) == ("", (), ())
        (deal,) = forecasting.histories(ws, context=True)
    finally:
        ws.close()
    assert deal.account == account and deal.industry == "Food"
    assert len(deal.activities) == 3  # the done task, the note, the done visit
    assert {c for _, c in deal.contacts} == {eva, tom}
    tomorrow = date.fromordinal(today.toordinal() + 1)
    assert deal.activities_before(tomorrow) == 3 and deal.activities_before(today) == 0
    assert deal.contacts_before(tomorrow) == 2
