"""`sfa report ...` and `sfa today` as real processes."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from sfa.domain.dates import local_today
from sfa.domain.entities import QUOTE
from tests.conftest import Runner


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json()


@pytest.fixture
def deals(sfa: Runner) -> str:
    account = ok(sfa("account", "add", "Müller GmbH", "--json"))["ref"]
    for args in (
        ["A", "--amount", "10000", "--stage", "qualification", "--close-date", "2030-12-15"],
        ["B", "--amount", "5000", "--stage", "final stage", "--close-date", "2030-12-01"],
        [
            "C",
            "--amount",
            "2000",
            "--currency",
            "USD",
            "--stage",
            "qualification",
            "--close-date",
            "2030-12-20",
        ],
        ["D", "--amount", "3000", "--stage", "won", "--close-date", "2030-12-05"],
        ["E", "--amount", "4000", "--stage", "initiation", "--close-date", "2031-01-10"],
    ):
        ok(sfa("opp", "add", *args, "--account", account, "--json"))
    lost = ok(sfa("opp", "add", "F", "--account", account, "--amount", "700", "--json"))
    assert sfa("opp", "lost", lost["ref"], "--reason", "Price").code == 0
    return str(account)


def test_pipeline(sfa: Runner, deals: str) -> None:
    rows = ok(sfa("report", "pipeline", "--json"))
    assert [(r["stage"], r["currency"], r["count"], r["amount"], r["weighted"]) for r in rows] == [
        ("initiation", "EUR", 1, "4000.00", "400.00"),
        ("qualification", "EUR", 1, "10000.00", "3000.00"),
        ("qualification", "USD", 1, "2000.00", "600.00"),
        ("final stage", "EUR", 1, "5000.00", "4500.00"),
    ]
    table = list(csv.reader(io.StringIO(sfa("report", "pipeline", "--csv").out)))
    assert table[0] == ["stage", "currency", "count", "amount", "weighted"]
    assert table[1] == ["initiation", "EUR", "1", "4000.00", "400.00"]
    tsv = sfa("report", "pipeline").out.splitlines()
    assert tsv[0] == "stage\tcur\tcount\tamount\tweighted" and len(tsv) == 5
    both = sfa("report", "pipeline", "--json", "--csv")
    assert both.code == 2


def test_forecast(sfa: Runner, deals: str) -> None:
    rows = {(r["period"], r["currency"]): r for r in ok(sfa("report", "forecast", "--json"))}
    dec = rows[("2030-12", "EUR")]
    assert (dec["pipeline"], dec["weighted"], dec["won"], dec["best_case"]) == (
        "15000.00",
        "7500.00",
        "3000.00",
        "18000.00",
    )
    assert rows[("2030-12", "USD")]["weighted"] == "600.00"
    assert rows[("2031-01", "EUR")]["weighted"] == "400.00"
    quarters = ok(sfa("report", "forecast", "--by", "quarter", "--json"))
    assert {(r["period"], r["currency"]) for r in quarters} == {
        ("2030-Q4", "EUR"),
        ("2030-Q4", "USD"),
        ("2031-Q1", "EUR"),
    }
    bad = sfa("report", "forecast", "--by", "week")
    assert bad.code == 1 and "month or quarter" in bad.err
    assert sfa("report", "forecast", "--csv").out.startswith("period,currency,count,pipeline,weighted")


def test_win_loss(sfa: Runner, deals: str) -> None:
    data = ok(sfa("report", "win-loss", "--json"))
    assert (data["won_count"], data["lost_count"], data["win_rate"]) == (1, 1, "50.0")
    assert data["lost_reasons"] == [{"reason": "price", "count": 1}]
    assert data["by_currency"][0]["won_amount"] == "3000.00"
    future = ok(sfa("report", "win-loss", "--since", "2040-01-01", "--json"))
    assert future["won_count"] == 0 and future["win_rate"] is None
    assert sfa("report", "win-loss", "--since", "soon").code == 1
    text = sfa("report", "win-loss")
    assert "win rate: 50.0 %" in text.err and "EUR" in text.out


def test_empty_reports(sfa: Runner) -> None:
    assert ok(sfa("report", "pipeline", "--json")) == []
    result = sfa("report", "forecast")
    assert result.code == 0 and result.out == "" and "no opportunities" in result.err


def test_activity_and_today(sfa: Runner, ws: Any) -> None:
    account = ok(sfa("account", "add", "Weber KG", "--json"))
    day = local_today()
    ws.store.insert(
        QUOTE,
        {
            "number": "Q-2026-TEST-0001",
            "account_id": account["id"],
            "status": "sent",
            "valid_until": day + timedelta(days=2),
            "currency": "EUR",
            "revision": 1,
        },
    )
    ws.store.insert(
        QUOTE,
        {
            "number": "Q-2026-TEST-0002",
            "account_id": account["id"],
            "status": "sent",
            "valid_until": day + timedelta(days=30),
            "currency": "EUR",
            "revision": 1,
        },
    )
    ok(sfa("task", "add", "Overdue thing", "--due", "-3d", "--json"))
    ok(sfa("task", "add", "Future thing", "--due", "+3d", "--json"))
    visit = ok(sfa("visit", "plan", "--account", account["ref"], "--at", "today 23:00", "--json"))
    today = ok(sfa("today", "--json"))
    assert [v["ref"] for v in today["visits"]] == [visit["ref"]]
    assert [t["title"] for t in today["tasks"]] == ["Overdue thing"]
    assert [q["number"] for q in today["quotes_expiring"]] == ["Q-2026-TEST-0001"]
    text = sfa("today")
    assert "Visits (1)" in text.out and "Overdue thing" in text.out and "Q-2026-TEST-0001" in text.out
    assert "Future thing" not in text.out
    activity = ok(sfa("report", "activity", "--since", "-7d", "--json"))
    assert activity["tasks_overdue"] == 1 and activity["tasks_created"] == 2
    assert activity["visits_done"] == 0
    csv_out = sfa("report", "activity", "--csv").out.splitlines()
    assert csv_out[0] == "measure,count" and "tasks_overdue,1" in csv_out


HEAVY = ("sqlalchemy", "sqlmodel", "textual", "httpx", "fastapi", "uvicorn", "fpdf")


@pytest.mark.parametrize(
    "args", [["today"], ["task", "list", "--overdue"], ["report", "forecast"], ["visit", "list"]]
)
def test_day_commands_stay_light(home: Any, args: list[str]) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sfa", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line
    }
    assert "sfa" in imported
    assert not imported & set(HEAVY)


@pytest.mark.parametrize(
    "args",
    [
        ["report", "activity", "--since", "whenever"],
        ["report", "pipeline", "--by", "month"],
        ["visit", "route", "--date", "nope"],
        ["visit", "list", "--week", "--date", "32.13."],
        ["today", "extra"],
    ],
)
def test_bad_arguments_fail_cleanly(sfa: Runner, args: list[str]) -> None:
    result = sfa(*args)
    assert result.code in (1, 2)
    assert result.out == ""
    assert result.err.startswith("sfa: error: ") and "Traceback" not in result.err
