"""Money and text have bounds, checked at the door (docs/cli.md, "Bounds of money and text").

The CLI runs in-process (`sfa.cli.main.run`, the console entry point) so each case is quick; what it
prints and its exit status are what a user gets from the installed command.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfa.cli import main
from sfa.domain import money, quotes, reports
from sfa.domain.errors import ValidationError
from sfa.domain.money import MAX_AMOUNT, MAX_QUANTITY, parse_amount, round_money
from sfa.domain.stages import parse_stages
from sfa.domain.text import check_text
from sfa.services import reports as report_service
from sfa.store.workspace import Workspace
from tests.conftest import Result, Runner

LIMIT_TEXT = "999,999,999,999.99"
Cli = Callable[..., Result]


@pytest.fixture
def cli(sfa: Runner) -> Cli:
    """The shared in-process runner (tests/conftest.py: run_sfa, the console entry point)."""
    return sfa


def refused(result: Result, *words: str, code: int = 1) -> None:
    """One line on stderr naming the field, no traceback, the given exit code."""
    assert result.code == code, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sfa: error: "), result.err
    assert "Traceback" not in result.err
    for word in words:
        assert word in lines[0], (word, lines[0])


def account(cli: Cli) -> str:
    return str(cli("account", "add", "Acme GmbH", "-q").out.strip())


# -- amounts at entry ------------------------------------------------------------------------------


def test_the_largest_amount_is_accepted_and_one_cent_more_is_refused() -> None:
    assert parse_amount("999,999,999,999.99") == MAX_AMOUNT
    with pytest.raises(ValidationError, match=rf"price: .*largest amount, {LIMIT_TEXT}"):
        parse_amount("1000000000000", "price")
    with pytest.raises(ValidationError, match=r"amount: .*more than 4 decimals"):
        parse_amount("1.00001")
    assert parse_amount("1.50000") == Decimal("1.50000")  # trailing zeros are no extra precision
    with pytest.raises(ValidationError, match=r"amount: '9{29}\.\.\.' is more than"):
        parse_amount("9" * 5000)  # refused before any arithmetic, and not echoed whole


@given(st.integers(min_value=10**12, max_value=10**60), st.sampled_from(["", ".5", ".99", "k", "m"]))
def test_any_amount_beyond_the_limit_is_refused_naming_the_field(whole: int, tail: str) -> None:
    with pytest.raises(ValidationError) as refusal:
        parse_amount(f"{whole}{tail}", "price")
    assert refusal.value.field == "price"
    assert LIMIT_TEXT in str(refusal.value)


@given(st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False))
def test_any_amount_within_the_limit_is_accepted_as_typed(value: Decimal) -> None:
    assert parse_amount(f"{value:f}") == value


def test_quantity_discount_and_rate_bounds() -> None:
    assert quotes.parse_quantity("999999.999") == MAX_QUANTITY
    with pytest.raises(ValidationError, match=r"qty: .*largest quantity, 999,999.999"):
        quotes.parse_quantity("1000000")
    with pytest.raises(ValidationError, match=r"qty: .*more than 3 decimals"):
        quotes.parse_quantity("0.0001")
    with pytest.raises(ValidationError, match=rf"discount: .*{LIMIT_TEXT}"):
        quotes.parse_discount("1" + "0" * 30, "EUR")
    with pytest.raises(ValidationError, match=r"tax: .*not a percentage"):
        quotes.parse_rate("1e2")
    with pytest.raises(ValidationError, match=r"tax: .*more than 4 decimals"):
        quotes.parse_rate("7.00001")
    line = quotes.Line(MAX_QUANTITY, MAX_AMOUNT)
    with pytest.raises(ValidationError, match=f"qty: quantity × price .*{LIMIT_TEXT}"):
        quotes.check_line(line, "EUR")


# -- sums never overflow -------------------------------------------------------------------------

STAGES = parse_stages("new:10, won:100, lost:0")
amounts = st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            amounts,
            st.sampled_from(["new", "won", "lost"]),
            st.integers(0, 100),
            st.integers(1, 10**9),  # a group of this many deals, each of the amount
            st.sampled_from(["EUR", "JPY", "KWD"]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_accepted_amounts_summed_over_many_records_never_raise_in_reports(
    deals: list[tuple[Decimal, str, int, int, str]],
) -> None:
    figures = [
        reports.OppFigures(stage, amount * count, currency, probability, None, "price", count)
        for amount, stage, probability, count, currency in deals
    ]
    rows = reports.pipeline(figures, STAGES)
    periods = reports.forecast(figures)
    decided = reports.win_loss(figures)
    # The sums are exact: as rational numbers, then rounded once.
    for row in rows:
        expected = sum(
            (Fraction(f.amount or 0) for f in figures if (f.stage, f.currency) == (row.stage, row.currency)),
            Fraction(0),
        )
        assert row.amount == round_money(Decimal(expected.numerator) / expected.denominator, row.currency)
    assert sum(r.count for r in periods) + sum(r.won_count for r in periods) == sum(
        f.count for f in figures if f.stage != "lost"
    )
    assert decided.won_count == sum(f.count for f in figures if f.stage == "won")


@given(st.lists(amounts, min_size=1, max_size=40), st.integers(1, 5000))
def test_accepted_prices_and_quantities_total_exactly(prices: list[Decimal], qty: int) -> None:
    quantity = min(Decimal(qty) / 1000, MAX_QUANTITY)
    lines = [
        quotes.Line(
            quantity, min(price, MAX_AMOUNT / quantity).quantize(Decimal("0.01")), tax_rate=Decimal(19)
        )
        for price in prices
    ]
    totals = quotes.totals(lines, "EUR")
    assert totals.net == sum(totals.line_nets, Decimal(0))
    assert totals.total == totals.net + totals.tax


def test_round_money_never_fails_on_a_sum_past_the_default_precision() -> None:
    huge = Decimal("9" * 26) * 2  # two 26-digit amounts: what crashed `report pipeline`
    assert round_money(huge, "EUR") == Decimal("1" + "9" * 25 + "8.00")
    rounded = round_money(Decimal("1e60"), "KWD")
    assert rounded == Decimal("1e60") and rounded.as_tuple().exponent == -3
    assert round_money(Decimal("Infinity"), "EUR") == Decimal("Infinity")


def test_reports_add_up_amounts_an_older_sfa_stored_beyond_the_bounds(ws: Workspace, cli: Cli) -> None:
    acme = account(cli)
    for name in ("One", "Two"):
        assert cli("opp", "add", name, "--account", acme, "--amount", "5").code == 0
    assert cli("opp", "add", "Won", "--account", acme, "--amount", "5", "--stage", "won").code == 0
    # As an older sfa could: 26-digit amounts straight into the data file.
    with sqlite3.connect(ws.db_path) as conn:
        conn.execute("UPDATE opportunity SET amount = ?", ("9" * 26,))
    rows = report_service.pipeline(ws)
    assert rows[0].amount == Decimal("9" * 26) * 2
    assert cli("report", "pipeline").code == 0
    assert cli("report", "forecast").code == 0
    assert cli("report", "win-loss").code == 0


# -- the CLI refuses at the door ----------------------------------------------------------------


def test_opp_amounts_beyond_the_limit_are_refused(cli: Cli) -> None:
    acme = account(cli)
    refused(cli("opp", "add", "Big", "--account", acme, "--amount", "9" * 27), "amount:", LIMIT_TEXT)
    refused(cli("opp", "add", "Big", "--account", acme, "--amount", "-5"), "amount:", "negative")
    refused(cli("opp", "add", "Big", "--account", acme, "--probability", "9" * 30), "probability:", "0..100")
    opp = cli("opp", "add", "Max", "--account", acme, "--amount", "999,999,999,999.99", "-q").out.strip()
    refused(cli("opp", "edit", opp, "--amount", "1e13"), "amount:")
    refused(cli("opp", "edit", opp, "--amount", "1000000000000"), "amount:", LIMIT_TEXT)
    assert cli("opp", "add", "Max 2", "--account", acme, "--amount", "999999999999.99", "-q").code == 0
    for report in (("report", "pipeline"), ("report", "forecast"), ("report", "win-loss")):
        result = cli(*report)
        assert result.code == 0, result
    assert "1,999,999,999,999.98" in cli("report", "pipeline").out or "1999999999999.98" in (
        cli("report", "pipeline").out
    )


def test_quote_and_product_figures_beyond_the_limits_are_refused(cli: Cli) -> None:
    acme = account(cli)
    refused(cli("product", "add", "Bolt", "--sku", "B1", "--price", "1" + "0" * 27), "price:", LIMIT_TEXT)
    refused(cli("product", "add", "Bolt", "--sku", "B1", "--price", "1", "--tax", "101"), "tax:")
    assert cli("product", "add", "Bolt", "--sku", "B1", "--price", "0.0035").code == 0
    quote = cli("quote", "new", "--account", acme, "-q").out.strip()
    line = ("quote", "add-line", quote, "--description", "Work")
    refused(cli(*line, "--price", "9" * 27), "price:", LIMIT_TEXT)
    refused(cli(*line, "--price", "5", "--qty", "9" * 27), "qty:", "999,999.999")
    refused(cli(*line, "--price", "5", "--qty", "-1"), "qty:")
    refused(cli(*line, "--price", "5", "--discount", "9" * 27), "discount:", LIMIT_TEXT)
    refused(cli(*line, "--price", "999999999999", "--qty", "2"), "qty:", LIMIT_TEXT)
    assert cli(*line, "--price", "999,999,999,999.99", "--qty", "1").code == 0
    assert cli("quote", "show", quote).code == 0


def test_lead_convert_amount_beyond_the_limit_is_refused_and_nothing_converted(cli: Cli) -> None:
    lead = cli("lead", "add", "Hans Huber", "--company", "Huber AG", "-q").out.strip()
    refused(cli("lead", "convert", lead, "--amount", "9" * 27), "amount:", LIMIT_TEXT)
    assert json.loads(cli("lead", "show", lead, "--json").out)["status"] == "new"
    assert cli("account", "list", "--json").out.strip() == "[]"


def test_an_empty_currency_is_refused_and_never_clears_one(cli: Cli) -> None:
    acme = account(cli)
    refused(
        cli("opp", "add", "Deal", "--account", acme, "--currency", "", "--amount", "5"), "currency:", "empty"
    )
    opp = cli("opp", "add", "Deal", "--account", acme, "--currency", "usd", "--amount", "5", "-q").out.strip()
    refused(cli("opp", "edit", opp, "--currency", ""), "currency:", "empty")
    assert json.loads(cli("opp", "show", opp, "--json").out)["currency"] == "USD"
    assert cli("product", "add", "Bolt", "--sku", "B1", "--price", "2", "--currency", "CHF").code == 0
    refused(cli("product", "edit", "B1", "--currency", "  "), "currency:", "empty")
    assert json.loads(cli("product", "show", "B1", "--json").out)["currency"] == "CHF"


def test_an_empty_task_priority_names_the_priorities(cli: Cli) -> None:
    refused(cli("task", "add", "Call back", "--priority", ""), "priority:", "high, normal, low")
    task = cli("task", "add", "Call back", "-q").out.strip()
    refused(cli("task", "edit", task, "--priority", ""), "priority:", "high, normal, low")


def test_an_empty_home_is_refused(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("", "  "):
        with pytest.raises(SystemExit) as stop:
            main.run(["--home", value, "lead", "list"])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.strip() == "sfa: error: --home: cannot be empty; give a directory, or leave --home out"


# -- text -----------------------------------------------------------------------------------------


def test_control_characters_are_refused_tab_and_line_breaks_only_in_prose() -> None:
    for bad in ("a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\udcffb"):
        with pytest.raises(ValidationError, match=r"^name: "):
            check_text("name", bad)
        with pytest.raises(ValidationError, match=r"^notes: "):
            check_text("notes", bad)
    with pytest.raises(ValidationError, match="name: holds a line break"):
        check_text("name", "Hans\nHuber")
    with pytest.raises(ValidationError, match="city: holds a tab"):
        check_text("city", "Munich\t")
    assert check_text("notes", "first\r\nsecond\tthird\rfourth") == "first\nsecond\tthird\nfourth"
    assert check_text("name", "Müller & Söhne – 東京") == "Müller & Söhne – 東京"


@pytest.mark.parametrize("bad", ["a\x00b", "a\x01b", "a\tb", "a\nb"])
def test_control_characters_in_options_are_refused(cli: Cli, bad: str) -> None:
    refused(cli("account", "add", bad), "name:")
    acme = account(cli)
    refused(cli("contact", "add", "Hans", "--account", acme, "--title", bad), "title:")
    refused(cli("opp", "add", bad, "--account", acme), "name:")
    refused(cli("lead", "add", "Hans", "--company", bad), "company:")
    refused(cli("product", "add", "Bolt", "--sku", bad, "--price", "1"), "sku:")
    refused(cli("task", "add", bad), "title:")
    assert cli("account", "list", "--json").out.count('"id"') == 1  # nothing else was written


def test_prose_options_keep_tabs_and_line_breaks_but_not_nul(cli: Cli) -> None:
    acme = account(cli)
    assert cli("note", "add", "line one\n\tline two", "--account", acme).code == 0
    refused(cli("note", "add", "a\x00b", "--account", acme), "text:")
    refused(cli("account", "edit", acme, "--notes", "a\x00b"), "notes:")
    quote = cli("quote", "new", "--account", acme, "-q").out.strip()
    refused(cli("quote", "add-line", quote, "--description", "a\x00b", "--price", "1"), "description:")


def test_lead_add_from_refuses_control_characters_naming_line_and_field(cli: Cli, tmp_path: Path) -> None:
    lines = tmp_path / "leads.jsonl"
    lines.write_text('{"name": "Ok"}\n{"name": "a\\u0000b"}\n', encoding="utf-8")
    refused(cli("lead", "add", "--from", str(lines)), "line 2: name:", "NUL")
    table = tmp_path / "leads.csv"
    table.write_text('name,company,notes\nHans,"Huber\tAG",x\n', encoding="utf-8")
    refused(cli("lead", "add", "--from", str(table)), "line 2: company:", "tab")
    table.write_text('name,company,notes\nHans,Huber AG,"two\nlines"\n', encoding="utf-8")
    assert cli("lead", "add", "--from", str(table)).code == 0  # notes may hold line breaks
    lead = json.loads(cli("lead", "list", "--json").out)[0]
    assert lead["name"] == "Hans"


def test_import_csv_rejects_a_row_with_a_control_character(cli: Cli, tmp_path: Path) -> None:
    rows = [f"Contact {n},c{n}@example.com,Acme" for n in range(200)]
    rows[7] = "Bad\x01Name,bad@example.com,Acme"
    rows[9] = "Fine Name,fine@example.com,Evil\x1b[2J Corp"  # an account the import would create
    path = tmp_path / "contacts.csv"
    path.write_text("name,email,account\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = cli("import", "csv", str(path), "--type", "contact", "--json")
    assert result.code == 0, result
    assert "U+0001" in result.out + result.err and "U+001B" in result.out + result.err
    assert len(json.loads(cli("contact", "list", "--json").out)) == 198
    assert [a["name"] for a in json.loads(cli("account", "list", "--json").out)] == ["Acme"]


def test_money_context_is_wide_enough_for_any_bounded_sum() -> None:
    with money.money_context():
        total = sum([MAX_AMOUNT] * 1000, Decimal(0)) * 10**9  # a trillion deals at the limit
    assert round_money(total, "KWD") == MAX_AMOUNT * 10**12


def test_config_values_refuse_control_characters(cli: Cli) -> None:
    refused(cli("config", "set", "company.name", "Acme\x1b[31m"), "value:", "U+001B")
    refused(cli("config", "set", "currency", ""), "currency:")
    assert cli("config", "set", "quote.terms", "Net 30.\nNo returns.").code == 0


amount_texts = amounts.map(lambda value: f"{value:,.2f}") | st.integers(0, 999_999_999).map(lambda n: f"{n}k")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(amount_texts, st.sampled_from(["won", "lost", None])), min_size=2, max_size=12))
def test_any_accepted_amounts_in_a_real_store_add_up_in_every_report(
    tmp_path_factory: pytest.TempPathFactory, deals: list[tuple[str, str | None]]
) -> None:
    from sfa.services import crm

    ws = Workspace(tmp_path_factory.mktemp("home"))
    try:
        acme = crm.add_account(ws, {"name": "Acme"})
        open_total = won_total = lost_total = Decimal(0)
        for number, (text, stage) in enumerate(deals):
            raw = {"name": f"Deal {number}", "account_id": acme["id"], "amount": text}
            if stage == "lost":
                raw["lost_reason"] = "price"
            opp = crm.add_opportunity(ws, {**raw, **({"stage": stage} if stage else {})})
            if stage == "won":
                won_total += opp["amount"]
            elif stage == "lost":
                lost_total += opp["amount"]
            else:
                open_total += opp["amount"]
        # No close dates: every deal is in "unscheduled", none drops out of the forecast as past.
        assert sum((r.amount for r in report_service.pipeline(ws)), Decimal(0)) == open_total
        forecast = report_service.forecast(ws)
        assert sum((r.pipeline for r in forecast), Decimal(0)) == open_total
        assert sum((r.won for r in forecast), Decimal(0)) == won_total
        decided = report_service.win_loss(ws)
        assert sum((r.lost_amount for r in decided.rows), Decimal(0)) == lost_total
    finally:
        ws.close()


@given(
    st.sampled_from(["amount", "unit_price", "discount_amount", "quantity", "tax_rate", "discount_percent"]),
    st.integers(min_value=1, max_value=10**40),
)
def test_every_decimal_field_refuses_beyond_its_bound_naming_the_field(name: str, extra: int) -> None:
    bound = {"quantity": MAX_QUANTITY, "tax_rate": Decimal(100), "discount_percent": Decimal(100)}.get(
        name, MAX_AMOUNT
    )
    with pytest.raises(ValidationError) as refusal:
        money.parse_decimal_field(f"{bound + extra:f}", name)
    assert refusal.value.field == name and "largest" in str(refusal.value)
    with pytest.raises(ValidationError) as again:  # a value read back, as from a backup
        money.check_decimal_field(name, bound + extra)
    assert again.value.field == name
