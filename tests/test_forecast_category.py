"""Forecast categories (issue 16 §2): from the stage (the sales policy), overridable per deal by the
rep or manager with `sfa opp category`; the forecast's commit column and the snapshots follow."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sfa.domain.dates import local_today
from sfa.services import forecasting
from sfa.store.workspace import Workspace
from tests.conftest import Runner

POLICY = """
[[stages]]
name = "lead"
probability = 20
category = "pipeline"

[[stages]]
name = "offer"
probability = 50
category = "commit"

[[stages]]
name = "won"
probability = 100

[[stages]]
name = "lost"
probability = 0
"""


TODAY = ("--close-date", local_today().isoformat(), "--json")  # in the current period, as snapshots need


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json()


def _commit(sfa: Runner) -> Decimal:
    rows = ok(sfa("report", "forecast", "--by", "quarter", "--json"))
    return sum((Decimal(r["commit"]) for r in rows), Decimal(0))


def test_override_moves_a_deal_into_and_out_of_commit(sfa: Runner, home: Path) -> None:
    account = ok(sfa("account", "add", "Acme", "--json"))["ref"]
    deal = ok(
        sfa("opp", "add", "Big", "--account", account, "--amount", "1000", "--stage", "qualification", *TODAY)
    )["ref"]
    ok(sfa("opp", "add", "Sure", "--account", account, "--amount", "300", "--stage", "final stage", *TODAY))
    assert _commit(sfa) == Decimal(300)  # final stage (90 %) is commit by its stage
    assert ok(sfa("opp", "category", deal, "Commit", "--json"))["forecast_category"] == "commit"
    assert _commit(sfa) == Decimal(1300)
    ws = Workspace(home)
    try:
        snap = forecasting.take_snapshot(ws)
    finally:
        ws.close()
    assert snap["commit_amount"] == Decimal("1300.00")
    assert ok(sfa("opp", "category", deal, "omitted", "--json"))["forecast_category"] == "omitted"
    assert _commit(sfa) == Decimal(300)
    assert ok(sfa("opp", "category", deal, "stage", "--json"))["forecast_category"] is None
    assert _commit(sfa) == Decimal(300)


def test_policy_category_counts_and_bad_input_writes_nothing(sfa: Runner, home: Path) -> None:
    policy = home / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    assert sfa("policy", "import", str(policy)).code == 0
    account = ok(sfa("account", "add", "Acme", "--json"))["ref"]
    deal = ok(
        sfa("opp", "add", "Offer", "--account", account, "--amount", "700", "--stage", "offer", "--json")
    )
    assert _commit(sfa) == Decimal(700)  # the policy makes a 50 % stage commit
    for bad in ("upside", "", "closed"):
        result = sfa("opp", "category", deal["ref"], bad)
        assert result.code != 0 and result.err.startswith("sfa: error: category: "), result.err
    assert ok(sfa("opp", "show", deal["ref"], "--json"))["forecast_category"] is None
    assert sfa("opp", "won", deal["ref"]).code == 0
    closed = sfa("opp", "category", deal["ref"], "commit")
    assert closed.code != 0 and "category" in closed.err and "won" in closed.err
