"""Quote arithmetic: exact Decimal totals, half-up rounding per line, tax per rate, order independence."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import quotes as q
from sfa.domain.errors import ValidationError

D = Decimal


def test_line_net_percent_discount_rounds_half_up() -> None:
    # 3 × 0.35 = 1.05, 5 % off = 0.0525 -> 0.9975 -> 1.00 (half-up on the third decimal)
    assert q.line_net(q.Line(D(3), D("0.35"), discount_percent=D(5)), "EUR") == D("1.00")
    # 1 × 0.125 = 0.125 -> 0.13 (half-up, not banker's 0.12)
    assert q.line_net(q.Line(D(1), D("0.125")), "EUR") == D("0.13")


def test_line_net_amount_discount_and_zero_decimal_currency() -> None:
    assert q.line_net(q.Line(D("7.5"), D("85.50"), discount_amount=D(25)), "EUR") == D("616.25")
    assert q.line_net(q.Line(D(3), D("333.5")), "JPY") == D("1001")  # 1000.5 -> 1001, no minor unit


def test_totals_tax_per_rate_on_sum_of_line_nets() -> None:
    lines = [
        q.Line(D(3), D(1250), discount_percent=D(10), tax_rate=D(19)),
        q.Line(D(2), D("49.90"), tax_rate=D(7)),
        q.Line(D("7.5"), D("85.50"), discount_amount=D(25), tax_rate=D(19)),
    ]
    totals = q.totals(lines, "EUR")
    assert totals.line_nets == (D("3375.00"), D("99.80"), D("616.25"))
    assert totals.net == D("4091.05")
    assert [(b.rate, b.base, b.tax) for b in totals.taxes] == [
        (D(7), D("99.80"), D("6.99")),  # 6.986
        (D(19), D("3991.25"), D("758.34")),  # 758.3375
    ]
    assert totals.tax == D("765.33")
    assert totals.total == D("4856.38")


def test_tax_is_computed_per_rate_not_per_line() -> None:
    # Taxed per line: 0.03 × 19 % = 0.0057 -> 0.01, three times = 0.03.
    # Taxed per rate, as documented: 0.09 × 19 % = 0.0171 -> 0.02.
    lines = [q.Line(D(1), D("0.03"), tax_rate=D(19)) for _ in range(3)]
    assert q.totals(lines, "EUR").tax == D("0.02")


def test_equal_rates_written_differently_share_one_band() -> None:
    totals = q.totals(
        [q.Line(D(1), D(100), tax_rate=D("19")), q.Line(D(1), D(100), tax_rate=D("19.00"))], "EUR"
    )
    assert len(totals.taxes) == 1
    assert totals.taxes[0].rate == D(19) and str(totals.taxes[0].rate) == "19"
    assert totals.tax == D("38.00")


def test_empty_quote_totals_are_zero() -> None:
    totals = q.totals([], "EUR")
    assert (totals.net, totals.tax, totals.total, totals.taxes) == (D("0.00"), D("0.00"), D("0.00"), ())


def test_large_amounts_stay_exact_beyond_default_decimal_precision() -> None:
    # 30 significant digits: the default 28-digit context would round the product.
    qty, price = D("123456789012345.678"), D("9876543210.9876")
    net = q.line_net(q.Line(qty, price), "EUR")
    exact = Fraction(qty) * Fraction(price)
    assert Fraction(net) == _half_up(exact, 2)


def test_parse_discount_and_rate() -> None:
    assert q.parse_discount("10%", "EUR") == (D(10), None)
    assert q.parse_discount(" 12.5 % ", "EUR") == (D("12.5"), None)
    assert q.parse_discount("25.00", "EUR") == (None, D(25))
    assert q.parse_rate("19") == D(19) and q.parse_rate("7.0") == D(7)
    for bad in ("101%", "-5%", "abc%"):
        with pytest.raises(ValidationError, match="discount"):
            q.parse_discount(bad, "EUR")
    with pytest.raises(ValidationError, match="decimals"):
        q.parse_discount("1.005", "EUR")
    with pytest.raises(ValidationError, match="tax"):
        q.parse_rate("nineteen")


def test_check_line_refuses_a_discount_larger_than_the_line() -> None:
    with pytest.raises(ValidationError, match="more than the line"):
        q.check_line(q.Line(D(2), D(10), discount_amount=D("20.01")), "EUR")
    q.check_line(q.Line(D(2), D(10), discount_amount=D(20)), "EUR")  # exactly free is fine
    with pytest.raises(ValidationError, match="qty"):
        q.parse_quantity("0")


def test_replica_code_and_number_format() -> None:
    code = q.replica_code("0123456789abcdef")
    assert len(code) == 4 and code == q.replica_code("0123456789abcdef")
    assert set(code) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert q.format_number(2026, "K7F2", 42) == "Q-2026-K7F2-0042"
    assert q.format_number(2026, "K7F2", 12345) == "Q-2026-K7F2-12345"
    assert q.looks_like_number("q-2026-k7f2-0042") and not q.looks_like_number("a1b2c3")


def test_effective_status_expires_only_sent_quotes() -> None:
    from datetime import date

    today = date(2026, 11, 23)
    assert q.effective_status("sent", date(2026, 11, 22), today) == "expired"
    assert q.effective_status("sent", date(2026, 11, 23), today) == "sent"  # valid through the day
    assert q.effective_status("draft", date(2026, 1, 1), today) == "draft"
    assert q.effective_status("accepted", date(2026, 1, 1), today) == "accepted"


# -- properties ---------------------------------------------------------------------------------------


def _half_up(value: Fraction, places: int) -> Fraction:
    scale = 10**places
    scaled = value * scale
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, scale)


def _decimals(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=D(low), max_value=D(high), places=places, allow_nan=False, allow_infinity=False
    )


@st.composite
def lines(draw: st.DrawFn) -> q.Line:
    qty = draw(_decimals("0.001", "100000", 3))
    price = draw(_decimals("0", "1000000", 4))
    kind = draw(st.sampled_from(["none", "percent", "amount"]))
    percent = draw(_decimals("0", "100", 2)) if kind == "percent" else None
    amount = None
    if kind == "amount":
        gross = _half_up(Fraction(qty) * Fraction(price), 2)
        amount = draw(_decimals("0", str(D(gross.numerator) / D(gross.denominator)), 2))
    rate = draw(st.sampled_from([D(0), D(5), D("5.5"), D(7), D(19), D(20), D("8.1")]))
    return q.Line(qty, price, percent, amount, rate)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines(), max_size=25), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_totals_are_exact(items: list[q.Line], currency: str) -> None:
    """Every figure equals the exact rational computation with one half-up rounding where documented."""
    places = {"EUR": 2, "JPY": 0, "KWD": 3}[currency]
    totals = q.totals(items, currency)
    bases: dict[Fraction, Fraction] = {}
    for line, net in zip(items, totals.line_nets, strict=True):
        gross = Fraction(line.quantity) * Fraction(line.unit_price)
        if line.discount_percent is not None:
            exact = gross - gross * Fraction(line.discount_percent) / 100
        else:
            exact = gross - Fraction(line.discount_amount or 0)
        assert isinstance(net, Decimal)
        assert Fraction(net) == _half_up(exact, places)
        assert net.as_tuple().exponent == -places
        bases[Fraction(line.tax_rate)] = bases.get(Fraction(line.tax_rate), Fraction(0)) + Fraction(net)
    assert Fraction(totals.net) == sum((Fraction(n) for n in totals.line_nets), Fraction(0))
    assert {Fraction(b.rate): Fraction(b.base) for b in totals.taxes} == bases
    for band in totals.taxes:
        assert Fraction(band.tax) == _half_up(Fraction(band.base) * Fraction(band.rate) / 100, places)
    assert Fraction(totals.tax) == sum((Fraction(b.tax) for b in totals.taxes), Fraction(0))
    assert totals.total == totals.net + totals.tax
    for value in (totals.net, totals.tax, totals.total, *(b.tax for b in totals.taxes)):
        assert isinstance(value, Decimal) and not isinstance(value, float)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(lines(), min_size=1, max_size=20).flatmap(lambda ls: st.tuples(st.just(ls), st.permutations(ls)))
)
def test_totals_do_not_depend_on_line_order(pair: tuple[list[q.Line], list[q.Line]]) -> None:
    original, shuffled = pair
    a, b = q.totals(original, "EUR"), q.totals(shuffled, "EUR")
    assert (a.net, a.tax, a.total) == (b.net, b.tax, b.total)
    assert a.taxes == b.taxes
    assert sorted(a.line_nets) == sorted(b.line_nets)


def test_a_float_never_slips_in() -> None:
    # Decimal refuses to mix with float, so a float price is an error, never a silently inexact total.
    with pytest.raises(TypeError):
        q.totals([q.Line(D(1), 0.1)], "EUR")  # type: ignore[arg-type]
