"""The order rules (sfa/domain/orders.py): the pricing check and what a rep may change, by property."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sfa.domain import orders
from sfa.domain import quotes as rules

quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(9999), places=3)
prices = st.decimals(min_value=Decimal(0), max_value=Decimal(99999), places=2)
taxes = st.sampled_from([Decimal(0), Decimal(7), Decimal(19), Decimal("7.5")])
percents = st.one_of(st.none(), st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2))
lines = st.lists(
    st.builds(rules.Line, quantities, prices, percents, st.none(), taxes), min_size=1, max_size=12
)


def _priced(quoted: list[rules.Line]) -> list[orders.PricedLine]:
    return [orders.PricedLine(n, f"line {n}", line, f"p{n}", line) for n, line in enumerate(quoted, start=1)]


def _price_list(quoted: list[rules.Line]) -> dict[str, orders.Product]:
    return {
        f"p{n}": orders.Product(line.unit_price, line.tax_rate, True)
        for n, line in enumerate(quoted, start=1)
    }


@given(lines)
def test_an_order_as_quoted_passes_with_the_quotes_total(quoted: list[rules.Line]) -> None:
    check = orders.pricing_check(_priced(quoted), _price_list(quoted), "EUR", quoted)
    assert check.findings == [] and not check.differs
    assert check.order_total == check.quote_total == rules.totals(quoted, "EUR").total


@given(lines, st.data())
def test_a_changed_quantity_is_found_on_its_line(quoted: list[rules.Line], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(quoted) - 1))
    changed = list(quoted)
    old = quoted[index]
    new_qty = data.draw(quantities.filter(lambda q: q != old.quantity))
    changed[index] = rules.Line(
        new_qty, old.unit_price, old.discount_percent, old.discount_amount, old.tax_rate
    )
    priced = [
        orders.PricedLine(n, "x", line, f"p{n}", quoted[n - 1]) for n, line in enumerate(changed, start=1)
    ]
    check = orders.pricing_check(priced, _price_list(quoted), "EUR", quoted)
    assert check.differs
    assert any(
        f.position == index + 1 and f.text.startswith("quantity") and f.blocking for f in check.findings
    )


@given(lines, st.data())
def test_a_list_price_change_alone_is_information(quoted: list[rules.Line], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(quoted) - 1))
    price_list = _price_list(quoted)
    old = price_list[f"p{index + 1}"]
    price_list[f"p{index + 1}"] = orders.Product(old.unit_price + 1, old.tax_rate, True)
    check = orders.pricing_check(_priced(quoted), price_list, "EUR", quoted)
    assert not check.differs  # the order keeps the quoted price the customer accepted
    assert [f.position for f in check.findings] == [index + 1]


def test_an_inactive_or_missing_product_blocks() -> None:
    line = rules.Line(Decimal(1), Decimal(10))
    priced = [orders.PricedLine(1, "a", line, "p1", line), orders.PricedLine(2, "b", line, "gone", line)]
    check = orders.pricing_check(
        priced, {"p1": orders.Product(Decimal(10), None, False)}, "EUR", [line, line]
    )
    assert check.lines() == [
        "line 1: the product is inactive in the price list",
        "line 2: the product is no longer in the price list",
    ]


def test_what_a_rep_may_change() -> None:
    problem = orders.rep_change_problem
    assert problem({"status": "draft"}, {"customer_po": "1"}) is None
    assert problem({"status": "draft"}, {"status": "submitted"}) is None
    assert problem({"status": "draft"}, {"erp_ref": "1"}) == "erp_ref: written by the ERP only"
    assert (
        problem({"status": "submitted"}, {"status": "acknowledged"})
        == "status: acknowledged is set by the ERP only"
    )
    assert "locked" in (problem({"status": "submitted"}, {"customer_po": "2"}) or "")
    assert problem({"status": "submitted"}, {"status": "cancelled", "cancel_reason": "x"}) is None
    assert problem({"status": "submitted"}, {"notes": "call back"}) is None
    assert "locked" in (problem({"status": "acknowledged"}, {"status": "cancelled"}) or "")
    assert problem({"status": "draft"}, {"quantity": "2"}, line=True) is None
    assert "lines can be changed" in (problem({"status": "submitted"}, {"quantity": "2"}, line=True) or "")
    assert problem({"status": "acknowledged"}, {"delivered_quantity": "2"}, line=True) == (
        "delivered_quantity: written by the ERP only"
    )
