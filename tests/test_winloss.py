"""Win/loss that explains (issue 16 §3): competitors, a deal's competitors and "lost to", and
`sfa report win-loss --by ...`; the arithmetic (sfa/domain/winloss.py) and the CLI, bad input too."""

from __future__ import annotations

import statistics
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain import winloss
from tests.conftest import Runner


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result.json() if result.out.strip().startswith(("{", "[")) else result.out


def refused(result: Any, field: str) -> None:
    assert result.code != 0
    assert result.err.startswith(f"sfa: error: {field}: "), result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


# -- arithmetic ---------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=2000), min_size=1, max_size=60))
def test_percentile_median_agrees_with_statistics(values: list[int]) -> None:
    median = winloss.percentile(values, 0.5)
    assert median == Decimal(str(statistics.median(values))).quantize(Decimal("0.1"))
    p75 = winloss.percentile(values, 0.75)
    assert median is not None and p75 is not None and min(values) <= median <= p75 <= max(values)


def test_groups_win_rate_lost_at_cycle_and_discount() -> None:
    deals = [
        winloss.Decided(True, ("Globex",), 10, discounts=(Decimal(10), Decimal(5))),
        winloss.Decided(True, ("Globex", "Initech"), 20, discounts=(Decimal(0),)),
        winloss.Decided(False, ("Globex",), 30, lost_at="proposal"),
        winloss.Decided(False, ("Initech",), 40, lost_at="proposal"),
        winloss.Decided(False, (), 50, lost_at=None),
    ]
    rows = {g.name: g for g in winloss.win_loss(deals)}
    assert [g.name for g in winloss.win_loss(deals)] == ["Globex", "Initech", "(none)"]
    globex = rows["Globex"]
    assert (globex.deals, globex.won, globex.lost, globex.win_rate) == (3, 2, 1, Decimal("66.7"))
    assert (globex.cycle_median, globex.cycle_p75) == (Decimal("20.0"), Decimal("25.0"))
    assert (globex.discount, globex.quotes) == (Decimal("5.0"), 3)
    assert globex.lost_at_text == "proposal 1"
    assert rows["Initech"].win_rate == Decimal("50.0") and rows["Initech"].discount == Decimal("0.0")
    assert rows["(none)"].lost_at_text == "(unknown) 1" and rows["(none)"].discount is None


def test_size_bands_and_discount_percent() -> None:
    assert [winloss.size_band(Decimal(v)) for v in ("0", "9999.99", "10000", "250000", "1e7")] == [
        "< 10k",
        "< 10k",
        "10k-50k",
        ">= 250k",
        ">= 250k",
    ]
    assert winloss.size_band(None) == "(none)"
    assert winloss.discount_percent([(Decimal(100), Decimal(10)), (Decimal(300), Decimal(0))]) == Decimal(
        "2.5"
    )
    assert winloss.discount_percent([]) is None


# -- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def rivals(sfa: Runner) -> dict[str, str]:
    ok(sfa("competitor", "add", "Globex", "--website", "globex.example", "--notes", "cheap"))
    ok(sfa("competitor", "add", "Initech"))
    account = ok(sfa("account", "add", "Müller GmbH", "--industry", "Retail", "--json"))["ref"]
    made = {}
    for name, amount in (("A", "5000"), ("B", "20000"), ("C", "60000"), ("D", "8000")):
        made[name] = ok(
            sfa(
                "opp",
                "add",
                name,
                "--account",
                account,
                "--amount",
                amount,
                "--stage",
                "qualification",
                "--json",
            )
        )["ref"]
    return made


def test_competitors_on_deals_and_lost_to(sfa: Runner, rivals: dict[str, str]) -> None:
    listed = ok(sfa("competitor", "list", "--json"))
    assert [(c["name"], c["website"], c["notes"]) for c in listed] == [
        ("Globex", "globex.example", "cheap"),
        ("Initech", None, None),
    ]
    shown = ok(sfa("opp", "competitors", rivals["A"], "--add", "globex", "--add", "INITECH", "--json"))
    assert shown["competitors"] == ["Globex", "Initech"] and shown["lost_to"] is None
    shown = ok(sfa("opp", "competitors", rivals["A"], "--remove", "Initech", "--json"))
    assert shown["competitors"] == ["Globex"]
    ok(sfa("opp", "stage", rivals["B"], "quotation sent"))
    lost = sfa("opp", "lost", rivals["B"], "--reason", "price", "--to", "Initech")
    assert lost.code == 0, lost.err
    shown = ok(sfa("opp", "competitors", rivals["B"], "--json"))
    assert shown == {"opportunity": shown["opportunity"], "competitors": ["Initech"], "lost_to": "Initech"}
    detail = sfa("opp", "show", rivals["B"]).out
    assert "lost to: Initech" in detail and "competitors: Initech" in detail
    ok(sfa("competitor", "edit", "Initech", "--name", "Initech AG"))
    assert ok(sfa("opp", "competitors", rivals["B"], "--json"))["lost_to"] == "Initech AG"
    ok(sfa("competitor", "remove", "Globex"))
    assert [c["name"] for c in ok(sfa("competitor", "list", "--json"))] == ["Initech AG"]
    assert ok(sfa("opp", "competitors", rivals["A"], "--json"))["competitors"] == ["Globex"]  # kept


