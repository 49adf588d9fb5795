"""Incentives (issue 16 §4, docs/incentives.md): the pure calculation's properties (Hypothesis) and
the `sfa plan` / `sfa commission` commands on one laptop."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import commission as rules
from sfa.domain.dates import local_today
from sfa.domain.errors import ValidationError
from sfa.domain.targets import quarter_of
from sfa.store.workspace import Workspace
from tests.conftest import Runner, store_digest

# The plans are of the current quarter: an estimate takes the plan whose period holds today.
QUARTER = quarter_of(local_today())
PERIOD = QUARTER.name

# -- the calculation ------------------------------------------------------------------------------

REPS = ("ann", "bob", "cy")
FAMILIES = (None, "Pumps", "Valves")

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500000"), places=2)
percents = st.integers(min_value=0, max_value=100).map(Decimal)


@st.composite
def tiers(draw: Any) -> tuple[rules.Tier, ...]:
    steps = draw(st.lists(st.integers(1, 80), max_size=4))
    thresholds = [Decimal(0)]
    for step in steps:
        thresholds.append(thresholds[-1] + step)
    rates = draw(st.lists(st.decimals(0, 20, places=2), min_size=len(thresholds), max_size=len(thresholds)))
    return tuple(rules.Tier(t, r) for t, r in zip(thresholds, rates, strict=True))


@st.composite
def splits(draw: Any) -> tuple[rules.Split, ...]:
    found: list[rules.Split] = []
    left = 100
    for rep in draw(st.lists(st.sampled_from(REPS), max_size=3, unique=True)):
        share = draw(st.integers(0, left))
        left -= share
        found.append(rules.Split(rep, Decimal(share), "revenue"))
    for rep in draw(st.lists(st.sampled_from(REPS), max_size=2, unique=True)):
        found.append(rules.Split(rep, draw(percents), "overlay"))
    return tuple(found)


@st.composite
def deal_lists(draw: Any, prefix: str = "deal") -> list[rules.Deal]:
    found = []
    for index in range(draw(st.integers(0, 12))):
        parts = draw(
            st.lists(st.builds(rules.Part, st.sampled_from(FAMILIES), amounts), min_size=1, max_size=3)
        )
        found.append(
            rules.Deal(
                "opportunity",
                f"{prefix}-{index}",
                f"deal {index}",
                date(2026, 11, 1),
                draw(st.sampled_from((*REPS, None))),
                draw(st.sampled_from(("EUR", "EUR", "EUR", "USD"))),
                tuple(parts),
                draw(splits()),
            )
        )
    return found


@st.composite
def plans(draw: Any) -> rules.Plan:
    family = draw(st.dictionaries(st.sampled_from(("Pumps", "Valves")), st.decimals(0, 15, places=2)))
    cap = draw(st.none() | st.decimals(0, 100000, places=2))
    return rules.Plan("p", "plan", PERIOD, "won_amount", draw(tiers()), family, cap, "EUR")


targets = st.decimals(min_value=Decimal(1000), max_value=Decimal(2_000_000), places=0)


@settings(max_examples=60, deadline=None)
@given(plans(), targets, deal_lists(), st.randoms(use_true_random=False), st.sampled_from(REPS))
def test_the_total_is_independent_of_the_deal_order(
    plan: rules.Plan, target: Decimal, deals: list[rules.Deal], rnd: Any, rep: str
) -> None:
    first = rules.calculate(plan, rep, target, deals)
    shuffled = list(deals)
    rnd.shuffle(shuffled)
    second = rules.calculate(plan, rep, target, shuffled)
    assert first.total == second.total
    assert first.tier_basis == second.tier_basis
    # The lines add up to the total, in either order; the cap holds.
    for result in (first, second):
        assert sum((x.commission for x in result.lines), Decimal(0)) == result.total
        if plan.cap is not None:
            assert result.total <= plan.cap
        assert all(x.commission >= 0 for x in result.lines)


@settings(max_examples=100, deadline=None)
@given(splits(), st.sampled_from((*REPS, None)))
def test_revenue_splits_sum_to_100_percent(given_splits: tuple[rules.Split, ...], owner: str | None) -> None:
    revenue = [s for s in given_splits if s.kind == "revenue"]
    shares = rules.credits(owner, revenue)
    assert sum(shares.values(), Decimal(0)) == 100
    assert rules.revenue_total(owner, given_splits) == 100
    # Overlays come on top: every rep's credit is their revenue share plus their overlays.
    with_overlay = rules.credits(owner, given_splits)
    for rep in REPS:
        overlay = sum((s.percent for s in given_splits if s.kind == "overlay" and s.rep == rep), Decimal(0))
        assert with_overlay.get(rep, Decimal(0)) == shares.get(rep, Decimal(0)) + overlay


def test_revenue_splits_over_100_percent_are_refused() -> None:
    with pytest.raises(ValidationError, match="percent"):
        rules.credits(
            "ann", [rules.Split("bob", Decimal(60), "revenue"), rules.Split("cy", Decimal(41), "revenue")]
        )


@settings(max_examples=40, deadline=None)
@given(plans(), targets, deal_lists(), deal_lists("late"), st.sampled_from(REPS))
def test_a_statement_recomputed_after_approval_is_unchanged(
    plan: rules.Plan, target: Decimal, paid_for: list[rules.Deal], later: list[rules.Deal], rep: str
) -> None:
    """Run, correct after the deals changed, run again: the stored lines add up to the latest
    calculation, and recomputing from the same deals (in any order) writes nothing more."""
    stored: list[rules.Paid] = []

    def run(deals: list[rules.Deal]) -> rules.Result:
        result = rules.calculate(plan, rep, target, deals)
        for new in rules.corrections(result.lines, stored, "EUR"):
            stored.append(rules.Paid(new.line.key, new.line.commission, new.line.basis))
        return result

    run(paid_for)
    changed = [*paid_for[: len(paid_for) // 2], *later]
    result = run(changed)
    approved_total = sum((p.commission for p in stored), Decimal(0))
    assert approved_total == result.total
    # Recomputed after approval: the same total, and no line to add.
    again = rules.calculate(plan, rep, target, list(reversed(changed)))
    assert again.total == approved_total
    recomputed = rules.calculate(plan, rep, target, changed)
    assert rules.corrections(recomputed.lines, stored, "EUR") == []


def test_marginal_tiers_by_hand() -> None:
    table = rules.parse_rates("0%:2, 80%:4, 100%:6, 150%:8")
    assert rules.rates_text(table) == "0%:2, 80%:4, 100%:6, 150%:8"
    # 130,000 of 150,000 so far; 31,000 more: 20,000 at 4 % and 11,000 at 6 %.
    before = rules.tiered(table, Decimal(150000), Decimal(130000))
    after = rules.tiered(table, Decimal(150000), Decimal(161000))
    assert after - before == Decimal(1460)
    assert before == Decimal(120000) * 2 / 100 + Decimal(10000) * 4 / 100


@pytest.mark.parametrize(
    "text",
    ["", "80%:4", "0%:2, 0%:4", "0%:2, 50%:x", "0%:120", "0:2, 90%:1, 80%:3", "zero"],
)
def test_bad_rate_tables_name_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rules.parse_rates(text)
    assert caught.value.field == "rates"


# -- the commands ---------------------------------------------------------------------------------


def _setup(sfa: Runner, *, cap: str | None = None, family: str | None = None) -> str:
    assert sfa("config", "set", "owner", "ann").code == 0
    account = sfa("account", "add", "Acme", "-q").out.strip()
    for number, amount in enumerate(("40000", "40000", "40000"), 1):
        close = QUARTER.start.replace(day=number).isoformat()
        done = sfa(
            "opp",
            "add",
            f"Deal {number}",
            "--account",
            account,
            "--amount",
            amount,
            "--stage",
            "won",
            "--close-date",
            close,
        )
        assert done.code == 0, done.err
    extra = [*(("--cap", cap) if cap else ()), *(("--family-rates", family) if family else ())]
    added = sfa(
        "plan", "add", "Q4 reps", "--period", PERIOD, "--rates", "0%:2, 80%:4, 100%:6, 150%:8", *extra
    )
    assert added.code == 0, added.err
    assert sfa("plan", "assign", "Q4 reps", "--rep", "ann", "--target", "150k").code == 0
    return account


def test_run_statement_approve_export(sfa: Runner) -> None:
    account = _setup(sfa)
    draft = sfa("commission", "run", "--period", PERIOD)
    assert draft.code == 0 and "draft" in draft.err  # a draft plan is not run
    assert sfa("plan", "approve", "Q4 reps").code == 0
    again = sfa("plan", "approve", "Q4 reps")
    assert again.code != 0 and "immutable" in again.err

    dry = sfa("commission", "run", "--period", PERIOD, "--dry-run", "--json").json()
    assert dry["reps"][0]["new_lines"] == 3 and dry["reps"][0]["total"] == "2400.00"
    assert sfa("commission", "statement", "--period", PERIOD, "--json").json()["lines"] == []

    ran = sfa("commission", "run", "--period", PERIOD, "--json").json()
    assert ran["reps"][0]["attainment"] == "80" and ran["reps"][0]["status"] == "draft"
    shown = sfa("commission", "statement", "--period", PERIOD, "--json").json()
    assert shown["total"] == "2400.00" and shown["status"] == "draft"
    assert [x["amount"] for x in shown["lines"]] == ["800.00", "800.00", "800.00"]
    assert "tier 1, 53 % → 80 % of target" in shown["lines"][2]["explanation"]

    # A deal changes: the next run corrects with new lines and reasons, never an edit.
    deal = sfa("opp", "list", "--json").json()
    first = next(d for d in deal if d["name"] == "Deal 1")
    assert sfa("opp", "edit", first["ref"], "--amount", "50000").code == 0
    rerun = sfa("commission", "run", "--period", PERIOD, "--json").json()
    assert rerun["reps"][0]["corrections"] == 2 and rerun["reps"][0]["total"] == "2800.00"
    shown = sfa("commission", "statement", "--period", PERIOD, "--json").json()
    assert len(shown["lines"]) == 5 and shown["total"] == "2800.00"
    assert all(x["reason"].startswith("recalculated") for x in shown["lines"][3:])
    # Running again with nothing changed writes nothing.
    assert sfa("commission", "run", "--period", PERIOD, "--json").json()["reps"][0]["new_lines"] == 0

    assert (
        sfa(
            "commission",
            "correct",
            "--rep",
            "ann",
            "--period",
            PERIOD,
            "--amount",
            "-100",
            "--reason",
            "clawback",
        ).code
        == 0
    )
    assert sfa("commission", "statement", "--period", PERIOD, "--json").json()["total"] == "2700.00"

    approved = sfa("commission", "approve", "--rep", "ann", "--period", PERIOD)
    assert approved.code == 0, approved.err
    # After approval: the deals change, a run leaves the statement as it is.
    sfa(
        "opp",
        "add",
        "Late",
        "--account",
        account,
        "--amount",
        "90000",
        "--stage",
        "won",
        "--close-date",
        QUARTER.start.isoformat(),
    )
    frozen = sfa("commission", "run", "--period", PERIOD, "--json").json()["reps"][0]
    assert frozen["frozen"] is True and frozen["new_lines"] == 0
    after = sfa("commission", "statement", "--period", PERIOD, "--json").json()
    assert after["total"] == "2700.00" and after["status"] == "approved" and len(after["lines"]) == 6
    late = sfa("commission", "correct", "--rep", "ann", "--period", PERIOD, "--amount", "5", "--reason", "x")
    assert late.code != 0 and "approved" in late.err

    exported = sfa("commission", "export", "--period", PERIOD, "--csv")
    assert exported.code == 0, exported.err
    rows = list(csv.DictReader(io.StringIO(exported.out)))
    assert rows == [
        {
            "rep": "ann",
            "period": PERIOD,
            "plan": "Q4 reps",
            "currency": "EUR",
            "total": "2700.00",
            "lines": "6",
            "approved_by": "ann",
            "approved_at": rows[0]["approved_at"],
        }
    ]
    assert sfa("commission", "statement", "--period", PERIOD, "--json").json()["status"] == "exported"


def test_estimate_of_a_quote(sfa: Runner) -> None:
    account = _setup(sfa, family="Pumps:5")
    assert sfa("plan", "approve", "Q4 reps").code == 0
    deal = sfa(
        "opp", "add", "Next", "--account", account, "--amount", "31000", "--stage", "quotation sent", "-q"
    ).out.strip()
    assert sfa("product", "add", "Pump", "--sku", "P1", "--price", "1000", "--family", "Pumps").code == 0
    quote = sfa("quote", "new", "--opp", deal, "-q").out.strip()
    assert sfa("quote", "add-line", quote, "--description", "Work", "--price", "61000").code == 0
    # 120,000 of 150,000 so far (80 %); 61,000 more: 30,000 at 4 %, 31,000 at 6 %.
    said = sfa("commission", "estimate", "--quote", quote)
    assert said.code == 0, said.err
    assert said.out.strip() == "this quote adds 3,060.00 EUR at tiers 2-3; 80 % → 121 % of target"
    # A pump line is paid at the Pumps rate and does not move the rep along the tiers.
    assert sfa("quote", "add-line", quote, "--product", "P1", "--qty", "2").code == 0
    data = sfa("commission", "estimate", "--quote", quote, "--json").json()
    assert data["adds"] == "3160.00" and data["at"] == "tiers 2-3 and the Pumps rate"
    assert data["attainment"] == "80" and data["attainment_after"] == "121"
    # Won, the quote's deal counts once: as the quote, not as the deal and the quote.
    assert sfa("quote", "send", quote).code == 0
    assert sfa("quote", "accept", quote).code == 0
    won = sfa("commission", "estimate", "--quote", quote, "--json").json()
    assert (won["adds"], won["attainment"], won["attainment_after"]) == ("3160.00", "80", "121")
    so_far = sfa("commission", "estimate")
    # The won deal (31,000) counts now, split by its accepted quote: 61/63 by the rate table
    # (2,400 + 30,000 at 4 % + 15.87 at 6 %), 2/63 at the Pumps rate (984.13 at 5 %).
    assert so_far.out.strip() == f"3,650.16 EUR so far, 100 % of target (Q4 reps, {PERIOD})"


def test_splits_credit_reps(sfa: Runner) -> None:
    _setup(sfa)
    assert sfa("plan", "assign", "Q4 reps", "--rep", "bob", "--target", "100k").code == 0
    assert sfa("plan", "approve", "Q4 reps").code == 0
    deals = sfa("opp", "list", "--json").json()
    ref = next(d["ref"] for d in deals if d["name"] == "Deal 1")
    split = sfa("commission", "split", ref, "--rep", "bob", "--percent", "25", "--json")
    assert split.json()["credits"] == {"bob": "25", "ann": "75"}
    over = sfa("commission", "split", ref, "--rep", "cy", "--percent", "80")
    assert over.code != 0 and over.err.startswith("sfa: error: percent:")
    assert sfa("commission", "split", ref, "--rep", "cy", "--percent", "50", "--kind", "overlay").code == 0
    ran = {r["rep"]: r for r in sfa("commission", "run", "--period", PERIOD, "--json").json()["reps"]}
    # ann: 110,000 (30,000 + 40,000 + 40,000) of 150,000; bob: 10,000 of 100,000 at 2 %.
    assert ran["ann"]["total"] == "2200.00" and ran["bob"]["total"] == "200.00"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("plan", "add", "P", "--period", "2026-Q5", "--rates", "0%:2"), "period"),
        (("plan", "add", "P", "--period", PERIOD, "--rates", "10%:2"), "rates"),
        (("plan", "add", "P", "--period", PERIOD, "--rates", "0%:2", "--basis", "profit"), "basis"),
        (
            ("plan", "add", "P", "--period", PERIOD, "--rates", "0%:2", "--family-rates", "Pumps"),
            "family_rates",
        ),
        (("plan", "add", "P", "--period", PERIOD, "--rates", "0%:2", "--cap", "-5"), "cap"),
        (("plan", "add", "P", "--period", PERIOD, "--rates", "0%:2", "--currency", "euro"), "currency"),
        (("plan", "assign", "Q4 reps", "--rep", "ann", "--target", "0"), "target"),
        (("commission", "run", "--period", "soon"), "period"),
        (
            ("commission", "correct", "--rep", "ann", "--period", PERIOD, "--amount", "x", "--reason", "r"),
            "amount",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(
    sfa: Runner, home: Path, args: tuple[str, ...], field: str
) -> None:
    _setup(sfa)
    before = store_digest(home)
    done = sfa(*args)
    assert done.code != 0
    assert done.err.startswith(f"sfa: error: {field}:"), done.err
    assert done.err.count("\n") == 1 and "Traceback" not in done.err
    assert store_digest(home) == before


def test_missing_plan_and_statement(sfa: Runner) -> None:
    assert sfa("config", "set", "owner", "ann").code == 0
    none = sfa("commission", "estimate")
    assert none.code != 0 and "no commission plan is assigned to ann" in none.err
    missing = sfa("commission", "approve", "--rep", "ann", "--period", PERIOD)
    assert missing.code != 0 and "no commission statement" in missing.err
    assert sfa("plan", "show", "nope").code != 0
    empty = sfa("commission", "export", "--period", PERIOD)
    assert empty.code != 0 and "no approved" in empty.err


def test_a_rep_is_refused_early(sfa: Runner, home: Path) -> None:
    _setup(sfa)
    ws = Workspace(home)
    try:
        ws.config.set("sync.url", "http://127.0.0.1:9")
        with ws.store.transaction():
            ws.store.set_meta("sync.role", "rep")
            ws.store.set_meta("sync.user", "ann")
            ws.store.set_meta("sync.team", "north")
    finally:
        ws.close()
    before = store_digest(home)
    for args in (
        ("plan", "add", "Mine", "--period", PERIOD, "--rates", "0%:50"),
        ("plan", "approve", "Q4 reps"),
        ("plan", "assign", "Q4 reps", "--rep", "ann", "--target", "1"),
        ("commission", "run", "--period", PERIOD),
    ):
        done = sfa(*args)
        assert done.code != 0 and "only a manager or an admin" in done.err, (args, done.err)
    assert store_digest(home) == before
    # The rep still sees their own estimate, offline.
    assert sfa("commission", "estimate").code == 0


def test_order_and_contract_bases(sfa: Runner) -> None:
    assert sfa("config", "set", "owner", "ann").code == 0
    account = sfa("account", "add", "Acme", "-q").out.strip()
    assert sfa("product", "add", "Pump", "--sku", "P1", "--price", "1000", "--family", "Pumps").code == 0
    assert sfa("product", "add", "Service", "--sku", "S1", "--price", "100").code == 0
    quote = sfa("quote", "new", "--account", account, "--json").json()["number"]
    assert sfa("quote", "add-line", quote, "--product", "P1", "--qty", "2").code == 0
    assert sfa("quote", "add-line", quote, "--product", "S1", "--qty", "30").code == 0
    assert sfa("quote", "send", quote).code == 0 and sfa("quote", "accept", quote).code == 0
    order = sfa("order", "new", "--from-quote", quote, "--json").json()["number"]
    rates = ("--rates", "0%:10", "--family-rates", "pumps:5")
    assert sfa("plan", "add", "Orders", "--period", PERIOD, "--basis", "order-amount", *rates).code == 0
    assert sfa("plan", "assign", "Orders", "--rep", "ann", "--target", "10000").code == 0
    assert sfa("plan", "approve", "Orders").code == 0
    # A draft order is not business yet.
    assert (
        sfa("commission", "run", "--period", PERIOD, "--dry-run", "--json").json()["reps"][0]["total"]
        == "0.00"
    )
    submitted = sfa("order", "submit", order)
    assert submitted.code == 0, submitted.err
    ran = sfa("commission", "run", "--period", PERIOD, "--json").json()["reps"][0]
    # 3,000 of services at 10 %, 2,000 of pumps at the Pumps rate (5 %): the family name's case aside.
    assert ran["total"] == "400.00" and ran["attainment"] == "30"
    lines = sfa("commission", "statement", "--period", PERIOD, "--json").json()["lines"]
    assert {(x["pool"], x["amount"]) for x in lines} == {(None, "300.00"), ("pumps", "100.00")}

    start = QUARTER.start.isoformat()
    contract = sfa("contract", "new", "--account", account, "--start", start, "--term", "2y", "--json").json()
    assert sfa("contract", "add-line", contract["number"], "--product", "S1", "--qty", "12").code == 0
    assert sfa("contract", "submit", contract["number"]).code == 0
    assert sfa("contract", "release", contract["number"]).code == 0
    basis = ("--basis", "contract_first_year", "--rates", "0%:10")
    assert sfa("plan", "add", "Contracts", "--period", PERIOD, *basis).code == 0
    assert sfa("plan", "assign", "Contracts", "--rep", "ann", "--target", "1000").code == 0
    assert sfa("plan", "approve", "Contracts").code == 0
    ran = {r["plan"]: r for r in sfa("commission", "run", "--period", PERIOD, "--json").json()["reps"]}
    # 1,200 over 24 months: 600 in the first year, at 10 %.
    assert ran["Contracts"]["total"] == "60.00" and ran["Orders"]["total"] == "400.00"
    # One statement per rep and period sums the lines of all their plans.
    assert sfa("commission", "statement", "--period", PERIOD, "--json").json()["total"] == "460.00"
