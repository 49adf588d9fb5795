"""Target segments (issue 14 §4: "optional segment (industry, product family, new vs existing
business)"; docs/policy.md, "Targets"): `sfa target set --segment KIND:VALUE`, refused where a
segment cannot apply, and attainment computed per segment from what the laptop holds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfa.domain.dates import local_today
from sfa.domain.entities import ACCOUNT, OPPORTUNITY, PRODUCT, QUOTE, QUOTE_LINE
from sfa.domain.errors import ValidationError
from sfa.domain.targets import Segment, parse_segment, quarter_of, segment_problem
from tests.conftest import Runner


def test_parse_segment_kinds_and_the_bare_industry() -> None:
    assert parse_segment("industry: Construction ") == Segment("industry", "Construction")
    assert parse_segment("Product Family:Pumps") == Segment("family", "Pumps")
    assert parse_segment("family:Heat  pumps") == Segment("family", "Heat pumps")
    assert parse_segment("business:New") == Segment("business", "new")
    assert parse_segment("existing") == Segment("business", "existing")
    assert parse_segment("Retail") == Segment("industry", "Retail")  # as targets stored it before
    assert parse_segment("  ") is None
    for bad in ("colour:red", "family:", "business:maybe"):
        with pytest.raises(ValidationError) as caught:
            parse_segment(bad)
        assert caught.value.field == "segment"
    assert segment_problem(Segment("family", "Pumps"), "visits_done") is not None
    assert segment_problem(Segment("business", "existing"), "new_accounts") is not None
    assert segment_problem(Segment("business", "new"), "new_accounts") is None


@given(st.sampled_from(["industry", "family", "business"]), st.text(min_size=1, max_size=20))
def test_a_stored_segment_reads_back_as_itself(kind: str, value: str) -> None:
    try:
        first = parse_segment(f"{kind}:{value}")
    except ValidationError:
        return  # an empty value, or a business kind other than new / existing
    assert first is not None
    assert parse_segment(first.text) == first


def _world(ws: Any) -> dict[str, str]:
    """Two accounts: BuildCo (Construction) already a customer (a deal won last year), Shop
    (Retail) a new one; two won deals in 2027-Q1 and one open deal closing then, with quotes whose
    lines are pumps and valves."""
    pumps = ws.store.insert(
        PRODUCT, {"sku": "P", "name": "Pump", "unit_price": Decimal(100), "family": "Pumps"}
    )
    valves = ws.store.insert(
        PRODUCT, {"sku": "V", "name": "Valve", "unit_price": Decimal(50), "family": "Valves"}
    )
    build = ws.store.insert(ACCOUNT, {"name": "BuildCo", "industry": "Construction", "owner": "me"})
    shop = ws.store.insert(ACCOUNT, {"name": "Shop", "industry": "Retail", "owner": "me"})

    def deal(account: Any, amount: int, stage: str, close: date, probability: int = 100) -> str:
        values = {
            "name": f"{account['name']} {amount}",
            "account_id": account["id"],
            "stage": stage,
            "amount": Decimal(amount),
            "currency": "EUR",
            "probability": probability,
            "close_date": close,
            "owner": "me",
        }
        return str(ws.store.insert(OPPORTUNITY, values)["id"])

    def quote(number: str, account: Any, opp: str, status: str, lines: list[tuple[Any, int, int]]) -> str:
        sent = datetime.now(UTC) if status != "draft" else None
        values = {
            "number": number,
            "revision": 1,
            "account_id": account["id"],
            "opportunity_id": opp,
            "currency": "EUR",
            "status": status,
            "sent_at": sent,
            "owner": "me",
        }
        made = ws.store.insert(QUOTE, values)
        for position, (product, qty, price) in enumerate(lines, 1):
            line = {
                "quote_id": made["id"],
                "position": position,
                "product_id": product["id"],
                "description": product["name"],
                "quantity": Decimal(qty),
                "unit_price": Decimal(price),
            }
            ws.store.insert(QUOTE_LINE, line)
        return str(made["id"])

    deal(build, 5000, "won", date(2026, 6, 1))  # last year's: BuildCo is an existing customer
    big = deal(build, 1000, "won", date(2027, 2, 1))
    quote("Q-1", build, big, "accepted", [(pumps, 3, 100), (valves, 2, 50)])  # 3/4 pumps
    small = deal(shop, 400, "won", date(2027, 2, 10))
    quote("Q-2", shop, small, "sent", [(valves, 8, 50)])  # the sent quote stands for the deal ...
    quote("Q-3", shop, small, "draft", [(pumps, 4, 100)])  # ... not the later draft
    open_deal = deal(build, 200, "qualification", date(2027, 3, 1), probability=50)
    quote("Q-4", build, open_deal, "draft", [(pumps, 2, 100)])
    return {"big": big, "small": small, "open": open_deal}


def test_attainment_per_segment(sfa: Runner, ws: Any) -> None:
    _world(ws)
    won = ("target", "set", "--owner", "me", "--period", "2027-Q1", "--metric", "won_amount")
    for segment in (
        "family:Pumps",
        "Product family:Valves",
        "business:new",
        "existing",
        "industry:Construction",
    ):
        done = sfa(*won, "--value", "1000", "--segment", segment)
        assert done.code == 0, (segment, done.err)
    assert sfa(*won, "--value", "1000", "--segment", "Retail").code == 0  # a bare name: an industry
    listed = {t["segment"] for t in sfa("target", "list", "--period", "2027-Q1", "--json").json()}
    assert listed == {
        "family:Pumps",
        "family:Valves",
        "business:new",
        "business:existing",
        "industry:Construction",
        "industry:Retail",
    }
    rows = sfa("report", "attainment", "--period", "2027-Q1", "--json").json()["rows"]
    actual = {r["segment"]: Decimal(r["actual"]) for r in rows}
    pipeline = {r["segment"]: Decimal(r["pipeline"]) for r in rows}
    assert actual == {
        "family:Pumps": Decimal(750),  # 3/4 of the 1000 deal's accepted quote; none of Shop's
        "family:Valves": Decimal(250) + Decimal(400),
        "business:new": Decimal(400),  # Shop's first deal
        "business:existing": Decimal(1000),  # BuildCo had won before
        "industry:Construction": Decimal(1000),
        "industry:Retail": Decimal(400),
    }
    # The open deal (200 at 50 %, its quote all pumps) is BuildCo's: existing business, pumps.
    assert pipeline["family:Pumps"] == 100 and pipeline["family:Valves"] == 0
    assert pipeline["business:existing"] == 100 and pipeline["business:new"] == 0
    assert [r["subject"] for r in rows if r["segment"] == "family:Pumps"] == ["me (family:Pumps)"]

    # Counts: a deal or a quote counts whole in each family it holds.
    now = quarter_of(local_today()).name
    count = ("target", "set", "--owner", "me", "--period", now, "--value", "5")
    assert sfa(*count, "--metric", "new_opportunities", "--segment", "family:Pumps").code == 0
    assert sfa(*count, "--metric", "quotes_sent", "--segment", "family:Valves").code == 0
    assert sfa(*count, "--metric", "new_opportunities", "--segment", "business:new").code == 0
    rows = sfa("report", "attainment", "--period", now, "--json").json()["rows"]
    counted = {(r["metric"], r["segment"]): Decimal(r["actual"]) for r in rows}
    assert counted == {
        ("new_opportunities", "family:Pumps"): 2,  # the big deal and the open one; not Shop's
        ("quotes_sent", "family:Valves"): 2,  # Q-1 and Q-2 (Q-3 and Q-4 are drafts)
        ("new_opportunities", "business:new"): 2,  # Shop's deal, and last year's (BuildCo's first)
    }


def test_segments_that_cannot_apply_are_refused(sfa: Runner) -> None:
    base = ("target", "set", "--owner", "me", "--period", "2027-Q1", "--value", "3")
    for metric, segment, words in (
        ("visits_done", "family:Pumps", "product family"),
        ("new_accounts", "business:existing", "new business"),
        ("won_amount", "colour:red", "industry:NAME"),
        ("won_amount", "business:maybe", "business:new"),
    ):
        refused = sfa(*base, "--metric", metric, "--segment", segment)
        assert refused.code != 0 and refused.out == "", (segment, refused.err)
        assert refused.err.startswith("sfa: error: segment:") and words in refused.err, refused.err
        assert refused.err.count("\n") == 1
    assert sfa("target", "list", "--json").json() == []


def test_a_target_stored_with_a_bare_industry_is_the_same_target(sfa: Runner, ws: Any) -> None:
    """A target an earlier sfa stored with segment `Retail` (no kind): re-setting it with the kind
    changes that record (same derived id) instead of adding a second one."""
    from sfa.domain.entities import TARGET
    from sfa.services import targets

    old = {"owner": "me", "team": None, "period": "2027-Q1", "metric": "won_amount", "segment": "Retail"}
    ws.store.insert(
        TARGET, {**old, "value": Decimal(5), "currency": "EUR"}, record_id=targets._target_id(old)
    )
    done = sfa(
        *("target", "set", "--owner", "me", "--period", "2027-Q1", "--metric", "won_amount"),
        "--value",
        "7",
        "--segment",
        "industry:Retail",
    )
    assert done.code == 0, done.err
    [target] = sfa("target", "list", "--json").json()
    assert (target["segment"], Decimal(target["value"])) == ("industry:Retail", 7)