def test_competitor_bad_input_writes_nothing(sfa: Runner, rivals: dict[str, str]) -> None:
    refused(sfa("competitor", "add", "   "), "name")
    refused(sfa("competitor", "add", "globex"), "name")
    refused(sfa("competitor", "add", "Hooli", "--website", "not a url at all"), "website")
    refused(sfa("competitor", "edit", "Globex"), "name")
    refused(sfa("competitor", "edit", "Nobody", "--notes", "x"), "competitor")
    refused(sfa("competitor", "remove", "Nobody"), "competitor")
    refused(sfa("opp", "competitors", rivals["A"], "--add", "Globex", "--add", "Nobody"), "competitor")
    assert ok(sfa("opp", "competitors", rivals["A"], "--json"))["competitors"] == []
    refused(sfa("opp", "lost", rivals["A"], "--reason", "price", "--to", "Nobody"), "to")
    assert ok(sfa("opp", "show", rivals["A"], "--json"))["stage"] == "qualification"
    assert [c["name"] for c in ok(sfa("competitor", "list", "--json"))] == ["Globex", "Initech"]


def test_report_win_loss_by(sfa: Runner, rivals: dict[str, str]) -> None:
    ok(sfa("opp", "competitors", rivals["A"], "--add", "Globex"))
    ok(sfa("opp", "competitors", rivals["C"], "--add", "Globex", "--add", "Initech"))
    ok(sfa("opp", "stage", rivals["B"], "quotation sent"))
    assert sfa("opp", "lost", rivals["B"], "--reason", "price", "--to", "Globex").code == 0
    assert sfa("opp", "lost", rivals["D"], "--reason", "timing").code == 0
    # A won deal with an accepted quote 10 % off list.
    quote = ok(sfa("quote", "new", "--opp", rivals["C"], "--json"))["number"]
    ok(
        sfa(
            "quote",
            "add-line",
            quote,
            "--description",
            "Line",
            "--price",
            "1000",
            "--qty",
            "2",
            "--discount",
            "10%",
        )
    )
    ok(sfa("quote", "send", quote))
    ok(sfa("quote", "accept", quote))  # accepting the quote wins the deal
    ok(sfa("opp", "won", rivals["A"]))

    data = ok(sfa("report", "win-loss", "--by", "competitor", "--json"))
    assert data["by"] == "competitor" and data["since"] is None
    rows = {g["competitor"]: g for g in data["groups"]}
    assert list(rows) == ["Globex", "Initech", "(none)"]
    globex = rows["Globex"]
    assert (globex["deals"], globex["won"], globex["lost"], globex["win_rate"]) == (3, 2, 1, "66.7")
    assert globex["lost_at"] == [{"stage": "quotation sent", "count": 1}]
    assert globex["cycle_median_days"] == "0.0" and globex["cycle_p75_days"] == "0.0"
    assert (globex["won_quote_discount"], globex["won_quotes"]) == ("10.0", 1)
    assert rows["(none)"]["lost_at"] == [{"stage": "qualification", "count": 1}]

    by_stage = ok(sfa("report", "win-loss", "--by", "stage", "--json"))["groups"]
    assert {g["stage"]: (g["won"], g["lost"]) for g in by_stage} == {
        "qualification": (1, 1),
        "quotation sent": (1, 1),  # sending C's quote moved it there
    }
    by_size = ok(sfa("report", "win-loss", "--by", "SIZE", "--json"))["groups"]
    assert {g["size"]: g["deals"] for g in by_size} == {"< 10k": 2, "10k-50k": 1, "50k-250k": 1}
    by_industry = ok(sfa("report", "win-loss", "--by", "industry", "--json"))["groups"]
    assert [(g["industry"], g["deals"]) for g in by_industry] == [("Retail", 4)]
    for dimension in ("owner", "team", "source"):
        groups = ok(sfa("report", "win-loss", "--by", dimension, "--json"))["groups"]
        assert sum(g["deals"] for g in groups) == 4, dimension
    assert ok(sfa("report", "win-loss", "--by", "owner", "--since", "+1d", "--json"))["groups"] == []

    table = sfa("report", "win-loss", "--by", "competitor").out.splitlines()
    assert table[0].split("\t")[:5] == ["competitor", "deals", "won", "lost", "win %"]
    assert table[1].split("\t")[:6] == ["Globex", "3", "2", "1", "66.7", "quotation sent 1"]
    csv_head = sfa("report", "win-loss", "--by", "stage", "--csv").out.splitlines()[0]
    assert csv_head.startswith("stage,deals,won,lost,win_rate,lost_at,cycle_median_days")


def test_report_win_loss_by_bad_input(sfa: Runner, rivals: dict[str, str]) -> None:
    refused(sfa("report", "win-loss", "--by", "colour"), "by")
    refused(sfa("report", "win-loss", "--by", ""), "by")
    refused(sfa("report", "win-loss", "--by", "stage", "--since", "someday"), "since")
    assert sfa("report", "win-loss", "--by", "stage", "--json", "--csv").code != 0
