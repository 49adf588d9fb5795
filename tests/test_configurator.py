"""The product configurator: the pure function's properties, its refusals, and the commands."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain.configure import Configuration, Option, Rule, configure, key, satisfies
from tests.configurator_fixture import BASE, NAME, OPTIONS, RULES, SKU, cli_steps

PAIRS = [(o.attribute, o.value) for o in OPTIONS]


def run(
    chosen: list[tuple[str, str]], options: list[Option] = OPTIONS, rules: list[Rule] = RULES
) -> Configuration:
    return configure(SKU, NAME, BASE, options, rules, chosen)


def effective(config: Configuration) -> list[tuple[str, str]]:
    return [(a, v) for a, values in config.chosen for v in values]


def reference_price(config: Configuration, options: list[Option], base: Decimal = BASE) -> Decimal:
    extras = {(key(o.attribute), key(o.value)): o.extra for o in options}
    return base + sum((extras[(key(a), key(v))] for a, v in effective(config)), Decimal(0))


choices = st.lists(st.sampled_from(PAIRS), max_size=12)


@settings(max_examples=300, deadline=None)
@given(choices, st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_the_order_options_are_chosen_in(
    chosen: list[tuple[str, str]], random: object
) -> None:
    shuffled = list(chosen)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = run(chosen), run(shuffled)
    assert first.unit_price == second.unit_price
    assert (first.sku, first.text, first.description) == (second.sku, second.text, second.description)
    assert sorted(map(str, first.errors)) == sorted(map(str, second.errors))


@settings(max_examples=300, deadline=None)
@given(choices)
def test_the_price_is_the_base_plus_the_extras_of_what_is_chosen_exactly(
    chosen: list[tuple[str, str]],
) -> None:
    config = run(chosen)
    assert config.unit_price == reference_price(config, OPTIONS)
    assert isinstance(config.unit_price, Decimal)


@settings(max_examples=400, deadline=None)
@given(choices)
def test_accepted_keep_every_rule_refused_name_a_rule_they_break(chosen: list[tuple[str, str]]) -> None:
    config = run(chosen)
    picked = effective(config)
    broken = {r.number for r in RULES if not satisfies(r, picked)}
    named = {r.number for r in config.broken_rules}
    if config.ok:
        assert broken == set()
    # Every rule an error names is broken, and every broken rule is named.
    assert named == broken
    for problem in config.errors:
        if problem.rule is not None:
            assert f"rule {problem.rule.number}" in problem.message


# Random catalogues, not only the fixture: a few attributes with a few values, rules among them.
@st.composite
def catalogues(draw: st.DrawFn) -> tuple[list[Option], list[Rule], list[tuple[str, str]]]:
    attributes = draw(st.integers(1, 4))
    options = []
    for a in range(attributes):
        multiple = draw(st.booleans())
        required = draw(st.booleans())
        for v in range(draw(st.integers(1, 4))):
            extra = draw(st.decimals(min_value=-100, max_value=10_000, places=2, allow_nan=False))
            default = draw(st.booleans())
            options.append(
                Option(f"A{a}", f"v{v}", extra, f"s{a}{v}", default, required, multiple, len(options))
            )
    pairs = [(o.attribute, o.value) for o in options]
    rules = []
    for number in range(1, draw(st.integers(0, 6)) + 1):
        when = tuple(draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=2, unique=True)))
        target = draw(st.sampled_from(pairs))
        rules.append(Rule(when, draw(st.sampled_from(["require", "exclude"])), target, "", number))
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=6))
    return options, rules, chosen


@settings(max_examples=400, deadline=None)
@given(catalogues(), st.randoms(use_true_random=False))
def test_properties_hold_for_any_catalogue(
    catalogue: tuple[list[Option], list[Rule], list[tuple[str, str]]], random: object
) -> None:
    options, rules, chosen = catalogue
    config = run(chosen, options, rules)
    shuffled = list(chosen)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    again = run(shuffled, options, rules)
    assert (again.unit_price, again.sku, again.text) == (config.unit_price, config.sku, config.text)
    assert config.unit_price == reference_price(config, options)
    picked = effective(config)
    broken = {r.number for r in rules if not satisfies(r, picked)}
    assert {r.number for r in config.broken_rules} == broken
    if config.ok:
        assert not broken


def test_defaults_fill_what_is_not_chosen() -> None:
    config = run([])
    assert config.ok, config.errors
    assert config.text == (
        "Stroke=100 mm, Voltage=24V, Force=1000 N, Housing=aluminium, Protection=IP54, Feedback=none,"
        " Mounting=clevis"
    )
    assert config.sku == "LA-600-100-24-F1-AL"
    assert config.unit_price == BASE


def test_a_full_configuration_is_priced_exactly() -> None:
    config = run(
        [
            ("extras", "brake"),
            ("Stroke", "600 mm"),
            ("voltage", "48v"),
            ("Force", "6000 N"),
            ("Housing", "steel"),
            ("Extras", "cable 5 m"),
            ("Feedback", "encoder"),
        ]
    )
    assert config.ok, config.errors
    assert config.unit_price == Decimal("480.00") + Decimal("119.99") + Decimal("22.00") + Decimal(
        "150.00"
    ) + Decimal("30.00") + Decimal("57.00") + Decimal("41.00") + Decimal("9.90")
    assert config.text.endswith("Extras=brake|cable 5 m")
    assert config.sku == "LA-600-600-48-F6-ST-E-BR-C5"


def test_refusals_name_the_rule_and_the_allowed_values() -> None:
    config = run([("Voltage", "230V"), ("Housing", "plastic")])
    assert not config.ok
    [problem] = config.errors
    assert problem.attribute == "Housing"
    assert "rule 1: mains voltage needs a metal housing" in problem.message
    assert "allowed Housing: aluminium, steel, stainless, anodised" in problem.message
    require = run([("Force", "8000 N"), ("Stroke", "200 mm")])
    assert [str(p) for p in require.errors] == [
        "Housing: rule 4: 8000 N needs the steel housing (Force=8000 N requires Housing=steel);"
        " allowed Housing: steel"
    ]


def test_unknown_values_and_attributes_name_what_is_allowed() -> None:
    assert [str(p) for p in run([("Colour", "red")]).errors] == [
        "Colour: no such attribute; allowed: Stroke, Voltage, Force, Housing, Protection, Feedback,"
        " Mounting, Extras"
    ]
    assert [str(p) for p in run([("Voltage", "400V")]).errors] == [
        "Voltage: no value '400V'; allowed: 24V, 12V, 48V, 110V, 230V"
    ]
    assert [str(p) for p in run([("Voltage", "12V"), ("Voltage", "48V")]).errors] == [
        "Voltage: takes one value, got 12V and 48V; allowed: 24V, 12V, 48V, 110V, 230V"
    ]


def test_a_required_attribute_without_default_is_refused() -> None:
    options = [Option("Size", "S", required=True), Option("Size", "M", required=True)]
    config = run([], options, [])
    assert [str(p) for p in config.errors] == ["Size: is required; choose one of S, M"]


# -- commands ------------------------------------------------------------------------------------


def build(sfa: object) -> None:
    for step in cli_steps():
        result = sfa(*step)  # type: ignore[operator]
        assert result.code == 0, (step, result.err)


def test_configure_command_and_the_configured_quote_line(sfa: object, tmp_path: Path) -> None:
    build(sfa)
    run_ = sfa  # type: ignore[assignment]
    ok = run_("product", "configure", SKU, "--option", "Force=6000 N", "--option", "Housing=steel", "--json")
    assert ok.code == 0, ok.err
    data = ok.json()
    assert data["ok"] and Decimal(data["unit_price"]) == BASE + Decimal("150.00") + Decimal("30.00")
    assert data["sku"] == "LA-600-100-24-F6-ST"
    bad = run_("product", "configure", SKU, "--option", "Voltage=230V", "--option", "Housing=plastic")
    assert bad.code == 1 and bad.out == ""
    assert bad.err.startswith("sfa: error: Housing: rule 1: mains voltage needs a metal housing")
    assert "allowed Housing: aluminium, steel, stainless, anodised" in bad.err
    bad_json = run_(
        "product", "configure", SKU, "--option", "Voltage=230V", "--option", "Housing=plastic", "--json"
    )
    assert bad_json.code == 1 and bad_json.json()["errors"][0]["rule"] == 1

    account = run_("account", "add", "Acme", "-q")
    assert account.code == 0
    quote = run_("quote", "new", "--account", account.out.strip(), "-q")
    assert quote.code == 0, quote.err
    qref = quote.out.strip()
    line = run_(
        "quote",
        "add-line",
        qref,
        "--product",
        SKU,
        "--option",
        "Stroke=300 mm",
        "--option",
        "Extras=bellows",
        "--json",
    )
    assert line.code == 0, line.err
    assert line.json()["configuration"] == (
        "Stroke=300 mm, Voltage=24V, Force=1000 N, Housing=aluminium, Protection=IP54, Feedback=none,"
        " Mounting=clevis, Extras=bellows"
    )
    assert line.json()["sku"] == "LA-600-300-24-F1-AL-BW"
    assert Decimal(line.json()["unit_price"]) == BASE + Decimal("62.50") + Decimal("17.00")
    refused = run_("quote", "add-line", qref, "--product", SKU, "--option", "Extras=heater")
    assert refused.code == 1
    assert "Protection: rule 10: the heater is sealed to IP66" in refused.err
    assert "allowed Protection: IP66" in refused.err
    shown = run_("quote", "show", qref, "--json").json()
    assert len(shown["lines"]) == 1
    pdf = tmp_path / "quote.pdf"
    exported = run_("quote", "export", qref, "-o", str(pdf))
    assert exported.code == 0, exported.err
    from pypdf import PdfReader

    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert "Mounting=clevis, Extras=bellows" in text


def test_option_and_rule_refusals(sfa: object) -> None:
    run_ = sfa  # type: ignore[assignment]
    assert run_("product", "add", "Drive", "--sku", "DRV", "--price", "100").code == 0
    assert run_("product", "option", "add", "DRV", "--attribute", "Voltage", "--value", "24V").code == 0
    dup = run_("product", "option", "add", "DRV", "--attribute", "voltage", "--value", "24v")
    assert dup.code == 1 and dup.err.startswith("sfa: error: value: DRV already has")
    comma = run_("product", "option", "add", "DRV", "--attribute", "Voltage", "--value", "24,5V")
    assert comma.code == 1 and comma.err.startswith("sfa: error: value: ")
    unknown = run_("product", "rule", "add", "DRV", "--when", "Voltage=24V", "--exclude", "Color=red")
    assert unknown.code == 1 and "exclude: no attribute 'Color'; allowed: Voltage" in unknown.err
    both = run_(
        "product",
        "rule",
        "add",
        "DRV",
        "--when",
        "Voltage=24V",
        "--exclude",
        "Voltage=24V",
        "--require",
        "Voltage=24V",
    )
    assert both.code == 2
    no_option = run_("product", "configure", "DRV", "--option", "Voltage=12V")
    assert no_option.code == 1 and "Voltage: no value '12V'; allowed: 24V" in no_option.err
    assert run_("product", "option", "add", "DRV", "--attribute", "Color", "--value", "red").code == 0
    assert run_("product", "rule", "add", "DRV", "--when", "Voltage=24V", "--exclude", "Color=red").code == 0
    named = run_("product", "option", "remove", "DRV", "--attribute", "color", "--value", "RED")
    assert named.code == 1 and "rule 1 (Voltage=24V excludes Color=red) names Color=red" in named.err
    out_of_range = run_("product", "rule", "remove", "DRV", "2")
    assert out_of_range.code == 1 and "has 1 rules" in out_of_range.err
    assert run_("product", "rule", "remove", "DRV", "1").code == 0
    assert run_("product", "option", "remove", "DRV", "--attribute", "Color", "--value", "red").code == 0
    listed = run_("product", "option", "list", "DRV", "--json").json()
    assert [o["value"] for o in listed["options"]] == ["24V"] and listed["rules"] == []
    free = run_("quote", "add-line", "nope", "--option", "Voltage=24V", "--description", "x", "--price", "1")
    assert free.code == 2 and "options need a product (--product)" in free.err


def test_configure_asks_attribute_by_attribute_in_a_terminal(sfa: object, home: Path) -> None:
    """In a terminal without --option: each attribute is asked with its allowed values and extras,
    the price shown as it goes; then the result (a real pseudo-terminal)."""
    import os
    import sys

    import pexpect

    run_ = sfa  # type: ignore[assignment]
    assert run_("product", "add", "Drive", "--sku", "DRV", "--price", "100").code == 0
    for args in (
        ["--attribute", "Voltage", "--value", "24V", "--default"],
        ["--attribute", "Voltage", "--value", "230V", "--extra", "25.50", "--sku-suffix", "230"],
        ["--attribute", "Color", "--value", "red", "--extra", "5"],
        ["--attribute", "Color", "--value", "blue"],
    ):
        assert run_("product", "option", "add", "DRV", *args).code == 0
    rule = ["--when", "Voltage=230V", "--exclude", "Color=red", "--message", "red is 24V only"]
    assert run_("product", "rule", "add", "DRV", *rule).code == 0
    env = {**os.environ, "NO_COLOR": "1", "TZ": "UTC"}
    env.pop("SFA_HOME", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sfa", "--home", str(home), "product", "configure", "DRV"],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect("price so far: 100.00 EUR")
    child.expect(r"Voltage: 24V, 230V \(\+25.50 EUR\) \[24V\]: ")
    child.sendline("230V")
    child.expect("price so far: 125.50 EUR")
    child.expect(r"Color: blue: ")  # red is excluded by the rule: not offered
    child.sendline("blue")
    child.expect("DRV-230  Drive \\(Voltage=230V, Color=blue\\)")
    child.expect("unit price: 125.50 EUR")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_configuration_flows_into_the_order_and_the_contract(sfa: object) -> None:
    build(sfa)
    run_: Any = sfa
    account = run_("account", "add", "Acme", "-q").out.strip()
    qref = run_("quote", "new", "--account", account, "-q").out.strip()
    added = run_("quote", "add-line", qref, "--product", SKU, "--option", "Housing=steel", "--json")
    assert added.code == 0, added.err
    configuration = added.json()["configuration"]
    assert "Housing=steel" in configuration
    for step in (("quote", "send", qref), ("quote", "accept", qref)):
        result = run_(*step)
        assert result.code == 0, (step, result.err)
    order = run_("order", "new", "--from-quote", qref, "--json")
    assert order.code == 0, order.err
    oref = order.json()["id"]
    [line] = run_("order", "show", oref, "--json").json()["lines"]
    assert line["configuration"] == configuration and line["sku"] == added.json()["sku"]
    contract = run_("contract", "new", "--from-quote", qref, "--json")
    assert contract.code == 0, contract.err
    [cline] = run_("contract", "show", contract.json()["id"], "--json").json()["lines"]
    assert cline["configuration"] == configuration
